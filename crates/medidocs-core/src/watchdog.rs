//! No document stays in RECEIVED or PROCESSING. Every state of the pipeline has a time
//! limit and every failure a Catch, but a run can still end without its Catch (a killed
//! process, an execution stopped by hand or timed out as a whole). Each document in flight
//! carries a deadline, later than its run's longest legitimate duration; the watchdog of
//! a region reads the sparse in-flight index of that region only (never a scan, so a pass
//! costs the same at 10 documents and 10 million) and marks what is past its deadline
//! FAILED with the reason `timeout`. [`retry`] and [`take_over`] start a document again
//! under a new attempt, whose execution name Step Functions has never seen.

use std::time::Duration;

use time::OffsetDateTime;

use crate::clock::rfc3339;
use crate::model::{DocumentRecord, Reason, Status};
use crate::ports::{MetadataStore, StoreError};

/// How long a document may stay in flight after its last write, in the embedded runtime:
/// far above its longest legitimate run (500 pages on two cores). In AWS the deadline is
/// the execution's time-out plus a margin (`DEADLINE_MINUTES`).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60 * 60);

/// How many documents one query of the watchdog reads.
const PAGE: usize = 100;

/// The deadline of a document a reconcile took over, until its run starts: long enough
/// for a reconcile of 100,000 documents to reach it in its bulk import, and still a
/// deadline, so one whose run never comes ends FAILED (retryable) rather than nowhere.
pub const RECONCILE_DEADLINE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Marks every document of `region` still in flight past its deadline FAILED with
/// `timeout`. A document that moves meanwhile is left alone (the write is conditional on
/// the version read). Returns the ids it stopped.
pub async fn sweep(
    meta: &dyn MetadataStore,
    region: &str,
    now: OffsetDateTime,
) -> Result<Vec<String>, StoreError> {
    let now = rfc3339(now);
    let mut stopped = Vec::new();
    loop {
        let overdue = meta.overdue_documents(region, &now, PAGE).await?;
        let n = overdue.len();
        let mut moved = 0;
        for mut doc in overdue {
            let deadline = doc.deadline.take().unwrap_or_default();
            doc.status = Status::Failed;
            doc.reason = Some(Reason {
                code: "timeout".into(),
                message: format!(
                    "still in flight at its deadline ({deadline}): stopped by the watchdog; it can be retried"
                ),
            });
            doc.version += 1;
            doc.updated_at = now.clone();
            match meta.update_document(&doc).await {
                Ok(()) => stopped.push(doc.id),
                // It moved on since it was read (the index is eventually consistent): not
                // stuck after all.
                Err(StoreError::Precondition { .. } | StoreError::NotFound { .. }) => moved += 1,
                // One document's error does not stop the pass; the next pass tries again.
                Err(e) => {
                    tracing::warn!(document = %doc.id, error = %e, "watchdog: could not stop a document");
                    moved += 1;
                }
            }
        }
        if n < PAGE || moved == n {
            break;
        }
    }
    if !stopped.is_empty() {
        tracing::warn!(
            count = stopped.len(),
            region,
            "watchdog: documents stopped at their deadline"
        );
    }
    Ok(stopped)
}

/// Why a document cannot be run again.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("document {0} is {1}: only FAILED documents are retried")]
    NotFailed(String, &'static str),
    #[error("document {0} is {1}: it has its final status already")]
    Final(String, &'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Puts a FAILED document back to RECEIVED (reason and results cleared, version bumped)
/// under the next attempt, owned by `region`: run it with the execution named
/// [`crate::keys::execution_name`]`(id, attempt)`. The one exception to the forward-only
/// status rule, and only from FAILED: an outcome (READY, REJECTED) is never undone.
pub async fn retry(
    meta: &dyn MetadataStore,
    id: &str,
    now: OffsetDateTime,
    region: &str,
    deadline: Duration,
) -> Result<DocumentRecord, RetryError> {
    let mut doc = meta.get_document(id).await?;
    if doc.status != Status::Failed {
        return Err(RetryError::NotFailed(doc.id, doc.status.as_str()));
    }
    doc.reset_for_retry();
    claim(&mut doc, now, region, Some(deadline));
    meta.update_document(&doc).await?;
    Ok(doc)
}

/// Takes a document still in flight over for a new run in `region` (a reconcile in the
/// region that survived a failure): the next attempt, owned here, so that the old run,
/// if its region comes back, changes nothing. Its status is kept; an outcome is refused.
/// Until its run starts (which gives it the usual deadline), its deadline is
/// [`RECONCILE_DEADLINE`]: a reconcile's runs may queue in its bulk import for long.
pub async fn take_over(
    meta: &dyn MetadataStore,
    id: &str,
    now: OffsetDateTime,
    region: &str,
) -> Result<DocumentRecord, RetryError> {
    // Someone may write between the read and the write (a run of this region): read again.
    for _ in 0..5 {
        let mut doc = meta.get_document(id).await?;
        if doc.status.is_terminal() {
            return Err(RetryError::Final(doc.id, doc.status.as_str()));
        }
        claim(&mut doc, now, region, Some(RECONCILE_DEADLINE));
        match meta.update_document(&doc).await {
            Ok(()) => return Ok(doc),
            Err(StoreError::Precondition { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(RetryError::Store(StoreError::Precondition {
        what: format!("document {id} kept changing while it was taken over"),
    }))
}

fn claim(doc: &mut DocumentRecord, now: OffsetDateTime, region: &str, deadline: Option<Duration>) {
    doc.attempt += 1;
    doc.region = region.to_string();
    doc.deadline = deadline.map(|d| rfc3339(now + d));
    doc.version += 1;
    doc.updated_at = rfc3339(now);
}

/// A reconcile's decision for one original found in the region taking over: `None` when
/// its document is final already; otherwise the bulk manifest row that runs it under a
/// new attempt owned by `region`. A document with a record here is taken over; one
/// without gets a record now, as attempt 2 with its content still to read, so that a run
/// the failed region may hold or start when it comes back (its bulk import resuming)
/// finds the document owned here and does nothing.
pub async fn reconcile_row(
    meta: &dyn MetadataStore,
    source: &crate::inputs::SourceInput,
    region: &str,
    now: OffsetDateTime,
) -> Result<Option<[String; 5]>, StoreError> {
    let row = |attempt| {
        Some(crate::inputs::manifest_row(
            &source.bucket,
            &source.key,
            &source.version,
            attempt,
        ))
    };
    let id = source.document_id();
    match take_over(meta, &id, now, region).await {
        Ok(doc) => Ok(row(doc.attempt)),
        Err(RetryError::Final(..)) => Ok(None),
        Err(RetryError::Store(StoreError::NotFound { .. })) => {
            let Some(original) = crate::keys::parse_original(&source.key) else {
                return Ok(None);
            };
            let mut doc = DocumentRecord::new(
                id,
                original.patient_id.to_string(),
                crate::model::SourceRef {
                    bucket: source.bucket.clone(),
                    key: source.key.clone(),
                    version: source.version.clone(),
                },
                String::new(),
                0,
                rfc3339(now),
            );
            doc.attempt = 2;
            doc.region = region.to_string();
            doc.deadline = Some(rfc3339(now + RECONCILE_DEADLINE));
            match meta.create_document(&doc).await {
                Ok(()) => Ok(row(2)),
                // Registered meanwhile: decide again on what is there.
                Err(StoreError::AlreadyExists { .. }) => {
                    Box::pin(reconcile_row(meta, source, region, now)).await
                }
                Err(e) => Err(e),
            }
        }
        Err(RetryError::Store(e)) => Err(e),
        Err(RetryError::NotFailed(..)) => Ok(None),
    }
}
