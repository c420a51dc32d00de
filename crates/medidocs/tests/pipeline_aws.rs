//! The whole pipeline on the AWS adapters: the real state machine (in-process engine) with
//! the step handlers over two S3 buckets and a DynamoDB table on moto, and Textract on the
//! Textract-compatible test endpoint. A two-page fax ends READY with its renditions and
//! text in the artefact bucket; a truncated photo ends REJECTED with its original
//! quarantined there; a second run of the same upload does nothing.

use std::sync::Arc;

use medidocs_aws::{DynamoMetadataStore, PipelineBuckets, S3ObjectStore, TextractOcr, clients};
use medidocs_core::inputs::SourceInput;
use medidocs_core::keys;
use medidocs_core::model::Status;
use medidocs_core::ports::{ObjectStore, PutMode};
use medidocs_media::Limits;
use medidocs_pipeline::runner::Runner;
use medidocs_pipeline::steps::Steps;
use medidocs_states::ManualClock;
use medidocs_testkit::moto::Moto;
use medidocs_testkit::textract_endpoint::{Behaviour, serve};

#[path = "../../medidocs-aws/tests/common/mod.rs"]
mod common;
use common::{KMS_KEY, REGION, textract_corpus as corpus, unique};

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../samples/documents")
        .join(name),
    )
    .unwrap()
}

/// Two buckets (the upload bucket versioned, as the template makes it), a table and the
/// Textract endpoint on moto, and the pipeline's runner over them.
struct Stack {
    _moto: Moto,
    s3: aws_sdk_s3::Client,
    uploads: String,
    artefacts: String,
    buckets: PipelineBuckets,
    textract: Arc<Behaviour>,
    runner: Runner,
}

async fn stack() -> Stack {
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
    Stack {
        _moto: moto,
        s3,
        uploads,
        artefacts,
        buckets,
        textract,
        runner,
    }
}

#[tokio::test]
async fn documents_run_through_the_state_machine_on_s3_dynamodb_and_textract() {
    let Stack {
        _moto,
        s3,
        uploads,
        artefacts,
        buckets,
        textract,
        runner,
    } = stack().await;

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
        for (name, ext) in [("thumb", "webp"), ("preview", "jpg")] {
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
    // The OCR images were intermediates: removed once the document was READY.
    let left = s3
        .list_objects_v2()
        .bucket(&artefacts)
        .prefix(keys::work_prefix(id))
        .send()
        .await
        .unwrap();
    assert_eq!(left.key_count(), Some(0), "{:?}", left.contents());
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

/// A document reads the version of its original that its upload event named, even after
/// the key holds other bytes; bytes whose SHA-256 is not the one the upload declared (a
/// store that did not check them) are REJECTED, kept in quarantine.
#[tokio::test]
async fn reads_are_pinned_to_the_uploaded_version_and_its_checksum() {
    let st = stack().await;
    st.s3
        .put_bucket_versioning()
        .bucket(&st.uploads)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let key = keys::upload_key("p-1", "2f1e2d3c4b5a69788796a5b4");
    let fax = sample("referral-letter-g4.tif");
    let put = |body: Vec<u8>, sha: Option<String>| {
        st.s3
            .put_object()
            .bucket(&st.uploads)
            .key(&key)
            .set_checksum_algorithm(
                sha.is_some()
                    .then_some(aws_sdk_s3::types::ChecksumAlgorithm::Sha256),
            )
            .set_checksum_sha256(sha)
            .body(body.into())
            .send()
    };
    let first = put(
        fax.clone(),
        medidocs_aws::s3::sha256_base64(&keys::sha256_hex(&fax)),
    )
    .await
    .unwrap();
    let version = first.version_id().unwrap().to_string();
    // The key gets a newer version before the pipeline reads it.
    put(b"not the patient's file".to_vec(), None).await.unwrap();
    let source = SourceInput {
        bucket: st.uploads.clone(),
        key: key.clone(),
        version: version.clone(),
        execution: None,
    };
    assert_eq!(
        st.buckets
            .uploads
            .get_version(&key, &version)
            .await
            .unwrap(),
        fax
    );
    let out = st.runner.run(&source).await.unwrap();
    assert_eq!(out.record.status, Status::Ready, "{:?}", out.record.reason);
    assert_eq!(out.record.pages, 2);
    assert_eq!(out.record.sha256, keys::sha256_hex(&fax));
    assert_eq!(out.record.source.version, version);

    // Bytes stored under a declared SHA-256 that is not theirs.
    let other = sample("wound-photo-truncated.jpg");
    let liar = keys::upload_key("p-1", "3f1e2d3c4b5a69788796a5b4");
    let stored = st
        .s3
        .put_object()
        .bucket(&st.uploads)
        .key(&liar)
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .checksum_sha256(medidocs_aws::s3::sha256_base64(&keys::sha256_hex(&fax)).unwrap())
        .body(other.clone().into())
        .send()
        .await
        .expect("moto keeps what S3 refuses (BadDigest)");
    // S3 refuses such a PUT itself; a store that keeps it must not be believed.
    {
        let source = SourceInput {
            bucket: st.uploads.clone(),
            key: liar.clone(),
            version: stored.version_id().unwrap().to_string(),
            execution: None,
        };
        let out = st.runner.run(&source).await.unwrap();
        assert_eq!(out.record.status, Status::Rejected);
        assert_eq!(
            out.record.reason.as_ref().unwrap().code,
            "checksum_mismatch"
        );
        // Kept in quarantine as it was stored (reading it back fails its checksum, as
        // reading the upload did).
        let kept = st
            .buckets
            .artefacts
            .head(&keys::quarantine_original(&out.record.id))
            .await
            .unwrap();
        assert_eq!(kept.size, other.len() as u64);
    }
}
