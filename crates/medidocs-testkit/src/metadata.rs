use anyhow::{Result, anyhow, ensure};
use medidocs_core::model::{DocumentRecord, Reason, SourceRef, Status};
use medidocs_core::ports::{MetadataStore, StoreError};

use crate::Cases;

/// Backend differences of metadata stores.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetadataFlags {
    /// The store may return fewer items than `limit` on a page even when more follow
    /// (DynamoDB does, after filtering); the suite then only checks completeness and order.
    pub short_pages: bool,
}

fn doc(run: &str, n: u32, patient: &str) -> DocumentRecord {
    let id = format!("{run}{n:04x}");
    DocumentRecord::new(
        id.clone(),
        patient.to_string(),
        SourceRef {
            bucket: "b".into(),
            key: format!("uploads/{patient}/{id}/original"),
            version: "v1".into(),
        },
        format!("{:064x}", n),
        1000 + n as u64,
        format!("2026-11-27T10:{:02}:{:02}.000Z", n / 60, n % 60),
    )
}

/// Runs every metadata-store case. `run` is a short lowercase-hex prefix that makes this
/// run's ids unique in a shared store. Returns the number of cases run.
pub async fn metadata_store_suite(
    store: &dyn MetadataStore,
    run: &str,
    flags: MetadataFlags,
) -> Result<usize> {
    let mut c = Cases::new();
    let patient = format!("p{run}");

    c.check(
        "create then get returns the same record",
        async {
            let mut d = doc(run, 1, &patient);
            d.mime = Some("application/pdf".into());
            d.reason = Some(Reason {
                code: "c".into(),
                message: "m — ünïcode".into(),
            });
            d.timings.insert("inspect".into(), 3);
            store.create_document(&d).await?;
            let back = store.get_document(&d.id).await?;
            ensure!(back == d, "got {back:?}");
            Ok(())
        }
        .await,
    );

    c.check(
        "creating an existing id is AlreadyExists and changes nothing",
        async {
            let d = doc(run, 2, &patient);
            store.create_document(&d).await?;
            let mut other = d.clone();
            other.bytes = 1;
            match store.create_document(&other).await {
                Err(StoreError::AlreadyExists { .. }) => {}
                r => return Err(anyhow!("second create gave {r:?}")),
            }
            ensure!(
                store.get_document(&d.id).await?.bytes == d.bytes,
                "the refused create wrote"
            );
            Ok(())
        }
        .await,
    );

    c.check(
        "a missing id is NotFound for get and update",
        async {
            let d = doc(run, 0xfff, &patient);
            match store.get_document(&d.id).await {
                Err(StoreError::NotFound { .. }) => {}
                r => return Err(anyhow!("get gave {r:?}")),
            }
            let mut d2 = d.clone();
            d2.version = 2;
            match store.update_document(&d2).await {
                Err(StoreError::NotFound { .. }) => Ok(()),
                r => Err(anyhow!("update gave {r:?}")),
            }
        }
        .await,
    );

    c.check(
        "updates are conditional on the previous version",
        async {
            let mut d = doc(run, 3, &patient);
            store.create_document(&d).await?;
            d.status = Status::Processing;
            d.version = 2;
            store.update_document(&d).await?;
            // A writer still holding version 1 loses.
            let mut stale = d.clone();
            stale.status = Status::Failed;
            match store.update_document(&stale).await {
                Err(StoreError::Precondition { .. }) => {}
                r => return Err(anyhow!("stale update gave {r:?}")),
            }
            d.status = Status::Ready;
            d.version = 3;
            store.update_document(&d).await?;
            let back = store.get_document(&d.id).await?;
            ensure!(
                back.status == Status::Ready && back.version == 3,
                "got {:?} v{}",
                back.status,
                back.version
            );
            Ok(())
        }
        .await,
    );

    c.check(
        "two concurrent updates from one version: exactly one wins",
        async {
            let d = doc(run, 4, &patient);
            store.create_document(&d).await?;
            let mut a = d.clone();
            a.version = 2;
            a.status = Status::Processing;
            let mut b = a.clone();
            b.status = Status::Failed;
            let (ra, rb) = tokio::join!(store.update_document(&a), store.update_document(&b));
            let wins = [ra.is_ok(), rb.is_ok()].iter().filter(|w| **w).count();
            ensure!(wins == 1, "{wins} updates succeeded");
            Ok(())
        }
        .await,
    );

    c.check(
        "a patient's documents list newest first, paginated, and only theirs",
        async {
            let listed = format!("l{run}");
            let mut ids = Vec::new();
            for n in 10..15 {
                let d = doc(run, n, &listed);
                store.create_document(&d).await?;
                ids.push(d.id);
            }
            store
                .create_document(&doc(run, 20, &format!("other{run}")))
                .await?;
            ids.reverse();
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            let mut pages = 0;
            loop {
                let page = store
                    .list_patient_documents(&listed, 2, cursor.as_deref())
                    .await?;
                pages += 1;
                ensure!(
                    page.documents.len() <= 2,
                    "page of {}",
                    page.documents.len()
                );
                if !flags.short_pages && page.next.is_some() {
                    ensure!(
                        page.documents.len() == 2,
                        "a non-final page had {}",
                        page.documents.len()
                    );
                }
                seen.extend(page.documents.into_iter().map(|d| d.id));
                match page.next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
                ensure!(pages < 20, "pagination does not end");
            }
            ensure!(seen == ids, "listed {seen:?}, expected {ids:?}");
            Ok(())
        }
        .await,
    );

    c.check(
        "content claims: first wins, later ids learn the first",
        async {
            let sha = format!("{run}{}", "ab".repeat(20));
            let first = format!("{run}aa01");
            ensure!(
                store.claim_content(&sha, &first).await?.is_none(),
                "first claim not granted"
            );
            ensure!(
                store.claim_content(&sha, &first).await?.is_none(),
                "repeated claim by the first id not idempotent"
            );
            let second = store.claim_content(&sha, &format!("{run}aa02")).await?;
            ensure!(
                second.as_deref() == Some(first.as_str()),
                "second claim gave {second:?}"
            );
            Ok(())
        }
        .await,
    );

    c.check(
        "stale documents: by status, written before the cutoff, oldest first",
        async {
            let at = |n: u32, status: Status, when: &str| {
                let mut d = doc(run, n, &patient);
                d.status = status;
                d.updated_at = when.into();
                d
            };
            for d in [
                at(40, Status::Processing, "2001-01-01T00:00:05.000Z"),
                at(41, Status::Processing, "2001-01-01T00:00:01.000Z"),
                at(42, Status::Received, "2001-01-01T00:00:00.000Z"),
                at(43, Status::Processing, "2026-11-27T10:00:00.000Z"),
                at(44, Status::Ready, "2001-01-01T00:00:00.000Z"),
            ] {
                store.create_document(&d).await?;
            }
            let ours = |v: Vec<DocumentRecord>| -> Vec<String> {
                v.into_iter()
                    .map(|d| d.id)
                    .filter(|id| id.starts_with(run))
                    .collect()
            };
            let early = ours(
                store
                    .stale_documents(Status::Processing, "2001-01-01T00:00:03.000Z", 100)
                    .await?,
            );
            ensure!(early == vec![format!("{run}0029")], "{early:?}");
            let all = ours(
                store
                    .stale_documents(Status::Processing, "2002-01-01T00:00:00.000Z", 100)
                    .await?,
            );
            ensure!(
                all == vec![format!("{run}0029"), format!("{run}0028")],
                "oldest first, PROCESSING only: {all:?}"
            );
            let received = ours(
                store
                    .stale_documents(Status::Received, "2002-01-01T00:00:00.000Z", 100)
                    .await?,
            );
            ensure!(received == vec![format!("{run}002a")], "{received:?}");
            Ok(())
        }
        .await,
    );
    c.check(
        "counts by status include every stored document",
        async {
            let before = store.count_by_status().await?;
            let mut d = doc(run, 30, &patient);
            store.create_document(&d).await?;
            d.status = Status::Rejected;
            d.version = 2;
            store.update_document(&d).await?;
            let after = store.count_by_status().await?;
            let delta = |s: &str| {
                after.get(s).copied().unwrap_or(0) as i64
                    - before.get(s).copied().unwrap_or(0) as i64
            };
            ensure!(
                delta("REJECTED") == 1 && delta("RECEIVED") == 0,
                "counts moved {before:?} -> {after:?}"
            );
            Ok(())
        }
        .await,
    );

    c.finish("metadata store")
}
