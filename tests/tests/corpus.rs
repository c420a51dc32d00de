//! OCR against the public corpus: tesseract-ocr's phototest page and its rotated copies
//! (tests/corpus/ocr), graded by character error rate against the ground truth.

use medidocs_core::model::Status;
use medidocs_core::ocr::OcrDocument;
use medidocs_core::ports::ObjectStore;
use medidocs_local::{LocalConfig, LocalRuntime};
use medidocs_testkit::cer;
use medidocs_tests::corpus_dir;

const MAX_CER_SCAN: f64 = 0.08;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phototest_and_its_rotations_read_within_budget() {
    let ocr_dir = corpus_dir().join("ocr");
    let truth =
        std::fs::read_to_string(ocr_dir.join("phototest.gold.txt")).expect("corpus ground truth");
    let dir = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path())).unwrap();
    let runner = rt.runner();
    // (file, clockwise turn needed to read it upright)
    for (file, rotation) in [
        ("phototest.tif", 0),
        ("phototest-rotated-L.png", 90),
        ("phototest-rotated-R.png", 270),
    ] {
        let src = rt.ingest(&ocr_dir.join(file), "corpus").await.unwrap();
        let doc = runner.run(&src).await.unwrap().record;
        assert_eq!(doc.status, Status::Ready, "{file}: {:?}", doc.reason);
        let text = medidocs_tests::read_text(rt.objects.as_ref(), &doc).await;
        let rate = cer(&text, &truth);
        println!("{file}: CER {:.2}%", rate * 100.0);
        assert!(
            rate <= MAX_CER_SCAN,
            "{file}: CER {:.2}%\n{text}",
            rate * 100.0
        );
        let ocr: OcrDocument =
            serde_json::from_slice(&rt.objects.get(doc.ocr_key.as_ref().unwrap()).await.unwrap())
                .unwrap();
        assert_eq!(ocr.pages[0].rotation, rotation, "{file}: detected rotation");
    }
}

/// Words of a text for comparison: bidirectional marks (pdftotext writes them around
/// right-to-left lines) dropped, punctuation trimmed from each end, lower case.
fn words(text: &str) -> Vec<String> {
    text.chars()
        .filter(|c| !matches!(*c as u32, 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069))
        .collect::<String>()
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Share of the true words read (each counted as often as it occurs).
fn recall(read: &[String], truth: &[String]) -> f64 {
    let mut left: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for w in read {
        *left.entry(w).or_default() += 1;
    }
    let found = truth
        .iter()
        .filter(|w| match left.get_mut(w.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        })
        .count();
    found as f64 / truth.len().max(1) as f64
}

/// Reading-order similarity: the longest run of true words read in their true order (not
/// necessarily adjacent), as a share of the true words.
fn order(read: &[String], truth: &[String]) -> f64 {
    let mut prev = vec![0usize; truth.len() + 1];
    for r in read {
        let mut cur = vec![0usize; truth.len() + 1];
        for (j, t) in truth.iter().enumerate() {
            cur[j + 1] = if r == t {
                prev[j] + 1
            } else {
                prev[j + 1].max(cur[j])
            };
        }
        prev = cur;
    }
    prev[truth.len()] as f64 / truth.len().max(1) as f64
}

/// The PDF corpus (tests/corpus/pdf, scripts/make-pdf-corpus.py) through the whole pipeline
/// with Tesseract, each page against its true text and against poppler's `pdftotext` in
/// the same run: every page reads at least as many of its words as poppler and in an order
/// at least as close to the true one; pages whose layer reads them are read whole and in
/// order (two columns, header and footer, turned text, right-to-left).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdf_text_is_read_whole_and_in_order() {
    let dir = corpus_dir().join("pdf");
    let manifest: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let data = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(data.path())).unwrap();
    let runner = rt.runner();
    let mut failures = Vec::new();
    println!("| case | source | recall | poppler recall | order | poppler order |");
    println!("|---|---|---|---|---|---|");
    for entry in &manifest {
        let file = entry["file"].as_str().unwrap();
        let src = rt.ingest(&dir.join(file), "corpus").await.unwrap();
        let doc = runner.run(&src).await.unwrap().record;
        assert_eq!(doc.status, Status::Ready, "{file}: {:?}", doc.reason);
        let ocr: OcrDocument =
            serde_json::from_slice(&rt.objects.get(doc.ocr_key.as_ref().unwrap()).await.unwrap())
                .unwrap();
        for page in entry["pages"].as_array().unwrap() {
            let n = page["page"].as_u64().unwrap() as usize;
            let truth = words(page["text"].as_str().unwrap());
            let ours = words(&ocr.pages[n - 1].text());
            let poppler = words(
                &std::fs::read_to_string(dir.join(page["pdftotext"].as_str().unwrap())).unwrap(),
            );
            let (r, pr) = (recall(&ours, &truth), recall(&poppler, &truth));
            let (o, po) = (order(&ours, &truth), order(&poppler, &truth));
            let source = ocr.pages[n - 1].text_source.as_str();
            println!("| {file} p{n} | {source} | {r:.3} | {pr:.3} | {o:.3} | {po:.3} |");
            if r + 1e-9 < pr || o + 1e-9 < po {
                failures.push(format!(
                    "{file} p{n}: recall {r:.3} (poppler {pr:.3}), order {o:.3} (poppler {po:.3})"
                ));
            }
            // Read from the layer alone: every word, in the true order, and nothing else
            // (no glyph taken twice).
            let precision = recall(&truth, &ours);
            if source == "text_layer" && (r < 1.0 || o < 1.0 || precision < 1.0) {
                failures.push(format!(
                    "{file} p{n}: layer read {r:.3} of the words, order {o:.3}: {ours:?}"
                ));
            }
            // Through OCR: most of the words, in order.
            if source == "ocr" && (r < 0.9 || o < 0.9) {
                failures.push(format!(
                    "{file} p{n}: OCR read {r:.3} of the words, order {o:.3}: {ours:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
