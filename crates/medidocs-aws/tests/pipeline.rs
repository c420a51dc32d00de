//! The whole pipeline on the AWS adapters: the real state machine (in-process engine) with
//! the step handlers over two S3 buckets and a DynamoDB table on moto, and Textract on the
//! Textract-compatible test endpoint. A two-page fax ends READY with its renditions and
//! text in the artefact bucket; a truncated photo ends REJECTED with its original
//! quarantined there; a second run of the same upload does nothing.

use std::path::Path;
use std::sync::Arc;

use medidocs_aws::{DynamoMetadataStore, PipelineBuckets, S3ObjectStore, TextractOcr, clients};
use medidocs_core::keys;
use medidocs_core::media::Limits;
use medidocs_core::model::Status;
use medidocs_core::ports::{ObjectStore, PutMode};
use medidocs_core::runner::Runner;
use medidocs_core::states::ManualClock;
use medidocs_core::steps::{SourceInput, Steps};
use medidocs_testkit::moto::Moto;
use medidocs_testkit::textract_endpoint::{Behaviour, serve};

mod common;
use common::{KMS_KEY, REGION, textract_corpus as corpus, unique};

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../samples/documents")
            .join(name),
    )
    .unwrap()
}

#[tokio::test]
async fn documents_run_through_the_state_machine_on_s3_dynamodb_and_textract() {
    let moto = Moto::start().unwrap();
    let config = clients::compatible_server(moto.endpoint(), REGION).await;
    let (s3, uploads) = common::bucket(moto.endpoint(), "uploads").await;
    let (_, artefacts) = common::bucket(moto.endpoint(), "artefacts").await;
    let buckets = PipelineBuckets {
        uploads: S3ObjectStore::new(s3.clone(), &uploads, Some(KMS_KEY.into())),
        artefacts: S3ObjectStore::new(s3.clone(), &artefacts, Some(KMS_KEY.into())),
    };
    let meta = DynamoMetadataStore::new(clients::dynamodb(&config), unique("medidocs"));
    meta.create_table().await.unwrap();
    let textract = Arc::new(Behaviour::default());
    let endpoint = serve(
        textract.clone(),
        corpus("patient_intake_form_sample.json"),
        corpus("multi-page-forms-samples-2-page.json"),
    );
    let textract_config = clients::compatible_server(&endpoint, REGION).await;
    let steps = Steps::new(
        Arc::new(buckets.clone()),
        Arc::new(meta),
        Arc::new(TextractOcr::new(clients::textract(&textract_config))),
        Limits::default(),
        2,
    );
    let runner = Runner::new(
        steps,
        Arc::new(ManualClock::new(time::OffsetDateTime::UNIX_EPOCH)),
    );

    // A patient's upload, as the presigned PUT leaves it.
    let fax = SourceInput {
        bucket: uploads.clone(),
        key: keys::upload_key("p-1", "0f1e2d3c4b5a69788796a5b4"),
        version: "null".into(),
        execution: None,
    };
    buckets
        .put(&fax.key, sample("referral-letter-g4.tif"), PutMode::Create)
        .await
        .unwrap();
    let out = runner.run(&fax).await.unwrap();
    assert_eq!(out.record.status, Status::Ready, "{:?}", out.record.reason);
    assert_eq!(out.record.pages, 2);
    let id = &out.record.id;
    // Text from Textract, one page per DetectDocumentText call.
    let text = String::from_utf8(buckets.artefacts.get(&keys::text(id)).await.unwrap()).unwrap();
    assert_eq!(text.matches("Patient Information").count(), 2, "{text}");
    let calls = textract.calls.lock().unwrap().len();
    assert_eq!(calls, 2);
    for page in 1..=2 {
        for (name, ext) in [("thumb", "webp"), ("preview", "jpg"), ("ocr", "png")] {
            let key = keys::rendition(id, page, name, ext);
            let head = s3
                .head_object()
                .bucket(&artefacts)
                .key(&key)
                .send()
                .await
                .unwrap();
            assert_eq!(head.ssekms_key_id(), Some(KMS_KEY), "{key}");
        }
    }
    // The same event again: nothing to do.
    assert!(!runner.run(&fax).await.unwrap().processed);

    let photo = SourceInput {
        bucket: uploads.clone(),
        key: keys::upload_key("p-1", "1f1e2d3c4b5a69788796a5b4"),
        version: "null".into(),
        execution: None,
    };
    buckets
        .put(
            &photo.key,
            sample("wound-photo-truncated.jpg"),
            PutMode::Create,
        )
        .await
        .unwrap();
    let out = runner.run(&photo).await.unwrap();
    assert_eq!(out.record.status, Status::Rejected);
    assert_eq!(out.record.reason.as_ref().unwrap().code, "corrupt");
    // Kept: the original stays in the upload bucket and is copied to quarantine.
    let kept = buckets
        .artefacts
        .get(&keys::quarantine_original(&out.record.id))
        .await
        .unwrap();
    assert_eq!(kept, sample("wound-photo-truncated.jpg"));
    assert!(buckets.uploads.get(&photo.key).await.is_ok());
}
