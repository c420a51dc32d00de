//! The OCR worker: a long-lived child process (`medidocs ocr-worker`, or the
//! `medidocs-ocr-worker` binary) that holds Tesseract engines, in-process through its C API,
//! and reads pages sent over its standard input.
//!
//! Why a child process: Tesseract is C++ fed with what users upload; a fault in it (a
//! crash, an abort, memory without end) must not end the pipeline. The worker is the only
//! process that calls Tesseract; its address space is capped with `setrlimit(RLIMIT_AS)`
//! before any engine loads, and the adapter ([`super::TesseractOcr`]) starts a new one when
//! it dies, failing only the page it was reading. Each worker reads one page at a time and
//! keeps its engines across pages (one per language set, at most [`MAX_ENGINES`]), so a
//! page costs neither a process start nor loading a model, nor a PNG written and read.
//!
//! The protocol, one exchange at a time, every answer one JSON line:
//! - the worker starts by writing `{"hello":{"version":…}}`;
//! - a request is one JSON line ([`Request`]), followed, for `read` and `orientation`, by
//!   exactly `width × height` bytes of 8-bit grey pixels, rows top to bottom;
//! - the answer is [`Answer`]: the page's TSV (as `tesseract … tsv` prints it), an
//!   orientation, the languages checked, or an error. A request the worker cannot parse, or
//!   one larger than its limits, ends the worker (the stream is no longer in step).

use std::io::{BufRead, Read, Write};

use serde::{Deserialize, Serialize};

use super::capi::{self, Api, Grey};

/// Language sets a worker keeps loaded (each about 12 MB resident with Debian's models):
/// the four languages and two with the names' language after them. A further one
/// replaces the set used longest ago (so the region's default, which reads every page or
/// its probes, stays).
pub const MAX_ENGINES: usize = 6;
/// Largest side and pixel count of a page a worker takes (the render step's OCR images
/// are far smaller: an A4 page at 300 dpi is 2480 × 3508, 8.7 MP).
pub const MAX_SIDE: u32 = 32_000;
pub const MAX_PIXELS: u64 = 120_000_000;
/// A request line longer than this is not one of ours.
const MAX_LINE: u64 = 4096;
/// The worker's address space, unless `MEDIDOCS_OCR_MEMORY_MIB` says otherwise: the
/// largest page (120 MP) with Tesseract's working copies and three models fits.
pub const DEFAULT_MEMORY_MIB: u64 = 4096;
pub const MEMORY_ENV: &str = "MEDIDOCS_OCR_MEMORY_MIB";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Loads these language sets (`eng`, `fra+gle`) and `osd`, reporting the first missing.
    Check {
        languages: Vec<String>,
    },
    Read {
        languages: String,
        width: u32,
        height: u32,
        /// A probe's lines, read as one block of text (no layout analysis).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        block: bool,
    },
    Orientation {
        width: u32,
        height: u32,
    },
}

impl Request {
    pub fn pixels(&self) -> Option<(u32, u32)> {
        match *self {
            Request::Read { width, height, .. } | Request::Orientation { width, height } => {
                Some((width, height))
            }
            Request::Check { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Hello {
        version: String,
    },
    Checked {
        version: String,
    },
    Tsv(String),
    /// Clockwise rotation making the page upright and Tesseract's confidence; `None` when
    /// it could not tell.
    Orientation(Option<(u32, f32)>),
    Error(String),
}

/// Whether a page of this size is one a worker takes.
pub fn acceptable(width: u32, height: u32) -> bool {
    width > 0
        && height > 0
        && width <= MAX_SIDE
        && height <= MAX_SIDE
        && width as u64 * height as u64 <= MAX_PIXELS
}

/// Caps this process's address space (MiB).
fn limit_memory(mib: u64) {
    // rlim_t is u64 on Linux, the one system the worker runs on.
    let bytes: libc::rlim_t = mib.saturating_mul(1024 * 1024);
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: setrlimit reads the struct during the call; it only lowers our own limit.
    unsafe {
        libc::setrlimit(libc::RLIMIT_AS, &limit);
    }
}

/// The worker's main loop over standard input and output; returns the exit code.
pub fn main() -> i32 {
    let mib = std::env::var(MEMORY_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_MEMORY_MIB);
    limit_memory(mib);
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    match serve(stdin.lock(), stdout.lock()) {
        Ok(()) => 0,
        Err(_) => 2,
    }
}

/// Serves requests until the input ends (0) or leaves step (an error).
pub fn serve(mut input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    let version = capi::version();
    answer(
        &mut output,
        &Answer::Hello {
            version: version.clone(),
        },
    )?;
    let mut engines = Engines::default();
    let mut osd: Option<Api> = None;
    let mut line = String::new();
    let mut pixels = Vec::new();
    loop {
        line.clear();
        let n = (&mut input).take(MAX_LINE).read_line(&mut line)?;
        if n == 0 {
            return Ok(());
        }
        if !line.ends_with('\n') {
            return Err(std::io::Error::other("request line too long"));
        }
        let req: Request = serde_json::from_str(&line).map_err(std::io::Error::other)?;
        if let Some((w, h)) = req.pixels() {
            if !acceptable(w, h) {
                return Err(std::io::Error::other("page larger than a worker takes"));
            }
            pixels.clear();
            pixels.resize(w as usize * h as usize, 0);
            input.read_exact(&mut pixels)?;
        }
        let reply =
            match req {
                Request::Check { languages } => check(&languages, &mut engines, &mut osd)
                    .map_or_else(Answer::Error, |()| Answer::Checked {
                        version: version.clone(),
                    }),
                Request::Read {
                    languages,
                    width,
                    height,
                    block,
                } => {
                    let image = Grey {
                        width,
                        height,
                        pixels: &pixels,
                    };
                    match engine(&mut engines, &languages) {
                        Ok(api) => api
                            .read_tsv(&image, block)
                            .map_or_else(Answer::Error, Answer::Tsv),
                        Err(e) => Answer::Error(e),
                    }
                }
                Request::Orientation { width, height } => {
                    let image = Grey {
                        width,
                        height,
                        pixels: &pixels,
                    };
                    if osd.is_none() {
                        osd = Api::new("osd").ok();
                    }
                    Answer::Orientation(osd.as_mut().and_then(|api| api.orientation(&image)))
                }
            };
        answer(&mut output, &reply)?;
    }
}

/// Loaded engines, the one used last at the end.
#[derive(Default)]
struct Engines(Vec<(String, Api)>);

fn engine<'a>(engines: &'a mut Engines, languages: &str) -> Result<&'a mut Api, String> {
    let list = &mut engines.0;
    match list.iter().position(|(l, _)| l == languages) {
        Some(i) => {
            let used = list.remove(i);
            list.push(used);
        }
        None => {
            let api = Api::new(languages)?;
            if list.len() >= MAX_ENGINES {
                list.remove(0);
            }
            list.push((languages.to_string(), api));
        }
    }
    list.last_mut()
        .map(|(_, api)| api)
        .ok_or_else(|| "engine not loaded".to_string())
}

fn check(languages: &[String], engines: &mut Engines, osd: &mut Option<Api>) -> Result<(), String> {
    for l in languages {
        engine(engines, l)?;
    }
    if osd.is_none() {
        *osd = Some(Api::new("osd")?);
    }
    Ok(())
}

fn answer(output: &mut impl Write, a: &Answer) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(a).map_err(std::io::Error::other)?;
    line.push(b'\n');
    output.write_all(&line)?;
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answers to `input`, and whether the worker ended in step.
    fn session(input: &[u8]) -> (Vec<Answer>, bool) {
        let mut out = Vec::new();
        let ok = serve(input, &mut out).is_ok();
        let answers = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (answers, ok)
    }

    #[test]
    fn the_worker_says_hello_answers_in_step_and_refuses_what_is_not_a_request() {
        // A blank page: the header row and the page row of the command's TSV, no words.
        let mut input =
            b"{\"op\":\"read\",\"languages\":\"eng\",\"width\":8,\"height\":2}\n".to_vec();
        input.extend([255u8; 16]);
        input.extend(b"{\"op\":\"check\",\"languages\":[\"xx\"]}\n");
        let (answers, ok) = session(&input);
        assert!(ok);
        assert!(matches!(answers[0], Answer::Hello { .. }), "{answers:?}");
        match &answers[1] {
            Answer::Tsv(tsv) => {
                assert!(tsv.starts_with("level\tpage_num"), "{tsv}");
                assert!(tsv.lines().nth(1).unwrap().starts_with("1\t1\t"), "{tsv}");
            }
            a => panic!("{a:?}"),
        }
        match &answers[2] {
            Answer::Error(e) => assert!(e.contains("tesseract-ocr-xx"), "{e}"),
            a => panic!("{a:?}"),
        }
        // Out of step: the worker ends rather than read pixels it was not promised.
        for bad in [
            b"not json\n".to_vec(),
            format!("{{\"op\":\"orientation\",\"width\":{MAX_SIDE},\"height\":{MAX_SIDE}}}\n")
                .into_bytes(),
            b"{\"op\":\"read\",\"languages\":\"eng\",\"width\":8,\"height\":2}\nshort".to_vec(),
            vec![b'x'; 10_000],
        ] {
            let (answers, ok) = session(&bad);
            assert!(
                !ok,
                "{:?}",
                String::from_utf8_lossy(&bad[..20.min(bad.len())])
            );
            assert_eq!(answers.len(), 1, "only the hello");
        }
    }
}
