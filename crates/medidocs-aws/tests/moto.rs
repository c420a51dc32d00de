//! The AWS adapters against an AWS-compatible server (moto on 127.0.0.1): the same
//! conformance suites as the embedded adapters, plus what only S3 and DynamoDB do
//! (SSE-KMS on every object, multipart uploads, presigned URLs).

use std::process::Command;
use std::time::Duration;

use medidocs_aws::{DynamoMetadataStore, PipelineBuckets, S3ObjectStore, clients};
use medidocs_core::ports::{ObjectStore, PutMode};
use medidocs_testkit::moto::Moto;
use medidocs_testkit::{
    MetadataFlags, ObjectFlags, access_store_suite, metadata_store_suite, migration_suite,
    object_store_suite,
};

mod common;
use common::{KMS_KEY, REGION, unique};

async fn bucket(moto: &Moto) -> (aws_sdk_s3::Client, String) {
    common::bucket(moto.endpoint(), "medidocs-test").await
}

#[tokio::test]
async fn s3_object_store_passes_the_conformance_suite() {
    let moto = Moto::start().unwrap();
    let (s3, name) = bucket(&moto).await;
    let store = S3ObjectStore::new(s3, &name, Some(KMS_KEY.into()));
    let flags = ObjectFlags {
        refuses_unsafe_keys: false,
        // Above the 8 MiB multipart threshold: uploaded in two parts.
        large_object_bytes: 9 * 1024 * 1024,
    };
    let n = object_store_suite(&store, "suite", flags).await.unwrap();
    assert!(n >= 8, "{n} cases");
}

/// The two buckets as the pipeline sees them: the suite's keys are routed to the artefact
/// bucket, and an upload-area key to the upload bucket.
#[tokio::test]
async fn the_pipeline_buckets_pass_the_conformance_suite_and_route_by_key() {
    let moto = Moto::start().unwrap();
    let (s3, uploads) = bucket(&moto).await;
    let (_, artefacts) = bucket(&moto).await;
    let store = PipelineBuckets {
        uploads: S3ObjectStore::new(s3.clone(), &uploads, Some(KMS_KEY.into())),
        artefacts: S3ObjectStore::new(s3.clone(), &artefacts, Some(KMS_KEY.into())),
    };
    let flags = ObjectFlags {
        refuses_unsafe_keys: false,
        large_object_bytes: 9 * 1024 * 1024,
    };
    let n = object_store_suite(&store, "suite", flags).await.unwrap();
    assert!(n >= 8, "{n} cases");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.tif");
    std::fs::write(&path, b"II*\0 pretend").unwrap();
    let key = medidocs_core::keys::bulk_key("p-1", "0a1b");
    let file = medidocs_core::ports::LocalFile {
        path: &path,
        sha256: None,
    };
    store.put_file(&key, file, PutMode::Create).await.unwrap();
    let listed = s3
        .list_objects_v2()
        .bucket(&uploads)
        .prefix("bulk/")
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.key_count(),
        Some(1),
        "the bulk original is in the upload bucket"
    );
    let listed = s3
        .list_objects_v2()
        .bucket(&artefacts)
        .prefix("suite/")
        .send()
        .await
        .unwrap();
    assert!(
        listed.key_count().unwrap_or(0) > 0,
        "the suite's objects are in the artefact bucket"
    );
}

#[tokio::test]
async fn every_object_is_encrypted_with_the_stack_key() {
    let moto = Moto::start().unwrap();
    let (s3, name) = bucket(&moto).await;
    let store = S3ObjectStore::new(s3.clone(), &name, Some(KMS_KEY.into()));
    store
        .put("a/small", b"%PDF".to_vec(), PutMode::Create)
        .await
        .unwrap();
    store
        .put("a/large", vec![7u8; 9 * 1024 * 1024], PutMode::Overwrite)
        .await
        .unwrap();
    store.copy("a/small", "a/copied").await.unwrap();
    for key in ["a/small", "a/large", "a/copied"] {
        let head = s3
            .head_object()
            .bucket(&name)
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.server_side_encryption(),
            Some(&aws_sdk_s3::types::ServerSideEncryption::AwsKms),
            "{key}"
        );
        assert_eq!(head.ssekms_key_id(), Some(KMS_KEY), "{key}");
    }
}

fn curl(args: &[&str]) -> (u16, Vec<u8>) {
    let out = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl");
    let mut body = out.stdout;
    let split = body.iter().rposition(|b| *b == b'\n').unwrap();
    let code = String::from_utf8_lossy(&body[split + 1..]).parse().unwrap();
    body.truncate(split);
    (code, body)
}

#[tokio::test]
async fn presigned_urls_download_and_upload_with_a_short_expiry() {
    let moto = Moto::start().unwrap();
    let (s3, name) = bucket(&moto).await;
    let store = S3ObjectStore::new(s3, &name, Some(KMS_KEY.into()));
    store
        .put("p/doc", b"scan bytes".to_vec(), PutMode::Overwrite)
        .await
        .unwrap();
    let get = store
        .presign_get("p/doc", Duration::from_secs(300))
        .await
        .unwrap();
    assert!(get.url.contains("X-Amz-Expires=300"), "{}", get.url);
    assert_eq!(curl(&[&get.url]), (200, b"scan bytes".to_vec()));

    let body = b"\xff\xd8\xff\xe0 a photo";
    let sha = medidocs_core::keys::sha256_hex(body);
    let put = |key: &'static str| {
        let store = store.clone();
        let sha = sha.clone();
        async move {
            store
                .presign_put(
                    key,
                    "image/jpeg",
                    body.len() as u64,
                    &sha,
                    Duration::from_secs(300),
                )
                .await
                .unwrap()
        }
    };
    // Sends `bytes` to a presigned PUT with every header it signed.
    let send = |put: &medidocs_aws::Presigned, bytes: &[u8]| {
        let file = std::env::temp_dir().join(unique("upload"));
        std::fs::write(&file, bytes).unwrap();
        let mut args = vec![
            "-X".to_string(),
            "PUT".into(),
            "--data-binary".into(),
            format!("@{}", file.display()),
        ];
        for (k, v) in &put.headers {
            args.push("-H".into());
            args.push(format!("{k}: {v}"));
        }
        args.push(put.url.clone());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = curl(&args);
        std::fs::remove_file(&file).unwrap();
        out
    };
    let first = put("p/upload").await;
    assert_eq!(first.method, "PUT");
    let signed: Vec<String> = first
        .headers
        .iter()
        .map(|(k, _)| k.to_ascii_lowercase())
        .collect();
    for h in [
        "x-amz-checksum-sha256",
        "if-none-match",
        "content-length",
        "content-type",
    ] {
        assert!(signed.iter().any(|k| k == h), "{h} not among {signed:?}");
    }
    assert_eq!(send(&first, body).0, 200);
    assert_eq!(store.get("p/upload").await.unwrap(), body);
    // The URL is spent: a second PUT, with the same bytes or others, changes nothing.
    let (code, _) = send(&first, body);
    assert_eq!(code, 412, "a second PUT to a spent upload URL");
    let mut other = body.to_vec();
    other[5] ^= 0x20;
    let (code, _) = send(&first, &other);
    assert!(code >= 400, "{code}");
    assert_eq!(store.get("p/upload").await.unwrap(), body);
    // Bytes other than those the upload was created for: S3 refuses them (BadDigest), for
    // the URL signs the declared SHA-256. moto does not check checksums: it keeps them
    // with the declared SHA-256, which is what the pipeline's inspect step compares with
    // the bytes' own before anything else (tests/pipeline.rs: REJECTED checksum_mismatch).
    let fresh = put("p/other").await;
    let (code, reply) = send(&fresh, &other);
    if code == 200 {
        assert_eq!(
            store
                .recorded_sha256("p/other", "")
                .await
                .unwrap()
                .as_deref(),
            Some(sha.as_str())
        );
        assert_ne!(medidocs_core::keys::sha256_hex(&other), sha);
    } else {
        assert_eq!(code, 400, "{}", String::from_utf8_lossy(&reply));
        assert!(matches!(
            store.head("p/other").await,
            Err(medidocs_core::ports::StoreError::NotFound { .. })
        ));
    }

    // Long-lived links to medical documents are refused.
    assert!(
        store
            .presign_get("p/doc", Duration::from_secs(24 * 3600))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn dynamodb_metadata_store_passes_the_conformance_suite() {
    let moto = Moto::start().unwrap();
    let config = clients::compatible_server(moto.endpoint(), REGION).await;
    let store = DynamoMetadataStore::new(clients::dynamodb(&config), unique("medidocs"));
    store.create_table().await.unwrap();
    let n = metadata_store_suite(&store, "a1", MetadataFlags::default())
        .await
        .unwrap();
    assert!(n >= 6, "{n} cases");
}

/// `medidocs migrate --target aws`: a document linked to another patient's gets its own
/// copies in the artefact bucket, claims become per patient, a second run does nothing.
#[tokio::test]
async fn the_migration_splits_links_between_patients_on_dynamodb_and_s3() {
    let moto = Moto::start().unwrap();
    let config = clients::compatible_server(moto.endpoint(), REGION).await;
    let (s3, name) = bucket(&moto).await;
    let objects = S3ObjectStore::new(s3, &name, Some(KMS_KEY.into()));
    let client = clients::dynamodb(&config);
    let table = unique("medidocs");
    let store = DynamoMetadataStore::new(client.clone(), &table);
    store.create_table().await.unwrap();
    let write = move |sha: String, id: String| {
        let (client, table) = (client.clone(), table.clone());
        Box::pin(async move {
            use aws_sdk_dynamodb::types::AttributeValue::S;
            client
                .put_item()
                .table_name(table)
                .item("pk", S(format!("SHA#{sha}")))
                .item("sk", S("DOC".into()))
                .item("document_id", S(id))
                .send()
                .await?;
            Ok(())
        })
            as std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>
    };
    migration_suite(&objects, &store, &store, &write, "b7")
        .await
        .unwrap();
}

#[tokio::test]
async fn dynamodb_access_store_passes_the_conformance_suite() {
    let moto = Moto::start().unwrap();
    let config = clients::compatible_server(moto.endpoint(), REGION).await;
    let store = DynamoMetadataStore::new(clients::dynamodb(&config), unique("medidocs"));
    store.create_table().await.unwrap();
    let n = access_store_suite(&store, "c3").await.unwrap();
    assert!(n >= 5, "{n} cases");
}

/// The OCR pacer on a DynamoDB table: workers claiming at once get distinct slots at
/// least one interval apart (no second of them holds more calls than the quota), and a
/// bulk import's claim takes only a near slot, leaving the rest to patients' pages.
#[tokio::test]
async fn the_dynamodb_pacer_spaces_claims_across_workers_and_puts_patients_first() {
    use medidocs_aws::DynamoPacer;
    use medidocs_core::pacing::{BULK_HORIZON, Claim, Pacer};
    let moto = Moto::start().unwrap();
    let config = clients::compatible_server(moto.endpoint(), REGION).await;
    let table = unique("medidocs");
    DynamoMetadataStore::new(clients::dynamodb(&config), &table)
        .create_table()
        .await
        .unwrap();
    let pacer = std::sync::Arc::new(DynamoPacer::new(
        clients::dynamodb(&config),
        &table,
        "textract#eu-west-1",
        5.0,
    ));
    // Whole milliseconds, as the pacer keeps time.
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let claims = futures_join(
        (0..12)
            .map(|_| {
                let p = pacer.clone();
                tokio::spawn(async move { p.claim(now, None).await.unwrap() })
            })
            .collect(),
    )
    .await;
    let mut slots: Vec<i128> = claims
        .into_iter()
        .map(|c| match c {
            Claim::Slot(t) => (t - now).whole_milliseconds(),
            other => panic!("{other:?}"),
        })
        .collect();
    slots.sort_unstable();
    assert_eq!(slots[0], 0);
    for w in slots.windows(2) {
        assert!(w[1] - w[0] >= 200, "{slots:?}");
    }
    // The queue of slots now reaches 2.2 s ahead: a bulk call is told to come back,
    // a patient's call takes the next slot.
    match pacer.claim(now, Some(BULK_HORIZON)).await.unwrap() {
        Claim::NotBefore(t) => {
            assert_eq!((t - now).whole_milliseconds(), 2400 - 500)
        }
        other => panic!("{other:?}"),
    }
    match pacer.claim(now, None).await.unwrap() {
        Claim::Slot(t) => assert_eq!((t - now).whole_milliseconds(), 2400),
        other => panic!("{other:?}"),
    }
    // Another region's pacer is another item.
    let us = DynamoPacer::new(
        clients::dynamodb(&config),
        &table,
        "textract#us-east-1",
        5.0,
    );
    assert_eq!(us.claim(now, None).await.unwrap(), Claim::Slot(now));
}

async fn futures_join<T>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// An index as (name, key schema as (attribute, key type), projection type).
type Index = (String, Vec<(String, String)>, String);

/// The table `sam/template.yaml` deploys has the keys, attribute types and index the
/// adapter creates and queries: compared through DescribeTable on the table the adapter made.
#[tokio::test]
async fn the_template_declares_the_table_the_adapter_uses() {
    use serde_yaml_ng::Value as Yaml;
    let path = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../sam/template.yaml");
    let template: Yaml = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let props = &template["Resources"]["Table"]["Properties"];
    let text = |v: &Yaml| v.as_str().unwrap_or_default().to_string();
    let keys = |list: &Yaml| -> Vec<(String, String)> {
        let list = list.as_sequence().expect("a key schema");
        list.iter()
            .map(|k| (text(&k["AttributeName"]), text(&k["KeyType"])))
            .collect()
    };
    let mut declared_attrs: Vec<(String, String)> = props["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| (text(&a["AttributeName"]), text(&a["AttributeType"])))
        .collect();
    declared_attrs.sort();
    let declared_indexes: Vec<Index> = props["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|i| {
            (
                text(&i["IndexName"]),
                keys(&i["KeySchema"]),
                text(&i["Projection"]["ProjectionType"]),
            )
        })
        .collect();

    let moto = Moto::start().unwrap();
    let config = clients::compatible_server(moto.endpoint(), REGION).await;
    let client = clients::dynamodb(&config);
    let name = unique("medidocs");
    DynamoMetadataStore::new(client.clone(), &name)
        .create_table()
        .await
        .unwrap();
    let table = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let made_keys = |list: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, String)> {
        list.iter()
            .map(|k| (k.attribute_name.clone(), k.key_type.as_str().to_string()))
            .collect()
    };
    let mut made_attrs: Vec<(String, String)> = table
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name.clone(),
                a.attribute_type.as_str().to_string(),
            )
        })
        .collect();
    made_attrs.sort();
    let made_indexes: Vec<Index> = table
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            (
                i.index_name().unwrap_or_default().to_string(),
                made_keys(i.key_schema()),
                i.projection()
                    .and_then(|p| p.projection_type())
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(keys(&props["KeySchema"]), made_keys(table.key_schema()));
    assert_eq!(declared_attrs, made_attrs);
    assert_eq!(declared_indexes, made_indexes);
    assert_eq!(
        text(&props["BillingMode"]),
        table
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|m| m.as_str().to_string())
            .unwrap_or_default()
    );
    // The patient index, the sparse in-flight index and the timeline, as the adapter
    // declares them.
    let names: Vec<&str> = declared_indexes.iter().map(|i| i.0.as_str()).collect();
    assert_eq!(names, ["gsi1", "gsi2", "gsi3"], "{declared_indexes:?}");
}

#[tokio::test]
async fn a_repeated_upload_event_starts_no_second_execution() {
    use medidocs_aws::{ExecutionStarter, Started};
    use medidocs_core::inputs::SourceInput;
    let moto = Moto::start().unwrap();
    let config = clients::compatible_server(moto.endpoint(), REGION).await;
    let sfn = clients::sfn(&config);
    let machine = sfn
        .create_state_machine()
        .name(unique("medidocs"))
        .definition(
            r#"{"StartAt":"Wait","States":{"Wait":{"Type":"Wait","Seconds":60,"End":true}}}"#,
        )
        .role_arn("arn:aws:iam::123456789012:role/medidocs-pipeline")
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_string();
    let starter = ExecutionStarter::new(sfn.clone(), &machine);
    let source = SourceInput {
        bucket: "uploads".into(),
        key: "uploads/p-1/u-1/original".into(),
        version: "3HL4kqtJlcpXroDTDmJ".into(),
        execution: None,
    };
    let first = starter.start(&source).await.unwrap();
    let Started::New { execution_arn } = &first else {
        panic!("{first:?}")
    };
    assert!(execution_arn.ends_with(&ExecutionStarter::execution_name(&source)));
    // The same object again while it runs (a redelivered event): Step Functions answers
    // an identical StartExecution with the running execution.
    assert_eq!(starter.start(&source).await.unwrap(), first);
    // And once that execution has ended, the name is taken: ExecutionAlreadyExists,
    // which the starter reports as already started.
    sfn.stop_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        starter.start(&source).await.unwrap(),
        Started::AlreadyStarted
    );
    // A new version of the object is a new document.
    let newer = SourceInput {
        version: "4XK1".into(),
        ..source.clone()
    };
    assert!(matches!(
        starter.start(&newer).await.unwrap(),
        Started::New { .. }
    ));
    let listed = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.executions().len(), 2);
}

/// Every function that reads an original reads it pinned to a version (GetObject and
/// HeadObject with a versionId, CopyObject from a version), which S3 allows only with
/// `s3:GetObjectVersion`: the template grants it where the code needs it.
#[test]
fn the_template_lets_every_reader_of_originals_read_their_versions() {
    use serde_yaml_ng::Value as Yaml;
    let path = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../sam/template.yaml");
    let template: Yaml = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for function in [
        "InspectFunction",
        "RenderPageFunction",
        "OcrWorkerFunction",
        "RejectFunction",
    ] {
        let policies = template["Resources"][function]["Properties"]["Policies"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{function} has no policies"));
        let grants = policies
            .iter()
            .filter_map(|p| p["Statement"].as_sequence())
            .flatten()
            .filter(|s| s["Effect"].as_str() == Some("Allow"))
            .any(|s| {
                let actions = serde_yaml_ng::to_string(&s["Action"]).unwrap();
                let resources = serde_yaml_ng::to_string(&s["Resource"]).unwrap();
                actions.contains("s3:GetObjectVersion")
                    && resources.contains("/uploads/*")
                    && resources.contains("/bulk/*")
            });
        assert!(
            grants,
            "{function} may not read versions of uploads/* and bulk/*"
        );
    }
}

/// What is kept, how long, and where it goes: both buckets lock every version for the
/// retention period by default; no deletion reaches the recovery region; intermediates
/// (work/) are neither replicated nor kept; every function that writes the record with a
/// retention may set it.
#[test]
fn the_template_keeps_the_record_and_lets_intermediates_go() {
    use serde_yaml_ng::Value as Yaml;
    let path = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../sam/template.yaml");
    let template: Yaml = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let text = |v: &Yaml| serde_yaml_ng::to_string(v).unwrap();
    assert_eq!(
        template["Parameters"]["RetentionYears"]["Default"].as_u64(),
        Some(8)
    );
    let env = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert!(text(&env["RETENTION_YEARS"]).contains("RetentionYears"));
    for bucket in ["UploadBucket", "ArtefactBucket"] {
        let props = &template["Resources"][bucket]["Properties"];
        let lock = &props["ObjectLockConfiguration"];
        assert_eq!(
            lock["ObjectLockEnabled"].as_str(),
            Some("Enabled"),
            "{bucket}"
        );
        let retention = &lock["Rule"]["DefaultRetention"];
        assert_eq!(retention["Mode"].as_str(), Some("GOVERNANCE"), "{bucket}");
        assert!(
            text(&retention["Years"]).contains("RetentionYears"),
            "{bucket}"
        );
        // Replication (behind !If Replicate): every rule leaves delete markers behind and
        // none covers work/.
        let rules = text(&props["ReplicationConfiguration"]);
        assert!(rules.contains("DeleteMarkerReplication"), "{bucket}");
        assert_eq!(
            rules.matches("DeleteMarkerReplication:").count(),
            rules.matches("Status: Disabled").count(),
            "{bucket}: {rules}"
        );
        for prefix in rules
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Prefix:"))
        {
            let prefix = prefix.trim().trim_matches(['\'', '"']);
            for derived in ["work/", medidocs_core::keys::INDEX_PREFIX] {
                assert!(
                    !derived.starts_with(prefix) || bucket == "UploadBucket",
                    "{bucket}: a replication rule for {prefix:?} covers {derived}"
                );
            }
        }
    }
    // No PUT to uploads/ replaces what a patient sent, whoever signed it.
    let policy = text(&template["Resources"]["UploadBucketPolicy"]["Properties"]);
    assert!(
        policy.contains("s3:if-none-match") && policy.contains("/uploads/*"),
        "{policy}"
    );
    let lifecycle =
        text(&template["Resources"]["ArtefactBucket"]["Properties"]["LifecycleConfiguration"]);
    assert!(
        lifecycle.contains("Prefix: work/") && lifecycle.contains("ExpirationInDays"),
        "{lifecycle}"
    );
    for function in [
        "PlanFunction",
        "RenderPageFunction",
        "OcrWorkerFunction",
        "FinalizeFunction",
        "RejectFunction",
    ] {
        let policies = text(&template["Resources"][function]["Properties"]["Policies"]);
        assert!(
            policies.contains("s3:PutObjectRetention"),
            "{function} writes the record but may not set its retention"
        );
    }
    for function in ["FinalizeFunction", "RejectFunction", "FailFunction"] {
        let policies = text(&template["Resources"][function]["Properties"]["Policies"]);
        assert!(
            policies.contains("s3:DeleteObject") && policies.contains("/work/*"),
            "{function} ends documents but may not remove their intermediates"
        );
    }
    // Search indexes: the indexer writes them (with a day's retention, so it may set
    // one), the API reads them, both see a missing one as missing (ListBucket), and
    // their replaced versions go after a day.
    assert!(
        lifecycle.contains("Prefix: index/") && lifecycle.contains("NoncurrentDays: 1"),
        "{lifecycle}"
    );
    let indexer = text(&template["Resources"]["IndexerFunction"]["Properties"]["Policies"]);
    assert!(
        indexer.contains("s3:PutObjectRetention") && indexer.contains("/index/*"),
        "{indexer}"
    );
    assert!(!indexer.contains("s3:DeleteObject"), "{indexer}");
    for function in ["IndexerFunction", "ApiFunction"] {
        let policies = text(&template["Resources"][function]["Properties"]["Policies"]);
        assert!(
            policies.contains("s3:ListBucket") && policies.contains("/index/*"),
            "{function} cannot read a patient's search index, or tell a missing one"
        );
    }
    let stream = text(&template["Resources"]["IndexerStream"]["Properties"]);
    for setting in [
        "ReportBatchItemFailures",
        "DOC#",
        "OnFailure",
        "BisectBatchOnFunctionError",
    ] {
        assert!(stream.contains(setting), "{setting}: {stream}");
    }
}

#[tokio::test]
async fn the_record_is_written_under_retention_and_intermediates_expire() {
    use aws_sdk_s3::types::{ObjectLockMode, StorageClass};
    let moto = Moto::start().unwrap();
    let (s3, name) = common::locked_bucket(moto.endpoint(), "medidocs-locked").await;
    let store = S3ObjectStore::new(s3.clone(), &name, Some(KMS_KEY.into())).with_keeping(
        medidocs_aws::Keeping {
            retention_years: Some(8),
            storage_class: Some(StorageClass::IntelligentTiering),
        },
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let year = 365 * 86_400;
    let text = medidocs_core::keys::text("d1");
    let image = medidocs_core::keys::ocr_image("d1", 1);
    store
        .put(&text, b"the text".to_vec(), PutMode::Overwrite)
        .await
        .unwrap();
    store
        .put(&image, vec![7; 2048], PutMode::Overwrite)
        .await
        .unwrap();
    // (A quarantined original, a server-side copy, carries the same retention headers;
    // moto refuses a CopyObject with them unless it has a Content-MD5, which S3 does not
    // ask of a copy, so it is not exercised here.)
    for key in [text.clone()] {
        let head = s3
            .head_object()
            .bucket(&name)
            .key(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.object_lock_mode(),
            Some(&ObjectLockMode::Governance),
            "{key}"
        );
        let until = head.object_lock_retain_until_date().unwrap().secs();
        assert!(
            until > now + 8 * year && until < now + 8 * year + 10 * 86_400,
            "{key}: {until}"
        );
        assert_eq!(
            head.storage_class(),
            Some(&StorageClass::IntelligentTiering),
            "{key}"
        );
    }
    let head = s3
        .head_object()
        .bucket(&name)
        .key(&image)
        .send()
        .await
        .unwrap();
    let until = head.object_lock_retain_until_date().unwrap().secs();
    assert!(
        until <= now + 2 * 86_400,
        "an intermediate held until {until}"
    );
    assert_ne!(
        head.storage_class(),
        Some(&StorageClass::IntelligentTiering)
    );
    // A version under retention cannot be deleted, not even by its writer; only a
    // principal allowed to bypass governance retention who asks to (a legal erasure).
    let version = s3
        .head_object()
        .bucket(&name)
        .key(&text)
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    let refused = s3
        .delete_object()
        .bucket(&name)
        .key(&text)
        .version_id(&version)
        .send()
        .await;
    assert!(refused.is_err(), "a retained version was deleted");
    assert_eq!(store.get(&text).await.unwrap(), b"the text");
    s3.delete_object()
        .bucket(&name)
        .key(&text)
        .version_id(&version)
        .bypass_governance_retention(true)
        .send()
        .await
        .unwrap();
    assert!(store.get(&text).await.is_err());
}
