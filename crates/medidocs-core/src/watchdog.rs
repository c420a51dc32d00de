//! No document stays in RECEIVED or PROCESSING. Every state of the pipeline has a time
//! limit and every failure a Catch, but a process can still die between two steps (a
//! killed process, a lost region, an execution stopped by hand). The watchdog finds
//! documents that have not moved for longer than the deadline and marks them FAILED with
//! the reason `timeout`; [`retry`] puts a FAILED document back to RECEIVED so that the
//! pipeline runs it again.

use std::time::Duration;

use crate::model::{DocumentRecord, Reason, Status};
use crate::ports::{MetadataStore, StoreError};

/// How long a document may go without a write before the watchdog stops it: far above the
/// longest legitimate run (500 pages on two cores).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60 * 60);

/// The RFC 3339 time `deadline` before `now` (an RFC 3339 time).
pub fn cutoff(now: time::OffsetDateTime, deadline: Duration) -> String {
    let t = now - deadline;
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&fmt)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}

/// [`cutoff`] from the wall clock.
pub fn cutoff_now(deadline: Duration) -> String {
    cutoff(time::OffsetDateTime::now_utc(), deadline)
}

/// Marks every document in RECEIVED or PROCESSING last written before `cutoff` FAILED
/// with `timeout`. A document that moves meanwhile is left alone (the write is
/// conditional on the version read). Returns the ids it stopped.
pub async fn sweep(
    meta: &dyn MetadataStore,
    cutoff: &str,
    now: &str,
    deadline: Duration,
) -> Result<Vec<String>, StoreError> {
    let mut stopped = Vec::new();
    for status in [Status::Processing, Status::Received] {
        loop {
            let stale = meta.stale_documents(status, cutoff, 100).await?;
            let n = stale.len();
            let mut progressed = 0;
            for mut doc in stale {
                doc.status = Status::Failed;
                doc.reason = Some(Reason {
                    code: "timeout".into(),
                    message: format!(
                        "no progress for more than {} minutes: stopped by the watchdog; it can be retried",
                        deadline.as_secs() / 60
                    ),
                });
                doc.version += 1;
                doc.updated_at = now.to_string();
                match meta.update_document(&doc).await {
                    Ok(()) => stopped.push(doc.id),
                    // It moved on since it was read: not stale after all.
                    Err(StoreError::Precondition { .. }) => progressed += 1,
                    Err(e) => return Err(e),
                }
            }
            if n < 100 || progressed == n {
                break;
            }
        }
    }
    if !stopped.is_empty() {
        tracing::warn!(
            count = stopped.len(),
            "watchdog: documents stopped after their deadline"
        );
    }
    Ok(stopped)
}

/// Why a document cannot be retried.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("document {0} is {1}: only FAILED documents are retried")]
    NotFailed(String, &'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Puts a FAILED document back to RECEIVED (reason and results cleared, version bumped),
/// so that running the pipeline on its source processes it again. The one exception to
/// the forward-only status rule, and only from FAILED: an outcome (READY, REJECTED) is
/// never undone.
pub async fn retry(
    meta: &dyn MetadataStore,
    id: &str,
    now: &str,
) -> Result<DocumentRecord, RetryError> {
    let mut doc = meta.get_document(id).await?;
    if doc.status != Status::Failed {
        return Err(RetryError::NotFailed(doc.id, doc.status.as_str()));
    }
    doc.status = Status::Received;
    doc.reason = None;
    doc.renditions.clear();
    doc.text_key = None;
    doc.ocr_key = None;
    doc.text_source = None;
    doc.text_chars = 0;
    doc.timings.clear();
    doc.version += 1;
    doc.updated_at = now.to_string();
    meta.update_document(&doc).await?;
    Ok(doc)
}
