//! The Textract adapter's real SDK calls against a Textract-compatible endpoint on
//! 127.0.0.1 that answers with real Textract responses (../shared/corpus/textract). moto's
//! Textract returns no blocks, so it cannot show that results are read and normalised.
//! The endpoint also throttles and refuses on demand, and records what it was sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use medidocs_aws::{JobState, TextractOcr, clients};
use medidocs_core::ports::{OcrEngine, OcrError};
use serde_json::{Value, json};

fn corpus(name: &str) -> Value {
    let dir = std::env::var_os("MEDIDOCS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    serde_json::from_str(&std::fs::read_to_string(dir.join("textract").join(name)).unwrap())
        .unwrap()
}

#[derive(Default)]
struct Behaviour {
    /// Answer this many calls with ThrottlingException first.
    throttle: AtomicU32,
    /// Answer DetectDocumentText with this error code instead.
    refuse: Mutex<Option<String>>,
    /// GetDocumentTextDetection status polls answered IN_PROGRESS before SUCCEEDED.
    in_progress: AtomicU32,
    /// (X-Amz-Target, body) of every call.
    calls: Mutex<Vec<(String, Value)>>,
}

/// The endpoint: one thread, one request per connection.
fn serve(b: Arc<Behaviour>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let single = corpus("patient_intake_form_sample.json");
    let job = corpus("multi-page-forms-samples-2-page.json");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut target, mut length) = (String::new(), 0usize);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("x-amz-target:") {
                    target = line[line.len() - v.len()..].trim().to_string();
                }
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            b.calls.lock().unwrap().push((target.clone(), body.clone()));
            let (status, answer) = if b
                .throttle
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                (
                    400,
                    json!({ "__type": "ThrottlingException", "message": "Rate exceeded" }),
                )
            } else {
                match target.as_str() {
                    "Textract.DetectDocumentText" => match b.refuse.lock().unwrap().clone() {
                        Some(code) => (400, json!({ "__type": code, "message": "refused" })),
                        None => (200, single.clone()),
                    },
                    "Textract.StartDocumentTextDetection" => (200, json!({ "JobId": "job-1" })),
                    "Textract.GetDocumentTextDetection" => {
                        if body["MaxResults"] == 1
                            && b.in_progress
                                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                                    n.checked_sub(1)
                                })
                                .is_ok()
                        {
                            (200, json!({ "JobStatus": "IN_PROGRESS" }))
                        } else {
                            // The job's blocks in three NextToken pages.
                            let blocks = job["Blocks"].as_array().unwrap();
                            let size = blocks.len().div_ceil(3);
                            let page: usize =
                                body["NextToken"].as_str().map_or(0, |t| t.parse().unwrap());
                            let mut r = json!({ "JobStatus": "SUCCEEDED", "DocumentMetadata": job["DocumentMetadata"],
                                "Blocks": blocks[page * size..((page + 1) * size).min(blocks.len())] });
                            if page < 2 {
                                r["NextToken"] = json!((page + 1).to_string());
                            }
                            (200, r)
                        }
                    }
                    _ => (400, json!({ "__type": "UnknownOperationException" })),
                }
            };
            let text = answer.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    format!("http://{addr}")
}

async fn engine(b: &Arc<Behaviour>) -> TextractOcr {
    let endpoint = serve(b.clone());
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
