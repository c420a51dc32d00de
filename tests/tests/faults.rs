//! Faults: a dependency that fails, one that throttles, and limits enforced before reading.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use medidocs_core::keys;
use medidocs_core::model::Status;
use medidocs_core::ocr::OcrPage;
use medidocs_core::ports::{MetadataStore, ObjectStore, OcrEngine, OcrError};
use medidocs_local::{LocalConfig, LocalRuntime};
use medidocs_pipeline::Step;
use medidocs_pipeline::runner::Runner;
use medidocs_pipeline::steps::Steps;
use medidocs_states::ManualClock;
use medidocs_tests::samples_dir;

/// A runner whose retry back-off takes no time (the waits are recorded instead).
fn instant_runner(steps: Steps) -> Runner {
    Runner::new(
        steps,
        Arc::new(ManualClock::new(time::OffsetDateTime::now_utc())),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_ocr_engine_fails_the_document_with_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = LocalConfig::new(dir.path());
    config.ocr_worker = medidocs_local::WorkerCommand::medidocs("/nonexistent/medidocs");
    let rt = LocalRuntime::open(config).unwrap();
    let runner = instant_runner(rt.steps());
    let src = rt
        .ingest(&samples_dir().join("documents/insurance-card.webp"), "p1")
        .await
        .unwrap();
    let outcome = runner.run(&src).await.unwrap();
    let doc = outcome.record;
    assert!(outcome.processed);
    assert_eq!(doc.status, Status::Failed);
    let reason = doc.reason.unwrap();
    assert_eq!(reason.code, "dependency_unavailable");
    assert!(
        reason.message.contains("/nonexistent/medidocs"),
        "{}",
        reason.message
    );
    // The original is kept where it was uploaded; nothing is left in PROCESSING.
    assert!(rt.objects.head(&src.key).await.is_ok());
    let counts = rt.meta.count_by_status().await.unwrap();
    assert_eq!(counts.get("PROCESSING"), None, "{counts:?}");
}

/// Delegates to the real engine after refusing the first `refusals` calls as throttled.
struct ThrottlingOcr {
    inner: Arc<dyn OcrEngine>,
    refusals: u32,
    calls: AtomicU32,
}

#[async_trait]
impl OcrEngine for ThrottlingOcr {
    fn name(&self) -> &str {
        "throttling"
    }
    async fn recognize(&self, png: &[u8], page: u32) -> Result<OcrPage, OcrError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.refusals {
            return Err(OcrError::Throttled {
                source: "slow down".into(),
            });
        }
        self.inner.recognize(png, page).await
    }
}

fn throttled_runner(rt: &LocalRuntime, refusals: u32) -> (Runner, Arc<ThrottlingOcr>) {
    let ocr = Arc::new(ThrottlingOcr {
        inner: rt.ocr.clone(),
        refusals,
        calls: AtomicU32::new(0),
    });
    let steps = Steps::new(
        rt.objects.clone(),
        rt.meta.clone(),
        ocr.clone(),
        rt.config.limits,
        2,
    );
    (instant_runner(steps), ocr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_until_it_passes() {
    let dir = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path())).unwrap();
    let (runner, ocr) = throttled_runner(&rt, 2);
    let src = rt
        .ingest(&samples_dir().join("documents/insurance-card.webp"), "p1")
        .await
        .unwrap();
    let outcome = runner.run(&src).await.unwrap();
    let doc = outcome.record;
    assert_eq!(doc.status, Status::Ready, "{:?}", doc.reason);
    assert_eq!(
        ocr.calls.load(Ordering::SeqCst),
        3,
        "two refusals, then the reading"
    );
    assert!(doc.text_chars > 0);
    // The execution history shows the two throttled attempts of the OCR step (a task of
    // the OCR queue), then success.
    let ocr_arn = medidocs_pipeline::runner::OCR_QUEUE_RESOURCE;
    let of = |kind: &str| {
        outcome
            .history
            .iter()
            .filter(|e| e["type"] == kind)
            .filter(|e| {
                e.as_object()
                    .unwrap()
                    .values()
                    .any(|d| d["resource"] == ocr_arn)
            })
            .collect::<Vec<_>>()
    };
    let failed = of("TaskFailed");
    assert_eq!(failed.len(), 2, "{:#?}", outcome.history);
    assert!(
        failed
            .iter()
            .all(|e| e["taskFailedEventDetails"]["error"] == "Medidocs.Throttled")
    );
    assert_eq!(of("TaskScheduled").len(), 3);
    assert_eq!(of("TaskSucceeded").len(), 1);
    assert_eq!(
        outcome.history.last().unwrap()["type"],
        "ExecutionSucceeded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_that_never_ends_fails_after_the_retry_budget() {
    let dir = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path())).unwrap();
    let (runner, ocr) = throttled_runner(&rt, u32::MAX);
    let src = rt
        .ingest(&samples_dir().join("documents/insurance-card.webp"), "p1")
        .await
        .unwrap();
    let doc = runner.run(&src).await.unwrap().record;
    assert_eq!(doc.status, Status::Failed);
    assert_eq!(doc.reason.unwrap().code, "throttled");
    // The definition's Retry for Medidocs.Throttled: MaxAttempts 7, so 8 calls in all.
    assert_eq!(ocr.calls.load(Ordering::SeqCst), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_the_size_limit_is_rejected_without_being_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = LocalConfig::new(dir.path());
    config.limits.max_bytes = 10_000;
    let rt = LocalRuntime::open(config).unwrap();
    let src = rt
        .ingest(&samples_dir().join("documents/discharge-summary.pdf"), "p1")
        .await
        .unwrap();
    let doc = rt.runner().run(&src).await.unwrap().record;
    assert_eq!(doc.status, Status::Rejected);
    assert_eq!(doc.reason.as_ref().unwrap().code, "too_large");
    assert_eq!(
        doc.bytes,
        std::fs::metadata(samples_dir().join("documents/discharge-summary.pdf"))
            .unwrap()
            .len()
    );
    let kept = rt
        .objects
        .get(&keys::quarantine_original(&doc.id))
        .await
        .unwrap();
    assert_eq!(
        kept.len() as u64,
        doc.bytes,
        "the whole original is quarantined"
    );
}

/// An object store whose first call on a key fails as unavailable for `percent` % of the
/// keys (chosen by a hash of the key, so the same keys fail whatever order concurrent
/// pages run in): every write and read of the pipeline meets faults, and each fault is
/// transient.
struct FlakyStore {
    inner: Arc<dyn ObjectStore>,
    percent: u64,
    seen: std::sync::Mutex<std::collections::HashSet<String>>,
    failures: AtomicU32,
}

impl FlakyStore {
    fn fault(&self, key: &str) -> Result<(), medidocs_core::ports::StoreError> {
        let first = self.seen.lock().unwrap().insert(key.to_string());
        let h = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        if first && h % 100 < self.percent {
            self.failures.fetch_add(1, Ordering::SeqCst);
            return Err(medidocs_core::ports::StoreError::unavailable(
                key,
                "injected fault",
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl ObjectStore for FlakyStore {
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        mode: medidocs_core::ports::PutMode,
    ) -> Result<medidocs_core::ports::ObjectMeta, medidocs_core::ports::StoreError> {
        self.fault(key)?;
        self.inner.put(key, bytes, mode).await
    }
    async fn put_file(
        &self,
        key: &str,
        file: medidocs_core::ports::LocalFile<'_>,
        mode: medidocs_core::ports::PutMode,
    ) -> Result<medidocs_core::ports::ObjectMeta, medidocs_core::ports::StoreError> {
        self.fault(key)?;
        self.inner.put_file(key, file, mode).await
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, medidocs_core::ports::StoreError> {
        self.fault(key)?;
        self.inner.get(key).await
    }
    async fn head(
        &self,
        key: &str,
    ) -> Result<medidocs_core::ports::ObjectMeta, medidocs_core::ports::StoreError> {
        self.fault(key)?;
        self.inner.head(key).await
    }
    async fn list(
        &self,
        prefix: &str,
    ) -> Result<Vec<medidocs_core::ports::ObjectMeta>, medidocs_core::ports::StoreError> {
        self.inner.list(prefix).await
    }
    async fn copy(&self, from: &str, to: &str) -> Result<(), medidocs_core::ports::StoreError> {
        self.fault(to)?;
        self.inner.copy(from, to).await
    }
    async fn delete(&self, key: &str) -> Result<(), medidocs_core::ports::StoreError> {
        self.inner.delete(key).await
    }
}

/// The same documents run on a clean store and on one whose first call on 40 % of the keys
/// fails: after
/// the pipeline's retries, and a retry of whatever still ended FAILED, every document ends
/// exactly as on the clean store (status, pages, text), none processed to an outcome twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_store_faults_are_retried_and_reruns_converge_on_the_clean_result() {
    let files = [
        "documents/referral-letter-g4.tif",
        "documents/discharge-summary.pdf",
        "documents/insurance-card.webp",
        "documents/wound-photo-truncated.jpg",
    ];
    let clean_dir = tempfile::tempdir().unwrap();
    let clean = LocalRuntime::open(LocalConfig::new(clean_dir.path())).unwrap();
    let clean_runner = instant_runner(clean.steps());
    let dir = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path())).unwrap();
    let flaky = Arc::new(FlakyStore {
        inner: rt.objects.clone(),
        percent: 40,
        seen: std::sync::Mutex::new(std::collections::HashSet::new()),
        failures: AtomicU32::new(0),
    });
    let runner = instant_runner(Steps::new(
        flaky.clone(),
        rt.meta.clone(),
        rt.ocr.clone(),
        rt.config.limits,
        2,
    ));
    for f in files {
        let want = clean_runner
            .run(&clean.ingest(&samples_dir().join(f), "p1").await.unwrap())
            .await
            .unwrap()
            .record;
        let src = rt.ingest(&samples_dir().join(f), "p1").await.unwrap();
        let mut outcomes = 0;
        let mut doc = runner.run(&src).await.unwrap();
        outcomes += u32::from(doc.processed && doc.record.status.is_terminal());
        let mut retries = 0;
        while doc.record.status == Status::Failed && retries < 20 {
            retries += 1;
            retry(rt.meta.as_ref(), &doc.record.id).await.unwrap();
            doc = runner.run(&src).await.unwrap();
            outcomes += u32::from(doc.processed && doc.record.status.is_terminal());
        }
        let got = doc.record;
        assert_eq!(got.status, want.status, "{f}: {:?}", got.reason);
        assert_eq!(got.pages, want.pages, "{f}");
        assert_eq!(
            got.reason.as_ref().map(|r| r.code.clone()),
            want.reason.as_ref().map(|r| r.code.clone()),
            "{f}"
        );
        if let (Some(a), Some(b)) = (&got.text_key, &want.text_key) {
            assert_eq!(
                rt.objects.get(a).await.unwrap(),
                clean.objects.get(b).await.unwrap(),
                "{f}: the same text"
            );
        }
        // A run that ended FAILED is the fault's outcome; the final one is the document's.
        assert_eq!(outcomes, retries + 1, "{f}");
        // Running it once more does nothing.
        let again = runner.run(&src).await.unwrap();
        assert!(!again.processed, "{f}");
    }
    assert!(
        flaky.failures.load(Ordering::SeqCst) > 10,
        "faults were injected"
    );
    let counts = rt.meta.count_by_status().await.unwrap();
    assert_eq!(counts.get("PROCESSING"), None, "{counts:?}");
}

/// An OCR engine whose first call never returns (a hung process or service).
struct HangingOcr {
    inner: Arc<dyn OcrEngine>,
    calls: AtomicU32,
}

#[async_trait]
impl OcrEngine for HangingOcr {
    fn name(&self) -> &str {
        "hanging"
    }
    async fn recognize(&self, png: &[u8], page: u32) -> Result<OcrPage, OcrError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            std::future::pending::<()>().await;
        }
        self.inner.recognize(png, page).await
    }
}

/// A hung OCR call times out (the state's TimeoutSeconds, on the execution's clock) and
/// the document ends FAILED with `timeout`, never left PROCESSING; retried, it is READY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_ocr_call_times_out_and_the_document_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path())).unwrap();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let ocr = Arc::new(HangingOcr {
        inner: rt.ocr.clone(),
        calls: AtomicU32::new(0),
    });
    let runner = Arc::new(Runner::new(
        Steps::new(
            rt.objects.clone(),
            rt.meta.clone(),
            ocr.clone(),
            rt.config.limits,
            2,
        ),
        clock.clone(),
    ));
    let src = rt
        .ingest(&samples_dir().join("documents/insurance-card.webp"), "p1")
        .await
        .unwrap();
    let run = tokio::spawn({
        let (runner, src) = (runner.clone(), src.clone());
        async move { runner.run(&src).await }
    });
    // Once the OCR call hangs, ten minutes pass on the execution's clock.
    while ocr.calls.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    use medidocs_states::Clock;
    clock.sleep(std::time::Duration::from_secs(601)).await;
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(60), run)
        .await
        .expect("the execution ends once the state times out")
        .unwrap()
        .unwrap();
    let doc = outcome.record;
    assert_eq!(doc.status, Status::Failed);
    assert_eq!(
        doc.reason.as_ref().unwrap().code,
        "timeout",
        "{:?}",
        doc.reason
    );
    // Retried, the pipeline runs it again, and this time the engine answers.
    retry(rt.meta.as_ref(), &doc.id).await.unwrap();
    let again = runner.run(&src).await.unwrap();
    assert_eq!(
        again.record.status,
        Status::Ready,
        "{:?}",
        again.record.reason
    );
    assert!(again.record.text_chars > 0);
    // Only FAILED documents are retried: an outcome is never undone.
    let e = retry(rt.meta.as_ref(), &doc.id).await.unwrap_err();
    assert!(e.to_string().contains("only FAILED"), "{e}");
}

/// A process killed between two steps leaves its document in PROCESSING. The watchdog
/// stops it after the deadline (not before), with `timeout`; a rerun alone does not
/// reprocess a FAILED document, a retry does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_stops_documents_left_in_processing_and_they_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path())).unwrap();
    let steps = rt.steps();
    let src = rt
        .ingest(&samples_dir().join("documents/pharmacy-fax-g3.tif"), "p1")
        .await
        .unwrap();
    // The process dies after the inspect step: PROCESSING, and nothing moves it on.
    steps
        .call(Step::Inspect, serde_json::to_value(&src).unwrap())
        .await
        .unwrap();
    let id = src.document_id();
    let doc = rt.meta.get_document(&id).await.unwrap();
    assert_eq!(doc.status, Status::Processing);
    let deadline = medidocs_core::watchdog::DEFAULT_DEADLINE;
    let now = time::OffsetDateTime::now_utc();
    let sweep = |at: time::OffsetDateTime| {
        let meta = rt.meta.clone();
        async move {
            medidocs_core::watchdog::sweep(meta.as_ref(), medidocs_core::model::LOCAL_REGION, at)
                .await
                .unwrap()
        }
    };
    // Within its deadline: left alone.
    assert!(sweep(now).await.is_empty());
    assert_eq!(
        rt.meta.get_document(&id).await.unwrap().status,
        Status::Processing
    );
    // Past it: FAILED, timeout.
    assert_eq!(
        sweep(now + deadline + std::time::Duration::from_secs(1)).await,
        vec![id.clone()]
    );
    let doc = rt.meta.get_document(&id).await.unwrap();
    assert_eq!(doc.status, Status::Failed);
    assert_eq!(doc.reason.as_ref().unwrap().code, "timeout");
    assert!(
        doc.reason.as_ref().unwrap().message.contains("deadline"),
        "{:?}",
        doc.reason
    );
    assert_eq!(
        doc.deadline, None,
        "a final document leaves the in-flight index"
    );
    let runner = instant_runner(rt.steps());
    assert!(!runner.run(&src).await.unwrap().processed);
    retry(rt.meta.as_ref(), &id).await.unwrap();
    let done = runner.run(&src).await.unwrap();
    assert!(done.processed);
    assert_eq!(
        done.record.status,
        Status::Ready,
        "{:?}",
        done.record.reason
    );
    assert_eq!(done.record.pages, 1);
    let counts = rt.meta.count_by_status().await.unwrap();
    assert_eq!(counts.get("PROCESSING"), None, "{counts:?}");
}

/// A retry, as `medidocs retry` does it: the next attempt, owned by the embedded region.
async fn retry(
    meta: &dyn medidocs_core::ports::MetadataStore,
    id: &str,
) -> Result<medidocs_core::model::DocumentRecord, medidocs_core::watchdog::RetryError> {
    medidocs_core::watchdog::retry(
        meta,
        id,
        time::OffsetDateTime::now_utc(),
        medidocs_core::model::LOCAL_REGION,
        medidocs_core::watchdog::DEFAULT_DEADLINE,
    )
    .await
}
