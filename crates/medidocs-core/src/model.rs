//! The document item model shared by every metadata store (SQLite here, DynamoDB in AWS).

use std::collections::BTreeMap;

use crate::language::Language;
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
    /// The languages its pages are written in (`core::language`), first page's first;
    /// empty until it is read, and in records from before languages were read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<Language>,
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
    /// What clinic staff gave at a bulk import (see [`Labels`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Which run of the pipeline owns the document: 1 for the first; a retry or a
    /// reconcile takes it over with the next number. Execution names carry it
    /// ([`crate::keys::execution_name`]), and a step of an older run changes nothing.
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    /// The region whose pipeline owns the document. A region's watchdog touches only its
    /// own documents; a reconcile in another region takes them over (with a new attempt).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// While the document is in flight (RECEIVED, PROCESSING): when the watchdog may stop
    /// it. Cleared on a final status, so only documents in flight are in the index the
    /// watchdog reads ([`crate::keys::inflight_index`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    /// What the document is and when it happened, read from its text when it became READY
    /// ([`crate::understand`]); at most [`MAX_RECORD_DATES`] of its dates (the rest can be
    /// read again from its OCR model). The type given at import stays apart, in
    /// `document_type`, and wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub understanding: Option<crate::understand::Understanding>,
    /// The searchable PDF made when it became READY (none for documents made before
    /// PDFs were, and while it is not READY).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdf: Option<PdfRef>,
}

/// A document's searchable PDF as stored: what a FHIR `Attachment` says of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PdfRef {
    pub key: String,
    pub bytes: u64,
    /// SHA-1 of the file, base64 (FHIR R4 `Attachment.hash`).
    pub sha1_base64: String,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
}

/// Dates kept on a record (a metadata item has a size limit; a 500-page file can hold
/// thousands): the first of each role in reading order, then the rest, to this many.
pub const MAX_RECORD_DATES: usize = 40;

fn first_attempt() -> u32 {
    1
}

/// What clinic staff say about a document when they import it: its type ("referral",
/// "lab result") and a free-text note. Both are the patient's data like the document
/// itself: stored with the record, never logged. Kept next to a bulk original as
/// `labels.json` (see [`crate::keys::labels_key`]), not in any execution's input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labels {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Labels {
    pub const MAX_TYPE_CHARS: usize = 64;
    pub const MAX_NOTE_CHARS: usize = 2000;

    /// From the text of two manifest cells: trimmed, empty meaning none; an error names
    /// the rule broken (too long, control characters).
    pub fn new(document_type: &str, note: &str) -> Result<Labels, String> {
        let labels = Labels {
            document_type: Some(document_type.trim().to_string()).filter(|s| !s.is_empty()),
            note: Some(note.trim().to_string()).filter(|s| !s.is_empty()),
        };
        labels.validate()?;
        Ok(labels)
    }

    pub fn is_empty(&self) -> bool {
        self.document_type.is_none() && self.note.is_none()
    }

    pub fn validate(&self) -> Result<(), String> {
        if let Some(t) = &self.document_type {
            if t.chars().count() > Self::MAX_TYPE_CHARS {
                return Err(format!(
                    "document_type is longer than {} characters",
                    Self::MAX_TYPE_CHARS
                ));
            }
            if t.chars().any(char::is_control) {
                return Err("document_type contains control characters".into());
            }
        }
        if let Some(n) = &self.note {
            if n.chars().count() > Self::MAX_NOTE_CHARS {
                return Err(format!(
                    "note is longer than {} characters",
                    Self::MAX_NOTE_CHARS
                ));
            }
            if n.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                return Err(
                    "note contains control characters other than line breaks and tabs".into(),
                );
            }
        }
        Ok(())
    }
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
            languages: Vec::new(),
            text_chars: 0,
            renditions: Vec::new(),
            text_key: None,
            ocr_key: None,
            duplicate_of: None,
            timings: BTreeMap::new(),
            version: 1,
            created_at: now.clone(),
            updated_at: now,
            document_type: None,
            note: None,
            attempt: 1,
            region: String::new(),
            deadline: None,
            understanding: None,
            pdf: None,
        }
    }

    /// A record a reconcile made for an original nobody had registered: its owner, the
    /// run the reconcile starts, reads the content and fills it in.
    pub fn is_placeholder(&self) -> bool {
        self.sha256.is_empty() && self.bytes == 0 && self.mime.is_none()
    }

    /// Back to RECEIVED with its reason and results cleared, for a retry: the one way out
    /// of FAILED (an outcome, READY or REJECTED, is never undone).
    pub fn reset_for_retry(&mut self) {
        self.status = Status::Received;
        self.reason = None;
        self.renditions.clear();
        self.text_key = None;
        self.ocr_key = None;
        self.text_source = None;
        self.languages.clear();
        self.text_chars = 0;
        self.timings.clear();
        self.pdf = None;
    }

    /// The day the document is about, as read from it (`YYYY-MM-DD`), if it was read.
    pub fn document_date(&self) -> Option<&str> {
        self.understanding
            .as_ref()
            .and_then(|u| u.document_date.as_deref())
    }

    /// The day it sorts by in its patient's timeline: its document date, else the day it
    /// came in.
    pub fn sort_date(&self) -> &str {
        self.document_date()
            .unwrap_or_else(|| self.created_at.get(..10).unwrap_or(&self.created_at))
    }

    /// Its type, and whether it was given (at import or by staff: wins when it names one
    /// of the types) or read from its text; none while it is not yet read.
    pub fn type_of(&self) -> Option<(crate::understand::DocumentType, TypeSource)> {
        if let Some(t) = self
            .document_type
            .as_deref()
            .and_then(crate::understand::DocumentType::from_label)
        {
            return Some((t, TypeSource::Given));
        }
        self.understanding
            .as_ref()
            .map(|u| (u.doc_type.code, TypeSource::Read))
    }

    pub fn with_labels(mut self, labels: Labels) -> Self {
        self.document_type = labels.document_type;
        self.note = labels.note;
        self
    }
}

/// What is set for one patient (the `SETTINGS#{pid}` item).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientSettings {
    /// How numeric dates on their documents are read when a document does not decide
    /// (day first in Ireland and the UK, month first in the US; a Canadian patient's are
    /// flagged ambiguous): none for the deployment's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_region: Option<crate::understand::Region>,
    /// When they were last set (RFC 3339): the later of two regions' copies wins.
    #[serde(default)]
    pub updated_at: String,
}

/// Where a document's type came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeSource {
    /// Given by clinic staff, at import or later.
    Given,
    /// Read from the document's text.
    Read,
}

impl TypeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TypeSource::Given => "given",
            TypeSource::Read => "read",
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

/// The region name of the embedded runtime.
pub const LOCAL_REGION: &str = "local";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_sorts_by_its_own_date_and_a_given_type_wins() {
        use crate::understand::{DocumentType, Region, understand_text};
        let mut d = DocumentRecord::new(
            "0a".into(),
            "p".into(),
            SourceRef {
                bucket: "b".into(),
                key: "k".into(),
                version: "v".into(),
            },
            String::new(),
            0,
            "2026-12-02T08:00:00.000Z".into(),
        );
        assert_eq!(
            (d.sort_date(), d.document_date(), d.type_of()),
            ("2026-12-02", None, None)
        );
        d.understanding = Some(understand_text(
            "LABORATORY REPORT\nDate of birth: 02/01/1961\nCollected: 14/03/2019\nFerritin 45 ug/L (30-400)",
            Region::Ie,
        ));
        assert_eq!(d.sort_date(), "2019-03-14");
        assert_eq!(
            d.type_of(),
            Some((DocumentType::LabReport, TypeSource::Read))
        );
        d.document_type = Some("Discharge summary".into());
        assert_eq!(
            d.type_of(),
            Some((DocumentType::DischargeSummary, TypeSource::Given))
        );
        // A label that names no type leaves the type read.
        d.document_type = Some("scans from 2019".into());
        assert_eq!(
            d.type_of(),
            Some((DocumentType::LabReport, TypeSource::Read))
        );
    }

    #[test]
    fn labels_are_trimmed_bounded_and_free_of_control_characters() {
        let l = Labels::new("  referral ", " seen by Dr O'Brien\nfollow-up\t3 months ").unwrap();
        assert_eq!(l.document_type.as_deref(), Some("referral"));
        assert_eq!(
            l.note.as_deref(),
            Some("seen by Dr O'Brien\nfollow-up\t3 months")
        );
        assert!(Labels::new(" ", "").unwrap().is_empty());
        let long_type = "t".repeat(Labels::MAX_TYPE_CHARS + 1);
        let long_note = "é".repeat(Labels::MAX_NOTE_CHARS + 1);
        let e = Labels::new(&long_type, "").unwrap_err();
        assert!(e.contains("document_type is longer than 64"), "{e}");
        assert!(
            Labels::new(
                &"t".repeat(Labels::MAX_TYPE_CHARS),
                &"é".repeat(Labels::MAX_NOTE_CHARS)
            )
            .is_ok()
        );
        assert!(
            Labels::new("", &long_note)
                .unwrap_err()
                .contains("note is longer")
        );
        assert!(
            Labels::new("lab\nresult", "")
                .unwrap_err()
                .contains("control")
        );
        assert!(Labels::new("", "a\u{0}b").unwrap_err().contains("control"));
        assert!(Labels::new("", "bell\u{7}").is_err());
    }

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
