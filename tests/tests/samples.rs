//! End to end over samples/: every sample through the real pipeline (real decoders, real
//! Tesseract, SQLite, the filesystem store), checked against samples/expected/.

use std::collections::BTreeMap;
use std::sync::Arc;

use image::GenericImageView;
use medidocs_core::keys;
use medidocs_core::model::{DocumentRecord, Status};
use medidocs_core::ocr::OcrDocument;
use medidocs_core::ports::{MetadataStore, ObjectStore};
use medidocs_local::{LocalConfig, LocalRuntime};
use medidocs_testkit::cer;
use medidocs_tests::{has_metadata_block, manifest, samples_dir};

/// Born-digital pages (text layer) and scans (OCR) have different CER budgets.
const MAX_CER_TEXT_LAYER: f64 = 0.02;
const MAX_CER_SCAN: f64 = 0.08;

async fn run_all(rt: &LocalRuntime) -> BTreeMap<String, (DocumentRecord, bool)> {
    let runner = rt.runner();
    let mut out = BTreeMap::new();
    for name in manifest().keys() {
        let path = samples_dir().join("documents").join(name);
        let source = rt.ingest(&path, "p-e2e").await.unwrap();
        let outcome = runner
            .run(&source)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        out.insert(name.clone(), (outcome.record, outcome.processed));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Arc::new(LocalRuntime::open(LocalConfig::new(dir.path())).unwrap());
    rt.ocr
        .check()
        .await
        .expect("tesseract is installed (scripts/install-deps.sh)");
    let expected = manifest();
    assert!(
        expected.len() >= 10,
        "samples/ has {} files",
        expected.len()
    );
    let results = run_all(&rt).await;

    let mut problems = Vec::new();
    for (name, exp) in &expected {
        let (doc, processed) = &results[name];
        assert!(processed, "{name}: first run did no work");
        if doc.status.as_str() != exp.status {
            problems.push(format!(
                "{name}: status {} (reason {:?}), expected {}",
                doc.status.as_str(),
                doc.reason,
                exp.status
            ));
            continue;
        }
        if let Some(code) = &exp.reason {
            let got = doc.reason.as_ref().map(|r| r.code.as_str());
            if got != Some(code.as_str()) {
                problems.push(format!("{name}: reason {got:?}, expected {code}"));
            }
            check_quarantine(&rt, doc, code).await;
        }
        if let Some(m) = &exp.mime {
            assert_eq!(doc.mime.as_deref(), Some(m.as_str()), "{name}: type");
        }
        if let Some(p) = exp.pages {
            assert_eq!(doc.pages, p, "{name}: pages");
        }
        if doc.status == Status::Ready {
            if let Some(src) = &exp.text_source {
                assert_eq!(
                    doc.text_source.map(|t| t.as_str()),
                    Some(src.as_str()),
                    "{name}: text source"
                );
            }
            check_renditions(&rt, name, doc).await;
            if let Some(truth) = &exp.text {
                let text = medidocs_tests::read_text(rt.objects.as_ref(), doc).await;
                let rate = cer(&text, truth);
                let budget = if exp.text_source.as_deref() == Some("text_layer") {
                    MAX_CER_TEXT_LAYER
                } else {
                    MAX_CER_SCAN
                };
                println!(
                    "{name}: CER {:.2}% (budget {:.0}%)",
                    rate * 100.0,
                    budget * 100.0
                );
                if rate > budget {
                    problems.push(format!(
                        "{name}: CER {:.2}% over {:.0}%\n--- got:\n{text}\n--- expected:\n{truth}",
                        rate * 100.0,
                        budget * 100.0
                    ));
                }
                // text.txt has the pages' text in order, separated by form feeds.
                assert_eq!(
                    text.matches('\u{c}').count() + 1,
                    doc.pages as usize,
                    "{name}: page separators"
                );
                let ocr: OcrDocument = serde_json::from_slice(
                    &rt.objects.get(doc.ocr_key.as_ref().unwrap()).await.unwrap(),
                )
                .unwrap();
                assert_eq!(ocr.text(), text, "{name}: ocr.json and text.txt disagree");
                check_geometry(name, &ocr);
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // What each document is and when it happened, read from its text as it became READY
    // (core::understand), through the text layer or Tesseract.
    for (name, doc_type, date) in [
        (
            "discharge-summary.pdf",
            "discharge_summary",
            Some("2026-11-09"),
        ),
        ("lab-report-scan.png", "lab_report", Some("2026-11-21")),
        ("referral-letter-g4.tif", "referral_letter", None),
        ("consent-form-cmyk.jpg", "consent_form", Some("2026-11-18")),
        ("insurance-card.webp", "insurance_card", None),
    ] {
        let u = results[name]
            .0
            .understanding
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: not understood"));
        assert_eq!(u.doc_type.code.code(), doc_type, "{name}: {u:?}");
        assert_eq!(u.document_date.as_deref(), date, "{name}: {u:?}");
        assert!(!u.doc_type.evidence.is_empty(), "{name}");
    }

    // A second run over the same files does no work and changes nothing.
    let before = snapshot(&rt).await;
    let again = run_all(&rt).await;
    for (name, (doc, processed)) in &again {
        assert!(!processed, "{name}: the second run did work again");
        assert_eq!(
            doc, &results[name].0,
            "{name}: the second run changed the record"
        );
    }
    assert_eq!(
        snapshot(&rt).await,
        before,
        "the second run changed stored objects"
    );
    let counts = rt.meta.count_by_status().await.unwrap();
    assert_eq!(
        counts.values().sum::<u64>(),
        expected.len() as u64,
        "{counts:?}"
    );
}

async fn check_quarantine(rt: &LocalRuntime, doc: &DocumentRecord, code: &str) {
    let original = rt
        .objects
        .get(&keys::quarantine_original(&doc.id))
        .await
        .expect("quarantined original");
    assert_eq!(
        original,
        rt.objects.get(&doc.source.key).await.unwrap(),
        "quarantine holds the exact original"
    );
    let reason: serde_json::Value = serde_json::from_slice(
        &rt.objects
            .get(&keys::quarantine_reason(&doc.id))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(reason["code"], code);
}

async fn check_renditions(rt: &LocalRuntime, name: &str, doc: &DocumentRecord) {
    // Thumb and preview are kept; the OCR image was an intermediate, gone once READY.
    assert_eq!(
        doc.renditions.len(),
        2 * doc.pages as usize,
        "{name}: renditions per page"
    );
    assert_eq!(
        rt.objects
            .list(&keys::work_prefix(&doc.id))
            .await
            .unwrap()
            .len(),
        0,
        "{name}: intermediates left"
    );
    for r in &doc.renditions {
        let bytes = rt.objects.get(&r.key).await.unwrap();
        assert_eq!(bytes.len() as u64, r.bytes, "{name} {}: size", r.key);
        let img = image::load_from_memory(&bytes)
            .unwrap_or_else(|e| panic!("{name} {}: does not decode: {e}", r.key));
        assert_eq!(
            img.dimensions(),
            (r.width, r.height),
            "{name} {}: dimensions",
            r.key
        );
        let longest = r.width.max(r.height);
        match r.name.as_str() {
            "thumb" => {
                assert_eq!(r.mime, "image/webp");
                assert!(
                    bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP",
                    "{name}: thumb is not WebP"
                );
                assert!(longest <= 256, "{name}: thumb longest side {longest}");
            }
            "preview" => {
                assert_eq!(r.mime, "image/jpeg");
                assert!(
                    bytes.starts_with(&[0xFF, 0xD8]),
                    "{name}: preview is not JPEG"
                );
                assert!(longest <= 1600, "{name}: preview longest side {longest}");
            }
            other => panic!("{name}: unexpected rendition {other}"),
        }
        assert!(
            !has_metadata_block(&bytes),
            "{name} {}: carries EXIF/XMP/GPS metadata",
            r.key
        );
    }
    // Thumb and preview are the page scaled to 256 and 1600 px on the longest side (never
    // enlarged); their aspect ratio is the page's.
    for page in 1..=doc.pages {
        let get = |n: &str| {
            doc.renditions
                .iter()
                .find(|r| r.page == page && r.name == n)
                .unwrap()
        };
        let (t, p) = (get("thumb"), get("preview"));
        let json_at = async |key: String| -> serde_json::Value {
            serde_json::from_slice(&rt.objects.get(&key).await.unwrap()).unwrap()
        };
        // The OCR image (full resolution) is gone; its page's list still gives its size.
        let listed = json_at(keys::page_renditions(&doc.id, page)).await;
        let o = listed["renditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "ocr");
        let (ow, oh) = match o {
            Some(o) => (
                o["width"].as_u64().unwrap() as u32,
                o["height"].as_u64().unwrap() as u32,
            ),
            // A PDF page read from its own text needs no OCR image: its size in points, at
            // 300 dpi, is the page's.
            None => {
                let read = json_at(keys::page_ocr(&doc.id, page)).await;
                assert_eq!(
                    read["page"]["text_source"], "text_layer",
                    "{name} p{page}: no OCR image, yet read by OCR"
                );
                let pt = |i: usize| listed["size_pt"][i].as_f64().unwrap();
                ((pt(0) * 300.0 / 72.0) as u32, (pt(1) * 300.0 / 72.0) as u32)
            }
        };
        let src_longest = ow.max(oh).max(p.width.max(p.height));
        assert_eq!(
            t.width.max(t.height),
            256.min(src_longest),
            "{name} p{page}: thumb size"
        );
        assert_eq!(
            p.width.max(p.height),
            1600.min(src_longest),
            "{name} p{page}: preview size"
        );
        let ar = |r: &medidocs_core::model::RenditionRef| r.width as f64 / r.height as f64;
        let ar_o = ow as f64 / oh as f64;
        assert!(
            (ar(t) - ar_o).abs() / ar_o < 0.02,
            "{name} p{page}: thumb aspect"
        );
    }
}

fn check_geometry(name: &str, ocr: &OcrDocument) {
    for p in &ocr.pages {
        assert!(!p.lines.is_empty(), "{name} p{}: no lines", p.page);
        for w in p.lines.iter().flat_map(|l| &l.words) {
            let b = w.bbox;
            assert!(
                b.left >= 0.0
                    && b.top >= 0.0
                    && b.width > 0.0
                    && b.height > 0.0
                    && b.left + b.width <= 1.001
                    && b.top + b.height <= 1.001,
                "{name} p{}: word {:?} box {b:?} is not page-relative",
                p.page,
                w.text
            );
            assert!(
                (0.0..=100.0).contains(&w.confidence),
                "{name}: confidence {}",
                w.confidence
            );
        }
    }
}

async fn snapshot(rt: &LocalRuntime) -> Vec<(String, u64)> {
    rt.objects
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.key, m.size))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photo_with_exif_orientation_is_turned_upright() {
    let dir = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path())).unwrap();
    let src = rt
        .ingest(
            &samples_dir().join("documents/prescription-photo.jpg"),
            "p1",
        )
        .await
        .unwrap();
    let doc = rt.runner().run(&src).await.unwrap().record;
    assert_eq!(doc.status, Status::Ready);
    // Stored 1200×1800 with orientation 6: displayed 1800×1200.
    let preview = doc.renditions.iter().find(|r| r.name == "preview").unwrap();
    assert_eq!((preview.width, preview.height), (1600, 1067));
    // The original carries GPS; no rendition does.
    let original = rt.objects.get(&src.key).await.unwrap();
    assert!(
        has_metadata_block(&original),
        "the sample should carry EXIF/GPS"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_content_under_another_name_links_to_the_first_document() {
    let dir = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path())).unwrap();
    let copy = dir.path().join("copy-of-card.webp");
    std::fs::copy(samples_dir().join("documents/insurance-card.webp"), &copy).unwrap();
    let runner = rt.runner();
    let first = runner
        .run(
            &rt.ingest(&samples_dir().join("documents/insurance-card.webp"), "p1")
                .await
                .unwrap(),
        )
        .await
        .unwrap()
        .record;
    let second = runner
        .run(&rt.ingest(&copy, "p1").await.unwrap())
        .await
        .unwrap()
        .record;
    assert_ne!(first.id, second.id);
    assert_eq!(second.status, Status::Ready);
    assert_eq!(second.duplicate_of.as_deref(), Some(first.id.as_str()));
    assert_eq!(second.text_key, first.text_key);
    assert_eq!(second.renditions, first.renditions);
    // No second OCR: nothing was written under the duplicate's artefacts.
    assert!(
        rt.objects
            .list(&format!("artefacts/{}/", second.id))
            .await
            .unwrap()
            .is_empty()
    );
}
