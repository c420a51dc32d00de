//! What the API returns: its own shapes, separate from the stored item model, so storage
//! can change without breaking clients and nothing internal (object keys, content hashes,
//! upload ids) leaks out.

use std::collections::BTreeMap;

use medidocs_core::model::{DocumentRecord, TypeSource};
use medidocs_core::ocr::OcrDocument;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub sub: String,
    pub role: String,
    /// Patients whose records this caller may open: themselves for a patient, their care
    /// teams' patients for doctors and staff.
    pub patients: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReasonView {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RenditionView {
    pub page: u32,
    /// `thumb` or `preview` (records written before the OCR image became an intermediate
    /// may also list `ocr`).
    pub name: String,
    pub mime: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub href: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DocumentView {
    pub id: String,
    pub patient_id: String,
    /// RECEIVED, PROCESSING, READY, REJECTED or FAILED.
    pub status: String,
    pub reason: Option<ReasonView>,
    pub mime: Option<String>,
    pub pages: u32,
    pub bytes: u64,
    /// `ocr`, `text_layer` or `mixed`.
    pub text_source: Option<String>,
    /// The languages its pages are written in (ISO 639-1: `en`, `ga`, `fr`, `es`), first
    /// page's first; empty until it is read.
    pub languages: Vec<String>,
    pub text_chars: u64,
    pub duplicate_of: Option<String>,
    /// What clinic staff filed it as, at a bulk import or later ("referral", "lab result"),
    /// as they wrote it.
    pub document_type: Option<String>,
    /// What kind of document it is: the type staff gave when it names one, else the type
    /// read from its text; absent until it is read.
    #[serde(rename = "type")]
    pub doc_type: Option<TypeView>,
    /// The day it is about (`YYYY-MM-DD`): its service date, else its issue date; never a
    /// date of birth. Absent when none was read.
    pub document_date: Option<String>,
    /// The day it sorts by in the patient's timeline: `document_date`, else the day it
    /// came in.
    pub sort_date: String,
    /// Every date read from it (up to 40), with its role.
    pub dates: Vec<DateView>,
    pub created_at: String,
    pub updated_at: String,
    /// Set when the text can be read (status READY).
    pub text_href: Option<String>,
    pub pages_href: Option<String>,
    /// Set when the document has a searchable PDF (READY, made since PDFs were).
    pub pdf_href: Option<String>,
    pub renditions: Vec<RenditionView>,
}

impl From<&DocumentRecord> for DocumentView {
    fn from(d: &DocumentRecord) -> Self {
        let ready = d.text_key.is_some();
        DocumentView {
            id: d.id.clone(),
            patient_id: d.patient_id.clone(),
            status: d.status.as_str().into(),
            reason: d.reason.as_ref().map(|r| ReasonView {
                code: r.code.clone(),
                message: r.message.clone(),
            }),
            mime: d.mime.clone(),
            pages: d.pages,
            bytes: d.bytes,
            text_source: d.text_source.map(|s| s.as_str().into()),
            languages: d.languages.iter().map(|l| l.code().into()).collect(),
            text_chars: d.text_chars,
            duplicate_of: d.duplicate_of.clone(),
            document_type: d.document_type.clone(),
            doc_type: TypeView::of(d),
            document_date: d.document_date().map(str::to_string),
            sort_date: d.sort_date().to_string(),
            dates: d
                .understanding
                .iter()
                .flat_map(|u| &u.dates)
                .map(|f| DateView {
                    role: f.role.as_str().into(),
                    date: f.date.clone(),
                    text: f.text.clone(),
                    ambiguous: f.ambiguous,
                    line: f.line,
                    words: [f.words.start, f.words.end],
                })
                .collect(),
            created_at: d.created_at.clone(),
            updated_at: d.updated_at.clone(),
            text_href: ready.then(|| format!("/v1/documents/{}/text", d.id)),
            pages_href: ready.then(|| format!("/v1/documents/{}/pages", d.id)),
            pdf_href: (ready && d.pdf.is_some()).then(|| format!("/v1/documents/{}/pdf", d.id)),
            renditions: d
                .renditions
                .iter()
                .map(|r| RenditionView {
                    page: r.page,
                    name: r.name.clone(),
                    mime: r.mime.clone(),
                    width: r.width,
                    height: r.height,
                    bytes: r.bytes,
                    href: format!("/v1/documents/{}/pages/{}/{}", d.id, r.page, r.name),
                })
                .collect(),
        }
    }
}

/// A document's type.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TypeView {
    /// `lab_report`, `imaging_report`, `prescription`, `referral_letter`,
    /// `discharge_summary`, `clinic_letter`, `consultation_note`, `operative_note`,
    /// `vaccination_record`, `insurance_card`, `consent_form` or `other`.
    pub code: String,
    /// Its LOINC document code and display name, where one exists.
    pub loinc: Option<String>,
    pub display: Option<String>,
    /// `given` (by clinic staff) or `read` (from the text).
    pub source: String,
    /// For a type read: 0 to 1, and the words that decided it, strongest first.
    pub confidence: Option<f32>,
    pub evidence: Vec<String>,
}

impl TypeView {
    fn of(d: &DocumentRecord) -> Option<TypeView> {
        let (t, source) = d.type_of()?;
        let read = d
            .understanding
            .as_ref()
            .filter(|_| source == TypeSource::Read)
            .map(|u| &u.doc_type);
        Some(TypeView {
            code: t.code().into(),
            loinc: t.loinc().map(|(c, _)| c.into()),
            display: t.loinc().map(|(_, n)| n.into()),
            source: source.as_str().into(),
            confidence: read.map(|g| g.confidence),
            evidence: read.map(|g| g.evidence.clone()).unwrap_or_default(),
        })
    }
}

/// What a document is filed as.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Filing {
    /// A type's code (`lab_report`) or a common name of one ("bloods", "x-ray",
    /// "discharge summary"); `null` goes back to the type read from the text.
    pub document_type: Option<String>,
}

/// A date read from a document.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DateView {
    /// `service`, `birth`, `issued`, `due` or `other`.
    pub role: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// As written.
    pub text: String,
    /// Read day-first or month-first with nothing on the document or about the patient to
    /// decide which.
    pub ambiguous: bool,
    /// Where: the line of the text (0-based, in reading order; `text_href` serves it) and
    /// its words `[first, end)` (0-based, in that line).
    pub line: usize,
    pub words: [usize; 2],
}

/// Where to fetch a rendition: a short-lived URL needing no token (AWS), or `null`: fetch
/// the rendition's own path with the token (embedded runtime).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RenditionLink {
    pub href: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DocumentList {
    pub documents: Vec<DocumentView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// A box in ratios of the page's width and height, origin top-left.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct BoxView {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WordView {
    pub text: String,
    pub confidence: f32,
    pub bbox: BoxView,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LineView {
    pub text: String,
    /// 0–100.
    pub confidence: f32,
    pub bbox: BoxView,
    pub words: Vec<WordView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PageView {
    pub page: u32,
    pub text_source: String,
    /// Degrees clockwise the page was turned to be read.
    pub rotation: u32,
    /// The language the page is written in (ISO 639-1: `en`, `ga`, `fr`, `es`); absent for
    /// pages read before languages were.
    pub language: Option<String>,
    pub mean_confidence: Option<f32>,
    pub lines: Vec<LineView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PagesView {
    pub document_id: String,
    pub pages: Vec<PageView>,
}

impl From<medidocs_core::ocr::BoundingBox> for BoxView {
    fn from(b: medidocs_core::ocr::BoundingBox) -> Self {
        BoxView {
            left: b.left,
            top: b.top,
            width: b.width,
            height: b.height,
        }
    }
}

impl PagesView {
    pub fn new(document_id: &str, ocr: &OcrDocument) -> Self {
        PagesView {
            document_id: document_id.into(),
            pages: ocr
                .pages
                .iter()
                .map(|p| PageView {
                    page: p.page,
                    text_source: p.text_source.as_str().into(),
                    rotation: p.rotation,
                    language: p.language.map(|l| l.code().into()),
                    mean_confidence: p.mean_confidence(),
                    lines: p
                        .lines
                        .iter()
                        .map(|l| LineView {
                            text: l.text.clone(),
                            confidence: l.confidence,
                            bbox: l.bbox.into(),
                            words: l
                                .words
                                .iter()
                                .map(|w| WordView {
                                    text: w.text.clone(),
                                    confidence: w.confidence,
                                    bbox: w.bbox.into(),
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Creates an upload: what the client will send.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UploadRequest {
    /// One of the accepted types (see `content_types` in a 415 problem).
    pub content_type: String,
    /// Exact size in bytes.
    pub size: u64,
    /// The file's SHA-256, 64 hexadecimal characters. The upload URL accepts these bytes
    /// and no others, once.
    pub sha256: String,
}

/// Where and how to send the file.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UploadTarget {
    pub upload_id: String,
    pub method: String,
    pub url: String,
    /// Headers to send as they are (they may be signed).
    pub headers: BTreeMap<String, String>,
    pub expires_at: String,
    pub max_bytes: u64,
}

/// A retry started.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Retrying {
    pub document_id: String,
    /// The run's attempt number (the first run is 1).
    pub attempt: u32,
    pub href: String,
}

/// A local upload received.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Received {
    pub upload_id: String,
    pub document_id: String,
    pub status: String,
    pub href: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchHit {
    pub page: u32,
    /// The line holding what was searched.
    pub text: String,
    /// The line's box on the page.
    pub bbox: BoxView,
    /// Where the matching words are in `text`: [start, end) character offsets.
    pub highlights: Vec<[usize; 2]>,
    /// The matching words' boxes on the page (page-relative, from the top left).
    pub boxes: Vec<BoxView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchResult {
    pub document_id: String,
    pub patient_id: String,
    /// Its type's code, if known.
    #[serde(rename = "type")]
    pub doc_type: Option<String>,
    /// The day it is about (YYYY-MM-DD), if read.
    pub document_date: Option<String>,
    pub created_at: String,
    /// BM25 relevance: larger is better; comparable within one answer only.
    pub score: f32,
    pub href: String,
    /// Lines holding what was searched, in reading order (at most 10 per document).
    pub hits: Vec<SearchHit>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchResults {
    pub query: String,
    /// The best documents first (at most `limit`).
    pub results: Vec<SearchResult>,
    /// How many documents match in all.
    pub total: usize,
}

impl From<medidocs_core::search::Match> for SearchResult {
    fn from(m: medidocs_core::search::Match) -> Self {
        SearchResult {
            href: format!("/v1/documents/{}", m.document_id),
            document_id: m.document_id,
            patient_id: m.patient_id,
            doc_type: m.doc_type,
            document_date: m.document_date,
            created_at: m.created_at,
            score: m.score,
            hits: m
                .hits
                .into_iter()
                .map(|h| SearchHit {
                    page: h.page,
                    text: h.text,
                    bbox: h.bbox.into(),
                    highlights: h.highlights.into_iter().map(|(a, b)| [a, b]).collect(),
                    boxes: h.boxes.into_iter().map(BoxView::from).collect(),
                })
                .collect(),
        }
    }
}
