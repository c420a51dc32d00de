//! `link_duplicate`: a document with the same content as an earlier one of the same
//! patient is linked to it rather than processed again.

use super::{DocumentSummary, LinkInput, Steps};
use crate::error::StepError;
use medidocs_core::model::Status;

impl Steps {
    /// Marks a duplicate READY with the first document's artefacts, if that one is READY;
    /// otherwise the caller processes it as new.
    pub async fn link_duplicate(
        &self,
        input: &LinkInput,
    ) -> Result<Option<DocumentSummary>, StepError> {
        let mut doc = self.meta.get_document(&input.document_id).await?;
        if doc.status.is_terminal() {
            return Ok(Some((&doc).into()));
        }
        self.check_owner(&doc, input.execution.as_deref())?;
        let first = self.meta.get_document(&input.duplicate_of).await?;
        // Only a document of the same patient is ever linked (a claim made before claims
        // were per patient may name another's: this one is then processed as new, and
        // its record names no other document).
        if first.status != Status::Ready || first.patient_id != doc.patient_id {
            if doc.duplicate_of.take().is_some() {
                let status = doc.status;
                self.save(&mut doc, status).await?;
            }
            return Ok(None);
        }
        doc.duplicate_of = Some(first.id.clone());
        doc.text_source = first.text_source;
        doc.text_chars = first.text_chars;
        doc.renditions = first.renditions.clone();
        doc.text_key = first.text_key.clone();
        doc.ocr_key = first.ocr_key.clone();
        self.save(&mut doc, Status::Ready).await?;
        tracing::info!(document = %doc.id, first = %first.id, "linked duplicate");
        Ok(Some((&doc).into()))
    }
}
