//! The steps' JSON contracts. Each step is a handler with a JSON-in/JSON-out contract:
//! exactly what a Lambda receives and returns, and what a state machine's Task state passes
//! along. Inputs and outputs are small (ids, keys, counts); pixels and text travel through
//! the object store.
//!
//! | step | input | output | errors |
//! |---|---|---|---|
//! | `inspect` | [`SourceInput`] | [`InspectOutput`] | InvalidDocument, NotFound, Throttled, Transient |
//! | `plan` | [`PlanInput`] | [`PlanOutput`] (page list written to `pages.json`) | NotFound |
//! | `render_page` | [`PageInput`] | [`RenderOutput`] | InvalidDocument, NotFound, Transient |
//! | `ocr_page` | [`PageInput`] | [`OcrOutput`] | InvalidDocument, NotFound, Throttled, Transient |
//! | `finalize` | [`FinalizeInput`] | [`DocumentSummary`] (status READY) | NotFound |
//! | `link_duplicate` | [`LinkInput`] | [`DocumentSummary`] | NotFound |
//! | `reject` | [`CaughtInput`] | [`DocumentSummary`] (REJECTED, original quarantined) | NotFound |
//! | `fail` | [`CaughtInput`] | [`DocumentSummary`] (FAILED) | NotFound |
//!
//! Every step is idempotent: run twice with the same input it writes the same objects and
//! never moves a document backwards.

use serde::{Deserialize, Serialize};

use crate::error::CaughtError;
use medidocs_core::inputs::SourceInput;
use medidocs_core::keys;
use medidocs_core::model::{DocumentRecord, Reason, RenditionRef, Status, TextSource};
use medidocs_core::ocr::OcrPage;

/// What to do next with the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Next {
    /// New (or interrupted) work: plan and process the pages.
    Process,
    /// Same content as an earlier document: link to it.
    Duplicate,
    /// Already in a final status: nothing to do (a repeated event).
    Done,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectOutput {
    pub document_id: String,
    pub next: Next,
    pub status: Status,
    pub source_key: String,
    /// The version of the original every page reads (the one its upload event named).
    #[serde(default)]
    pub source_version: String,
    pub mime: Option<String>,
    pub pages: u32,
    pub duplicate_of: Option<String>,
    /// Which OCR queue its pages wait in: `interactive` for a patient's upload, `bulk`
    /// for a clinic's import, so that patients never wait behind thousands of scans.
    pub priority: Priority,
}

/// An OCR queue (`{OcrQueueUrl}-{priority}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Interactive,
    Bulk,
}

impl Priority {
    /// From the original's key: bulk imports' originals are under `bulk/`.
    pub fn of_key(key: &str) -> Priority {
        let arrival = keys::parse_original(key).map(|o| o.arrival);
        if arrival == Some(keys::Arrival::Bulk) {
            Priority::Bulk
        } else {
            Priority::Interactive
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanInput {
    pub document_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanOutput {
    pub document_id: String,
    pub pages: u32,
    /// Object holding `[{"document_id", "page", "mime", "source_key"}, …]`, one per page.
    pub pages_key: String,
    pub renditions: Vec<String>,
}

/// One page of one document; an item of the page list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageInput {
    pub document_id: String,
    /// 1-based.
    pub page: u32,
    pub mime: String,
    pub source_key: String,
    /// The original's version (empty in a run started before reads were pinned).
    #[serde(default)]
    pub source_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderOutput {
    pub document_id: String,
    pub page: u32,
    pub renditions: usize,
    pub ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrOutput {
    pub document_id: String,
    pub page: u32,
    pub text_source: TextSource,
    pub chars: usize,
    pub words: usize,
    pub mean_confidence: Option<f32>,
    pub ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalizeInput {
    pub document_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkInput {
    pub document_id: String,
    pub duplicate_of: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
}

/// A Catch handler's input: the source (to find the document) and the caught error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaughtInput {
    #[serde(flatten)]
    pub source: SourceInput,
    pub error: CaughtError,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentSummary {
    pub document_id: String,
    pub status: Status,
    pub reason: Option<Reason>,
    pub pages: u32,
    pub text_chars: u64,
    pub renditions: usize,
}

impl From<&DocumentRecord> for DocumentSummary {
    fn from(d: &DocumentRecord) -> Self {
        DocumentSummary {
            document_id: d.id.clone(),
            status: d.status,
            reason: d.reason.clone(),
            pages: d.pages,
            text_chars: d.text_chars,
            renditions: d.renditions.len(),
        }
    }
}

/// Per-page files written by the page steps and read by `finalize`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct PageRenditions {
    pub(super) renditions: Vec<RenditionRef>,
    pub(super) ms: u64,
    /// The upright page's size in points (1/72 inch) from the resolution its original
    /// states, if it states one (none from pages rendered before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) size_pt: Option<[f32; 2]>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct PageOcr {
    pub(super) page: OcrPage,
    pub(super) ms: u64,
}
