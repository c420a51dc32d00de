//! Faults: a dependency that fails, one that throttles, and limits enforced before reading.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use medidocs_core::keys;
use medidocs_core::model::Status;
use medidocs_core::ocr::OcrPage;
use medidocs_core::ports::{MetadataStore, ObjectStore, OcrEngine, OcrError};
use medidocs_core::runner::Runner;
use medidocs_core::states::ManualClock;
use medidocs_core::steps::Steps;
use medidocs_local::{LocalConfig, LocalRuntime};
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
    config.tesseract = "/nonexistent/tesseract".into();
    let rt = LocalRuntime::open(config).unwrap();
    let runner = instant_runner(rt.steps());
    let src = rt
        .ingest(&samples_dir().join("documents/insurance-card.webp"), "p1")
        .unwrap();
    let outcome = runner.run(&src).await.unwrap();
    let doc = outcome.record;
    assert!(outcome.processed);
    assert_eq!(doc.status, Status::Failed);
    let reason = doc.reason.unwrap();
    assert_eq!(reason.code, "dependency_unavailable");
    assert!(
        reason.message.contains("/nonexistent/tesseract"),
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
    // The execution history shows the two throttled attempts of the OCR step, then success.
    let ocr_arn = medidocs_core::runner::local_arn("ocr-page");
    let of = |kind: &str| {
        outcome
            .history
            .iter()
            .filter(|e| e["type"] == kind)
            .filter(|e| {
                e.as_object()
                    .unwrap()
                    .values()
                    .any(|d| d["resource"] == ocr_arn.as_str())
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
