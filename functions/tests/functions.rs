//! The Lambda functions' library on the host: configuration fails fast naming the
//! variable; a step's errors leave with the stable `errorType` the state machine matches;
//! the starter starts each upload once (Step Functions on moto).

use std::sync::Arc;

use medidocs_aws::{ExecutionStarter, S3ObjectStore, clients};
use medidocs_functions::{Config, ConfigError, handle, start_uploads};
use medidocs_local::{FsObjectStore, SqliteMetadataStore, TesseractOcr};
use serde_json::json;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn configuration_names_what_is_missing_or_wrong() {
    let full = [
        ("UPLOAD_BUCKET", "u"),
        ("ARTEFACT_BUCKET", "a"),
        ("TABLE_NAME", "t"),
        ("KMS_KEY_ID", "k"),
        ("MAX_UPLOAD_MB", "20"),
    ];
    let c = Config::from_lookup(env(&full)).unwrap();
    assert_eq!(c.limits.max_bytes, 20 * 1024 * 1024);
    assert_eq!(
        Config::from_lookup(env(&full[1..])).unwrap_err(),
        ConfigError::Missing("UPLOAD_BUCKET")
    );
    let mut bad = full.to_vec();
    bad[4] = ("MAX_UPLOAD_MB", "twenty");
    let err = Config::from_lookup(env(&bad)).unwrap_err();
    assert!(err.to_string().contains("MAX_UPLOAD_MB"), "{err}");
}

#[tokio::test]
async fn step_errors_leave_with_the_names_retry_and_catch_match() {
    let dir = tempfile::tempdir().unwrap();
    let steps = medidocs_core::steps::Steps::new(
        Arc::new(FsObjectStore::open(dir.path().join("objects")).unwrap()),
        Arc::new(SqliteMetadataStore::in_memory().unwrap()),
        Arc::new(TesseractOcr::new("tesseract", "eng", 1)),
        Default::default(),
        1,
    );
    // An object outside the upload layout is bad input: caught into REJECTED.
    let err = handle(
        &steps,
        "inspect",
        json!({ "bucket": "b", "key": "notes/x.pdf" }),
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type, "Medidocs.InvalidDocument");
    assert!(
        err.error_message.contains("unexpected_key"),
        "{}",
        err.error_message
    );
    // A malformed payload is the pipeline's own fault.
    let err = handle(&steps, "plan", json!([1, 2])).await.unwrap_err();
    assert_eq!(err.error_type, "Medidocs.Internal");
}

#[tokio::test]
async fn the_starter_starts_each_upload_once() {
    let moto = medidocs_testkit::moto::Moto::start().unwrap();
    let config = clients::compatible_server(moto.endpoint(), "eu-west-1").await;
    let sfn = clients::sfn(&config);
    let machine = sfn
        .create_state_machine()
        .name(format!("medidocs-{}", uuid::Uuid::new_v4().simple()))
        .definition(r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}"#)
        .role_arn("arn:aws:iam::123456789012:role/medidocs-pipeline")
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_string();
    let starter = ExecutionStarter::new(sfn, machine);
    let event: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../samples/events/s3-notification-two-records.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let bucket = S3ObjectStore::new(
        clients::s3(&config, true),
        "medidocs-uploads-123456789012-us-east-1",
        None,
    );
    let first = start_uploads(&starter, &bucket, &event).await.unwrap();
    assert_eq!(
        first,
        json!({ "started": 1, "already_started": 0, "ignored": 1, "replicas": 0 })
    );
    let again = start_uploads(&starter, &bucket, &event).await.unwrap();
    // Still one execution: a redelivered event is answered with the running one.
    assert_eq!(again["ignored"], 1);
    assert_eq!(
        again["started"].as_u64().unwrap() + again["already_started"].as_u64().unwrap(),
        1
    );
}

/// An S3-compatible endpoint that answers every request as S3 answers a HEAD of a replica
/// (`x-amz-replication-status: REPLICA`), and keeps the request lines it saw.
fn replica_endpoint() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut first = String::new();
                if reader.read_line(&mut first).unwrap_or(0) == 0 {
                    break;
                }
                // Headers until the blank line (HEAD requests have no body).
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                log.lock().unwrap().push(first.trim().to_string());
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"r\"\r\nx-amz-replication-status: REPLICA\r\n\r\n",
                );
            }
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn a_replicated_upload_does_not_start_the_pipeline_in_this_region() {
    let (endpoint, seen) = replica_endpoint();
    let config = clients::compatible_server(&endpoint, "us-east-1").await;
    let bucket = S3ObjectStore::new(
        clients::s3(&config, true),
        "medidocs-uploads-123456789012-us-east-1",
        None,
    );
    // A starter that cannot start anything: any StartExecution would fail the call.
    let starter = ExecutionStarter::new(
        clients::sfn(&config),
        "arn:aws:states:us-east-1:123456789012:stateMachine:medidocs-document-pipeline",
    );
    let event: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../samples/events/s3-notification-two-records.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let out = start_uploads(&starter, &bucket, &event).await.unwrap();
    assert_eq!(
        out,
        json!({ "started": 0, "already_started": 0, "ignored": 1, "replicas": 1 })
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].starts_with("HEAD /medidocs-uploads-"), "{seen:?}");
}
