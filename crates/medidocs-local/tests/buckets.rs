//! The embedded object store as the States engine's buckets: a DISTRIBUTED Map reads its
//! items from a file in the store (ItemReader) and exports its results there (ResultWriter).

use std::sync::Arc;

use medidocs_core::ports::{ObjectStore, PutMode};
use medidocs_local::FsObjectStore;
use medidocs_pipeline::runner::StoreBuckets;
use medidocs_states::{Engine, ManualClock, handler};
use serde_json::{Value, json};

#[tokio::test]
async fn a_distributed_map_reads_and_writes_through_the_object_store() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(FsObjectStore::open(dir.path()).unwrap());
    store
        .put(
            "imports/batch-1/manifest.csv",
            b"path,patient_id\nscan-1.pdf,p-1\nscan-2.tif,p-2\n".to_vec(),
            PutMode::Overwrite,
        )
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::UNIX_EPOCH));
    let mut engine = Engine::new(clock).with_buckets(Arc::new(StoreBuckets(store.clone())));
    engine.register(
        "arn:aws:lambda:local:000000000000:function:import-one",
        handler(|v: Value| async move { Ok(json!({ "imported": v["path"] })) }),
    );
    let def = json!({ "StartAt": "Import", "States": { "Import": { "Type": "Map", "End": true,
        "ItemReader": { "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": { "InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW" },
            "Parameters": { "Bucket": "uploads", "Key.$": "$.manifest" } },
        "ItemProcessor": { "ProcessorConfig": { "Mode": "DISTRIBUTED", "ExecutionType": "STANDARD" },
            "StartAt": "One", "States": { "One": { "Type": "Task", "Resource": "arn:aws:lambda:local:000000000000:function:import-one", "End": true } } },
        "ResultWriter": { "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": { "Bucket": "artefacts", "Prefix": "imports/batch-1/results" } } } } });
    let out = engine
        .execute(
            &def,
            json!({ "manifest": "imports/batch-1/manifest.csv" }),
            "import",
        )
        .await
        .output
        .unwrap();
    let manifest_key = out["ResultWriterDetails"]["Key"].as_str().unwrap();
    let manifest: Value = serde_json::from_slice(&store.get(manifest_key).await.unwrap()).unwrap();
    let results_key = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
        .as_str()
        .unwrap();
    let results: Value = serde_json::from_slice(&store.get(results_key).await.unwrap()).unwrap();
    let outputs: Vec<Value> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(r["Output"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(
        outputs,
        vec![
            json!({ "imported": "scan-1.pdf" }),
            json!({ "imported": "scan-2.tif" })
        ]
    );
    // A missing manifest is the Map's own error, named as Step Functions names it.
    let missing = engine
        .execute(&def, json!({ "manifest": "imports/none.csv" }), "missing")
        .await
        .output
        .unwrap_err();
    assert_eq!(missing.error, "States.ItemReaderFailed");
}
