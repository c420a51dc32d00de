use anyhow::{Result, anyhow, ensure};
use medidocs_core::access::{AuditRecord, Outcome, Role};
use medidocs_core::ports::{AccessStore, MetadataStore, StoreError};

use crate::Cases;

fn record(run: &str, n: u32, at: &str, patient: Option<&str>, outcome: Outcome) -> AuditRecord {
    AuditRecord {
        id: format!("{at}#{run}{n:04x}"),
        at: at.into(),
        actor: Some(format!("d{run}")),
        role: Some(Role::Doctor),
        action: "read_text".into(),
        patient_id: patient.map(str::to_string),
        document_id: Some(format!("{run}{n:04x}")),
        outcome,
        reason: (outcome == Outcome::Denied).then(|| "not_on_care_team".into()),
    }
}

/// Runs every care-team and audit case. `run` is a short lowercase-hex prefix that makes
/// this run's ids unique in a shared store. `store` also holds documents: the suite checks
/// that care-team and audit items never show up in a patient's document listing.
pub async fn access_store_suite<S: AccessStore + MetadataStore>(
    store: &S,
    run: &str,
) -> Result<usize> {
    let mut c = Cases::new();
    let (p1, p2, d1, d2) = (
        format!("p{run}a"),
        format!("p{run}b"),
        format!("d{run}a"),
        format!("d{run}b"),
    );

    c.check(
        "care team: add, check, list both ways, add twice, remove",
        async {
            ensure!(
                !store.is_care_team_member(&p1, &d1).await?,
                "member before add"
            );
            store.add_care_team_member(&p1, &d1).await?;
            store.add_care_team_member(&p1, &d1).await?;
            store.add_care_team_member(&p1, &d2).await?;
            store.add_care_team_member(&p2, &d1).await?;
            ensure!(
                store.is_care_team_member(&p1, &d1).await?,
                "not a member after add"
            );
            ensure!(
                !store.is_care_team_member(&p2, &d2).await?,
                "member of the wrong patient"
            );
            let team = store.care_team(&p1).await?;
            ensure!(team == vec![d1.clone(), d2.clone()], "care team {team:?}");
            let patients = store.member_patients(&d1).await?;
            ensure!(
                patients == vec![p1.clone(), p2.clone()],
                "patients {patients:?}"
            );
            store.remove_care_team_member(&p1, &d1).await?;
            ensure!(
                !store.is_care_team_member(&p1, &d1).await?,
                "member after remove"
            );
            ensure!(
                store.member_patients(&d1).await? == vec![p2.clone()],
                "patients after remove"
            );
            match store.remove_care_team_member(&p1, &d1).await {
                Err(StoreError::NotFound { .. }) => Ok(()),
                r => Err(anyhow!("second remove gave {r:?}")),
            }
        }
        .await,
    );

    c.check(
        "care-team and audit items are not documents",
        async {
            store
                .append_audit(&record(
                    run,
                    1,
                    "2026-11-01T09:00:00.000Z",
                    Some(&p1),
                    Outcome::Allowed,
                ))
                .await?;
            let page = store.list_patient_documents(&p1, 10, None).await?;
            ensure!(page.documents.is_empty(), "listing shows {page:?}");
            Ok(())
        }
        .await,
    );

    c.check(
        "audit: one patient's records newest first, paginated; others' not mixed in",
        async {
            let times = [
                "2026-10-31T23:59:59.999Z",
                "2026-11-02T08:00:00.000Z",
                "2026-11-03T08:00:00.000Z",
                "2026-11-03T08:00:00.001Z",
            ];
            for (i, at) in times.iter().enumerate() {
                let outcome = if i % 2 == 0 {
                    Outcome::Denied
                } else {
                    Outcome::Allowed
                };
                store
                    .append_audit(&record(run, 10 + i as u32, at, Some(&p2), outcome))
                    .await?;
            }
            store
                .append_audit(&record(
                    run,
                    20,
                    "2026-11-04T00:00:00.000Z",
                    Some(&p1),
                    Outcome::Allowed,
                ))
                .await?;
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = store.list_audit(Some(&p2), 3, cursor.as_deref()).await?;
                ensure!(page.records.len() <= 3, "page of {}", page.records.len());
                seen.extend(page.records);
                match page.next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
            let at: Vec<&str> = seen.iter().map(|r| r.at.as_str()).collect();
            let mut want: Vec<&str> = times.to_vec();
            want.reverse();
            ensure!(at == want, "order {at:?}");
            ensure!(
                seen.iter()
                    .all(|r| r.patient_id.as_deref() == Some(p2.as_str())),
                "mixed"
            );
            let first = &seen[3];
            ensure!(
                *first == record(run, 10, times[0], Some(&p2), Outcome::Denied),
                "round trip {first:?}"
            );
            Ok(())
        }
        .await,
    );

    c.check(
        "audit: everyone's records, across months, newest first",
        async {
            // Records without a patient (a refused token) are listed too.
            store
                .append_audit(&AuditRecord {
                    actor: None,
                    role: None,
                    action: "authenticate".into(),
                    ..record(run, 30, "2026-09-15T00:00:00.000Z", None, Outcome::Denied)
                })
                .await?;
            let mut ours = Vec::new();
            let mut cursor: Option<String> = None;
            for _ in 0..1000 {
                let page = store.list_audit(None, 4, cursor.as_deref()).await?;
                ours.extend(
                    page.records
                        .into_iter()
                        .filter(|r| r.document_id.as_deref().is_some_and(|d| d.starts_with(run))),
                );
                match page.next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
            let ids: Vec<&str> = ours.iter().map(|r| r.id.as_str()).collect();
            let mut sorted = ids.clone();
            sorted.sort_by(|a, b| b.cmp(a));
            ensure!(ids == sorted, "not newest first: {ids:?}");
            ensure!(ids.len() == 7, "{} of 7 records: {ids:?}", ids.len());
            ensure!(
                ours.last().is_some_and(|r| r.actor.is_none()),
                "the anonymous record"
            );
            Ok(())
        }
        .await,
    );

    c.check(
        "audit: a record id is written once",
        async {
            let r = record(
                run,
                40,
                "2026-11-05T00:00:00.000Z",
                Some(&p1),
                Outcome::Allowed,
            );
            store.append_audit(&r).await?;
            match store.append_audit(&r).await {
                Err(StoreError::AlreadyExists { .. }) => Ok(()),
                other => Err(anyhow!("second append gave {other:?}")),
            }
        }
        .await,
    );

    c.finish("access store")
}
