//! The search indexer as Lambda runs it, over moto: the table's own stream records (read
//! through the DynamoDB Streams API by scripts/stream-event.py, as the event source
//! mapping delivers them) into each patient's index object in S3, written with S3's
//! conditional writes; the API function searching those objects.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use common::{call, event};
use medidocs_aws::{DynamoMetadataStore, S3ObjectStore, clients};
use medidocs_core::keys;
use medidocs_core::model::{DocumentRecord, SourceRef, Status};
use medidocs_core::ports::{
    AccessStore, LocalFile, MetadataStore, ObjectMeta, ObjectStore, PutMode, StoreError, Tagged,
};
use medidocs_functions::Config;
use medidocs_search::{Change, PatientIndexes};
use medidocs_testkit::moto::Moto;
use serde_json::{Value, json};

mod common;

const REGION: &str = "eu-west-1";
const KMS: &str = "arn:aws:kms:eu-west-1:123456789012:key/0d7e4d6a-8f0c-4c39-9d5d-2f1a0c9e7b11";

fn doctor(sub: &str) -> Option<Value> {
    Some(json!({ "sub": sub, "cognito:groups": "[doctor]", "token_use": "access" }))
}

/// The OCR model of a one-line page.
fn ocr_model(words: &[&str]) -> Vec<u8> {
    use medidocs_core::ocr::{BoundingBox, Line, OcrDocument, OcrPage, Word};
    let model = OcrDocument {
        pages: vec![OcrPage {
            page: 1,
            text_source: medidocs_core::model::TextSource::Ocr,
            rotation: 0,
            language: None,
            lines: vec![Line::from_words(
                words
                    .iter()
                    .enumerate()
                    .map(|(i, w)| Word {
                        text: (*w).into(),
                        confidence: 95.0,
                        bbox: BoundingBox {
                            left: 0.05 + 0.2 * i as f32,
                            top: 0.2,
                            width: 0.18,
                            height: 0.04,
                        },
                    })
                    .collect(),
            )],
        }],
    };
    serde_json::to_vec(&model).unwrap()
}

/// The stream's records after the first `skip`, as Lambda delivers them.
fn stream_event(moto: &Moto, table: &str, skip: usize) -> Value {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/stream-event.py");
    let out = Command::new("python3")
        .arg(script)
        .args([moto.endpoint(), REGION, table, &skip.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// An artefact store that, once, lets another writer replace the object between this
/// writer's read and its write: the conditional write must refuse, and the update read
/// again.
struct Interloper {
    inner: S3ObjectStore,
    armed: AtomicBool,
}

#[async_trait]
impl ObjectStore for Interloper {
    async fn put(&self, k: &str, b: Vec<u8>, m: PutMode) -> Result<ObjectMeta, StoreError> {
        self.inner.put(k, b, m).await
    }
    async fn put_file(
        &self,
        k: &str,
        f: LocalFile<'_>,
        m: PutMode,
    ) -> Result<ObjectMeta, StoreError> {
        self.inner.put_file(k, f, m).await
    }
    async fn get(&self, k: &str) -> Result<Vec<u8>, StoreError> {
        self.inner.get(k).await
    }
    async fn head(&self, k: &str) -> Result<ObjectMeta, StoreError> {
        self.inner.head(k).await
    }
    async fn list(&self, p: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.inner.list(p).await
    }
    async fn copy(&self, f: &str, t: &str) -> Result<(), StoreError> {
        self.inner.copy(f, t).await
    }
    async fn delete(&self, k: &str) -> Result<(), StoreError> {
        self.inner.delete(k).await
    }
    async fn get_tagged(&self, k: &str, known: Option<&str>) -> Result<Tagged, StoreError> {
        self.inner.get_tagged(k, known).await
    }
    async fn put_tagged(
        &self,
        k: &str,
        b: Vec<u8>,
        expected: Option<&str>,
    ) -> Result<String, StoreError> {
        if self.armed.swap(false, Ordering::SeqCst) {
            // The other writer: the same index with a commit of its own (new bytes, a new
            // ETag), written after this writer read it.
            if let Tagged::Found { bytes, .. } = self.inner.get_tagged(k, None).await? {
                let index = medidocs_search::TextIndex::from_bytes(&bytes)?;
                index.apply(vec![Change::Remove("0".into())], false)?;
                self.inner
                    .put(k, index.to_bytes()?, PutMode::Overwrite)
                    .await?;
            }
        }
        self.inner.put_tagged(k, b, expected).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_indexer_follows_the_stream_into_each_patients_index_object() {
    let moto = Moto::start().unwrap();
    let sdk = clients::compatible_server(moto.endpoint(), REGION).await;
    let s3 = clients::s3(&sdk, true);
    let run = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
    let (uploads, artefacts, table) = (
        format!("up-{run}"),
        format!("art-{run}"),
        format!("t-{run}"),
    );
    // The artefact bucket as the stack's: versioned, with Object Lock (each rewrite of an
    // index is a version of its own, held a day, not the record's years).
    for (b, lock) in [(&uploads, false), (&artefacts, true)] {
        s3.create_bucket()
            .bucket(b)
            .object_lock_enabled_for_bucket(lock)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let store = Arc::new(DynamoMetadataStore::new(clients::dynamodb(&sdk), &table));
    store.create_table().await.unwrap();
    let lookup = |k: &str| {
        Some(match k {
            "UPLOAD_BUCKET" => uploads.clone(),
            "ARTEFACT_BUCKET" => artefacts.clone(),
            "TABLE_NAME" => table.clone(),
            "KMS_KEY_ID" => KMS.to_string(),
            "AWS_REGION" => REGION.to_string(),
            "RETENTION_YEARS" => "8".to_string(),
            _ => return None,
        })
    };
    let config = Config::from_lookup(lookup).unwrap();
    let indexer = medidocs_functions::indexer_from(lookup, &sdk).unwrap();

    // READY documents of two patients, and one still processing.
    let document = |n: u32, patient: &str, status: Status, ty: &str| {
        let id = format!("{run}{n:02}");
        let mut doc = DocumentRecord::new(
            id.clone(),
            patient.into(),
            SourceRef {
                bucket: uploads.clone(),
                key: format!("uploads/{patient}/{run}{n}/original"),
                version: "v1".into(),
            },
            format!("{n:064}"),
            1000,
            format!("2026-11-2{n}T03:00:00.000Z"),
        );
        doc.status = status;
        doc.pages = 1;
        doc.ocr_key = Some(format!("artefacts/{id}/ocr.json"));
        doc.document_type = Some(ty.into());
        doc
    };
    let docs = [
        (
            document(1, "p-1", Status::Ready, "prescription"),
            &["Ticagrelor", "90", "mg", "twice", "daily"][..],
        ),
        (
            document(2, "p-1", Status::Ready, "lab_report"),
            &["HbA1c", "48", "mmol/mol", "fasting"][..],
        ),
        (
            document(3, "p-2", Status::Ready, "clinic_letter"),
            &["Seán", "Ó", "Súilleabháin", "ticagrelor"][..],
        ),
        (
            document(4, "p-2", Status::Processing, "other"),
            &["ticagrelor", "pending"][..],
        ),
    ];
    let s3_store = S3ObjectStore::new(s3.clone(), &artefacts, None);
    let put_models = || async {
        for (doc, words) in &docs {
            s3_store
                .put(
                    doc.ocr_key.as_deref().unwrap(),
                    ocr_model(words),
                    PutMode::Overwrite,
                )
                .await
                .unwrap();
        }
    };
    put_models().await;
    for (doc, _) in &docs {
        store.create_document(doc).await.unwrap();
    }
    // Items that are not documents go by.
    store.add_care_team_member("p-1", "d-1").await.unwrap();
    store.add_care_team_member("p-2", "d-1").await.unwrap();
    store.add_care_team_member("p-2", "d-2").await.unwrap();

    // The first batch: one index object per patient, the processing document left out.
    let batch = stream_event(&moto, &table, 0);
    let seen = batch["Records"].as_array().unwrap().len();
    assert!(seen >= 7, "{batch}");
    let answer = indexer.handle(&batch).await.unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for p in ["p-1", "p-2"] {
        let head = s3
            .head_object()
            .bucket(&artefacts)
            .key(keys::patient_index(p, medidocs_search::SCHEMA_VERSION))
            .send()
            .await
            .unwrap();
        assert!(head.content_length().unwrap() > 1000, "{head:?}");
        let until = head.object_lock_retain_until_date().unwrap().secs();
        assert!(until <= now + 2 * 86_400, "an index held until {until}");
    }

    // The API searches the objects, not the models: with the models gone, it still finds
    // a word with an OCR error, a phrase and a prefix, on the right document.
    let app = medidocs_functions::api::router(
        &config,
        s3.clone(),
        clients::dynamodb(&sdk),
        Arc::new(medidocs_aws::ExecutionStarter::new(
            clients::sfn(&sdk),
            "arn:aws:states:eu-west-1:123456789012:stateMachine:none",
        )),
    );
    for (doc, _) in &docs {
        s3_store
            .delete(doc.ocr_key.as_deref().unwrap())
            .await
            .unwrap();
    }
    let search = |path: String, who: &'static str| {
        let app = app.clone();
        async move {
            let (status, _, body) = call(&app, event("GET", &path, doctor(who), None)).await;
            assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
            let v: Value = serde_json::from_slice(&body).unwrap();
            let ids: Vec<String> = v["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["document_id"].as_str().unwrap().to_string())
                .collect();
            (ids, v)
        }
    };
    let id = |n: u32| format!("{run}{n:02}");
    let (ids, v) = search("/v1/patients/p-1/search?q=ticagre1or".into(), "d-1").await;
    assert_eq!(ids, [id(1)], "{v}");
    assert_eq!(v["results"][0]["hits"][0]["highlights"], json!([[0, 10]]));
    let (ids, _) = search("/v1/patients/p-1/search?q=%22mg%20twice%22".into(), "d-1").await;
    assert_eq!(ids, [id(1)]);
    let (ids, _) = search("/v1/patients/p-1/search?q=hba1".into(), "d-1").await;
    assert_eq!(ids, [id(2)]);
    // Across the doctor's patients: both patients' ticagrelor, not the processing one;
    // a doctor on p-2's team only sees p-2's.
    let (mut ids, v) = search("/v1/search?q=ticagrelor".into(), "d-1").await;
    ids.sort();
    assert_eq!(ids, [id(1), id(3)], "{v}");
    assert_eq!(v["total"], 2);
    let (ids, _) = search("/v1/search?q=ticagrelor".into(), "d-2").await;
    assert_eq!(ids, [id(3)]);
    let (ids, _) = search(
        "/v1/patients/p-2/search?q=S%C3%BAilleabh%C3%A1in".into(),
        "d-2",
    )
    .await;
    assert_eq!(ids, [id(3)]);

    put_models().await;

    // A change: staff file the prescription as a referral letter, and a record goes
    // (removed from the table). The next batch holds only what happened since.
    let mut refiled = store.get_document(&id(1)).await.unwrap();
    refiled.document_type = Some("referral_letter".into());
    refiled.version += 1;
    store.update_document(&refiled).await.unwrap();
    clients::dynamodb(&sdk)
        .delete_item()
        .table_name(&table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(keys::document_item(&id(3))),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(keys::DOCUMENT_SORT.into()),
        )
        .send()
        .await
        .unwrap();
    // (The searches' audit records are in it too: the event source mapping's filter
    // leaves them out in AWS; the indexer passes them by in any case.)
    let batch = stream_event(&moto, &table, seen);
    let documents = batch["Records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["dynamodb"]["Keys"]["pk"]["S"]
                .as_str()
                .unwrap()
                .starts_with("DOC#")
        })
        .count();
    assert_eq!(documents, 2, "{batch}");
    let answer = indexer.handle(&batch).await.unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let (ids, _) = search(
        "/v1/patients/p-1/search?q=ticagrelor&type=referral_letter".into(),
        "d-1",
    )
    .await;
    assert_eq!(ids, [id(1)]);
    let (ids, _) = search(
        "/v1/patients/p-1/search?q=ticagrelor&type=prescription".into(),
        "d-1",
    )
    .await;
    assert!(ids.is_empty(), "{ids:?}");
    let (ids, _) = search("/v1/search?q=ticagrelor".into(), "d-2").await;
    assert!(ids.is_empty(), "{ids:?}");

    // Another writer between a read and its write: the conditional write is refused and
    // the update reads again, keeping both writers' documents.
    let interloper: Arc<dyn ObjectStore> = Arc::new(Interloper {
        inner: S3ObjectStore::new(s3.clone(), &artefacts, None),
        armed: AtomicBool::new(true),
    });
    let indexes = PatientIndexes::new(store.clone(), interloper.clone());
    let extra = document(5, "p-1", Status::Ready, "lab_report");
    interloper
        .put(
            extra.ocr_key.as_deref().unwrap(),
            ocr_model(&["Ferritin", "low"]),
            PutMode::Overwrite,
        )
        .await
        .unwrap();
    store.create_document(&extra).await.unwrap();
    let entry = medidocs_core::search::entry_for(interloper.as_ref(), &extra)
        .await
        .unwrap()
        .unwrap();
    let updated = indexes
        .update("p-1", vec![Change::Put(Box::new(entry))], false)
        .await
        .unwrap();
    assert_eq!(updated.conflicts, 1, "{updated:?}");
    assert!(!updated.made_from_records);
    assert_eq!(updated.documents, 3);
    let (ids, _) = search("/v1/patients/p-1/search?q=ferritin".into(), "d-1").await;
    assert_eq!(ids, [id(5)]);

    // A damaged object: searches fall back to the records, and the next write (here a
    // reindex asked for by hand) makes it again from them.
    s3_store
        .put(
            &keys::patient_index("p-1", medidocs_search::SCHEMA_VERSION),
            b"MDSX\x01garbage".to_vec(),
            PutMode::Overwrite,
        )
        .await
        .unwrap();
    let (ids, v) = search("/v1/patients/p-1/search?q=ferritin".into(), "d-1").await;
    assert_eq!(ids, [id(5)], "{v}");
    let answer = indexer
        .handle(&json!({ "reindex": { "patients": ["p-1"] } }))
        .await
        .unwrap();
    assert_eq!(answer["reindexed"][0]["documents"], 3, "{answer}");
    let bytes = s3_store
        .get(&keys::patient_index("p-1", medidocs_search::SCHEMA_VERSION))
        .await
        .unwrap();
    assert_eq!(
        medidocs_search::TextIndex::from_bytes(&bytes)
            .unwrap()
            .len(),
        3
    );
    let err = indexer
        .handle(&json!({ "reindex": { "patients": [] } }))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("names no patients"), "{err}");
}
