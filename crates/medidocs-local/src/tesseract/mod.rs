//! OCR with Tesseract in-process, through its C API, in OCR worker processes
//! ([`worker`]): each worker keeps its engines across pages and is fed the page's grey
//! pixels over a pipe, so a page costs no process start, no model load and no PNG written
//! and read again. At most `slots` pages are read at once, one per worker; a worker that
//! dies (a fault in Tesseract, its memory cap) fails only the page it was reading, which is
//! tried once more in a new worker. Tesseract runs single-threaded (`OMP_THREAD_LIMIT=1`;
//! Debian's OpenMP build is several times slower on few cores).
//!
//! The page's language (`core::language`): before the page is read, a probe of about 40
//! characters of its running text (`media::text_probes`: two thirds of a paragraph's line)
//! is read in the patient's region's default language (English), and its words say the
//! page's language ([`language::probe_says`]); the page is then read whole, once, with that
//! language's model (and for an Irish patient the Irish one after it, for names' fadas),
//! and the page records the language it was read in. The whole reading's words are judged
//! too ([`language::detect`]): a page whose probe misled or said nothing (a form of short
//! fields, little text) is read again in the language they say. Every page is read whole
//! in one language, as the `tesseract` command reads it.
//!
//! A page that reads badly (few words or low confidence) gets an orientation check (the
//! `osd` model); if Tesseract is confident the page is rotated, the page is turned upright
//! and read again, and the better reading is kept.

mod capi;
pub mod worker;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use medidocs_core::language::{self, Language, ProbeSays};
use medidocs_core::model::TextSource;
use medidocs_core::ocr::{BoundingBox, Line, OcrPage, Word};
use medidocs_core::ports::{OcrEngine, OcrError};
use medidocs_core::understand::Region;
use medidocs_media::{self as media, GreyPixels};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::Semaphore;

use worker::{Answer, Request};

/// A reading with fewer words or a lower mean confidence than this gets an orientation check.
const RECHECK_MIN_WORDS: usize = 3;
const RECHECK_MIN_CONFIDENCE: f32 = 70.0;
/// Tesseract's orientation confidence below which a rotation is not trusted.
const MIN_ORIENTATION_CONFIDENCE: f32 = 2.0;
/// About how many characters of running text a probe holds: two thirds of a line of a
/// letter, most often enough function words and accents to tell the four languages apart
/// (`language::probe_says`); on a letter's page of 14 lines, 4 % of its reading.
pub const PROBE_CHARS: u32 = 40;
/// Most probes read of one page (each adding to the last's words) until they settle its
/// language or lean to the default.
const PROBES: usize = 3;
/// The longest answer line a worker may send (a page's TSV is tens of KB).
const MAX_ANSWER: u64 = 64 * 1024 * 1024;

/// How to start an OCR worker: a program and its arguments (`medidocs ocr-worker`).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

impl WorkerCommand {
    /// The `medidocs` CLI's hidden `ocr-worker` subcommand.
    pub fn medidocs(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: vec!["ocr-worker".into()],
        }
    }

    /// A program that is a worker itself (the `medidocs-ocr-worker` binary).
    pub fn program(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
        }
    }

    /// The worker of this installation: `MEDIDOCS_OCR_WORKER` if set (a program run with
    /// `ocr-worker`, as `medidocs` is); this program if it is `medidocs` (the CLI names
    /// itself whatever its file is called); else a
    /// `medidocs-ocr-worker` or `medidocs` beside it or one folder up (where cargo puts
    /// the binaries of the tests' programs); else `medidocs` from PATH.
    pub fn locate() -> Self {
        if let Some(p) = std::env::var_os("MEDIDOCS_OCR_WORKER") {
            return Self::medidocs(p);
        }
        let exe = std::env::current_exe().ok();
        if let Some(exe) = &exe
            && exe.file_stem().is_some_and(|s| s == "medidocs")
        {
            return Self::medidocs(exe);
        }
        let dirs = exe
            .iter()
            .flat_map(|e| e.ancestors().skip(1).take(2))
            .map(|d| d.to_path_buf())
            .collect::<Vec<_>>();
        for dir in &dirs {
            let w = dir.join("medidocs-ocr-worker");
            if w.is_file() {
                return Self::program(w);
            }
            let m = dir.join("medidocs");
            if m.is_file() {
                return Self::medidocs(m);
            }
        }
        Self::medidocs("medidocs")
    }
}

/// One running worker and its pipes.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    async fn exchange(&mut self, req: &Request, pixels: &[u8]) -> std::io::Result<Answer> {
        let mut line = serde_json::to_vec(req).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.stdin.write_all(&line).await?;
        if req.pixels().is_some() {
            self.stdin.write_all(pixels).await?;
        }
        self.stdin.flush().await?;
        self.answer().await
    }

    async fn answer(&mut self) -> std::io::Result<Answer> {
        let mut line = Vec::new();
        let n = (&mut self.stdout)
            .take(MAX_ANSWER)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 || line.last() != Some(&b'\n') {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the worker ended",
            ));
        }
        serde_json::from_slice(&line).map_err(std::io::Error::other)
    }

    /// Ends the worker and says how it ended.
    async fn end(mut self) -> String {
        let _ = self.child.start_kill();
        match tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            _ => "did not end".into(),
        }
    }
}

/// Why an exchange with a worker failed.
enum Failure {
    /// The worker could not be started at all (not installed, not executable).
    Start(OcrError),
    /// The worker died, stopped answering, or answered out of step: it is gone.
    Died(String),
}

pub struct TesseractOcr {
    command: WorkerCommand,
    region: Region,
    memory_mib: u64,
    slots: Arc<Semaphore>,
    idle: Mutex<Vec<Worker>>,
    timeout: Duration,
    readings: Readings,
}

/// How much reading the engine has done: whole pages read, and probes read to decide a
/// page's language before it (`medidocs bench` reports them).
#[derive(Debug, Default)]
struct Readings {
    pages: std::sync::atomic::AtomicU64,
    probes: std::sync::atomic::AtomicU64,
}

impl TesseractOcr {
    /// An engine of at most `slots` workers started with `command`.
    pub fn new(command: WorkerCommand, slots: usize) -> Self {
        Self {
            command,
            region: Region::Ie,
            memory_mib: worker::DEFAULT_MEMORY_MIB,
            slots: Arc::new(Semaphore::new(slots.max(1))),
            idle: Mutex::new(Vec::new()),
            timeout: Duration::from_secs(180),
            readings: Readings::default(),
        }
    }

    /// Whole pages and probes read so far: (pages, probes).
    pub fn readings(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.readings.pages.load(Relaxed),
            self.readings.probes.load(Relaxed),
        )
    }

    /// The region whose prior [`OcrEngine::recognize`] reads with (Ireland's unless set).
    pub fn with_region(mut self, region: Region) -> Self {
        self.region = region;
        self
    }

    /// Caps each worker's address space (MiB).
    pub fn with_memory_mib(mut self, mib: u64) -> Self {
        self.memory_mib = mib;
        self
    }

    /// Process ids of the workers idle now (for tests of a worker's death).
    pub fn idle_worker_pids(&self) -> Vec<u32> {
        self.idle
            .lock()
            .map(|w| w.iter().filter_map(|w| w.child.id()).collect())
            .unwrap_or_default()
    }

    /// Checks that a worker starts and has every language's model and `osd`; the message
    /// says how to fix it. Answers Tesseract's version.
    pub async fn check(&self) -> Result<String, OcrError> {
        let languages = Language::ALL
            .iter()
            .map(|l| l.tesseract().to_string())
            .collect();
        match self.call(&Request::Check { languages }, &[]).await? {
            Answer::Checked { version } => Ok(format!("tesseract {version}")),
            Answer::Error(what) => Err(OcrError::Unavailable { what, source: None }),
            _ => Err(OcrError::Unavailable {
                what: "the OCR worker answered out of step".into(),
                source: None,
            }),
        }
    }

    async fn spawn(&self) -> Result<Worker, Failure> {
        let mut child = tokio::process::Command::new(&self.command.program)
            .args(&self.command.args)
            .env("OMP_THREAD_LIMIT", "1")
            .env(worker::MEMORY_ENV, self.memory_mib.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                Failure::Start(OcrError::Unavailable {
                    what: format!(
                        "cannot start the OCR worker '{}'",
                        self.command.program.display()
                    ),
                    source: Some(Box::new(e)),
                })
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(Failure::Died("the OCR worker has no pipes".into()));
        };
        let mut w = Worker {
            child,
            stdin,
            stdout: BufReader::new(stdout),
        };
        match tokio::time::timeout(self.timeout, w.answer()).await {
            Ok(Ok(Answer::Hello { .. })) => Ok(w),
            _ => {
                let how = w.end().await;
                Err(Failure::Start(OcrError::Unavailable {
                    what: format!(
                        "the OCR worker '{}' did not start ({how}); install Debian's libtesseract5 (scripts/install-deps.sh does)",
                        self.command.program.display()
                    ),
                    source: None,
                }))
            }
        }
    }

    /// One exchange with an idle worker (or a new one); a worker that fails is ended.
    async fn exchange(&self, req: &Request, pixels: &[u8]) -> Result<Answer, Failure> {
        let idle = self.idle.lock().ok().and_then(|mut w| w.pop());
        let mut w = match idle {
            Some(w) => w,
            None => self.spawn().await?,
        };
        match tokio::time::timeout(self.timeout, w.exchange(req, pixels)).await {
            Ok(Ok(answer)) => {
                if let Ok(mut idle) = self.idle.lock() {
                    idle.push(w);
                }
                Ok(answer)
            }
            Ok(Err(_)) => Err(Failure::Died(w.end().await)),
            Err(_) => {
                let _ = w.end().await;
                Err(Failure::Died(format!(
                    "no answer within {} s",
                    self.timeout.as_secs()
                )))
            }
        }
    }

    /// An exchange in a slot; a page whose worker died is tried once more in a new one.
    async fn call(&self, req: &Request, pixels: &[u8]) -> Result<Answer, OcrError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| OcrError::Unavailable {
                what: "OCR engine shut down".into(),
                source: None,
            })?;
        let mut deaths = Vec::new();
        for _ in 0..2 {
            match self.exchange(req, pixels).await {
                Ok(a) => return Ok(a),
                Err(Failure::Start(e)) => return Err(e),
                Err(Failure::Died(how)) => {
                    tracing::warn!(how = %how, "an OCR worker died; the page is tried in a new one");
                    deaths.push(how);
                }
            }
        }
        Err(OcrError::InvalidInput {
            what: format!(
                "the OCR engine stopped on this page twice ({}); the page is not read",
                deaths.join("; ")
            ),
        })
    }

    async fn read(
        &self,
        image: &GreyPixels,
        page: u32,
        lang: Language,
        region: Region,
    ) -> Result<OcrPage, OcrError> {
        self.read_as(image, page, lang, region, false).await
    }

    /// A reading of a page, or of a probe's lines as one `block`.
    async fn read_as(
        &self,
        image: &GreyPixels,
        page: u32,
        lang: Language,
        region: Region,
        block: bool,
    ) -> Result<OcrPage, OcrError> {
        let counter = if block {
            &self.readings.probes
        } else {
            &self.readings.pages
        };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let languages = language::tesseract_languages(lang, language::prior(region));
        let req = Request::Read {
            languages,
            width: image.width,
            height: image.height,
            block,
        };
        match self.call(&req, &image.pixels).await? {
            Answer::Tsv(tsv) => {
                let mut p = parse_tsv(&tsv, page);
                p.language = Some(lang);
                Ok(p)
            }
            Answer::Error(what) => Err(OcrError::Unavailable { what, source: None }),
            _ => Err(OcrError::Unavailable {
                what: "the OCR worker answered out of step".into(),
                source: None,
            }),
        }
    }

    /// The page read in its own language, decided from the page: first by its probes,
    /// about a line of its running text read in the region's default language (a few per
    /// cent of the page's cost), then by the whole reading's words. The page is read in
    /// the language its probes say, else the default; if that reading's words say another
    /// (a probe taken from a quotation, a page with no probe: a form of short fields, a
    /// sideways page), it is read again in that.
    ///
    /// Every page is thus read whole in a single language, as the `tesseract` command
    /// reads it; the probes only save a page in another language its reading in the
    /// default.
    async fn read_in_its_language(
        &self,
        page_px: &Probed,
        page: u32,
        region: Region,
    ) -> Result<OcrPage, OcrError> {
        let default = language::prior(region).default;
        let lang = self
            .probe_language(&page_px.probes, page, default, region)
            .await
            .unwrap_or(default);
        let image = &page_px.image;
        let first = self.read(image, page, lang, region).await?;
        match language::detect(words_of(&first)) {
            Some(d) if d.language != lang => {
                tracing::debug!(
                    page,
                    first = lang.code(),
                    language = d.language.code(),
                    "read again in its language"
                );
                self.read(image, page, d.language, region).await
            }
            _ => Ok(first),
        }
    }

    /// The language the page's probes say it is in, when that is not `default`: each of
    /// the [`PROBES`] probes of [`PROBE_CHARS`] characters of its running text is read in
    /// the default, adding its words to the last's, until they settle a language or lean
    /// to the default. A probe that cannot be read says nothing: the page is then read as
    /// if it had none.
    async fn probe_language(
        &self,
        probes: &[GreyPixels],
        page: u32,
        default: Language,
        region: Region,
    ) -> Option<Language> {
        let mut words: Vec<String> = Vec::new();
        let mut leaning = None;
        for probe in probes {
            let read = self
                .read_as(probe, page, default, region, true)
                .await
                .ok()?;
            words.extend(words_of(&read).map(str::to_string));
            match language::probe_says(words.iter().map(String::as_str)) {
                ProbeSays::Language(l) => {
                    tracing::debug!(page, language = l.code(), "probe");
                    return (l != default).then_some(l);
                }
                // Leaning to the default: the page is read in it, as without a probe.
                ProbeSays::Leaning(l) if l == default => return None,
                // Leaning to another language, or nothing yet (a line of drug names and
                // doses): the next probe adds its words.
                ProbeSays::Leaning(l) => leaning = Some(l),
                ProbeSays::Nothing => leaning = None,
            }
        }
        // The probes ran out leaning to another language: the page is read in it first
        // (its reading is judged all the same).
        leaning
    }

    /// Clockwise rotation that makes the page upright, if Tesseract is confident of one.
    async fn orientation(&self, image: &GreyPixels) -> Option<u32> {
        let req = Request::Orientation {
            width: image.width,
            height: image.height,
        };
        match self.call(&req, &image.pixels).await.ok()? {
            Answer::Orientation(Some((rotate, confidence))) => (matches!(rotate, 90 | 180 | 270)
                && confidence >= MIN_ORIENTATION_CONFIDENCE)
                .then_some(rotate),
            _ => None,
        }
    }
}

/// Runs pixel work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, media::MediaError> + Send + 'static,
) -> Result<T, OcrError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| OcrError::Unavailable {
            what: "the page's pixel work did not finish".into(),
            source: Some(Box::new(e)),
        })?
        .map_err(|e| OcrError::InvalidInput {
            what: e.to_string(),
        })
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

/// A page's pixels and the probes cut from them, made together off the async threads.
struct Probed {
    image: GreyPixels,
    probes: Vec<GreyPixels>,
}

impl Probed {
    fn cut(image: GreyPixels) -> Self {
        let probes = media::text_probes(&image, PROBE_CHARS, PROBES);
        Probed { image, probes }
    }
}

fn words_of(p: &OcrPage) -> impl Iterator<Item = &str> {
    p.lines
        .iter()
        .flat_map(|l| &l.words)
        .map(|w| w.text.as_str())
}

fn score(p: &OcrPage) -> f32 {
    p.word_count() as f32 * p.mean_confidence().unwrap_or(0.0)
}

#[async_trait]
impl OcrEngine for TesseractOcr {
    fn name(&self) -> &str {
        "tesseract"
    }

    fn max_image_side(&self) -> Option<u32> {
        Some(worker::MAX_SIDE)
    }

    async fn recognize(&self, png: &[u8], page: u32) -> Result<OcrPage, OcrError> {
        self.recognize_for(png, page, self.region).await
    }

    async fn recognize_for(
        &self,
        png: &[u8],
        page: u32,
        region: Region,
    ) -> Result<OcrPage, OcrError> {
        let png = png.to_vec();
        let page_px = blocking(move || {
            let image = media::grey_pixels(&png, worker::MAX_PIXELS)?;
            Ok(if worker::acceptable(image.width, image.height) {
                Ok(Probed::cut(image))
            } else {
                Err((image.width, image.height))
            })
        })
        .await?
        .map_err(|(w, h)| OcrError::InvalidInput {
            what: format!("a {w}×{h} page is larger than OCR takes"),
        })?;
        let first = self.read_in_its_language(&page_px, page, region).await?;
        let image = &page_px.image;
        let size = Some((image.width as f32, image.height as f32));
        let weak = first.word_count() < RECHECK_MIN_WORDS
            || first.mean_confidence().unwrap_or(0.0) < RECHECK_MIN_CONFIDENCE
            || reads_sideways(&first, size);
        if !weak {
            return Ok(first);
        }
        let Some(rotation) = self.orientation(image).await else {
            return Ok(first);
        };
        let upright =
            blocking(move || Ok(Probed::cut(media::rotate_grey(&page_px.image, rotation)))).await?;
        let mut second = self.read_in_its_language(&upright, page, region).await?;
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
        language: None,
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
