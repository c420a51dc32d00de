//! The Textract adapter's real SDK calls against a Textract-compatible endpoint on
//! 127.0.0.1 (medidocs-testkit) that answers with real Textract responses
//! (tests/corpus/textract). moto's Textract returns no blocks, so it cannot show that
//! results are read and normalised.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use medidocs_aws::{JobState, TextractOcr, clients};
use medidocs_core::ports::{OcrEngine, OcrError};
use medidocs_testkit::textract_endpoint::{Behaviour, serve};
use medidocs_testkit::{OcrPageCase, ocr_engine_suite};

mod common;
use common::textract_corpus as corpus;
use serde_json::json;

async fn engine(b: &Arc<Behaviour>) -> TextractOcr {
    let endpoint = serve(
        b.clone(),
        corpus("patient_intake_form_sample.json"),
        corpus("multi-page-forms-samples-2-page.json"),
    );
    let config = clients::compatible_server(&endpoint, "eu-west-1").await;
    TextractOcr::new(clients::textract(&config))
}

#[tokio::test]
async fn a_page_is_read_with_detect_document_text_and_normalised() {
    let b = Arc::new(Behaviour::default());
    let ocr = engine(&b).await;
    let page = ocr.recognize(b"\x89PNG page image", 3).await.unwrap();
    assert_eq!(page.page, 3);
    let raw = corpus("patient_intake_form_sample.json");
    let lines: Vec<&str> = raw["Blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["BlockType"] == "LINE")
        .map(|b| b["Text"].as_str().unwrap())
        .collect();
    assert_eq!(
        page.lines
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>(),
        lines
    );
    assert!(page.lines[0].words[0].bbox.width > 0.0);
    // The image went inline, base64-encoded, as DetectDocumentText takes it.
    let calls = b.calls.lock().unwrap();
    assert_eq!(calls[0].0, "Textract.DetectDocumentText");
    assert!(calls[0].1["Document"]["Bytes"].is_string());
}

/// Textract on its recorded answer to a real medical intake form: the port's contract,
/// as Tesseract meets it (crates/medidocs-local/tests/conformance.rs). An image over
/// DetectDocumentText's 10 MB is what it cannot read.
#[tokio::test]
async fn textract_passes_the_ocr_engine_suite() {
    let b = Arc::new(Behaviour::default());
    let ocr = engine(&b).await;
    let raw = corpus("patient_intake_form_sample.json");
    let first_line = raw["Blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["BlockType"] == "LINE")
        .and_then(|b| b["Text"].as_str())
        .unwrap()
        .to_string();
    let words: Vec<&str> = first_line.split_whitespace().collect();
    let too_big = vec![0u8; 11 * 1024 * 1024];
    let case = OcrPageCase {
        png: b"\x89PNG page image",
        words: &words,
        unreadable: &too_big,
    };
    let n = ocr_engine_suite(&ocr, case).await.unwrap();
    assert_eq!(n, 5);
}

#[tokio::test]
async fn throttling_and_refusals_become_the_ports_errors() {
    let b = Arc::new(Behaviour::default());
    // More throttles than the SDK's own retries absorb.
    b.throttle.store(10, Ordering::SeqCst);
    let ocr = engine(&b).await;
    match ocr.recognize(b"png", 1).await {
        Err(OcrError::Throttled { .. }) => {}
        other => panic!("expected Throttled, got {other:?}"),
    }
    b.throttle.store(0, Ordering::SeqCst);
    *b.refuse.lock().unwrap() = Some("UnsupportedDocumentException".into());
    match ocr.recognize(b"png", 1).await {
        Err(OcrError::InvalidInput { what }) => {
            assert!(what.contains("UnsupportedDocumentException"), "{what}")
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert!(
        ocr.recognize(&vec![0u8; 11 * 1024 * 1024], 1)
            .await
            .is_err(),
        "over the synchronous limit"
    );
}

#[tokio::test]
async fn a_multi_page_job_is_started_polled_and_collected_over_next_tokens() {
    let b = Arc::new(Behaviour::default());
    b.in_progress.store(1, Ordering::SeqCst);
    let ocr = engine(&b).await;
    assert_eq!(ocr.job_status("job-1").await.unwrap(), JobState::InProgress);
    let doc = ocr
        .recognize_document(
            "0a1b2c3d4e5f",
            "uploads-bucket",
            "uploads/p-1/u/original",
            Some("v7"),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let whole = medidocs_core::textract::normalize(&[serde_json::from_value(corpus(
        "multi-page-forms-samples-2-page.json",
    ))
    .unwrap()])
    .unwrap();
    assert_eq!(doc, whole);
    assert_eq!(doc.pages.len(), 2);
    let calls = b.calls.lock().unwrap();
    let start = calls
        .iter()
        .find(|(t, _)| t == "Textract.StartDocumentTextDetection")
        .unwrap();
    assert_eq!(start.1["ClientRequestToken"], "0a1b2c3d4e5f");
    assert_eq!(
        start.1["DocumentLocation"]["S3Object"],
        json!({ "Bucket": "uploads-bucket", "Name": "uploads/p-1/u/original", "Version": "v7" })
    );
    let pages = calls
        .iter()
        .filter(|(t, body)| t == "Textract.GetDocumentTextDetection" && body["MaxResults"] == 1000)
        .count();
    assert_eq!(pages, 3, "three NextToken pages read");
}
