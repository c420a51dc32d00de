//! A metadata file written before the in-flight index and the timeline opens as before,
//! the watchdog finds the documents it left in flight and the timeline lists them all; `medidocs migrate` splits links between patients.

use medidocs_core::model::{DocumentRecord, SourceRef, Status};
use medidocs_core::ports::MetadataStore;
use medidocs_local::SqliteMetadataStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_from_before_the_inflight_index_gets_it_with_its_documents_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metadata.sqlite3");
    {
        // The schema and rows as the previous release wrote them.
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE items (pk TEXT NOT NULL, sk TEXT NOT NULL, gsi1pk TEXT, gsi1sk TEXT,
               status TEXT, version INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (pk, sk)) WITHOUT ROWID;",
        )
        .unwrap();
        for (id, status) in [("aa01", Status::Processing), ("aa02", Status::Ready)] {
            let mut d = DocumentRecord::new(
                id.into(),
                "p-1".into(),
                SourceRef {
                    bucket: "b".into(),
                    key: format!("uploads/p-1/{id}/original"),
                    version: "v".into(),
                },
                String::new(),
                1,
                "2026-01-01T00:00:00.000Z".into(),
            );
            d.status = status;
            let mut v = serde_json::to_value(&d).unwrap();
            for k in ["attempt", "region", "deadline"] {
                v.as_object_mut().unwrap().remove(k);
            }
            c.execute(
                "INSERT INTO items (pk, sk, gsi1pk, gsi1sk, status, version, data) VALUES (?1, 'META', ?2, ?3, ?4, 1, ?5)",
                rusqlite::params![
                    format!("DOC#{id}"),
                    "PATIENT#p-1",
                    format!("CREATED#2026-01-01T00:00:00.000Z#{id}"),
                    status.as_str(),
                    v.to_string()
                ],
            )
            .unwrap();
        }
    }
    let store = SqliteMetadataStore::open(&path).unwrap();
    let old = store.get_document("aa01").await.unwrap();
    assert_eq!((old.attempt, old.region.as_str()), (1, "local"));
    assert_eq!(old.deadline.as_deref(), Some("2026-01-01T01:00:00.000Z"));
    let overdue = store
        .overdue_documents("local", "2026-06-01T00:00:00.000Z", 10)
        .await
        .unwrap();
    assert_eq!(
        overdue.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["aa01"]
    );
    // Both are in the timeline, by the day they came in (neither was read yet).
    let timeline = store
        .list_patient_documents_by_date("p-1", (Some("2026-01-01"), Some("2026-01-01")), 10, None)
        .await
        .unwrap();
    let mut ids: Vec<&str> = timeline.documents.iter().map(|d| d.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["aa01", "aa02"]);
    // Opened again: nothing changes.
    drop(store);
    let store = SqliteMetadataStore::open(&path).unwrap();
    assert_eq!(store.get_document("aa01").await.unwrap(), old);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migration_splits_links_between_patients_on_sqlite_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metadata.sqlite3");
    let store = SqliteMetadataStore::open(&path).unwrap();
    let objects = medidocs_local::FsObjectStore::open(dir.path().join("objects")).unwrap();
    let write = move |sha: String, id: String| {
        let path = path.clone();
        Box::pin(async move {
            let c = rusqlite::Connection::open(&path)?;
            c.busy_timeout(std::time::Duration::from_secs(10))?;
            c.execute(
                "INSERT INTO items (pk, sk, version, data) VALUES (?1, 'DOC', 1, ?2)",
                rusqlite::params![
                    format!("SHA#{sha}"),
                    serde_json::json!({ "document_id": id }).to_string()
                ],
            )?;
            Ok(())
        })
            as std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>
    };
    medidocs_testkit::migration_suite(&objects, &store, &store, &write, "c4")
        .await
        .unwrap();
}

/// Processes opening one file at once (an import and a `status` run beside it) all open
/// it: a new file gets its schema once, and a file from before the in-flight index and
/// the timeline gets its columns once.
#[test]
fn processes_opening_one_file_at_once_all_open_it() {
    for old in [false, true] {
        for _ in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("metadata.sqlite3");
            if old {
                rusqlite::Connection::open(&path)
                    .unwrap()
                    .execute_batch(
                        "CREATE TABLE items (pk TEXT NOT NULL, sk TEXT NOT NULL, gsi1pk TEXT,
                           gsi1sk TEXT, status TEXT, version INTEGER NOT NULL, data TEXT NOT NULL,
                           PRIMARY KEY (pk, sk)) WITHOUT ROWID;",
                    )
                    .unwrap();
            }
            let opened: Vec<Result<SqliteMetadataStore, String>> = std::thread::scope(|s| {
                let hs: Vec<_> = (0..6)
                    .map(|_| {
                        s.spawn(|| SqliteMetadataStore::open(&path).map_err(|e| e.to_string()))
                    })
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for o in &opened {
                assert!(o.is_ok(), "old file {old}: {:?}", o.as_ref().err());
            }
            let c = rusqlite::Connection::open(&path).unwrap();
            let columns: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM pragma_table_info('items') WHERE name LIKE 'gsi%'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(columns, 6);
        }
    }
}
