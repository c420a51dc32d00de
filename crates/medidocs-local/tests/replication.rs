//! Two embedded regions replicated both ways: the conflict rule as the SQLite store
//! applies it, objects before the records that name them, nothing travelling back, and
//! an upload that arrives by replication starting nothing in the receiving region.

use medidocs_core::model::{DocumentRecord, SourceRef, Status};
use medidocs_core::ports::{MetadataStore, ObjectStore, PutMode};
use medidocs_local::replication::{Region, Replicator, reconcile};
use medidocs_local::{LocalConfig, LocalRuntime};

fn open(dir: &std::path::Path) -> LocalRuntime {
    let mut c = LocalConfig::new(dir);
    c.journal = true;
    LocalRuntime::open(c).unwrap()
}

fn region(name: &str, rt: &LocalRuntime) -> Region {
    Region {
        name: name.into(),
        objects: rt.objects.clone(),
        meta: rt.meta.clone(),
    }
}

fn doc(id: &str) -> DocumentRecord {
    DocumentRecord::new(
        id.into(),
        "p-1".into(),
        SourceRef {
            bucket: "local-uploads".into(),
            key: format!("uploads/p-1/{id}/original"),
            version: "v".into(),
        },
        "00".into(),
        3,
        "2026-11-28T00:00:00Z".into(),
    )
}

/// Writes `d` through `version` bumps, ending in `status`.
async fn write(rt: &LocalRuntime, mut d: DocumentRecord, status: Status, version: u64) {
    rt.meta.create_document(&d).await.unwrap();
    while d.version < version {
        d.version += 1;
        d.status = if d.version == version {
            status
        } else {
            Status::Processing
        };
        d.updated_at = format!("2026-11-28T00:00:{:02}Z", d.version);
        rt.meta.update_document(&d).await.unwrap();
    }
}

#[tokio::test]
async fn an_outcome_is_never_undone_by_a_later_copy_and_both_regions_converge() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (open(&dir.path().join("a")), open(&dir.path().join("b")));
    // The same document: READY at version 3 in B (processed there during an outage),
    // still PROCESSING at version 7 in A (retries bumped it before A failed).
    write(&b, doc("d1"), Status::Ready, 3).await;
    write(&a, doc("d1"), Status::Processing, 7).await;
    // And a document only A has, at version 2.
    write(&a, doc("d2"), Status::Processing, 2).await;
    let a2b = Replicator::new(region("a", &a), region("b", &b));
    let b2a = Replicator::new(region("b", &b), region("a", &a));
    a2b.catch_up().await.unwrap();
    b2a.catch_up().await.unwrap();
    for rt in [&a, &b] {
        let d1 = rt.meta.get_document("d1").await.unwrap();
        assert_eq!(
            (d1.status, d1.version),
            (Status::Ready, 3),
            "the outcome stays"
        );
        let d2 = rt.meta.get_document("d2").await.unwrap();
        assert_eq!((d2.status, d2.version), (Status::Processing, 2));
    }
    assert!(a2b.kept() >= 1, "B kept its READY copy against A's");
    assert_eq!(
        a.meta.all_documents().await.unwrap(),
        b.meta.all_documents().await.unwrap()
    );
    // Within one status, the higher version wins: A moves d2 on, B follows.
    let mut d2 = a.meta.get_document("d2").await.unwrap();
    d2.version += 1;
    d2.updated_at = "2026-11-28T00:01:00Z".into();
    d2.text_chars = 42;
    a.meta.update_document(&d2).await.unwrap();
    a2b.catch_up().await.unwrap();
    assert_eq!(b.meta.get_document("d2").await.unwrap().text_chars, 42);
    assert!(!a2b.lags_ms().is_empty());
}

#[tokio::test]
async fn replicated_writes_do_not_travel_back_and_objects_arrive_before_their_record() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (open(&dir.path().join("a")), open(&dir.path().join("b")));
    let scan = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../samples/documents/pharmacy-fax-g3.tif");
    let source = a.ingest(&scan, "p-1").await.unwrap();
    let out = a.runner().run(&source).await.unwrap();
    assert_eq!(out.record.status, Status::Ready, "{:?}", out.record.reason);
    a.store
        .put(
            "artefacts/extra/note.txt",
            b"x".to_vec(),
            PutMode::Overwrite,
        )
        .await
        .unwrap();
    let a2b = Replicator::new(region("a", &a), region("b", &b));
    let pass = a2b.pass(10_000).await.unwrap();
    assert!(pass.changes > 5 && pass.objects_copied > 3, "{pass:?}");
    // B has the record and every object it names.
    let d = b.meta.get_document(&out.record.id).await.unwrap();
    assert_eq!(d, out.record);
    for r in &d.renditions {
        assert!(b.objects.head(&r.key).await.is_ok(), "{}", r.key);
    }
    assert!(b.objects.head(d.text_key.as_ref().unwrap()).await.is_ok());
    assert!(b.objects.head(&source.key).await.is_ok());
    assert!(b.objects.head("artefacts/extra/note.txt").await.is_ok());
    // Nothing of it is in B's journal, so nothing goes back to A.
    assert_eq!(b.meta.last_change().await.unwrap(), 0);
    let b2a = Replicator::new(region("b", &b), region("a", &a));
    assert_eq!(b2a.pass(100).await.unwrap().changes, 0);
}

#[tokio::test]
async fn a_replicated_upload_starts_nothing_and_is_finished_by_reconcile_after_fail_back() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (open(&dir.path().join("a")), open(&dir.path().join("b")));
    let scan = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../samples/documents/pharmacy-fax-g3.tif");
    // Acknowledged in A, replicated, then A fails before processing it.
    let source = a.ingest(&scan, "p-1").await.unwrap();
    let a2b = Replicator::new(region("a", &a), region("b", &b));
    a2b.catch_up().await.unwrap();
    assert!(b.objects.head(&source.key).await.is_ok());
    // B does not process what it received by replication.
    let id = source.document_id();
    assert!(b.meta.get_document(&id).await.is_err());
    assert!(b.meta.all_documents().await.unwrap().is_empty());
    // After fail-back, A's reconcile finishes it once; a second reconcile does nothing.
    let runner = a.runner();
    let first = reconcile(&a, &runner).await.unwrap();
    assert_eq!(first.runs.len(), 1);
    assert_eq!(first.runs[0].2, Status::Ready);
    let again = reconcile(&a, &runner).await.unwrap();
    assert!(again.runs.is_empty(), "{:?}", again.runs);
    a2b.catch_up().await.unwrap();
    assert_eq!(
        b.meta.get_document(&id).await.unwrap().status,
        Status::Ready
    );
}
