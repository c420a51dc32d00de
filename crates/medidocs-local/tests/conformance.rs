//! The local adapters pass the shared conformance suites.

use medidocs_local::{FsObjectStore, SqliteMetadataStore};
use medidocs_testkit::{
    MetadataFlags, ObjectFlags, OcrPageCase, access_store_suite, metadata_store_suite,
    object_store_suite, ocr_engine_suite,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filesystem_object_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsObjectStore::open(dir.path().join("objects")).unwrap();
    let n = object_store_suite(&store, "suite", ObjectFlags::default())
        .await
        .unwrap();
    assert!(n >= 10, "only {n} cases ran");
    // Nothing was written outside the store's root.
    let outside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, vec![std::ffi::OsString::from("objects")]);
}

/// The object store of a replicated region: every write of the record journaled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journaled_object_store_conforms_and_journals_what_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let meta =
        std::sync::Arc::new(SqliteMetadataStore::open(&dir.path().join("meta.sqlite3")).unwrap());
    meta.enable_journal().unwrap();
    let store = medidocs_local::replication::JournaledObjects {
        inner: std::sync::Arc::new(FsObjectStore::open(dir.path().join("objects")).unwrap()),
        meta: meta.clone(),
    };
    let n = object_store_suite(&store, "suite", ObjectFlags::default())
        .await
        .unwrap();
    assert!(n >= 10, "only {n} cases ran");
    let journaled = meta.changes_after(0, 10_000).await.unwrap();
    let keys: Vec<&str> = journaled
        .iter()
        .filter_map(|c| match c {
            medidocs_local::sqlite::Change::Object { key, .. } => Some(key.as_str()),
            _ => None,
        })
        .collect();
    assert!(keys.contains(&"suite/file/a"), "{keys:?}");
    assert!(keys.contains(&"suite/range/a"), "{keys:?}");
    assert!(
        !keys.contains(&"suite/file/changed"),
        "a refused file was journaled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_metadata_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetadataStore::open(&dir.path().join("meta.sqlite3")).unwrap();
    let n = metadata_store_suite(&store, "a1", MetadataFlags::default())
        .await
        .unwrap();
    assert!(n >= 8, "only {n} cases ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_access_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetadataStore::open(&dir.path().join("meta.sqlite3")).unwrap();
    let n = access_store_suite(&store, "c3").await.unwrap();
    assert!(n >= 5, "only {n} cases ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_metadata_survives_reopening() {
    use medidocs_core::ports::MetadataStore;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.sqlite3");
    {
        let store = SqliteMetadataStore::open(&path).unwrap();
        metadata_store_suite(&store, "b2", MetadataFlags::default())
            .await
            .unwrap();
    }
    let store = SqliteMetadataStore::open(&path).unwrap();
    let counts = store.count_by_status().await.unwrap();
    assert!(counts.values().sum::<u64>() >= 10, "{counts:?}");
}

/// A page of the public corpus as the render step gives it to the OCR engine.
fn corpus_page() -> Vec<u8> {
    let dir = std::env::var_os("MEDIDOCS_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR")
                    .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../tests/corpus")
        });
    let tif = std::fs::read(dir.join("ocr/phototest.tif")).unwrap();
    let limits = medidocs_media::Limits::default();
    let page = medidocs_media::decode_page(&tif, medidocs_media::Mime::Tiff, 0, &limits).unwrap();
    medidocs_media::render_renditions(page)
        .unwrap()
        .into_iter()
        .find(|r| r.kind == medidocs_media::RenditionKind::Ocr)
        .unwrap()
        .bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tesseract_passes_the_ocr_engine_suite() {
    let ocr = medidocs_local::TesseractOcr::new(
        medidocs_local::WorkerCommand::program(env!("CARGO_BIN_EXE_medidocs-ocr-worker")),
        2,
    );
    let png = corpus_page();
    let case = OcrPageCase {
        png: &png,
        words: &["quick", "brown", "fox", "jumped"],
        unreadable: b"this is not a picture of anything",
    };
    let n = ocr_engine_suite(&ocr, case).await.unwrap();
    assert_eq!(n, 5);
}
