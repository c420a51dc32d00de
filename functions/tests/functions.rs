//! The Lambda functions' library on the host: configuration fails fast naming the
//! variable; a step's errors leave with the stable `errorType` the state machine matches;
//! the starter starts each upload once (Step Functions on moto).

use std::sync::Arc;

use medidocs_aws::{ExecutionStarter, S3ObjectStore, clients};
use medidocs_functions::{Config, ConfigError, handle, start_uploads};
use medidocs_local::{FsObjectStore, SqliteMetadataStore, TesseractOcr, WorkerCommand};
use medidocs_pipeline::Step;
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
        ("AWS_REGION", "eu-west-1"),
    ];
    let c = Config::from_lookup(env(&full)).unwrap();
    assert_eq!(c.limits.max_bytes, 20 * 1024 * 1024);
    assert_eq!(c.region, "eu-west-1");
    assert_eq!(
        c.deadline.as_secs(),
        1455 * 60,
        "the execution's day and a margin"
    );
    assert_eq!(
        Config::from_lookup(env(&full[..5])).unwrap_err(),
        ConfigError::Missing("AWS_REGION")
    );
    assert_eq!(
        Config::from_lookup(env(&full[1..])).unwrap_err(),
        ConfigError::Missing("UPLOAD_BUCKET")
    );
    let mut bad = full.to_vec();
    bad[4] = ("MAX_UPLOAD_MB", "twenty");
    let err = Config::from_lookup(env(&bad)).unwrap_err();
    assert!(err.to_string().contains("MAX_UPLOAD_MB"), "{err}");
    // Dates: Ireland's convention unless the deployment says otherwise.
    assert_eq!(c.date_region, medidocs_core::understand::Region::Ie);
    let mut us = full.to_vec();
    us.push(("DATE_REGION", "us"));
    assert_eq!(
        Config::from_lookup(env(&us)).unwrap().date_region,
        medidocs_core::understand::Region::Us
    );
    let mut bad = full.to_vec();
    bad.push(("DATE_REGION", "mars"));
    let err = Config::from_lookup(env(&bad)).unwrap_err();
    assert!(err.to_string().contains("DATE_REGION"), "{err}");
}

#[tokio::test]
async fn step_errors_leave_with_the_names_retry_and_catch_match() {
    let dir = tempfile::tempdir().unwrap();
    let steps = medidocs_pipeline::steps::Steps::new(
        Arc::new(FsObjectStore::open(dir.path().join("objects")).unwrap()),
        Arc::new(SqliteMetadataStore::in_memory().unwrap()),
        Arc::new(TesseractOcr::new(WorkerCommand::locate(), 1)),
        Default::default(),
        1,
    );
    // An object outside the upload layout is bad input: caught into REJECTED.
    let err = handle(
        &steps,
        Step::Inspect,
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
    let err = handle(&steps, Step::Plan, json!([1, 2])).await.unwrap_err();
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
            std::path::PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR")
                    .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
            )
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
            std::path::PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR")
                    .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
            )
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

/// Records the answers the OCR worker gives, or refuses them all.
#[derive(Default)]
struct Recorded {
    refuse: bool,
    answers: std::sync::Mutex<Vec<(String, String)>>,
}

#[async_trait::async_trait]
impl medidocs_functions::ocr::Answers for Recorded {
    async fn succeed(
        &self,
        token: &str,
        output: &serde_json::Value,
    ) -> Result<medidocs_aws::Answered, medidocs_core::ports::StoreError> {
        if self.refuse {
            return Err(medidocs_core::ports::StoreError::unavailable("sfn", "down"));
        }
        self.answers
            .lock()
            .unwrap()
            .push((token.into(), format!("ok {}", output["words"])));
        Ok(medidocs_aws::Answered::Delivered)
    }
    async fn fail(
        &self,
        token: &str,
        error: &str,
        _cause: &str,
    ) -> Result<medidocs_aws::Answered, medidocs_core::ports::StoreError> {
        self.answers
            .lock()
            .unwrap()
            .push((token.into(), format!("failed {error}")));
        Ok(medidocs_aws::Answered::Gone)
    }
}

fn sqs_record(id: &str, queue: &str, body: &serde_json::Value) -> serde_json::Value {
    json!({
        "messageId": id,
        "receiptHandle": format!("handle-{id}"),
        "body": body.to_string(),
        "attributes": { "ApproximateReceiveCount": "1" },
        "eventSource": "aws:sqs",
        "eventSourceARN": format!("arn:aws:sqs:eu-west-1:123456789012:medidocs-ocr-{queue}"),
        "awsRegion": "eu-west-1",
    })
}

#[tokio::test]
async fn the_ocr_worker_answers_each_task_and_gives_back_what_it_could_not_deliver() {
    let dir = tempfile::tempdir().unwrap();
    let objects = Arc::new(FsObjectStore::open(dir.path().join("objects")).unwrap());
    let meta = Arc::new(SqliteMetadataStore::in_memory().unwrap());
    let steps = || {
        medidocs_pipeline::steps::Steps::new(
            objects.clone(),
            meta.clone(),
            Arc::new(TesseractOcr::new(WorkerCommand::locate(), 1)),
            Default::default(),
            1,
        )
    };
    let (interactive, bulk) = (steps(), steps());
    let key = medidocs_core::keys::upload_key("p-1", "ab12");
    let fax = std::fs::read(
        std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../samples/documents/pharmacy-fax-g3.tif"),
    )
    .unwrap();
    medidocs_core::ports::ObjectStore::put(objects.as_ref(), &key, fax, Default::default())
        .await
        .unwrap();
    let source = medidocs_core::inputs::SourceInput::new("b", key.clone(), "v1");
    let id = source.document_id();
    let mut input = serde_json::to_value(&source).unwrap();
    input["execution"] = json!(id);
    interactive.call(Step::Inspect, input).await.unwrap();
    let page = json!({ "document_id": id, "page": 1, "mime": "image/tiff", "source_key": key, "execution": id });
    interactive
        .call(Step::RenderPage, page.clone())
        .await
        .unwrap();
    let mut message = page.clone();
    message["task_token"] = json!("token-1");
    let mut stale = page.clone();
    stale["task_token"] = json!("token-2");
    stale["execution"] = json!(format!("{id}-a5"));
    let batch = json!({ "Records": [
        sqs_record("m1", "interactive", &message),
        sqs_record("m2", "bulk", &stale),
        sqs_record("m3", "bulk", &json!({ "not": "a page" })),
        sqs_record("m5", "bulk", &json!({ "task_token": "token-3", "page": "one" })),
    ]});
    let answers = Recorded::default();
    let out =
        medidocs_functions::ocr::handle_ocr_messages(&interactive, &bulk, &answers, &batch).await;
    assert_eq!(out, json!({ "batchItemFailures": [] }));
    let got = answers.answers.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].0, "token-1");
    assert!(got[0].1.starts_with("ok ") && got[0].1 != "ok 0", "{got:?}");
    assert_eq!(
        got[1],
        ("token-2".into(), "failed Medidocs.Superseded".into())
    );
    // A message that is not a page, with a task waiting for it: the task is told at once.
    assert_eq!(
        got[2],
        ("token-3".into(), "failed Medidocs.Internal".into())
    );
    // An answer that cannot be delivered brings the message back; the page is not read
    // again the second time (its result is kept).
    let refusing = Recorded {
        refuse: true,
        ..Default::default()
    };
    let batch = json!({ "Records": [sqs_record("m4", "interactive", &message)] });
    let out =
        medidocs_functions::ocr::handle_ocr_messages(&interactive, &bulk, &refusing, &batch).await;
    assert_eq!(
        out,
        json!({ "batchItemFailures": [{ "itemIdentifier": "m4" }] })
    );
}

#[tokio::test]
async fn the_starter_takes_uploads_from_its_queue_and_gives_back_only_what_failed() {
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
    let event: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR")
                    .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../samples/events/eventbridge-object-created.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let bucket_name = event["detail"]["bucket"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let s3 = clients::s3(&config, true);
    s3.create_bucket()
        .bucket(&bucket_name)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .ok();
    let bucket = S3ObjectStore::new(s3, &bucket_name, None);
    let batch = json!({ "Records": [
        { "messageId": "a", "body": event.to_string() },
        { "messageId": "b", "body": event.to_string() },
        { "messageId": "c", "body": "not json" },
    ]});
    let good = ExecutionStarter::new(sfn.clone(), machine);
    let out = medidocs_functions::start_queued_uploads(&good, &bucket, &batch).await;
    assert_eq!(out["batchItemFailures"], json!([]));
    assert_eq!(
        out["started"].as_u64().unwrap() + out["already_started"].as_u64().unwrap(),
        2,
        "{out}"
    );
    // A state machine that is not there: every event comes back for later.
    let missing = ExecutionStarter::new(
        sfn,
        "arn:aws:states:eu-west-1:123456789012:stateMachine:medidocs-missing",
    );
    let out = medidocs_functions::start_queued_uploads(&missing, &bucket, &batch).await;
    assert_eq!(
        out["batchItemFailures"],
        json!([{ "itemIdentifier": "a" }, { "itemIdentifier": "b" }])
    );
}
