//! Runs of a document and who owns it: execution names carry the attempt, a run
//! superseded by a retry or by a reconcile in another region changes nothing, page work
//! done once is not done (nor billed) again, and each region's watchdog reads only its
//! own documents in flight.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use medidocs_core::inputs::SourceInput;
use medidocs_core::keys;
use medidocs_core::model::Status;
use medidocs_core::ocr::OcrPage;
use medidocs_core::ports::{MetadataStore, OcrEngine, OcrError};
use medidocs_core::watchdog;
use medidocs_local::{LocalConfig, LocalRuntime};
use medidocs_pipeline::Step;
use medidocs_pipeline::runner::Runner;
use medidocs_pipeline::steps::Steps;
use medidocs_states::ManualClock;
use medidocs_tests::samples_dir;
use serde_json::json;

const DEADLINE: Duration = watchdog::DEFAULT_DEADLINE;

fn runner(steps: Steps) -> Runner {
    Runner::new(
        steps,
        Arc::new(ManualClock::new(time::OffsetDateTime::now_utc())),
    )
}

fn named(src: &SourceInput, attempt: u32) -> serde_json::Value {
    let mut v = serde_json::to_value(src).unwrap();
    v["execution"] = json!(keys::execution_name(&src.document_id(), attempt));
    v
}

async fn fax(rt: &LocalRuntime) -> SourceInput {
    rt.ingest(&samples_dir().join("documents/pharmacy-fax-g3.tif"), "p1")
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_superseded_by_a_newer_attempt_changes_nothing_and_the_newer_one_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path())).unwrap();
    let steps = rt.steps();
    let src = fax(&rt).await;
    let id = src.document_id();
    // Attempt 1 registers the document, then its region is lost.
    let out = steps.call(Step::Inspect, named(&src, 1)).await.unwrap();
    assert_eq!(out["next"], "process");
    let first = rt.meta.get_document(&id).await.unwrap();
    assert_eq!((first.attempt, first.status), (1, Status::Processing));
    assert!(
        first.deadline.is_some(),
        "a document in flight has a deadline"
    );
    // Another run takes it over.
    let taken = watchdog::take_over(
        rt.meta.as_ref(),
        &id,
        time::OffsetDateTime::now_utc(),
        "local",
    )
    .await
    .unwrap();
    assert_eq!(taken.attempt, 2);
    // Every step of attempt 1 now stops, and the record stays as attempt 2 left it.
    let again = steps.call(Step::Inspect, named(&src, 1)).await.unwrap();
    assert_eq!(again["next"], "done", "a superseded run does nothing");
    for (step, input) in [
        (Step::Plan, json!({ "document_id": id, "execution": id })),
        (
            Step::Finalize,
            json!({ "document_id": id, "execution": id }),
        ),
        (
            Step::LinkDuplicate,
            json!({ "document_id": id, "duplicate_of": "ab", "execution": id }),
        ),
    ] {
        let e = steps.call(step, input).await.unwrap_err();
        assert_eq!(e.error, "Medidocs.Superseded", "{step}: {e:?}");
    }
    let page = json!({
        "document_id": id, "page": 1, "mime": "image/tiff", "source_key": src.key, "execution": id,
    });
    for step in [Step::RenderPage, Step::OcrPage] {
        let e = steps.call(step, page.clone()).await.unwrap_err();
        assert_eq!(e.error, "Medidocs.Superseded", "{step}: {e:?}");
    }
    let mut caught = named(&src, 1);
    caught["error"] = json!({ "Error": "States.Timeout", "Cause": "" });
    let r = steps.call(Step::Fail, caught).await.unwrap();
    assert_eq!(
        r["status"], "PROCESSING",
        "a superseded run's failure is not recorded"
    );
    let still = rt.meta.get_document(&id).await.unwrap();
    assert_eq!((still.attempt, still.version), (2, taken.version));
    // The whole old run, as an execution, succeeds doing nothing.
    let runner = runner(rt.steps());
    let old = runner.run_named(&src, &id).await.unwrap();
    assert!(!old.processed);
    // The runner runs the document as its owner: attempt 2, to READY.
    let done = runner.run(&src).await.unwrap();
    assert!(done.processed);
    assert_eq!(
        done.record.status,
        Status::Ready,
        "{:?}",
        done.record.reason
    );
    assert_eq!(done.record.attempt, 2);
    assert_eq!(
        done.record.deadline, None,
        "final: out of the in-flight index"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_takes_the_next_attempt_and_only_failed_documents_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path())).unwrap();
    let steps = rt.steps();
    let src = fax(&rt).await;
    let id = src.document_id();
    steps.call(Step::Inspect, named(&src, 1)).await.unwrap();
    let mut caught = named(&src, 1);
    caught["error"] = json!({ "Error": "Medidocs.Transient", "Cause": "" });
    steps.call(Step::Fail, caught).await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    let doc = watchdog::retry(rt.meta.as_ref(), &id, now, "local", DEADLINE)
        .await
        .unwrap();
    assert_eq!((doc.status, doc.attempt), (Status::Received, 2));
    assert_eq!(keys::execution_name(&id, doc.attempt), format!("{id}-a2"));
    let e = watchdog::retry(rt.meta.as_ref(), &id, now, "local", DEADLINE)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("only FAILED"), "{e}");
    let done = runner(rt.steps()).run(&src).await.unwrap();
    assert_eq!(done.record.status, Status::Ready);
    // A final document is neither retried nor taken over.
    assert!(
        watchdog::take_over(rt.meta.as_ref(), &id, now, "local")
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_runs_again_what_is_in_flight_or_unknown_and_leaves_final_documents() {
    let dir = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path())).unwrap();
    let steps = rt.steps();
    let now = time::OffsetDateTime::now_utc();
    let in_flight = fax(&rt).await;
    steps
        .call(Step::Inspect, named(&in_flight, 1))
        .await
        .unwrap();
    let finished = rt
        .ingest(&samples_dir().join("documents/insurance-card.webp"), "p1")
        .await
        .unwrap();
    runner(rt.steps()).run(&finished).await.unwrap();
    let unknown = SourceInput::new("other-bucket", keys::upload_key("p1", "ab12"), "v9");

    let row = watchdog::reconcile_row(rt.meta.as_ref(), &in_flight, "us-east-1", now)
        .await
        .unwrap()
        .unwrap();
    let id = in_flight.document_id();
    assert_eq!(row[0], id);
    assert_eq!(row[4], format!("{id}-a2"));
    let d = rt.meta.get_document(&id).await.unwrap();
    assert_eq!((d.attempt, d.region.as_str()), (2, "us-east-1"));
    assert!(
        watchdog::reconcile_row(rt.meta.as_ref(), &finished, "us-east-1", now)
            .await
            .unwrap()
            .is_none()
    );
    let row = watchdog::reconcile_row(rt.meta.as_ref(), &unknown, "us-east-1", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row[..4],
        [
            unknown.document_id(),
            "other-bucket".to_string(),
            unknown.key.clone(),
            "v9".to_string()
        ]
    );
    assert!(
        row[4].ends_with("-a2"),
        "newer than any run the failed region held"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_region_s_watchdog_stops_only_its_own_documents() {
    let dir = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path())).unwrap();
    let eu = rt.steps().with_region("eu-west-1");
    let us = rt.steps().with_region("us-east-1");
    let a = fax(&rt).await;
    let b = rt
        .ingest(
            &samples_dir().join("documents/referral-letter-g4.tif"),
            "p1",
        )
        .await
        .unwrap();
    eu.call(Step::Inspect, named(&a, 1)).await.unwrap();
    us.call(Step::Inspect, named(&b, 1)).await.unwrap();
    let later = time::OffsetDateTime::now_utc() + DEADLINE + Duration::from_secs(60);
    let stopped = watchdog::sweep(rt.meta.as_ref(), "us-east-1", later)
        .await
        .unwrap();
    assert_eq!(stopped, vec![b.document_id()]);
    let da = rt.meta.get_document(&a.document_id()).await.unwrap();
    assert_eq!(
        (da.status, da.region.as_str()),
        (Status::Processing, "eu-west-1")
    );
    let db = rt.meta.get_document(&b.document_id()).await.unwrap();
    assert_eq!(db.status, Status::Failed);
    assert_eq!(db.reason.unwrap().code, "timeout");
    // Before its deadline, a document is left alone.
    let now = time::OffsetDateTime::now_utc();
    assert!(
        watchdog::sweep(rt.meta.as_ref(), "eu-west-1", now)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Counts the pages it reads, then reads them with the real engine.
struct Counting {
    inner: Arc<dyn OcrEngine>,
    calls: AtomicU32,
}

#[async_trait]
impl OcrEngine for Counting {
    fn name(&self) -> &str {
        "counting"
    }
    async fn recognize(&self, png: &[u8], page: u32) -> Result<OcrPage, OcrError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.recognize(png, page).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_read_once_is_not_read_or_billed_again() {
    let dir = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path())).unwrap();
    let ocr = Arc::new(Counting {
        inner: rt.ocr.clone(),
        calls: AtomicU32::new(0),
    });
    let steps = Steps::new(
        rt.objects.clone(),
        rt.meta.clone(),
        ocr.clone(),
        Default::default(),
        2,
    );
    let src = fax(&rt).await;
    let id = src.document_id();
    steps.call(Step::Inspect, named(&src, 1)).await.unwrap();
    let page = json!({
        "document_id": id, "page": 1, "mime": "image/tiff", "source_key": src.key, "execution": id,
    });
    steps.call(Step::RenderPage, page.clone()).await.unwrap();
    // The OCR image gone before the page was read (expired, or a take-over in a region it
    // was never replicated to): a second render makes it again and nothing else; the
    // kept renditions are not written again (each write would be a version kept for
    // years).
    let image = keys::ocr_image(&id, 1);
    let preview = dir
        .path()
        .join("objects")
        .join(keys::rendition(&id, 1, "preview", "jpg"));
    let written = std::fs::metadata(&preview).unwrap().modified().unwrap();
    medidocs_core::ports::ObjectStore::delete(rt.objects.as_ref(), &image)
        .await
        .unwrap();
    steps.call(Step::RenderPage, page.clone()).await.unwrap();
    assert!(
        medidocs_core::ports::ObjectStore::head(rt.objects.as_ref(), &image)
            .await
            .is_ok()
    );
    assert_eq!(
        std::fs::metadata(&preview).unwrap().modified().unwrap(),
        written
    );
    let first = steps.call(Step::OcrPage, page.clone()).await.unwrap();
    // The answer was lost on its way back (a service error after the function ran):
    // the retry reads the stored result.
    let second = steps.call(Step::OcrPage, page.clone()).await.unwrap();
    assert_eq!(ocr.calls.load(Ordering::SeqCst), 1);
    assert_eq!(first["words"], second["words"]);
    // A rendition missing (replication brings objects in no order) is made again.
    let key = keys::rendition(&id, 1, "preview", "jpg");
    medidocs_core::ports::ObjectStore::delete(rt.objects.as_ref(), &key)
        .await
        .unwrap();
    steps.call(Step::RenderPage, page).await.unwrap();
    assert!(
        medidocs_core::ports::ObjectStore::head(rt.objects.as_ref(), &key)
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_original_nobody_registered_is_claimed_by_reconcile_and_its_run_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::open(LocalConfig::new(dir.path())).unwrap();
    let src = fax(&rt).await;
    let id = src.document_id();
    let now = time::OffsetDateTime::now_utc();
    let row = watchdog::reconcile_row(rt.meta.as_ref(), &src, "local", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row[4], format!("{id}-a2"));
    // The take-over is on record before any run: the failed region's first run of the
    // original, if it starts when that region returns, finds it owned and does nothing.
    let claimed = rt.meta.get_document(&id).await.unwrap();
    assert!(claimed.is_placeholder());
    assert_eq!((claimed.attempt, claimed.status), (2, Status::Received));
    let late = rt
        .steps()
        .call(Step::Inspect, named(&src, 1))
        .await
        .unwrap();
    assert_eq!(late["next"], "done");
    // The reconcile's run reads the content and finishes the document.
    let done = runner(rt.steps()).run_named(&src, &row[4]).await.unwrap();
    assert_eq!(
        done.record.status,
        Status::Ready,
        "{:?}",
        done.record.reason
    );
    assert_eq!(done.record.sha256.len(), 64);
    assert!(done.record.bytes > 0 && !done.record.is_placeholder());
}
