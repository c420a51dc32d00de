//! The pipeline's steps: [`Steps`], the handlers bound to one set of adapters, and
//! [`Steps::call`], which runs one by its [`Step`] on its JSON input as a Task state calls
//! it. Each step's input, output and errors are in `contracts.rs` (the table at its top);
//! each step, or close group of steps, has a module of its own. Here: what they share, who
//! owns a document (attempt, region) and what a superseded run may not do.
//!
//! Every step is idempotent: run twice with the same input it writes the same objects and
//! never moves a document backwards.

mod contracts;
mod duplicate;
mod finalize;
mod inspect;
mod ocr;
mod outcome;
mod pdf;
mod plan;
mod render;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::error::{CaughtError, StepError};
use crate::step::Step;
use medidocs_core::clock::rfc3339;
use medidocs_core::keys;
use medidocs_core::model::{DocumentRecord, LOCAL_REGION, Status};
use medidocs_core::ports::{MetadataStore, ObjectStore, OcrEngine, PutMode};
use medidocs_core::understand::Region;
use medidocs_media::{self as media, Limits, Mime};
use medidocs_states::{Clock, SystemClock};

pub use contracts::{
    CaughtInput, DocumentSummary, FinalizeInput, InspectOutput, LinkInput, Next, OcrOutput,
    PageInput, PlanInput, PlanOutput, Priority, RenderOutput,
};

/// A page that takes longer than this to decode or render is rejected as `too_complex`
/// (an A4 page takes well under a second).
pub const DECODE_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

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
    date_region: Region,
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
            date_region: Region::Ie,
        }
    }

    /// The region whose convention reads numeric dates nothing on a document decides
    /// (`core::understand`): Ireland (day first) unless set.
    pub fn with_date_region(mut self, region: Region) -> Self {
        self.date_region = region;
        self
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
            .map_err(|e| StepError::internal(e.to_string()).caused_by(e))?;
        match tokio::time::timeout(DECODE_TIME_LIMIT, tokio::task::spawn_blocking(f)).await {
            Ok(Ok(r)) => r.map_err(StepError::from),
            // The worker thread cannot be stopped; it is left to finish while the document
            // is rejected, so one pathological file cannot stall the pipeline.
            Err(elapsed) => Err(StepError::invalid(
                "too_complex",
                format!(
                    "decoding one page took longer than {} s",
                    DECODE_TIME_LIMIT.as_secs()
                ),
            )
            .caused_by(elapsed)),
            // Not kept as the source: a panic's payload is a decoder's words about a
            // patient's file.
            Ok(Err(e)) => Err(StepError::invalid(
                "corrupt",
                format!(
                    "the decoder failed on malformed data ({})",
                    if e.is_panic() { "panic" } else { "cancelled" }
                ),
            )),
        }
    }

    async fn save(&self, doc: &mut DocumentRecord, next: Status) -> Result<(), StepError> {
        if !doc.status.can_move_to(next) {
            return Err(StepError::internal(format!(
                "document {} cannot move from {} to {}",
                doc.id,
                doc.status.as_str(),
                next.as_str()
            )));
        }
        let now = self.clock.now();
        // How long the patient waited: from the upload's record to its outcome (across
        // retries and take-overs, unlike the per-step timings, which are the last run's).
        // Written by the step that ends the document, so Step Functions and the embedded
        // runtime record the same.
        if next.is_terminal()
            && let Ok(created) = time::OffsetDateTime::parse(
                &doc.created_at,
                &time::format_description::well_known::Rfc3339,
            )
        {
            let ms = (now - created).whole_milliseconds().max(0) as u64;
            doc.timings.insert("since_upload".into(), ms);
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
        let bytes = serde_json::to_vec(value)
            .map_err(|e| StepError::internal(e.to_string()).caused_by(e))?;
        self.objects.put(key, bytes, PutMode::Overwrite).await?;
        Ok(())
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Result<T, StepError> {
        let bytes = self.objects.get(key).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| StepError::internal(format!("{key}: {e}")).caused_by(e))
    }

    async fn get_json_if_present<T: for<'de> Deserialize<'de>>(
        &self,
        key: &str,
    ) -> Result<Option<T>, StepError> {
        match self.get_json(key).await {
            Ok(v) => Ok(Some(v)),
            Err(StepError::NotFound { .. }) => Ok(None),
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
}

fn parse_mime(s: &str) -> Result<Mime, StepError> {
    Mime::parse(s).ok_or_else(|| StepError::internal(format!("unknown type {s}")))
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
