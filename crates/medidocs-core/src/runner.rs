//! Runs the steps for one document in order, in-process: inspect → (link duplicate |
//! plan → pages (render, then OCR; a few pages at a time) → finalize), with retries for
//! throttling and transient errors, and the Catch rules (InvalidDocument → reject,
//! anything else → fail), so no document is left in PROCESSING.

use std::time::Duration;

use futures::stream::{self, StreamExt, TryStreamExt};

use crate::error::StepError;
use crate::model::DocumentRecord;
use crate::steps::{
    CaughtInput, FinalizeInput, LinkInput, Next, PageInput, PlanInput, SourceInput, Steps,
};

/// Retry policy per error name, as the state machine's `Retry` blocks will state it.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub throttled_attempts: u32,
    pub transient_attempts: u32,
    pub base: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            throttled_attempts: 8,
            transient_attempts: 3,
            base: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
        }
    }
}

/// What running one document did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub record: DocumentRecord,
    /// False when the document was already finished (a repeated run did no work).
    pub processed: bool,
}

pub struct Runner {
    pub steps: Steps,
    pub retry: RetryPolicy,
    /// Pages of one document processed at once.
    pub page_concurrency: usize,
}

impl Runner {
    pub fn new(steps: Steps, page_concurrency: usize) -> Self {
        Self {
            steps,
            retry: RetryPolicy::default(),
            page_concurrency: page_concurrency.max(1),
        }
    }

    pub async fn run(&self, source: &SourceInput) -> Result<Outcome, StepError> {
        let started = std::time::Instant::now();
        let result = self.process(source).await;
        let processed = match result {
            Ok(done) => done,
            Err(e) => {
                let caught = CaughtInput {
                    source: source.clone(),
                    error: e.to_caught(),
                };
                match e {
                    StepError::InvalidDocument { .. } => {
                        self.with_retry(|| self.steps.reject(&caught)).await?
                    }
                    _ => self.with_retry(|| self.steps.fail(&caught)).await?,
                };
                true
            }
        };
        let mut record = self.steps.meta.get_document(&source.document_id()).await?;
        if processed && !record.timings.contains_key("total") {
            record
                .timings
                .insert("total".into(), started.elapsed().as_millis() as u64);
            record.version += 1;
            // Timing is informative: losing this write to a concurrent run is harmless.
            if self.steps.meta.update_document(&record).await.is_err() {
                record = self.steps.meta.get_document(&source.document_id()).await?;
            }
        }
        Ok(Outcome { record, processed })
    }

    /// Returns whether any work was done.
    async fn process(&self, source: &SourceInput) -> Result<bool, StepError> {
        let inspected = self.with_retry(|| self.steps.inspect(source)).await?;
        match inspected.next {
            Next::Done => return Ok(false),
            Next::Duplicate => {
                if let Some(first) = inspected.duplicate_of.clone() {
                    let link = LinkInput {
                        document_id: inspected.document_id.clone(),
                        duplicate_of: first,
                    };
                    if self
                        .with_retry(|| self.steps.link_duplicate(&link))
                        .await?
                        .is_some()
                    {
                        return Ok(true);
                    }
                }
            }
            Next::Process => {}
        }
        let plan_input = PlanInput {
            document_id: inspected.document_id.clone(),
        };
        let plan = self.with_retry(|| self.steps.plan(&plan_input)).await?;
        let pages = self
            .with_retry(|| self.steps.page_list(&plan.pages_key))
            .await?;
        stream::iter(pages)
            .map(|page| async move { self.page(&page).await })
            .buffer_unordered(self.page_concurrency)
            .try_collect::<Vec<()>>()
            .await?;
        let finalize = FinalizeInput {
            document_id: inspected.document_id.clone(),
        };
        self.with_retry(|| self.steps.finalize(&finalize)).await?;
        Ok(true)
    }

    async fn page(&self, page: &PageInput) -> Result<(), StepError> {
        self.with_retry(|| self.steps.render_page(page)).await?;
        self.with_retry(|| self.steps.ocr_page(page)).await?;
        Ok(())
    }

    async fn with_retry<T, F, Fut>(&self, mut f: F) -> Result<T, StepError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StepError>>,
    {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match f().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let max = match e {
                        StepError::Throttled(_) => self.retry.throttled_attempts,
                        StepError::Transient(_) => self.retry.transient_attempts,
                        _ => 1,
                    };
                    if attempt >= max {
                        return Err(e);
                    }
                    // Exponential backoff (rate 2) with full jitter.
                    let cap = self
                        .retry
                        .base
                        .saturating_mul(1u32 << (attempt - 1).min(16))
                        .min(self.retry.max_delay);
                    let delay = cap.mul_f64(jitter());
                    tracing::debug!(error = e.name(), attempt, ?delay, "retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

/// A number in [0, 1) from the clock's nanoseconds: enough to spread retries apart.
fn jitter() -> f64 {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut x = n as u64 ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x % 1_000_000) as f64 / 1_000_000.0
}
