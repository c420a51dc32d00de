//! The document item model shared by every metadata store (SQLite here, DynamoDB in AWS).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where a document is in its life. Status only moves forward:
/// RECEIVED → PROCESSING → READY | REJECTED | FAILED (and RECEIVED → REJECTED | FAILED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Received,
    Processing,
    Ready,
    Rejected,
    Failed,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Received,
        Status::Processing,
        Status::Ready,
        Status::Rejected,
        Status::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "RECEIVED",
            Status::Processing => "PROCESSING",
            Status::Ready => "READY",
            Status::Rejected => "REJECTED",
            Status::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Ready | Status::Rejected | Status::Failed)
    }

    /// The forward-only rule. Staying in the same non-terminal status is allowed (a page
    /// finishing while the document is PROCESSING); leaving a terminal status is not.
    pub fn can_move_to(self, next: Status) -> bool {
        use Status::*;
        matches!(
            (self, next),
            (Received, _) | (Processing, Processing | Ready | Rejected | Failed)
        )
    }
}

/// Why a document was rejected or failed: a stable code for machines, a message for people.
/// Never contains document content or the patient's file name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub message: String,
}

/// Where the original came from: its object-store identity. The document id derives from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRef {
    pub bucket: String,
    pub key: String,
    pub version: String,
}

/// One rendition of one page, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenditionRef {
    pub name: String,
    pub page: u32,
    pub mime: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub key: String,
}

/// Where a page's text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextSource {
    /// Recognised from pixels by the OCR engine.
    Ocr,
    /// Read from a born-digital PDF's own text.
    TextLayer,
    /// A PDF with both kinds of pages.
    Mixed,
}

impl TextSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TextSource::Ocr => "ocr",
            TextSource::TextLayer => "text_layer",
            TextSource::Mixed => "mixed",
        }
    }
}

/// The `DOC#{id}` / `META` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentRecord {
    pub id: String,
    pub patient_id: String,
    pub source: SourceRef,
    pub sha256: String,
    pub bytes: u64,
    pub mime: Option<String>,
    pub pages: u32,
    pub status: Status,
    pub reason: Option<Reason>,
    pub text_source: Option<TextSource>,
    pub text_chars: u64,
    pub renditions: Vec<RenditionRef>,
    pub text_key: Option<String>,
    pub ocr_key: Option<String>,
    /// Set when this content was already processed as another document.
    pub duplicate_of: Option<String>,
    /// Milliseconds per step (`inspect`, `render`, `ocr`, `finalize`, `total`).
    pub timings: BTreeMap<String, u64>,
    /// Bumped on every write; writes are conditional on the previous value.
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

impl DocumentRecord {
    pub fn new(
        id: String,
        patient_id: String,
        source: SourceRef,
        sha256: String,
        bytes: u64,
        now: String,
    ) -> Self {
        Self {
            id,
            patient_id,
            source,
            sha256,
            bytes,
            mime: None,
            pages: 0,
            status: Status::Received,
            reason: None,
            text_source: None,
            text_chars: 0,
            renditions: Vec::new(),
            text_key: None,
            ocr_key: None,
            duplicate_of: None,
            timings: BTreeMap::new(),
            version: 1,
            created_at: now.clone(),
            updated_at: now,
        }
    }
}

/// One page of a patient's document listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentPage {
    pub documents: Vec<DocumentRecord>,
    /// Opaque cursor for the next page, if any.
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_only_moves_forward() {
        use Status::*;
        let allowed = [
            (Received, Processing),
            (Received, Rejected),
            (Received, Failed),
            (Processing, Ready),
            (Processing, Failed),
            (Processing, Rejected),
            (Processing, Processing),
        ];
        let refused = [
            (Processing, Received),
            (Ready, Processing),
            (Ready, Failed),
            (Rejected, Ready),
            (Failed, Ready),
            (Ready, Ready),
        ];
        for (a, b) in allowed {
            assert!(a.can_move_to(b), "{a:?} -> {b:?} should be allowed");
        }
        for (a, b) in refused {
            assert!(!a.can_move_to(b), "{a:?} -> {b:?} should be refused");
        }
    }

    #[test]
    fn status_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
