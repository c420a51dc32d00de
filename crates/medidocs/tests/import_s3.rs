//! `medidocs import --target s3://…` against an AWS-compatible server (moto): originals go
//! to the upload bucket under `bulk/` (multipart above 8 MiB, SSE-KMS with the given key,
//! the staff's labels next to them), the manifest to `bulk-manifests/`, and the BulkImport
//! state machine is started with it. A rerun uploads nothing again. Then the state
//! machine's definition itself runs over what the command left in S3 (the in-process
//! engine, S3 and DynamoDB on moto, Tesseract), and every row ends in its final status with
//! its labels.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    ServerSideEncryption, VersioningConfiguration,
};
use medidocs_aws::{DynamoMetadataStore, PipelineBuckets, S3ObjectStore, clients};
use medidocs_core::inputs::BulkInput;
use medidocs_core::model::Status;
use medidocs_core::ports::{MetadataStore, ObjectStore};
use medidocs_local::{TesseractOcr, WorkerCommand};
use medidocs_media::Limits;
use medidocs_pipeline::runner::{BULK_DEFINITION, BulkRunner, Runner};
use medidocs_pipeline::steps::Steps;
use medidocs_states::SystemClock;
use medidocs_testkit::moto::Moto;

const REGION: &str = "eu-west-1";
const KMS_KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/5b0c9a8e-3d4f-4e21-9c6b-7a1d2e3f4a5b";

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

fn samples() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../samples/documents")
}

fn report(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records()
        .map(|row| row.unwrap().iter().map(str::to_string).collect())
        .collect()
}

async fn bucket(s3: &aws_sdk_s3::Client, prefix: &str) -> String {
    let name = unique(prefix);
    s3.create_bucket()
        .bucket(&name)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("create bucket");
    name
}

fn import(moto: &Moto, data: &Path, cwd: &Path, target: &str, arn: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medidocs"))
        .current_dir(cwd)
        .env_remove("AWS_PROFILE")
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .arg("--data-dir")
        .arg(data)
        .args([
            "import",
            "manifest.csv",
            "--target",
            target,
            "--bulk-import-arn",
            arn,
            "--kms-key-id",
            KMS_KEY,
            "--pipelines",
            "3",
            "--report",
            "r.csv",
            "--quiet",
        ])
        .output()
        .expect("medidocs runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_import_uploads_once_starts_the_bulk_machine_and_its_rows_run() {
    let moto = Moto::start().unwrap();
    let config = clients::compatible_server(moto.endpoint(), REGION).await;
    let s3 = clients::s3(&config, true);
    let uploads = bucket(&s3, "uploads").await;
    let artefacts = bucket(&s3, "artefacts").await;
    s3.put_bucket_versioning()
        .bucket(&uploads)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let sfn = clients::sfn(&config);
    let machine = sfn
        .create_state_machine()
        .name(unique("medidocs-bulk-import"))
        .definition(BULK_DEFINITION.replace(
            "${DocumentPipelineArn}",
            "arn:aws:states:eu-west-1:123456789012:stateMachine:medidocs-document-pipeline",
        ))
        .role_arn("arn:aws:iam::123456789012:role/medidocs-bulk-import")
        .send()
        .await
        .unwrap();
    let arn = machine.state_machine_arn();

    // A clinic's manifest: three scans, one with labels, and a 9 MiB file that is no
    // document at all (uploaded in two parts, rejected by the pipeline).
    let dir = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..9u32 * 1024 * 1024)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("archive-box-7.bin"), &big).unwrap();
    let s = |f: &str| samples().join(f).display().to_string();
    std::fs::write(
        dir.path().join("manifest.csv"),
        format!(
            "path,patient_id,document_type,note\n\
             {},p-7,insurance,\"front and back, scanned at reception\"\n\
             {},p-7,,\n\
             {},p-8,lab result,\n\
             archive-box-7.bin,p-8,,\n",
            s("insurance-card.webp"),
            s("prescription-photo.jpg"),
            s("lab-report-scan.png"),
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let target = format!("s3://{uploads}/clinic-batch-1");

    // A bucket that is not there: said before anything is read or uploaded.
    let wrong = import(&moto, &data, dir.path(), "s3://no-such-bucket-here/b", arn);
    assert!(!wrong.status.success());
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("cannot reach s3://no-such-bucket-here and the BulkImport state machine"),
        "{stderr}"
    );
    assert!(!dir.path().join("r.csv").exists());

    let out = import(&moto, &data, dir.path(), &target, arn);
    print!("{}", String::from_utf8_lossy(&out.stdout));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("4 uploaded, 0 already uploaded, 0 errors"),
        "{stdout}"
    );
    assert!(
        stdout.contains("bulk import started (3 pipelines at a time)"),
        "{stdout}"
    );
    let rows = report(&dir.path().join("r.csv"));
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows.iter().all(|r| r[4] == "UPLOADED"), "{rows:?}");

    // Each original under bulk/{patient}/, encrypted with the key, its hash recorded.
    let objects = s3
        .list_objects_v2()
        .bucket(&uploads)
        .prefix("bulk/")
        .send()
        .await
        .unwrap();
    let keys: Vec<String> = objects
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    let originals: Vec<&String> = keys.iter().filter(|k| k.ends_with("/original")).collect();
    assert_eq!(originals.len(), 4, "{keys:?}");
    assert_eq!(
        keys.iter().filter(|k| k.ends_with("/labels.json")).count(),
        2,
        "{keys:?}"
    );
    let mut multipart = 0;
    for key in &originals {
        assert!(
            key.starts_with("bulk/p-7/") || key.starts_with("bulk/p-8/"),
            "{key}"
        );
        let head = s3
            .head_object()
            .bucket(&uploads)
            .key(key.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.server_side_encryption(),
            Some(&ServerSideEncryption::AwsKms)
        );
        assert!(
            head.ssekms_key_id()
                .unwrap_or_default()
                .contains("5b0c9a8e")
        );
        assert_eq!(head.metadata().unwrap()["sha256"].len(), 64);
        if head.e_tag().unwrap_or_default().contains("-2") {
            assert_eq!(head.content_length(), Some(big.len() as i64));
            multipart += 1;
        }
    }
    assert_eq!(multipart, 1, "the 9 MiB file goes in two parts");

    // The manifest lists every uploaded row, by the report's document ids.
    let manifest_key = "bulk-manifests/clinic-batch-1.csv";
    let manifest = s3
        .get_object()
        .bucket(&uploads)
        .key(manifest_key)
        .send()
        .await
        .unwrap();
    let manifest =
        String::from_utf8(manifest.body.collect().await.unwrap().into_bytes().to_vec()).unwrap();
    let mut lines = manifest.lines();
    assert_eq!(
        lines.next(),
        Some("document_id,bucket,key,version,execution_name")
    );
    let manifest_ids: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
    let mut report_ids: Vec<&str> = rows.iter().map(|r| r[3].as_str()).collect();
    let mut sorted = manifest_ids.clone();
    sorted.sort();
    report_ids.sort();
    assert_eq!(sorted, report_ids);

    // One execution of the bulk machine, with the manifest as its input.
    let executions = sfn
        .list_executions()
        .state_machine_arn(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(executions.executions().len(), 1);
    let execution = sfn
        .describe_execution()
        .execution_arn(executions.executions()[0].execution_arn())
        .send()
        .await
        .unwrap();
    let input: BulkInput = serde_json::from_str(execution.input().unwrap()).unwrap();
    assert_eq!(input.manifest_key, manifest_key);
    assert_eq!(input.upload_bucket, uploads);
    assert_eq!(input.max_concurrency, 3);
    assert_eq!(input.results_prefix, "bulk-results/clinic-batch-1");

    // A rerun (say, after the office's connection dropped) uploads nothing again: still
    // one version of every object.
    let again = import(&moto, &data, dir.path(), &target, arn);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{stdout}");
    assert!(
        stdout.contains("0 uploaded, 4 already uploaded"),
        "{stdout}"
    );
    let versions = s3
        .list_object_versions()
        .bucket(&uploads)
        .prefix("bulk/")
        .send()
        .await
        .unwrap();
    assert_eq!(
        versions.versions().len(),
        keys.len(),
        "nothing uploaded twice"
    );
    let again_rows = report(&dir.path().join("r.csv"));
    let mut again_ids: Vec<&str> = again_rows.iter().map(|r| r[3].as_str()).collect();
    again_ids.sort();
    assert_eq!(again_ids, report_ids, "same documents");

    // The state machine's own definition over what the command left in S3: every row
    // ends in its final status, the labels on the record.
    let meta = Arc::new(DynamoMetadataStore::new(
        clients::dynamodb(&config),
        unique("medidocs"),
    ));
    meta.create_table().await.unwrap();
    let buckets = PipelineBuckets {
        uploads: S3ObjectStore::new(s3.clone(), &uploads, Some(KMS_KEY.into())),
        artefacts: S3ObjectStore::new(s3.clone(), &artefacts, Some(KMS_KEY.into())),
    };
    let steps = Steps::new(
        Arc::new(buckets.clone()),
        meta.clone(),
        Arc::new(TesseractOcr::new(
            WorkerCommand::medidocs(env!("CARGO_BIN_EXE_medidocs")),
            2,
        )),
        Limits::default(),
        2,
    );
    let bulk = BulkRunner::new(
        Arc::new(Runner::new(steps, Arc::new(SystemClock))),
        Arc::new(SystemClock),
    );
    let result = bulk.run(&input, "clinic-batch-1").await.unwrap();
    let written = result["ResultWriterDetails"]["Key"].as_str().unwrap();
    assert!(
        written.starts_with("bulk-results/clinic-batch-1/"),
        "{written}"
    );
    assert!(buckets.head(written).await.is_ok());
    for row in &rows {
        let doc = meta.get_document(&row[3]).await.unwrap();
        let expected = if row[1].ends_with(".bin") {
            Status::Rejected
        } else {
            Status::Ready
        };
        assert_eq!(doc.status, expected, "{row:?}: {:?}", doc.reason);
        if row[1].ends_with("insurance-card.webp") {
            assert_eq!(doc.document_type.as_deref(), Some("insurance"));
            assert_eq!(
                doc.note.as_deref(),
                Some("front and back, scanned at reception")
            );
        } else if row[1].ends_with("lab-report-scan.png") {
            assert_eq!(doc.document_type.as_deref(), Some("lab result"));
            assert_eq!(doc.note, None);
        } else {
            assert_eq!(doc.document_type, None);
        }
    }
}
