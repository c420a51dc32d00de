use anyhow::{Result, anyhow, ensure};
use medidocs_core::model::{DocumentRecord, PdfRef, Reason, SourceRef, Status};
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
            d.pdf = Some(PdfRef {
                key: format!("artefacts/{}/document.pdf", d.id),
                bytes: 123_456,
                sha1_base64: "2jmj7l5rSw0yVb/vlWAYkK/YBwk=".into(),
                sha256: format!("{:064x}", 7),
                created_at: "2026-11-27T10:00:09.000Z".into(),
            });
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
        "a patient's timeline: by the day each document is about, newest first, within a range of days, paginated",
        async {
            use medidocs_core::understand::{DocumentType, TypeGuess, Understanding};
            let dated = |d: &mut DocumentRecord, day: &str| {
                d.understanding = Some(Understanding {
                    doc_type: TypeGuess {
                        code: DocumentType::LabReport,
                        loinc: Some("11502-2".into()),
                        confidence: 0.9,
                        evidence: vec![],
                    },
                    document_date: Some(day.into()),
                    dates: vec![],
                });
            };
            let listed = format!("t{run}");
            let mut d = Vec::new();
            for (n, day) in [
                (0x40, Some("2019-03-14")),
                (0x41, None),
                (0x42, Some("2025-06-01")),
                (0x43, Some("2019-03-14")),
                (0x44, None),
            ] {
                let mut x = doc(run, n, &listed);
                if let Some(day) = day {
                    dated(&mut x, day);
                }
                store.create_document(&x).await?;
                d.push(x);
            }
            // Read later: it moves from the day it came in to the day it is about.
            dated(&mut d[4], "2021-01-01");
            d[4].version = 2;
            store.update_document(&d[4]).await?;
            store
                .create_document(&doc(run, 0x45, &format!("other{run}")))
                .await?;
            let ids = |k: &[usize]| k.iter().map(|&i| d[i].id.clone()).collect::<Vec<_>>();
            let listed = listed.as_str();
            let read = |from: Option<&'static str>, to: Option<&'static str>| async move {
                let mut seen = Vec::new();
                let mut cursor: Option<String> = None;
                for _ in 0..20 {
                    let page = store
                        .list_patient_documents_by_date(listed, (from, to), 2, cursor.as_deref())
                        .await?;
                    ensure!(page.documents.len() <= 2, "page of {}", page.documents.len());
                    seen.extend(page.documents.into_iter().map(|d| d.id));
                    match page.next {
                        Some(n) => cursor = Some(n),
                        None => return Ok::<_, anyhow::Error>(seen),
                    }
                }
                Err(anyhow!("pagination does not end"))
            };
            let all = read(None, None).await?;
            ensure!(all == ids(&[1, 2, 4, 3, 0]), "timeline {all:?}");
            let range = read(Some("2019-03-14"), Some("2021-01-01")).await?;
            ensure!(range == ids(&[4, 3, 0]), "2019-03-14..=2021-01-01: {range:?}");
            let since = read(Some("2020-01-01"), None).await?;
            ensure!(since == ids(&[1, 2, 4]), "from 2020: {since:?}");
            let before = read(None, Some("2019-03-13")).await?;
            ensure!(before.is_empty(), "before 2019-03-14: {before:?}");
            Ok(())
        }
        .await,
    );

    c.check(
        "a patient's settings: none until set, then as set, replaced, and only theirs",
        async {
            use medidocs_core::model::PatientSettings;
            use medidocs_core::understand::Region;
            let (p1, p2) = (format!("s{run}1"), format!("s{run}2"));
            ensure!(
                store.patient_settings(&p1).await? == PatientSettings::default(),
                "settings before any were set"
            );
            let us = PatientSettings {
                date_region: Some(Region::Us),
                updated_at: "2026-12-02T10:00:00.000Z".into(),
            };
            store.put_patient_settings(&p1, &us).await?;
            ensure!(store.patient_settings(&p1).await? == us, "not as set");
            ensure!(
                store.patient_settings(&p2).await? == PatientSettings::default(),
                "another patient's settings changed"
            );
            let cleared = PatientSettings {
                date_region: None,
                updated_at: "2026-12-02T11:00:00.000Z".into(),
            };
            store.put_patient_settings(&p1, &cleared).await?;
            ensure!(
                store.patient_settings(&p1).await? == cleared,
                "not replaced"
            );
            Ok(())
        }
        .await,
    );

    c.check(
        "content claims: first wins within a patient, later ids learn the first, patients never see each other's",
        async {
            let sha = format!("{run}{}", "ab".repeat(20));
            let first = format!("{run}aa01");
            let (p1, p2) = (format!("p-{run}-1"), format!("p-{run}-2"));
            ensure!(
                store.claim_content(&p1, &sha, &first).await?.is_none(),
                "first claim not granted"
            );
            ensure!(
                store.claim_content(&p1, &sha, &first).await?.is_none(),
                "repeated claim by the first id not idempotent"
            );
            let second = store.claim_content(&p1, &sha, &format!("{run}aa02")).await?;
            ensure!(
                second.as_deref() == Some(first.as_str()),
                "second claim gave {second:?}"
            );
            // Another patient's claim on the same bytes is theirs alone, both ways.
            let other = format!("{run}aa03");
            let theirs = store.claim_content(&p2, &sha, &other).await?;
            ensure!(
                theirs.is_none(),
                "another patient's claim on the same content was told of {theirs:?}"
            );
            let again = store.claim_content(&p2, &sha, &format!("{run}aa04")).await?;
            ensure!(
                again.as_deref() == Some(other.as_str()),
                "the second patient's later claim gave {again:?}"
            );
            Ok(())
        }
        .await,
    );

    c.check(
        "overdue documents: in flight in one region past their deadline, earliest first, from the in-flight index",
        async {
            let (here, there) = (format!("r{run}"), format!("s{run}"));
            let at = |n: u32, status: Status, region: &str, deadline: Option<&str>| {
                let mut d = doc(run, n, &patient);
                d.status = status;
                d.region = region.to_string();
                d.deadline = deadline.map(str::to_string);
                d
            };
            let mut docs = vec![
                at(40, Status::Processing, &here, Some("2001-01-01T00:00:05.000Z")),
                at(41, Status::Processing, &here, Some("2001-01-01T00:00:01.000Z")),
                at(42, Status::Received, &here, Some("2001-01-01T00:00:00.000Z")),
                at(43, Status::Processing, &here, Some("2099-01-01T00:00:00.000Z")),
                at(44, Status::Ready, &here, Some("2001-01-01T00:00:00.000Z")),
                at(45, Status::Processing, &there, Some("2001-01-01T00:00:00.000Z")),
                at(46, Status::Processing, &here, None),
            ];
            for d in &docs {
                store.create_document(d).await?;
            }
            let ids = |v: Vec<DocumentRecord>| -> Vec<String> { v.into_iter().map(|d| d.id).collect() };
            let id = |n: u32| format!("{run}{n:04x}");
            let early = ids(store.overdue_documents(&here, "2001-01-01T00:00:03.000Z", 100).await?);
            ensure!(early == vec![id(42), id(41)], "earliest deadline first: {early:?}");
            let all = ids(store.overdue_documents(&here, "2002-01-01T00:00:00.000Z", 100).await?);
            ensure!(
                all == vec![id(42), id(41), id(40)],
                "in flight, this region, with a deadline past: {all:?}"
            );
            let first = ids(store.overdue_documents(&here, "2002-01-01T00:00:00.000Z", 1).await?);
            ensure!(first == vec![id(42)], "limit: {first:?}");
            let other = ids(store.overdue_documents(&there, "2002-01-01T00:00:00.000Z", 100).await?);
            ensure!(other == vec![id(45)], "the other region's own: {other:?}");
            // A final status leaves the index; a new deadline moves a document in it.
            docs[1].status = Status::Ready;
            docs[1].deadline = None;
            docs[1].version += 1;
            store.update_document(&docs[1]).await?;
            docs[0].deadline = Some("2099-01-01T00:00:00.000Z".into());
            docs[0].version += 1;
            store.update_document(&docs[0]).await?;
            let after = ids(store.overdue_documents(&here, "2002-01-01T00:00:00.000Z", 100).await?);
            ensure!(after == vec![id(42)], "after the updates: {after:?}");
            let nowhere = store.overdue_documents(&format!("t{run}"), "2099-12-31T00:00:00.000Z", 100).await?;
            ensure!(nowhere.is_empty(), "a region with nothing in flight: {nowhere:?}");
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
