//! The Catch handlers: `reject` (REJECTED, the original kept in quarantine with its
//! reason) and `fail` (FAILED), so no document is left in PROCESSING.

use super::{CaughtInput, DocumentSummary, Steps, run_of};
use crate::error::StepError;
use medidocs_core::keys;
use medidocs_core::model::{Reason, Status};
use medidocs_core::ports::StoreError;

impl Steps {
    /// Catch handler for `Medidocs.InvalidDocument`: keeps the original in quarantine with
    /// its reason and marks the document REJECTED.
    pub async fn reject(&self, input: &CaughtInput) -> Result<DocumentSummary, StepError> {
        let mut doc = self.meta.get_document(&input.source.document_id()).await?;
        if doc.status.is_terminal()
            || self
                .check_owner(&doc, input.source.execution.as_deref())
                .is_err()
        {
            return Ok((&doc).into());
        }
        let (code, message) = input.error.reason();
        let kept = keys::quarantine_original(&doc.id);
        match self
            .objects
            .copy_version(&doc.source.key, &doc.source.version, &kept)
            .await
        {
            // Kept as they are: the bytes that failed their checksum.
            Err(StoreError::ChecksumMismatch { .. }) => {
                self.objects.copy(&doc.source.key, &kept).await?
            }
            other => other?,
        }
        self.put_json(
            &keys::quarantine_reason(&doc.id),
            &serde_json::json!({
                "document_id": doc.id, "sha256": doc.sha256, "code": code, "message": message,
                "error": input.error.error, "at": self.now(),
            }),
        )
        .await?;
        doc.reason = Some(Reason { code, message });
        self.discard_work(&doc.id).await;
        self.save(&mut doc, Status::Rejected).await?;
        tracing::info!(document = %doc.id, code = %doc.reason.as_ref().map(|r| r.code.as_str()).unwrap_or(""), "rejected");
        Ok((&doc).into())
    }

    /// Catch handler for everything else: marks the document FAILED with the cause, so no
    /// document is ever left in PROCESSING. The original stays where it was uploaded.
    pub async fn fail(&self, input: &CaughtInput) -> Result<DocumentSummary, StepError> {
        let mut doc = self.meta.get_document(&input.source.document_id()).await?;
        let run = run_of(input.source.execution.as_deref(), &doc.id);
        if doc.status == Status::Failed
            && let Some(r) = run.filter(|r| r.retry && r.attempt > doc.attempt)
        {
            // A retry that failed before it took the document over: its attempt is spent
            // (Step Functions keeps the name), so the next retry is named for the next.
            let (code, message) = input.error.reason();
            doc.attempt = r.attempt;
            doc.reason = Some(Reason { code, message });
            doc.version += 1;
            doc.updated_at = self.now();
            self.meta.update_document(&doc).await?;
            return Ok((&doc).into());
        }
        if doc.status.is_terminal()
            || self
                .check_owner(&doc, input.source.execution.as_deref())
                .is_err()
        {
            return Ok((&doc).into());
        }
        let (code, message) = input.error.reason();
        doc.reason = Some(Reason { code, message });
        // Before FAILED is saved: a retry may start as soon as it is, and writes its own.
        self.discard_work(&doc.id).await;
        self.save(&mut doc, Status::Failed).await?;
        tracing::warn!(document = %doc.id, error = %input.error.error, "failed");
        Ok((&doc).into())
    }
}
