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
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::error::{CaughtError, StepError};
use crate::step::Step;
use medidocs_core::clock::rfc3339;
use medidocs_core::inputs::SourceInput;
use medidocs_core::keys;
use medidocs_core::model::{
    DocumentRecord, LOCAL_REGION, Labels, Reason, RenditionRef, Status, TextSource,
};
use medidocs_core::ocr::{BoundingBox, Line, OcrDocument, OcrPage, Word};
use medidocs_core::ports::{MetadataStore, ObjectStore, OcrEngine, PutMode, StoreError};
use medidocs_media::{self as media, Limits, Mime, RenditionKind};
use medidocs_states::{Clock, SystemClock};

/// A PDF page whose text layer has at least this many non-blank characters is read from
/// the text layer; below it (a scan, or a page with only a page number) it is OCRed.
pub const MIN_TEXT_LAYER_CHARS: usize = 16;

/// A page that takes longer than this to decode or render is rejected as `too_complex`
/// (an A4 page takes well under a second).
pub const DECODE_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

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
        if key.starts_with("bulk/") {
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
struct PageRenditions {
    renditions: Vec<RenditionRef>,
    ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PageOcr {
    page: OcrPage,
    ms: u64,
}

/// The step handlers, bound to one set of adapters.
pub struct Steps {
    pub objects: Arc<dyn ObjectStore>,
    pub meta: Arc<dyn MetadataStore>,
    pub ocr: Arc<dyn OcrEngine>,
    pub limits: Limits,
    cpu: Arc<Semaphore>,
    clock: Arc<dyn Clock>,
    region: String,
    deadline: Duration,
    inline_media: bool,
}

/// The run a step belongs to, from its execution's name, if the name is one of this
/// document's ([`keys::execution_name`]). `None`: the step was called without one
/// (directly, or by an execution named otherwise) and acts on whatever it finds.
fn run_of<'a>(execution: Option<&'a str>, document_id: &str) -> Option<keys::Run<'a>> {
    execution
        .and_then(keys::parse_execution_name)
        .filter(|r| r.document_id == document_id)
}

fn attempt_of(execution: Option<&str>, document_id: &str) -> Option<u32> {
    run_of(execution, document_id).map(|r| r.attempt)
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
            clock: Arc::new(SystemClock),
            region: LOCAL_REGION.into(),
            deadline: medidocs_core::watchdog::DEFAULT_DEADLINE,
            inline_media: false,
        }
    }

    /// Runs media work on the calling thread instead of a worker thread (the capacity
    /// simulator's tiny pages, where one thread keeps a run repeatable).
    pub fn with_inline_media(mut self) -> Self {
        self.inline_media = true;
        self
    }

    /// The region these steps run in (written on the documents they own).
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// The clock records' times are read from (a virtual one in the capacity simulator).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How long a document may stay in flight after its last write before the watchdog
    /// stops it: longer than the pipeline's longest legitimate run (its execution time-out).
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    fn now(&self) -> String {
        rfc3339(self.clock.now())
    }

    /// Whether the run `execution` still owns `doc`: the attempt it carries is the
    /// document's and the document is this region's. A run superseded by a retry or by a
    /// reconcile elsewhere gets [`StepError::Superseded`] and changes nothing.
    fn check_owner(&self, doc: &DocumentRecord, execution: Option<&str>) -> Result<(), StepError> {
        let Some(attempt) = attempt_of(execution, &doc.id) else {
            return Ok(());
        };
        let region_ok = doc.region.is_empty() || doc.region == self.region;
        if doc.attempt == attempt && region_ok {
            return Ok(());
        }
        Err(StepError::Superseded(format!(
            "document {} belongs to attempt {} in {}; this run is attempt {attempt} in {}",
            doc.id, doc.attempt, doc.region, self.region
        )))
    }

    /// A new record for a source, owned by this region and `attempt`.
    fn new_record(
        &self,
        input: &SourceInput,
        patient_id: String,
        sha256: String,
        bytes: u64,
        attempt: u32,
    ) -> DocumentRecord {
        let now = self.clock.now();
        let mut doc = DocumentRecord::new(
            input.document_id(),
            patient_id,
            medidocs_core::model::SourceRef {
                bucket: input.bucket.clone(),
                key: input.key.clone(),
                version: input.version.clone(),
            },
            sha256,
            bytes,
            rfc3339(now),
        );
        doc.attempt = attempt;
        doc.region = self.region.clone();
        doc.deadline = Some(rfc3339(now + self.deadline));
        doc
    }

    /// Runs CPU-heavy media work off the async threads, a bounded number at a time.
    async fn cpu<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, media::MediaError> + Send + 'static,
    ) -> Result<T, StepError> {
        if self.inline_media {
            return f().map_err(StepError::from);
        }
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
        let now = self.clock.now();
        // From the record's creation to its outcome: written by the step that ends the
        // document, so Step Functions and the embedded runtime record the same.
        if next.is_terminal()
            && let Ok(created) = time::OffsetDateTime::parse(
                &doc.created_at,
                &time::format_description::well_known::Rfc3339,
            )
        {
            let ms = (now - created).whole_milliseconds().max(0) as u64;
            doc.timings.insert("total".into(), ms);
        }
        doc.status = next;
        doc.version += 1;
        doc.updated_at = rfc3339(now);
        doc.deadline = (!next.is_terminal()).then(|| rfc3339(now + self.deadline));
        if doc.region.is_empty() {
            doc.region = self.region.clone();
        }
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

    async fn get_json_if_present<T: for<'de> Deserialize<'de>>(
        &self,
        key: &str,
    ) -> Result<Option<T>, StepError> {
        match self.get_json(key).await {
            Ok(v) => Ok(Some(v)),
            Err(StepError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A page step of a named run checks that the run still owns the document, so a run
    /// superseded while it waited (a region that came back after a reconcile elsewhere)
    /// spends nothing more on it.
    async fn check_page_owner(&self, input: &PageInput) -> Result<(), StepError> {
        if attempt_of(input.execution.as_deref(), &input.document_id).is_none() {
            return Ok(());
        }
        let doc = self.meta.get_document(&input.document_id).await?;
        if doc.status.is_terminal() {
            return Err(StepError::Superseded(format!(
                "document {} is already {}",
                doc.id,
                doc.status.as_str()
            )));
        }
        self.check_owner(&doc, input.execution.as_deref())
    }

    /// Registers the document (RECEIVED, conditional write), checks its real type and limits
    /// and moves it to PROCESSING. A repeated event for a finished document is a no-op.
    pub async fn inspect(&self, input: &SourceInput) -> Result<InspectOutput, StepError> {
        let started = Instant::now();
        let id = input.document_id();
        let patient_id = patient_from_key(&input.key)?;
        let run = run_of(input.execution.as_deref(), &id);
        let attempt = run.map(|r| r.attempt);

        // The original, once read here: the checks below use the same bytes.
        let mut read: Option<Vec<u8>> = None;
        let mut doc = match self.meta.get_document(&id).await {
            Ok(doc) => doc,
            Err(StoreError::NotFound { .. }) => {
                let head = self
                    .objects
                    .head_version(&input.key, &input.version)
                    .await?;
                // Registers the document without its content, so the rejection that
                // follows has a record to mark and the original is kept.
                let register_unread = |why: StepError| async {
                    let doc = self
                        .new_record(
                            input,
                            patient_id.clone(),
                            String::new(),
                            head.size,
                            attempt.unwrap_or(1),
                        )
                        .with_labels(self.labels(&input.key).await?);
                    match self.meta.create_document(&doc).await {
                        Ok(()) | Err(StoreError::AlreadyExists { .. }) => Err(why),
                        Err(e) => Err(e.into()),
                    }
                };
                if head.size > self.limits.max_bytes {
                    // Not read whole: it is rejected as too large.
                    return register_unread(
                        media::MediaError::TooLarge {
                            bytes: head.size,
                            limit: self.limits.max_bytes,
                        }
                        .into(),
                    )
                    .await;
                }
                let bytes = match self.read_original(&input.key, &input.version).await {
                    Ok(b) => b,
                    Err(e @ StepError::InvalidDocument { .. }) => {
                        return register_unread(e).await;
                    }
                    Err(e) => return Err(e),
                };
                let doc = self
                    .new_record(
                        input,
                        patient_id,
                        keys::sha256_hex(&bytes),
                        bytes.len() as u64,
                        attempt.unwrap_or(1),
                    )
                    .with_labels(self.labels(&input.key).await?);
                read = Some(bytes);
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
            source_version: doc.source.version.clone(),
            mime: doc.mime.clone(),
            pages: doc.pages,
            duplicate_of: doc.duplicate_of.clone(),
            priority: Priority::of_key(&doc.source.key),
        };
        // A retry (a run named as one, newer than the record's) starts a FAILED document
        // again; any other run of a final document does nothing.
        let mut take_over = false;
        if doc.status.is_terminal() {
            let retry = run.is_some_and(|r| r.retry && r.attempt > doc.attempt);
            if !(retry && doc.status == Status::Failed) {
                return Ok(out(&doc, Next::Done));
            }
            doc.reset_for_retry();
            tracing::info!(document = %doc.id, attempt = ?attempt, "retry of a FAILED document");
        } else if run.is_some_and(|r| r.retry && r.attempt != doc.attempt) {
            // Only a FAILED document is retried; this one is on its way already (unless
            // this is the retry's own run, inspecting again after an error).
            return Ok(out(&doc, Next::Done));
        }
        // A run superseded by a newer attempt, or by another region's run of this one, does
        // nothing; a newer attempt than the record's takes the document over.
        if let Some(a) = attempt {
            let other_region = !doc.region.is_empty() && doc.region != self.region;
            if doc.attempt > a || (doc.attempt == a && other_region) {
                tracing::info!(document = %doc.id, attempt = a, owner = doc.attempt, "superseded run: nothing to do");
                return Ok(out(&doc, Next::Done));
            }
            if doc.attempt < a {
                doc.attempt = a;
                doc.region = self.region.clone();
                take_over = true;
            }
        }
        // A reconcile took over an original nobody had registered (a record without its
        // content yet): this run, its owner, registers the content now.
        if doc.is_placeholder() {
            let head = self
                .objects
                .head_version(&input.key, &input.version)
                .await?;
            doc.bytes = head.size;
            doc = doc.with_labels(self.labels(&input.key).await?);
            if head.size > self.limits.max_bytes {
                doc.version += 1;
                self.meta.update_document(&doc).await?;
                return Err(media::MediaError::TooLarge {
                    bytes: head.size,
                    limit: self.limits.max_bytes,
                }
                .into());
            }
            let bytes = self.read_original(&input.key, &input.version).await?;
            doc.sha256 = keys::sha256_hex(&bytes);
            read = Some(bytes);
            take_over = true;
        }

        if doc.bytes > self.limits.max_bytes {
            return Err(media::MediaError::TooLarge {
                bytes: doc.bytes,
                limit: self.limits.max_bytes,
            }
            .into());
        }
        let bytes = match read.take() {
            Some(b) => b,
            None => self.read_original(&input.key, &input.version).await?,
        };
        // The upload was bound to its SHA-256 (a presigned PUT signs it, and S3 checks
        // it); a store that kept a checksum other than the bytes' own has bytes nobody
        // vouched for.
        if !doc.sha256.is_empty()
            && let Some(declared) = self
                .objects
                .recorded_sha256(&input.key, &input.version)
                .await?
            && declared != doc.sha256
        {
            return Err(crate::error::checksum_mismatch());
        }
        let limits = self.limits;
        let inspection = self.cpu(move || media::inspect(&bytes, &limits)).await?;

        let first = self
            .meta
            .claim_content(&doc.patient_id, &doc.sha256, &doc.id)
            .await?;
        doc.mime = Some(inspection.mime.as_str().to_string());
        doc.pages = inspection.pages;
        doc.duplicate_of = first.filter(|f| *f != doc.id);
        doc.timings
            .insert("inspect".into(), started.elapsed().as_millis() as u64);
        // A document a reconcile took over waits for its run with a long deadline (it may
        // queue in the bulk import for long): its run gives it the usual one.
        let usual = rfc3339(self.clock.now() + self.deadline);
        let far = doc.deadline.as_deref().is_none_or(|d| d > usual.as_str());
        if doc.status != Status::Processing || take_over || far {
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

    /// The original at the version its event named. Bytes that fail the checksum the
    /// store recorded when they were written, twice in a row (once may be a fault on the
    /// way), are not the bytes uploaded: `checksum_mismatch`, REJECTED.
    async fn read_original(&self, key: &str, version: &str) -> Result<Vec<u8>, StepError> {
        match self.objects.get_version(key, version).await {
            Ok(b) => Ok(b),
            Err(StoreError::ChecksumMismatch { .. }) => {
                match self.objects.get_version(key, version).await {
                    Ok(b) => Ok(b),
                    Err(StoreError::ChecksumMismatch { .. }) => {
                        Err(crate::error::checksum_mismatch())
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
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
        self.check_owner(&doc, input.execution.as_deref())?;
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

    /// Decodes one page and writes its thumb, preview and OCR renditions.
    pub async fn render_page(&self, input: &PageInput) -> Result<RenderOutput, StepError> {
        let started = Instant::now();
        self.check_page_owner(input).await?;
        // Done by an earlier try of this page (its result lost on the way back): not again,
        // if every rendition it lists is there (objects replicated from another region
        // arrive in no particular order).
        let mime = parse_mime(&input.mime)?;
        let done_key = keys::page_renditions(&input.document_id, input.page);
        if let Some(done) = self
            .get_json_if_present::<PageRenditions>(&done_key)
            .await?
        {
            let (mut whole, mut ocr_image_gone) = (true, false);
            for r in &done.renditions {
                match self.objects.head(&r.key).await {
                    Ok(_) => {}
                    // The OCR image is an intermediate: gone once the document ended (a
                    // retry), expired, or never replicated (a take-over). The kept
                    // renditions are not written again for it.
                    Err(StoreError::NotFound { .. }) if !keys::is_kept(&r.key) => {
                        ocr_image_gone = true
                    }
                    Err(StoreError::NotFound { .. }) => whole = false,
                    Err(e) => return Err(e.into()),
                }
            }
            if whole {
                let page_read = match self
                    .objects
                    .head(&keys::page_ocr(&input.document_id, input.page))
                    .await
                {
                    Ok(_) => true,
                    Err(StoreError::NotFound { .. }) => false,
                    Err(e) => return Err(e.into()),
                };
                if ocr_image_gone && !page_read {
                    let png = self.make_ocr_image(input, mime).await?;
                    self.objects
                        .put(
                            &keys::ocr_image(&input.document_id, input.page),
                            png,
                            PutMode::Overwrite,
                        )
                        .await?;
                }
                return Ok(RenderOutput {
                    document_id: input.document_id.clone(),
                    page: input.page,
                    renditions: done.renditions.len(),
                    ms: done.ms,
                });
            }
        }
        let bytes = self
            .objects
            .get_version(&input.source_key, &input.source_version)
            .await?;
        let (limits, index) = (self.limits, input.page.saturating_sub(1));
        let encoded = self
            .cpu(move || {
                let page = media::decode_page(&bytes, mime, index, &limits)?;
                media::render_renditions(page)
            })
            .await?;
        let mut refs = Vec::with_capacity(encoded.len());
        for r in encoded {
            // The OCR image is an intermediate (under `work/`); thumb and preview are kept.
            let key = if r.kind == RenditionKind::Ocr {
                keys::ocr_image(&input.document_id, input.page)
            } else {
                keys::rendition(&input.document_id, input.page, r.kind.name(), r.kind.ext())
            };
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
            &done_key,
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
    /// OCR image (under `work/`) otherwise. Needs [`Steps::render_page`] to have run for OCR.
    pub async fn ocr_page(&self, input: &PageInput) -> Result<OcrOutput, StepError> {
        let started = Instant::now();
        self.check_page_owner(input).await?;
        // Read by an earlier try of this page: never a second OCR bill for it.
        let done_key = keys::page_ocr(&input.document_id, input.page);
        if let Some(done) = self.get_json_if_present::<PageOcr>(&done_key).await? {
            return Ok(ocr_output(input, &done.page, done.ms));
        }
        let mime = parse_mime(&input.mime)?;
        let mut page = None;
        if mime == Mime::Pdf {
            let bytes = self
                .objects
                .get_version(&input.source_key, &input.source_version)
                .await?;
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
                let png = self.ocr_image(input, mime).await?;
                let limits = media::OcrImageLimits {
                    max_bytes: self.ocr.max_image_bytes(),
                    max_side: self.ocr.max_image_side(),
                };
                let png = if limits == media::OcrImageLimits::default() {
                    png
                } else {
                    self.cpu(move || media::shrink_png_to_fit(&png, limits))
                        .await?
                };
                self.ocr.recognize(&png, input.page).await?
            }
        };
        let ms = started.elapsed().as_millis() as u64;
        let out = ocr_output(input, &page, ms);
        self.put_json(&done_key, &PageOcr { page, ms }).await?;
        Ok(out)
    }

    /// The page's OCR image: the one the render step left under `work/`, or, when it is
    /// gone (expired while the page waited in the queue), made again from the original.
    async fn ocr_image(&self, input: &PageInput, mime: Mime) -> Result<Vec<u8>, StepError> {
        match self
            .objects
            .get(&keys::ocr_image(&input.document_id, input.page))
            .await
        {
            Err(StoreError::NotFound { .. }) => self.make_ocr_image(input, mime).await,
            other => Ok(other?),
        }
    }

    /// Makes a page's OCR image again from the original, as the render step made it.
    async fn make_ocr_image(&self, input: &PageInput, mime: Mime) -> Result<Vec<u8>, StepError> {
        tracing::info!(document = %input.document_id, page = input.page, "OCR image made again from the original");
        let bytes = self
            .objects
            .get_version(&input.source_key, &input.source_version)
            .await?;
        let (limits, index) = (self.limits, input.page.saturating_sub(1));
        let made = self
            .cpu(move || {
                let page = media::decode_page(&bytes, mime, index, &limits)?;
                media::render_renditions(page)
            })
            .await?;
        made.into_iter()
            .find(|r| r.kind == RenditionKind::Ocr)
            .map(|r| r.bytes)
            .ok_or_else(|| StepError::Internal("no OCR rendition made".into()))
    }

    /// Removes what a document's processing kept only while it ran (`work/{id}/`), once
    /// the document has ended. Best effort: the bucket's lifecycle expires what is left.
    async fn discard_work(&self, id: &str) {
        let listed = match self.objects.list(&keys::work_prefix(id)).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(document = %id, error = %e, "work objects not listed");
                return;
            }
        };
        for o in listed {
            if let Err(e) = self.objects.delete(&o.key).await {
                tracing::warn!(document = %id, error = %e, "work object not removed");
            }
        }
    }

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
        let (mut render_ms, mut ocr_ms) = (0, 0);
        for page in 1..=doc.pages {
            let r: PageRenditions = self.get_json(&keys::page_renditions(&doc.id, page)).await?;
            let o: PageOcr = self.get_json(&keys::page_ocr(&doc.id, page)).await?;
            render_ms += r.ms;
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
        doc.renditions = renditions;
        doc.text_key = Some(text_key);
        doc.ocr_key = Some(ocr_key);
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

fn ocr_output(input: &PageInput, page: &OcrPage, ms: u64) -> OcrOutput {
    OcrOutput {
        document_id: input.document_id.clone(),
        page: input.page,
        text_source: page.text_source,
        chars: page.text().chars().count(),
        words: page.word_count(),
        mean_confidence: page.mean_confidence(),
        ms,
    }
}

fn parse_mime(s: &str) -> Result<Mime, StepError> {
    Mime::parse(s).ok_or_else(|| StepError::Internal(format!("unknown type {s}")))
}

/// Upload keys are `uploads/{patient}/{upload}/original` (or `bulk/…`); the patient comes
/// from the key.
fn patient_from_key(key: &str) -> Result<String, StepError> {
    keys::parse_original(key)
        .map(|original| original.patient_id.to_string())
        .ok_or_else(|| StepError::InvalidDocument {
            code: "unexpected_key".into(),
            message: "the object is not under uploads/ or bulk/{patient}/{upload}/original".into(),
        })
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
        step: Step,
        input: serde_json::Value,
    ) -> Result<serde_json::Value, CaughtError> {
        let started = Instant::now();
        tracing::trace!(step = step.name(), "step started");
        let out = self.dispatch(step, input).await;
        // The step, its time and its error name: never its input, output or cause.
        tracing::debug!(
            step = step.name(),
            ms = started.elapsed().as_millis() as u64,
            error = out.as_ref().err().map(|e| e.error.as_str()).unwrap_or(""),
            "step finished"
        );
        out
    }

    async fn dispatch(
        &self,
        step: Step,
        input: serde_json::Value,
    ) -> Result<serde_json::Value, CaughtError> {
        match step {
            Step::Inspect => json_out(self.inspect(&json_in(input)?).await),
            Step::LinkDuplicate => json_out(self.link_duplicate(&json_in(input)?).await),
            Step::Plan => json_out(self.plan(&json_in(input)?).await),
            Step::RenderPage => json_out(self.render_page(&json_in(input)?).await),
            Step::OcrPage => json_out(self.ocr_page(&json_in(input)?).await),
            Step::Finalize => json_out(self.finalize(&json_in(input)?).await),
            Step::Reject => json_out(self.reject(&json_in(input)?).await),
            Step::Fail => json_out(self.fail(&json_in(input)?).await),
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
}
