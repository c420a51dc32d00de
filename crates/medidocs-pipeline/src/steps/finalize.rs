//! `finalize`: the pages joined into the document's text and OCR model, its searchable
//! PDF made (`pdf.rs`); READY.

use std::time::Instant;

use super::contracts::{PageOcr, PageRenditions};
use super::{DocumentSummary, FinalizeInput, Steps};
use crate::error::StepError;
use medidocs_core::keys;
use medidocs_core::model::{MAX_RECORD_DATES, Status};
use medidocs_core::ocr::OcrDocument;
use medidocs_core::ports::PutMode;
use medidocs_core::understand;

impl Steps {
    /// Joins the pages into `ocr.json` and `text.txt` and marks the document READY.
    pub async fn finalize(&self, input: &FinalizeInput) -> Result<DocumentSummary, StepError> {
        let started = Instant::now();
        let mut doc = self.meta.get_document(&input.document_id).await?;
        if doc.status.is_terminal() {
            return Ok((&doc).into());
        }
        self.check_owner(&doc, input.execution.as_deref())?;
        let mut ocr = OcrDocument::default();
        let mut renditions = Vec::new();
        let mut sizes = Vec::new();
        let (mut render_ms, mut ocr_ms) = (0, 0);
        for page in 1..=doc.pages {
            let r: PageRenditions = self.get_json(&keys::page_renditions(&doc.id, page)).await?;
            let o: PageOcr = self.get_json(&keys::page_ocr(&doc.id, page)).await?;
            render_ms += r.ms;
            sizes.push(r.size_pt);
            ocr_ms += o.ms;
            // The record lists what is kept: the OCR image is an intermediate.
            renditions.extend(r.renditions.into_iter().filter(|r| keys::is_kept(&r.key)));
            ocr.pages.push(o.page);
        }
        let text = ocr.text();
        let (text_key, ocr_key) = (keys::text(&doc.id), keys::ocr(&doc.id));
        self.objects
            .put(&text_key, text.clone().into_bytes(), PutMode::Overwrite)
            .await?;
        self.put_json(&ocr_key, &ocr).await?;
        doc.text_chars = text
            .chars()
            .filter(|c| *c != medidocs_core::ocr::PAGE_SEPARATOR)
            .count() as u64;
        doc.text_source = ocr.text_source();
        doc.languages = ocr.languages();
        // What it is and when it happened, from its lines in reading order.
        let lines: Vec<String> = ocr
            .pages
            .iter()
            .flat_map(|p| p.lines.iter().map(|l| l.text.clone()))
            .collect();
        // The patient's own convention for numeric dates, else the deployment's.
        let region = self
            .meta
            .patient_settings(&doc.patient_id)
            .await?
            .date_region
            .unwrap_or(self.date_region);
        let understood = self
            .cpu(move || Ok(understand::understand(&lines, region)))
            .await?;
        doc.understanding = Some(understand::capped(understood, MAX_RECORD_DATES));
        doc.renditions = renditions;
        doc.text_key = Some(text_key);
        doc.ocr_key = Some(ocr_key);
        doc.pdf = self.make_pdf(&doc, &ocr, &sizes).await?;
        doc.timings.insert("render".into(), render_ms);
        doc.timings.insert("ocr".into(), ocr_ms);
        doc.timings
            .insert("finalize".into(), started.elapsed().as_millis() as u64);
        // Before READY is saved: once it is, nothing of this run may touch the document.
        self.discard_work(&doc.id).await;
        self.save(&mut doc, Status::Ready).await?;
        tracing::info!(document = %doc.id, pages = doc.pages, chars = doc.text_chars, "ready");
        Ok((&doc).into())
    }
}
