//! A Textract-compatible endpoint on 127.0.0.1 for the Textract adapter's tests. moto's
//! Textract answers with no blocks; this one answers DetectDocumentText,
//! StartDocumentTextDetection and GetDocumentTextDetection with real responses given to
//! it (paging the job's blocks over three NextToken pages), throttles or refuses on
//! demand, and records every call.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

#[derive(Default)]
pub struct Behaviour {
    /// Answer this many calls with ThrottlingException first.
    pub throttle: AtomicU32,
    /// Answer DetectDocumentText with this error code instead.
    pub refuse: Mutex<Option<String>>,
    /// GetDocumentTextDetection status polls answered IN_PROGRESS before SUCCEEDED.
    pub in_progress: AtomicU32,
    /// (X-Amz-Target, body) of every call.
    pub calls: Mutex<Vec<(String, Value)>>,
}

/// Starts the endpoint (one thread, one request per connection) and returns its URL.
/// `single` answers DetectDocumentText; `job` is the asynchronous job's result.
pub fn serve(b: Arc<Behaviour>, single: Value, job: Value) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port on 127.0.0.1");
    let addr = listener.local_addr().expect("its address");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Ok(clone) = stream.try_clone() else {
                continue;
            };
            let mut reader = BufReader::new(clone);
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
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            b.calls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((target.clone(), body.clone()));
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
                    "Textract.DetectDocumentText" => {
                        match b.refuse.lock().unwrap_or_else(|e| e.into_inner()).clone() {
                            Some(code) => (400, json!({ "__type": code, "message": "refused" })),
                            None => (200, single.clone()),
                        }
                    }
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
                            let empty = Vec::new();
                            let blocks = job["Blocks"].as_array().unwrap_or(&empty);
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
