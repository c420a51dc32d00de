//! `plan`: the page list a Map state iterates over.

use super::{PageInput, PlanInput, PlanOutput, Steps};
use crate::error::StepError;
use medidocs_core::keys;
use medidocs_media::RenditionKind;

impl Steps {
    /// Writes the page list (`pages.json`) a Map state iterates over.
    pub async fn plan(&self, input: &PlanInput) -> Result<PlanOutput, StepError> {
        let doc = self.meta.get_document(&input.document_id).await?;
        self.check_owner(&doc, input.execution.as_deref())?;
        let mime = doc
            .mime
            .clone()
            .ok_or_else(|| StepError::internal("plan before inspect"))?;
        let pages: Vec<PageInput> = (1..=doc.pages)
            .map(|page| PageInput {
                document_id: doc.id.clone(),
                page,
                mime: mime.clone(),
                source_key: doc.source.key.clone(),
                source_version: doc.source.version.clone(),
                execution: None,
            })
            .collect();
        let pages_key = keys::pages_list(&doc.id);
        self.put_json(&pages_key, &pages).await?;
        Ok(PlanOutput {
            document_id: doc.id,
            pages: doc.pages,
            pages_key,
            renditions: RenditionKind::ALL
                .iter()
                .map(|k| k.name().to_string())
                .collect(),
        })
    }
}
