//! The pipeline's steps. Each is a handler with a JSON-in/JSON-out contract: exactly what a
//! Lambda receives and returns, and what a state machine's Task state passes along. Inputs
//! and outputs are small (ids, keys, counts); pixels and text travel through the object
//! store.
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

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::error::{CaughtError, StepError};
use crate::keys;
use crate::model::{DocumentRecord, Labels, Reason, RenditionRef, Status, TextSource};
use crate::ocr::{BoundingBox, Line, OcrDocument, OcrPage, Word};
use crate::ports::{MetadataStore, ObjectStore, OcrEngine, PutMode, StoreError};
use medidocs_media::{self as media, Limits, Mime, RenditionKind};

/// A PDF page whose text layer has at least this many non-blank characters is read from
/// the text layer; below it (a scan, or a page with only a page number) it is OCRed.
pub const MIN_TEXT_LAYER_CHARS: usize = 16;

/// A page that takes longer than this to decode or render is rejected as `too_complex`
/// (an A4 page takes well under a second).
pub const DECODE_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// The source object: what an S3 event names. `version` is the object's version id
/// (`"null"` in an unversioned bucket; the content hash in the embedded store).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInput {
    pub bucket: String,
    pub key: String,
    #[serde(default = "null_version")]
    pub version: String,
}

fn null_version() -> String {
    "null".into()
}

impl SourceInput {
    pub fn document_id(&self) -> String {
        keys::document_id(&self.bucket, &self.key, &self.version)
    }
}

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
    pub mime: Option<String>,
    pub pages: u32,
    pub duplicate_of: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanInput {
    pub document_id: String,
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkInput {
    pub document_id: String,
    pub duplicate_of: String,
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
struct PageRenditions {
    renditions: Vec<RenditionRef>,
    ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PageOcr {
    page: OcrPage,
    ms: u64,
}

/// Reads the wall clock as RFC 3339 (UTC, milliseconds).
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    now.format(&fmt)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}

/// The step handlers, bound to one set of adapters.
pub struct Steps {
    pub objects: Arc<dyn ObjectStore>,
    pub meta: Arc<dyn MetadataStore>,
    pub ocr: Arc<dyn OcrEngine>,
    pub limits: Limits,
    cpu: Arc<Semaphore>,
}

impl Steps {
    /// `cpu_slots`: how many decode/render jobs may run at once (the number of cores).
    pub fn new(
        objects: Arc<dyn ObjectStore>,
        meta: Arc<dyn MetadataStore>,
        ocr: Arc<dyn OcrEngine>,
        limits: Limits,
        cpu_slots: usize,
    ) -> Self {
        Self {
            objects,
            meta,
            ocr,
            limits,
            cpu: Arc::new(Semaphore::new(cpu_slots.max(1))),
        }
    }

    /// Runs CPU-heavy media work off the async threads, a bounded number at a time.
    async fn cpu<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, media::MediaError> + Send + 'static,
    ) -> Result<T, StepError> {
        let _permit = self
            .cpu
            .acquire()
            .await
            .map_err(|e| StepError::Internal(e.to_string()))?;
        match tokio::time::timeout(DECODE_TIME_LIMIT, tokio::task::spawn_blocking(f)).await {
            Ok(Ok(r)) => r.map_err(StepError::from),
            // The worker thread cannot be stopped; it is left to finish while the document
            // is rejected, so one pathological file cannot stall the pipeline.
            Err(_) => Err(StepError::InvalidDocument {
                code: "too_complex".into(),
                message: format!(
                    "decoding one page took longer than {} s",
                    DECODE_TIME_LIMIT.as_secs()
                ),
            }),
            Ok(Err(e)) => Err(StepError::InvalidDocument {
                code: "corrupt".into(),
                message: format!(
                    "the decoder failed on malformed data ({})",
                    if e.is_panic() { "panic" } else { "cancelled" }
                ),
            }),
        }
    }

    async fn save(&self, doc: &mut DocumentRecord, next: Status) -> Result<(), StepError> {
        if !doc.status.can_move_to(next) {
            return Err(StepError::Internal(format!(
                "document {} cannot move from {} to {}",
                doc.id,
                doc.status.as_str(),
                next.as_str()
            )));
        }
        doc.status = next;
        doc.version += 1;
        doc.updated_at = now_rfc3339();
        self.meta.update_document(doc).await?;
        Ok(())
    }

    async fn put_json<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StepError> {
        let bytes = serde_json::to_vec(value).map_err(|e| StepError::Internal(e.to_string()))?;
        self.objects.put(key, bytes, PutMode::Overwrite).await?;
        Ok(())
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Result<T, StepError> {
        let bytes = self.objects.get(key).await?;
        serde_json::from_slice(&bytes).map_err(|e| StepError::Internal(format!("{key}: {e}")))
    }

    /// Registers the document (RECEIVED, conditional write), checks its real type and limits
    /// and moves it to PROCESSING. A repeated event for a finished document is a no-op.
    pub async fn inspect(&self, input: &SourceInput) -> Result<InspectOutput, StepError> {
        let started = Instant::now();
        let id = input.document_id();
        let patient_id = patient_from_key(&input.key)?;

        let mut doc = match self.meta.get_document(&id).await {
            Ok(doc) => doc,
            Err(StoreError::NotFound { .. }) => {
                let head = self.objects.head(&input.key).await?;
                if head.size > self.limits.max_bytes {
                    // Register without reading it whole: it is rejected as too large.
                    let doc = DocumentRecord::new(
                        id.clone(),
                        patient_id.clone(),
                        crate::model::SourceRef {
                            bucket: input.bucket.clone(),
                            key: input.key.clone(),
                            version: input.version.clone(),
                        },
                        String::new(),
                        head.size,
                        now_rfc3339(),
                    )
                    .with_labels(self.labels(&input.key).await?);
                    match self.meta.create_document(&doc).await {
                        Ok(()) | Err(StoreError::AlreadyExists { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                    return Err(media::MediaError::TooLarge {
                        bytes: head.size,
                        limit: self.limits.max_bytes,
                    }
                    .into());
                }
                let bytes = self.objects.get(&input.key).await?;
                let doc = DocumentRecord::new(
                    id.clone(),
                    patient_id,
                    crate::model::SourceRef {
                        bucket: input.bucket.clone(),
                        key: input.key.clone(),
                        version: input.version.clone(),
                    },
                    keys::sha256_hex(&bytes),
                    bytes.len() as u64,
                    now_rfc3339(),
                )
                .with_labels(self.labels(&input.key).await?);
                match self.meta.create_document(&doc).await {
                    Ok(()) => doc,
                    // A concurrent delivery of the same event registered it first.
                    Err(StoreError::AlreadyExists { .. }) => self.meta.get_document(&id).await?,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let out = |doc: &DocumentRecord, next| InspectOutput {
            document_id: doc.id.clone(),
            next,
            status: doc.status,
            source_key: doc.source.key.clone(),
            mime: doc.mime.clone(),
            pages: doc.pages,
            duplicate_of: doc.duplicate_of.clone(),
        };
        if doc.status.is_terminal() {
            return Ok(out(&doc, Next::Done));
        }

        if doc.bytes > self.limits.max_bytes {
            return Err(media::MediaError::TooLarge {
                bytes: doc.bytes,
                limit: self.limits.max_bytes,
            }
            .into());
        }
        let bytes = self.objects.get(&input.key).await?;
        let limits = self.limits;
        let inspection = self.cpu(move || media::inspect(&bytes, &limits)).await?;

        let first = self.meta.claim_content(&doc.sha256, &doc.id).await?;
        doc.mime = Some(inspection.mime.as_str().to_string());
        doc.pages = inspection.pages;
        doc.duplicate_of = first.filter(|f| *f != doc.id);
        doc.timings
            .insert("inspect".into(), started.elapsed().as_millis() as u64);
        if doc.status != Status::Processing {
            self.save(&mut doc, Status::Processing).await?;
        }
        tracing::info!(document = %doc.id, mime = inspection.mime.short(), pages = doc.pages, "inspected");
        let next = if doc.duplicate_of.is_some() {
            Next::Duplicate
        } else {
            Next::Process
        };
        Ok(out(&doc, next))
    }

    /// The labels staff gave a bulk original (`labels.json` next to it), if any. Labels
    /// that break the rules are dropped and the document goes on; the warning does not
    /// repeat them (they are the patient's data).
    async fn labels(&self, source_key: &str) -> Result<Labels, StepError> {
        let Some(key) = keys::labels_key(source_key) else {
            return Ok(Labels::default());
        };
        let bytes = match self.objects.get(&key).await {
            Ok(b) => b,
            Err(StoreError::NotFound { .. }) => return Ok(Labels::default()),
            Err(e) => return Err(e.into()),
        };
        let parsed = if bytes.len() > 16 * 1024 {
            Err("larger than 16 KiB".to_string())
        } else {
            serde_json::from_slice::<Labels>(&bytes)
                .map_err(|_| "not a JSON object of document_type and note".to_string())
                .and_then(|l| l.validate().map(|()| l))
        };
        Ok(parsed.unwrap_or_else(|reason| {
            tracing::warn!(%reason, "labels.json ignored");
            Labels::default()
        }))
    }

    /// Writes the page list (`pages.json`) a Map state iterates over.
    pub async fn plan(&self, input: &PlanInput) -> Result<PlanOutput, StepError> {
        let doc = self.meta.get_document(&input.document_id).await?;
        let mime = doc
            .mime
            .clone()
            .ok_or_else(|| StepError::Internal("plan before inspect".into()))?;
        let pages: Vec<PageInput> = (1..=doc.pages)
            .map(|page| PageInput {
                document_id: doc.id.clone(),
                page,
                mime: mime.clone(),
                source_key: doc.source.key.clone(),
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

    /// Decodes one page and writes its thumb, preview and OCR renditions.
    pub async fn render_page(&self, input: &PageInput) -> Result<RenderOutput, StepError> {
        let started = Instant::now();
        let mime = parse_mime(&input.mime)?;
        let bytes = self.objects.get(&input.source_key).await?;
        let (limits, index) = (self.limits, input.page.saturating_sub(1));
        let encoded = self
            .cpu(move || {
                let page = media::decode_page(&bytes, mime, index, &limits)?;
                media::render_renditions(page)
            })
            .await?;
        let mut refs = Vec::with_capacity(encoded.len());
        for r in encoded {
            let key = keys::rendition(&input.document_id, input.page, r.kind.name(), r.kind.ext());
            let size = r.bytes.len() as u64;
            self.objects.put(&key, r.bytes, PutMode::Overwrite).await?;
            refs.push(RenditionRef {
                name: r.kind.name().into(),
                page: input.page,
                mime: r.kind.mime().into(),
                width: r.width,
                height: r.height,
                bytes: size,
                key,
            });
        }
        let ms = started.elapsed().as_millis() as u64;
        let n = refs.len();
        self.put_json(
            &keys::page_renditions(&input.document_id, input.page),
            &PageRenditions {
                renditions: refs,
                ms,
            },
        )
        .await?;
        Ok(RenderOutput {
            document_id: input.document_id.clone(),
            page: input.page,
            renditions: n,
            ms,
        })
    }

    /// Extracts one page's text: a PDF's own text layer where it has one, OCR of the page's
    /// `ocr` rendition otherwise. Needs [`Steps::render_page`] to have run for OCR.
    pub async fn ocr_page(&self, input: &PageInput) -> Result<OcrOutput, StepError> {
        let started = Instant::now();
        let mime = parse_mime(&input.mime)?;
        let mut page = None;
        if mime == Mime::Pdf {
            let bytes = self.objects.get(&input.source_key).await?;
            let index = input.page.saturating_sub(1);
            let layer = self
                .cpu(move || media::pdf_text_layer(&bytes, index))
                .await?;
            let solid = layer
                .lines
                .iter()
                .flatten()
                .map(|w| w.text.chars().filter(|c| !c.is_whitespace()).count())
                .sum::<usize>();
            if solid >= MIN_TEXT_LAYER_CHARS {
                page = Some(text_layer_page(input.page, layer));
            }
        }
        let page = match page {
            Some(p) => p,
            None => {
                let png = self
                    .objects
                    .get(&keys::rendition(
                        &input.document_id,
                        input.page,
                        RenditionKind::Ocr.name(),
                        RenditionKind::Ocr.ext(),
                    ))
                    .await?;
                let png = match self.ocr.max_image_bytes() {
                    Some(max) if png.len() > max => {
                        self.cpu(move || media::shrink_png_to_fit(&png, max))
                            .await?
                    }
                    _ => png,
                };
                self.ocr.recognize(&png, input.page).await?
            }
        };
        let ms = started.elapsed().as_millis() as u64;
        let out = OcrOutput {
            document_id: input.document_id.clone(),
            page: input.page,
            text_source: page.text_source,
            chars: page.text().chars().count(),
            words: page.word_count(),
            mean_confidence: page.mean_confidence(),
            ms,
        };
        self.put_json(
            &keys::page_ocr(&input.document_id, input.page),
            &PageOcr { page, ms },
        )
        .await?;
        Ok(out)
    }

    /// Joins the pages into `ocr.json` and `text.txt` and marks the document READY.
    pub async fn finalize(&self, input: &FinalizeInput) -> Result<DocumentSummary, StepError> {
        let started = Instant::now();
        let mut doc = self.meta.get_document(&input.document_id).await?;
        if doc.status.is_terminal() {
            return Ok((&doc).into());
        }
        let mut ocr = OcrDocument::default();
        let mut renditions = Vec::new();
        let (mut render_ms, mut ocr_ms) = (0, 0);
        for page in 1..=doc.pages {
            let r: PageRenditions = self.get_json(&keys::page_renditions(&doc.id, page)).await?;
            let o: PageOcr = self.get_json(&keys::page_ocr(&doc.id, page)).await?;
            render_ms += r.ms;
            ocr_ms += o.ms;
            renditions.extend(r.renditions);
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
            .filter(|c| *c != crate::ocr::PAGE_SEPARATOR)
            .count() as u64;
        doc.text_source = ocr.text_source();
        doc.renditions = renditions;
        doc.text_key = Some(text_key);
        doc.ocr_key = Some(ocr_key);
        doc.timings.insert("render".into(), render_ms);
        doc.timings.insert("ocr".into(), ocr_ms);
        doc.timings
            .insert("finalize".into(), started.elapsed().as_millis() as u64);
        self.save(&mut doc, Status::Ready).await?;
        tracing::info!(document = %doc.id, pages = doc.pages, chars = doc.text_chars, "ready");
        Ok((&doc).into())
    }

    /// Marks a duplicate READY with the first document's artefacts, if that one is READY;
    /// otherwise the caller processes it as new.
    pub async fn link_duplicate(
        &self,
        input: &LinkInput,
    ) -> Result<Option<DocumentSummary>, StepError> {
        let first = self.meta.get_document(&input.duplicate_of).await?;
        if first.status != Status::Ready {
            return Ok(None);
        }
        let mut doc = self.meta.get_document(&input.document_id).await?;
        if doc.status.is_terminal() {
            return Ok(Some((&doc).into()));
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

    /// Catch handler for `Medidocs.InvalidDocument`: keeps the original in quarantine with
    /// its reason and marks the document REJECTED.
    pub async fn reject(&self, input: &CaughtInput) -> Result<DocumentSummary, StepError> {
        let mut doc = self.meta.get_document(&input.source.document_id()).await?;
        if doc.status.is_terminal() {
            return Ok((&doc).into());
        }
        let (code, message) = input.error.reason();
        self.objects
            .copy(&doc.source.key, &keys::quarantine_original(&doc.id))
            .await?;
        self.put_json(
            &keys::quarantine_reason(&doc.id),
            &serde_json::json!({
                "document_id": doc.id, "sha256": doc.sha256, "code": code, "message": message,
                "error": input.error.error, "at": now_rfc3339(),
            }),
        )
        .await?;
        doc.reason = Some(Reason { code, message });
        self.save(&mut doc, Status::Rejected).await?;
        tracing::info!(document = %doc.id, code = %doc.reason.as_ref().map(|r| r.code.as_str()).unwrap_or(""), "rejected");
        Ok((&doc).into())
    }

    /// Catch handler for everything else: marks the document FAILED with the cause, so no
    /// document is ever left in PROCESSING. The original stays where it was uploaded.
    pub async fn fail(&self, input: &CaughtInput) -> Result<DocumentSummary, StepError> {
        let mut doc = self.meta.get_document(&input.source.document_id()).await?;
        if doc.status.is_terminal() {
            return Ok((&doc).into());
        }
        let (code, message) = input.error.reason();
        doc.reason = Some(Reason { code, message });
        self.save(&mut doc, Status::Failed).await?;
        tracing::warn!(document = %doc.id, error = %input.error.error, "failed");
        Ok((&doc).into())
    }
}

fn parse_mime(s: &str) -> Result<Mime, StepError> {
    Mime::parse(s).ok_or_else(|| StepError::Internal(format!("unknown type {s}")))
}

/// Upload keys are `uploads/{patient}/{upload}/original`; the patient comes from the key.
fn patient_from_key(key: &str) -> Result<String, StepError> {
    let parts: Vec<&str> = key.split('/').collect();
    match parts.as_slice() {
        ["uploads" | "bulk", patient, upload, "original"]
            if keys::validate_patient_id(patient).is_ok() && keys::is_system_id(upload) =>
        {
            Ok((*patient).to_string())
        }
        _ => Err(StepError::InvalidDocument {
            code: "unexpected_key".into(),
            message: "the object is not under uploads/ or bulk/{patient}/{upload}/original".into(),
        }),
    }
}

fn text_layer_page(page: u32, layer: media::TextLayerPage) -> OcrPage {
    let lines = layer
        .lines
        .into_iter()
        .map(|words| {
            Line::from_words(
                words
                    .into_iter()
                    .map(|w| Word {
                        text: w.text,
                        confidence: 100.0,
                        bbox: BoundingBox {
                            left: w.left,
                            top: w.top,
                            width: w.width,
                            height: w.height,
                        },
                    })
                    .collect(),
            )
        })
        .collect();
    OcrPage {
        page,
        text_source: TextSource::TextLayer,
        rotation: 0,
        lines,
    }
}

/// The steps by name, as a Task resource names them (`inspect`, `link-duplicate`, `plan`,
/// `render-page`, `ocr-page`, `finalize`, `reject`, `fail`).
pub const STEP_NAMES: &[&str] = &[
    "inspect",
    "link-duplicate",
    "plan",
    "render-page",
    "ocr-page",
    "finalize",
    "reject",
    "fail",
];

fn json_in<I: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<I, CaughtError> {
    serde_json::from_value(v).map_err(|e| CaughtError {
        error: crate::error::INTERNAL.into(),
        cause: format!("bad step input: {e}"),
    })
}

fn json_out<O: Serialize>(r: Result<O, StepError>) -> Result<serde_json::Value, CaughtError> {
    let out = r.map_err(|e| e.to_caught())?;
    serde_json::to_value(out).map_err(|e| CaughtError {
        error: crate::error::INTERNAL.into(),
        cause: e.to_string(),
    })
}

impl Steps {
    /// Runs the step `name` on its JSON input, as a Task state calls it (in-process, or in
    /// a Lambda function): errors come back as the `{Error, Cause}` Retry and Catch match.
    pub async fn call(
        &self,
        name: &str,
        input: serde_json::Value,
    ) -> Result<serde_json::Value, CaughtError> {
        let started = Instant::now();
        tracing::trace!(step = name, "step started");
        let out = self.dispatch(name, input).await;
        // The step, its time and its error name: never its input, output or cause.
        tracing::debug!(
            step = name,
            ms = started.elapsed().as_millis() as u64,
            error = out.as_ref().err().map(|e| e.error.as_str()).unwrap_or(""),
            "step finished"
        );
        out
    }

    async fn dispatch(
        &self,
        name: &str,
        input: serde_json::Value,
    ) -> Result<serde_json::Value, CaughtError> {
        match name {
            "inspect" => json_out(self.inspect(&json_in(input)?).await),
            "link-duplicate" => json_out(self.link_duplicate(&json_in(input)?).await),
            "plan" => json_out(self.plan(&json_in(input)?).await),
            "render-page" => json_out(self.render_page(&json_in(input)?).await),
            "ocr-page" => json_out(self.ocr_page(&json_in(input)?).await),
            "finalize" => json_out(self.finalize(&json_in(input)?).await),
            "reject" => json_out(self.reject(&json_in(input)?).await),
            "fail" => json_out(self.fail(&json_in(input)?).await),
            other => Err(CaughtError {
                error: crate::error::INTERNAL.into(),
                cause: format!("there is no step named {other}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patient_comes_from_a_well_formed_upload_key_only() {
        assert_eq!(
            patient_from_key("uploads/p-1/0a1b/original").unwrap(),
            "p-1"
        );
        for bad in [
            "uploads/p-1/0a1b/other",
            "x/p-1/0a1b/original",
            "uploads/../0a1b/original",
            "uploads/p/NOTHEX/original",
        ] {
            let e = patient_from_key(bad).unwrap_err();
            assert_eq!(e.code(), "unexpected_key", "{bad}");
        }
    }

    #[test]
    fn source_input_defaults_to_the_null_version() {
        let s: SourceInput = serde_json::from_str(r#"{"bucket":"b","key":"k"}"#).unwrap();
        assert_eq!(s.version, "null");
    }
}
