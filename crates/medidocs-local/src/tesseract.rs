//! OCR with Debian's `tesseract` program: TSV output normalised into the project's OCR
//! model. Tesseract runs single-threaded (`OMP_THREAD_LIMIT=1`; Debian's OpenMP build is
//! several times slower on few cores) and pages run in parallel instead, up to `slots`.
//!
//! A page that reads badly (few words or low confidence) gets an orientation check
//! (`--psm 0`, the `osd` model); if Tesseract is confident the page is rotated, the page is
//! turned upright and read again, and the better reading is kept.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use medidocs_core::model::TextSource;
use medidocs_core::ocr::{BoundingBox, Line, OcrPage, Word};
use medidocs_core::ports::{OcrEngine, OcrError};
use medidocs_media as media;
use tokio::sync::Semaphore;

/// A reading with fewer words or a lower mean confidence than this gets an orientation check.
const RECHECK_MIN_WORDS: usize = 3;
const RECHECK_MIN_CONFIDENCE: f32 = 70.0;
/// Tesseract's orientation confidence below which a rotation is not trusted.
const MIN_ORIENTATION_CONFIDENCE: f32 = 2.0;

pub struct TesseractOcr {
    program: PathBuf,
    lang: String,
    slots: Arc<Semaphore>,
    timeout: Duration,
}

impl TesseractOcr {
    pub fn new(program: impl Into<PathBuf>, lang: impl Into<String>, slots: usize) -> Self {
        Self {
            program: program.into(),
            lang: lang.into(),
            slots: Arc::new(Semaphore::new(slots.max(1))),
            timeout: Duration::from_secs(180),
        }
    }

    /// Checks that the program runs and has the language; the message says how to fix it.
    pub async fn check(&self) -> Result<String, OcrError> {
        let out = self.exec(&["--list-langs".into()]).await?;
        let text = String::from_utf8_lossy(&out);
        if !text.lines().any(|l| l.trim() == self.lang) {
            return Err(OcrError::Unavailable {
                what: format!(
                    "tesseract has no '{}' language data: install tesseract-ocr-{} (scripts/install-deps.sh does)",
                    self.lang, self.lang
                ),
                source: None,
            });
        }
        let v = self.exec(&["--version".into()]).await?;
        Ok(String::from_utf8_lossy(&v)
            .lines()
            .next()
            .unwrap_or("tesseract")
            .to_string())
    }

    async fn exec(&self, args: &[String]) -> Result<Vec<u8>, OcrError> {
        let child = tokio::process::Command::new(&self.program)
            .args(args)
            .env("OMP_THREAD_LIMIT", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| OcrError::Unavailable {
                what: format!(
                    "cannot run '{}': {e}; install Debian's tesseract-ocr (scripts/install-deps.sh does)",
                    self.program.display()
                ),
                source: Some(Box::new(e)),
            })?;
        let out = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| OcrError::Unavailable {
                what: format!("tesseract took longer than {} s", self.timeout.as_secs()),
                source: None,
            })?
            .map_err(|e| OcrError::Unavailable {
                what: "tesseract did not finish".into(),
                source: Some(Box::new(e)),
            })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(OcrError::InvalidInput {
                what: format!(
                    "tesseract exited with {}: {}",
                    out.status,
                    err.lines().last().unwrap_or("")
                ),
            });
        }
        Ok(out.stdout)
    }

    async fn read(&self, image: &std::path::Path, page: u32) -> Result<OcrPage, OcrError> {
        let tsv = self
            .exec(&[
                image.display().to_string(),
                "stdout".into(),
                "-l".into(),
                self.lang.clone(),
                "--psm".into(),
                "3".into(),
                "tsv".into(),
            ])
            .await?;
        Ok(parse_tsv(&String::from_utf8_lossy(&tsv), page))
    }

    /// Clockwise rotation that makes the page upright, if Tesseract is confident of one.
    async fn orientation(&self, image: &std::path::Path) -> Option<u32> {
        let out = self
            .exec(&[
                image.display().to_string(),
                "stdout".into(),
                "--psm".into(),
                "0".into(),
            ])
            .await
            .ok()?;
        let text = String::from_utf8_lossy(&out);
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse::<f32>().ok())
        };
        let rotate = field("Rotate:")? as u32;
        let confidence = field("Orientation confidence:")?;
        (matches!(rotate, 90 | 180 | 270) && confidence >= MIN_ORIENTATION_CONFIDENCE)
            .then_some(rotate)
    }
}

async fn write_page(path: &std::path::Path, png: &[u8]) -> Result<(), OcrError> {
    tokio::fs::write(path, png)
        .await
        .map_err(|e| OcrError::Unavailable {
            what: "cannot write the page image".into(),
            source: Some(Box::new(e)),
        })
}

/// Width and height from a PNG header.
fn png_size(png: &[u8]) -> Option<(f32, f32)> {
    let w = u32::from_be_bytes(png.get(16..20)?.try_into().ok()?);
    let h = u32::from_be_bytes(png.get(20..24)?.try_into().ok()?);
    Some((w as f32, h as f32))
}

/// Tesseract reads some sideways pages well enough, but then most words of three or more
/// letters have boxes taller than wide: the page is turned and its preview would be too.
fn reads_sideways(p: &OcrPage, size: Option<(f32, f32)>) -> bool {
    let Some((w, h)) = size else { return false };
    let words: Vec<_> = p
        .lines
        .iter()
        .flat_map(|l| &l.words)
        .filter(|x| x.text.chars().count() >= 3)
        .collect();
    let tall = words
        .iter()
        .filter(|x| x.bbox.height * h > x.bbox.width * w)
        .count();
    !words.is_empty() && tall * 2 > words.len()
}

fn score(p: &OcrPage) -> f32 {
    p.word_count() as f32 * p.mean_confidence().unwrap_or(0.0)
}

#[async_trait]
impl OcrEngine for TesseractOcr {
    fn name(&self) -> &str {
        "tesseract"
    }

    async fn recognize(&self, png: &[u8], page: u32) -> Result<OcrPage, OcrError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| OcrError::Unavailable {
                what: "OCR engine shut down".into(),
                source: None,
            })?;
        let dir = tempfile::tempdir().map_err(|e| OcrError::Unavailable {
            what: "cannot create a temporary folder".into(),
            source: Some(Box::new(e)),
        })?;
        let path = dir.path().join("page.png");
        write_page(&path, png).await?;
        let first = self.read(&path, page).await?;
        let weak = first.word_count() < RECHECK_MIN_WORDS
            || first.mean_confidence().unwrap_or(0.0) < RECHECK_MIN_CONFIDENCE
            || reads_sideways(&first, png_size(png));
        if !weak {
            return Ok(first);
        }
        let Some(rotation) = self.orientation(&path).await else {
            return Ok(first);
        };
        let rotated = media::rotate_png(png, rotation).map_err(|e| OcrError::InvalidInput {
            what: e.to_string(),
        })?;
        let rpath = dir.path().join("page-upright.png");
        write_page(&rpath, &rotated).await?;
        let mut second = self.read(&rpath, page).await?;
        second.rotation = rotation;
        tracing::debug!(
            page,
            rotation,
            before = score(&first),
            after = score(&second),
            "orientation check"
        );
        // Tesseract is confident the page is turned: keep the upright reading unless it is
        // clearly worse (the boxes then match the upright page a doctor sees).
        Ok(if score(&second) >= 0.9 * score(&first) {
            second
        } else {
            first
        })
    }
}

/// Parses `tesseract … tsv`: words (level 5) grouped into lines by (block, paragraph,
/// line), in Tesseract's reading order; boxes divided by the page size (level 1).
pub fn parse_tsv(tsv: &str, page: u32) -> OcrPage {
    let (mut pw, mut ph) = (0f32, 0f32);
    let mut lines: Vec<((u32, u32, u32), Vec<Word>)> = Vec::new();
    for row in tsv.lines().skip(1) {
        let cols: Vec<&str> = row.splitn(12, '\t').collect();
        if cols.len() < 11 {
            continue;
        }
        let num = |i: usize| cols[i].trim().parse::<f32>().unwrap_or(0.0);
        match cols[0] {
            "1" => {
                pw = num(8).max(1.0);
                ph = num(9).max(1.0);
            }
            "5" => {
                let text = cols.get(11).map(|t| t.trim()).unwrap_or("");
                if text.is_empty() || pw == 0.0 {
                    continue;
                }
                let key = (num(2) as u32, num(3) as u32, num(4) as u32);
                let word = Word {
                    text: text.to_string(),
                    confidence: num(10).clamp(0.0, 100.0),
                    bbox: BoundingBox {
                        left: num(6) / pw,
                        top: num(7) / ph,
                        width: num(8) / pw,
                        height: num(9) / ph,
                    },
                };
                match lines.last_mut() {
                    Some((k, words)) if *k == key => words.push(word),
                    _ => lines.push((key, vec![word])),
                }
            }
            _ => {}
        }
    }
    OcrPage {
        page,
        text_source: TextSource::Ocr,
        rotation: 0,
        lines: lines
            .into_iter()
            .map(|(_, w)| Line::from_words(w))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_words_become_lines_with_relative_boxes() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
1\t1\t0\t0\t0\t0\t0\t0\t1000\t500\t-1\t\n\
4\t1\t1\t1\t1\t0\t100\t50\t300\t20\t-1\t\n\
5\t1\t1\t1\t1\t1\t100\t50\t100\t20\t96.5\tAspirin\n\
5\t1\t1\t1\t1\t2\t250\t50\t50\t20\t91.0\t75\n\
5\t1\t1\t1\t2\t1\t100\t100\t80\t20\t88.0\tmg\n\
5\t1\t1\t1\t2\t2\t200\t100\t80\t20\t-1\t \n";
        let page = parse_tsv(tsv, 2);
        assert_eq!(page.page, 2);
        assert_eq!(page.lines.len(), 2);
        assert_eq!(page.lines[0].text, "Aspirin 75");
        assert_eq!(page.lines[1].text, "mg");
        let w = &page.lines[0].words[0].bbox;
        assert_eq!((w.left, w.top, w.width, w.height), (0.1, 0.1, 0.1, 0.04));
        assert_eq!(page.text(), "Aspirin 75\nmg\n");
    }
}
