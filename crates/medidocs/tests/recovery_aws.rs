//! The recovery commands against a deployed region, on an AWS-compatible server (moto):
//! `medidocs reconcile --target aws` takes over every original without a final record
//! under a new attempt and runs them through the region's BulkImport; `medidocs retry
//! --target aws` starts a FAILED document's next attempt under a name of its own.

use std::process::{Command, Output};

use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    VersioningConfiguration,
};
use medidocs_aws::{DynamoMetadataStore, clients};
use medidocs_core::keys;
use medidocs_core::model::{DocumentRecord, SourceRef, Status};
use medidocs_core::ports::MetadataStore;
use medidocs_pipeline::runner::BULK_DEFINITION;
use medidocs_testkit::moto::Moto;

const REGION: &str = "eu-west-1";
const KMS_KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/5b0c9a8e-3d4f-4e21-9c6b-7a1d2e3f4a5b";

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

fn medidocs(moto: &Moto, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_medidocs"))
        .env_remove("AWS_PROFILE")
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .arg("--data-dir")
        .arg(dir.path())
        .args(args)
        .output()
        .expect("medidocs runs")
}

fn record(id_source: (&str, &str, &str), status: Status) -> DocumentRecord {
    let (bucket, key, version) = id_source;
    let mut d = DocumentRecord::new(
        keys::document_id(bucket, key, version),
        "p-1".into(),
        SourceRef {
            bucket: bucket.into(),
            key: key.into(),
            version: version.into(),
        },
        String::new(),
        10,
        "2026-12-01T00:00:00.000Z".into(),
    );
    d.status = status;
    d.region = "us-east-1".into();
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_and_retry_start_new_attempts_in_the_surviving_region() {
    let moto = Moto::start().unwrap();
    let config = clients::compatible_server(moto.endpoint(), REGION).await;
    let s3 = clients::s3(&config, true);
    let bucket = unique("uploads");
    s3.create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    // Three originals: one READY, one left PROCESSING by the failed region, one the
    // failed region never recorded.
    let mut sources = Vec::new();
    for (i, name) in ["ready", "in-flight", "unknown"].iter().enumerate() {
        let key = keys::upload_key("p-1", &format!("{i:032x}"));
        let out = s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(name.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
        sources.push((key, out.version_id().unwrap().to_string()));
    }
    let table = unique("medidocs");
    let meta = DynamoMetadataStore::new(clients::dynamodb(&config), &table);
    meta.create_table().await.unwrap();
    let src = |i: usize| {
        (
            bucket.as_str(),
            sources[i].0.as_str(),
            sources[i].1.as_str(),
        )
    };
    meta.create_document(&record(src(0), Status::Ready))
        .await
        .unwrap();
    meta.create_document(&record(src(1), Status::Processing))
        .await
        .unwrap();
    let sfn = clients::sfn(&config);
    let bulk = sfn
        .create_state_machine()
        .name(unique("medidocs-bulk-import"))
        .definition(BULK_DEFINITION.replace(
            "${DocumentPipelineArn}",
            "arn:aws:states:eu-west-1:123456789012:stateMachine:medidocs-document-pipeline",
        ))
        .role_arn("arn:aws:iam::123456789012:role/medidocs-bulk-import")
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_string();

    let dry = medidocs(
        &moto,
        &[
            "reconcile",
            "--target",
            "aws",
            "--upload-bucket",
            &bucket,
            "--peer-bucket",
            "other-region-bucket",
            "--table",
            &table,
            "--bulk-import-arn",
            &bulk,
            "--kms-key-id",
            KMS_KEY,
            "--dry-run",
        ],
    );
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(
        text.contains("3 originals") && text.contains("2 without a final record"),
        "{text}"
    );
    let untouched = meta
        .get_document(&keys::document_id(src(1).0, src(1).1, src(1).2))
        .await
        .unwrap();
    assert_eq!(untouched.attempt, 1, "a dry run changes nothing");

    let out = medidocs(
        &moto,
        &[
            "reconcile",
            "--target",
            "aws",
            "--upload-bucket",
            &bucket,
            "--peer-bucket",
            "other-region-bucket",
            "--table",
            &table,
            "--bulk-import-arn",
            &bulk,
            "--kms-key-id",
            KMS_KEY,
            "--concurrency",
            "7",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("2 documents run again in eu-west-1, 7 at a time"),
        "{text}"
    );
    // The document in flight is now this region's, as attempt 2; the manifest runs it and
    // the unknown one under names no earlier run used.
    let in_flight = keys::document_id(src(1).0, src(1).1, src(1).2);
    let unknown = keys::document_id(src(2).0, src(2).1, src(2).2);
    let d = meta.get_document(&in_flight).await.unwrap();
    assert_eq!((d.attempt, d.region.as_str()), (2, REGION));
    let manifests = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("bulk-manifests/reconcile-")
        .send()
        .await
        .unwrap();
    let key = manifests.contents()[0].key().unwrap().to_string();
    let body = s3
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    let csv = String::from_utf8(body.body.collect().await.unwrap().into_bytes().to_vec()).unwrap();
    let mut lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines.remove(0),
        "document_id,bucket,key,version,execution_name"
    );
    lines.sort_unstable();
    let mut want = vec![
        format!(
            "{in_flight},{},{},{},{in_flight}-a2",
            src(1).0,
            src(1).1,
            src(1).2
        ),
        format!(
            "{unknown},{},{},{},{unknown}-a2",
            src(2).0,
            src(2).1,
            src(2).2
        ),
    ];
    want.sort_unstable();
    assert_eq!(lines, want);
    let runs = sfn
        .list_executions()
        .state_machine_arn(&bulk)
        .send()
        .await
        .unwrap();
    assert_eq!(runs.executions().len(), 1);

    // A FAILED document runs again as its next attempt; a READY one is refused.
    let pipeline = sfn
        .create_state_machine()
        .name(unique("medidocs-document-pipeline"))
        .definition(r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}"#)
        .role_arn("arn:aws:iam::123456789012:role/medidocs-pipeline")
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_string();
    let mut failed = meta.get_document(&in_flight).await.unwrap();
    failed.status = Status::Failed;
    failed.version += 1;
    meta.update_document(&failed).await.unwrap();
    let ready = keys::document_id(src(0).0, src(0).1, src(0).2);
    let out = medidocs(
        &moto,
        &[
            "retry",
            &in_flight,
            &ready,
            "--target",
            "aws",
            "--table",
            &table,
            "--state-machine-arn",
            &pipeline,
        ],
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(!out.status.success(), "the READY one is an error");
    assert!(
        stdout.contains(&format!("{in_flight}: started again as {in_flight}-r3")),
        "{stdout}{stderr}"
    );
    assert!(
        stderr.contains("only FAILED documents are retried"),
        "{stderr}"
    );
    let names: Vec<String> = sfn
        .list_executions()
        .state_machine_arn(&pipeline)
        .send()
        .await
        .unwrap()
        .executions()
        .iter()
        .map(|e| e.name().to_string())
        .collect();
    assert_eq!(names, vec![format!("{in_flight}-r3")]);
}
