//! Tesseract in-process (the OCR worker): the same reading as the `tesseract` command, the
//! page's language read from the page, accents intact, and a worker's death failing only
//! its page.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use medidocs_core::language::Language;
use medidocs_core::ports::{OcrEngine, OcrError};
use medidocs_core::understand::Region;
use medidocs_local::{TesseractOcr, WorkerCommand, parse_tsv};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus")
}

fn engine(slots: usize) -> TesseractOcr {
    TesseractOcr::new(
        WorkerCommand::program(env!("CARGO_BIN_EXE_medidocs-ocr-worker")),
        slots,
    )
}

/// The `tesseract` command's TSV reading of a PNG file, as the adapter used to run it.
fn tesseract_command(png: &Path, languages: &str) -> medidocs_core::ocr::OcrPage {
    let out = Command::new("tesseract")
        .arg(png)
        .args(["stdout", "-l", languages, "--psm", "3", "tsv"])
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .expect("tesseract is installed (scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_tsv(&String::from_utf8_lossy(&out.stdout), 1)
}

/// Share of the known text's words (as written, accents and all) found in the reading,
/// each as often as it occurs.
fn recall(truth: &str, read: &str) -> f64 {
    let mut have: HashMap<&str, usize> = HashMap::new();
    for w in read.split_whitespace() {
        *have.entry(w).or_default() += 1;
    }
    let words: Vec<&str> = truth.split_whitespace().collect();
    let found = words
        .iter()
        .filter(|w| match have.get_mut(*w) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        })
        .count();
    found as f64 / words.len() as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_english_page_reads_as_the_tesseract_command_reads_it() {
    // A letter of the language corpus, read in English: the same words, boxes and
    // confidences as `tesseract … tsv`, the worker fed its pixels instead of the file.
    let png_path = corpus().join("languages/eng.png");
    let png = std::fs::read(&png_path).unwrap();
    let ocr = engine(1).with_region(Region::Uk);
    let page = ocr.recognize(&png, 1).await.unwrap();
    let mut command = tesseract_command(&png_path, "eng");
    command.language = Some(Language::English);
    assert_eq!(page, command);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_read_in_their_own_language_with_accents_intact() {
    let ocr = engine(2);
    let mut report = Vec::new();
    for (name, lang) in [
        ("fra", Language::French),
        ("spa", Language::Spanish),
        ("gle", Language::Irish),
        ("eng", Language::English),
    ] {
        let dir = corpus().join("languages");
        let truth = std::fs::read_to_string(dir.join(format!("{name}.txt"))).unwrap();
        let png = std::fs::read(dir.join(format!("{name}.png"))).unwrap();
        // An Irish patient's letter: the region's prior, then the page's own words.
        let (pages_before, probes_before) = ocr.readings();
        let page = ocr.recognize_for(&png, 1, Region::Ie).await.unwrap();
        assert_eq!(page.language, Some(lang), "{name}");
        // A probe of its running text told its language: the page was read whole once,
        // in its own language, not first in English.
        let (pages_after, probes_after) = ocr.readings();
        assert_eq!(
            pages_after - pages_before,
            1,
            "{name} read whole more than once"
        );
        assert!(
            (1..=3).contains(&(probes_after - probes_before)),
            "{name}: {} probes",
            probes_after - probes_before
        );
        let text = page.text();
        let ours = recall(&truth, &text);
        // Today's English-only path, for comparison: the `tesseract` command with `eng`.
        let english_only = recall(
            &truth,
            &tesseract_command(&dir.join(format!("{name}.png")), "eng").text(),
        );
        report.push(format!(
            "{name}: recall {ours:.3} with the page's language, {english_only:.3} English only"
        ));
        assert!(
            ours >= english_only,
            "{name}: {ours:.3} < {english_only:.3}"
        );
        if lang == Language::English {
            // Read as the command reads it: the name loses its fadas there (language.rs).
            assert_eq!(ours, english_only, "{name}");
            continue;
        }
        assert!(ours >= 0.97, "{name}: recall {ours:.3}\n{text}");
        assert!(
            text.contains("Seán Ó Súilleabháin"),
            "{name}: the patient's name lost its fadas:\n{text}"
        );
    }
    // The numbers docs/benchmarks.md records.
    eprintln!("{}", report.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_dies_fails_only_its_page_and_is_replaced() {
    let png = std::fs::read(corpus().join("languages/eng.png")).unwrap();
    // A worker that starts, then dies on every page it is sent.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("dying-worker");
    std::fs::write(
        &script,
        "#!/bin/sh\necho '{\"hello\":{\"version\":\"5\"}}'\nread request\nkill -SEGV $$\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let dying = TesseractOcr::new(WorkerCommand::program(&script), 1);
    match dying.recognize(&png, 1).await {
        Err(OcrError::InvalidInput { what }) => {
            assert!(what.contains("stopped on this page twice"), "{what}");
            assert!(what.contains("signal: 11"), "{what}");
        }
        other => panic!("expected the page to fail: {other:?}"),
    }

    // A real worker killed between pages: the next page is read by a new one.
    let ocr = engine(1).with_region(Region::Uk);
    let first = ocr.recognize(&png, 1).await.unwrap();
    let pids = ocr.idle_worker_pids();
    assert_eq!(pids.len(), 1, "one worker kept for the next page");
    // SAFETY: kill sends a signal to the worker this test started.
    assert_eq!(unsafe { libc::kill(pids[0] as i32, libc::SIGKILL) }, 0);
    let second = ocr.recognize(&png, 2).await.unwrap();
    assert_eq!(first.text(), second.text());
    assert_ne!(ocr.idle_worker_pids(), pids, "a new worker read it");

    // A worker that cannot start is the engine unavailable, naming it.
    let missing = TesseractOcr::new(
        WorkerCommand::program("/nonexistent/medidocs-ocr-worker"),
        1,
    );
    match missing.recognize(&png, 1).await {
        Err(OcrError::Unavailable { what, .. }) => {
            assert!(what.contains("/nonexistent/medidocs-ocr-worker"), "{what}")
        }
        other => panic!("expected Unavailable: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_images_are_refused_before_any_worker_sees_them() {
    let ocr = engine(1);
    // A PNG header claiming 100,000 × 100,000 pixels, and bytes that are no PNG.
    let mut huge = std::fs::read(corpus().join("languages/eng.png")).unwrap();
    huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    for bad in [huge, b"\x89PNG\r\n\x1a\nnot really".to_vec(), Vec::new()] {
        match ocr.recognize(&bad, 1).await {
            Err(OcrError::InvalidInput { .. }) => {}
            other => panic!("expected InvalidInput: {other:?}"),
        }
    }
    assert!(ocr.idle_worker_pids().is_empty(), "no worker was started");
    let version = ocr.check().await.unwrap();
    assert!(version.starts_with("tesseract 5"), "{version}");
}

/// Sixteen pages written blind to the detector (tests/corpus/languages/more: lab reports
/// with tables, referrals, prescriptions, letters; 200 and 300 dpi): each is read in its
/// own language, whole once, its probes deciding; its words no worse than English only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_written_blind_are_each_read_once_in_their_language() {
    let ocr = engine(2);
    let dir = corpus().join("languages/more");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".png").map(str::to_string)
        })
        .collect();
    names.sort();
    assert_eq!(names.len(), 16);
    let mut report = Vec::new();
    for name in &names {
        let lang = Language::parse(&name[..3]).unwrap();
        let truth = std::fs::read_to_string(dir.join(format!("{name}.txt"))).unwrap();
        let png = std::fs::read(dir.join(format!("{name}.png"))).unwrap();
        let (pages_before, probes_before) = ocr.readings();
        let page = ocr.recognize_for(&png, 1, Region::Ie).await.unwrap();
        let (pages_after, probes_after) = ocr.readings();
        assert_eq!(page.language, Some(lang), "{name}");
        assert_eq!(
            pages_after - pages_before,
            1,
            "{name} read whole more than once"
        );
        let ours = recall(&truth, &page.text());
        let english_only = recall(
            &truth,
            &tesseract_command(&dir.join(format!("{name}.png")), "eng").text(),
        );
        report.push(format!(
            "{name}: {} probes, recall {ours:.3}, English only {english_only:.3}",
            probes_after - probes_before
        ));
        assert!(
            ours >= english_only,
            "{name}: {ours:.3} < {english_only:.3}"
        );
    }
    eprintln!("{}", report.join("\n"));
}
