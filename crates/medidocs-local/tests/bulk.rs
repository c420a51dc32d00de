//! `statemachines/bulk-import.asl.json` on the embedded engine: its Distributed Map reads a
//! manifest from the store and runs the document pipeline once per row; a rerun of the
//! same manifest processes nothing again.

use std::sync::Arc;

use medidocs_core::inputs::BulkInput;
use medidocs_core::keys;
use medidocs_core::model::Status;
use medidocs_core::ports::{MetadataStore, ObjectStore, PutMode};
use medidocs_local::{LocalConfig, LocalRuntime, UPLOAD_BUCKET};
use medidocs_pipeline::runner::BulkRunner;
use serde_json::Value;

async fn results(rt: &LocalRuntime, out: &Value) -> Vec<Value> {
    let manifest_key = out["ResultWriterDetails"]["Key"].as_str().unwrap();
    let manifest: Value =
        serde_json::from_slice(&rt.objects.get(manifest_key).await.unwrap()).unwrap();
    let mut all = Vec::new();
    if let Some(f) = manifest["ResultFiles"]["FAILED"]
        .as_array()
        .and_then(|a| a.first())
    {
        let body = rt.objects.get(f["Key"].as_str().unwrap()).await.unwrap();
        panic!("failed rows: {}", String::from_utf8_lossy(&body));
    }
    for f in manifest["ResultFiles"]["SUCCEEDED"].as_array().unwrap() {
        let rows: Value =
            serde_json::from_slice(&rt.objects.get(f["Key"].as_str().unwrap()).await.unwrap())
                .unwrap();
        for r in rows.as_array().unwrap() {
            all.push(serde_json::from_str(r["Output"].as_str().unwrap()).unwrap());
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bulk_import_machine_runs_each_manifest_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path())).unwrap();
    let samples = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../samples/documents");
    let files = [
        ("p-1", "insurance-card.webp", Status::Ready),
        ("p-1", "medication-box.heic", Status::Ready),
        ("p-2", "prescription-photo.jpg", Status::Ready),
        ("p-2", "lab-results.pdf", Status::Rejected),
    ];
    let mut manifest = String::from("document_id,bucket,key,version,execution_name\n");
    let mut ids = Vec::new();
    for (i, (patient, file, _)) in files.iter().enumerate() {
        let bytes = std::fs::read(samples.join(file)).unwrap();
        let key = keys::bulk_key(patient, &format!("{i:032x}"));
        let version = keys::sha256_hex(&bytes);
        rt.objects.put(&key, bytes, PutMode::Create).await.unwrap();
        let id = keys::document_id(UPLOAD_BUCKET, &key, &version);
        manifest.push_str(&format!("{id},{UPLOAD_BUCKET},{key},{version},{id}\n"));
        ids.push(id);
    }
    rt.objects
        .put(
            "manifests/batch-1.csv",
            manifest.into_bytes(),
            PutMode::Create,
        )
        .await
        .unwrap();
    let bulk = BulkRunner::new(
        Arc::new(rt.runner()),
        Arc::new(medidocs_states::SystemClock),
    );
    let input = BulkInput {
        manifest_bucket: "local".into(),
        manifest_key: "manifests/batch-1.csv".into(),
        upload_bucket: UPLOAD_BUCKET.into(),
        max_concurrency: 2,
        results_prefix: "manifests/results".into(),
    };
    let first = results(&rt, &bulk.run(&input, "batch-1").await.unwrap()).await;
    assert_eq!(first.len(), files.len(), "{first:?}");
    for (id, (_, file, status)) in ids.iter().zip(&files) {
        let doc = rt.meta.get_document(id).await.unwrap();
        assert_eq!(doc.status, *status, "{file}");
        let row = first
            .iter()
            .find(|r| r["document_id"] == id.as_str())
            .unwrap();
        assert_eq!(row["pipeline"]["status"], "SUCCEEDED", "{row}");
    }
    let versions: Vec<u64> = document_versions(&rt, &ids).await;

    // The same manifest again: every row's pipeline finds its document finished.
    bulk.run(&input, "batch-1-again").await.unwrap();
    assert_eq!(
        document_versions(&rt, &ids).await,
        versions,
        "a document was written again"
    );
}

async fn document_versions(rt: &LocalRuntime, ids: &[String]) -> Vec<u64> {
    let mut v = Vec::new();
    for id in ids {
        v.push(rt.meta.get_document(id).await.unwrap().version);
    }
    v
}
