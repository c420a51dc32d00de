//! The disaster-recovery drill (`medidocs drill`): two regions on one machine, replicated
//! both ways, and a failure of the primary in the middle of an import.
//!
//! 1. Region A imports a batch while replication runs (A → B, B → A).
//! 2. Midway, region A is killed: its pipeline runs and its replication stop where they
//!    are, as a process or a region stops. One more upload was in flight: A stored it,
//!    but its answer never reached the clinic.
//! 3. Health checks of A fail; after `failure_threshold` of them traffic goes to B. The
//!    RPO is the acknowledged uploads of A that B does not have at that moment.
//! 4. B takes over: it reconciles (every original it holds without a final record runs
//!    again there as a new attempt, whatever A's runs of it were), then takes the rest of
//!    the batch (the uploads A never acknowledged, the one in flight among them: the
//!    clinic sends them again). The RTO is the time from the failure to the first
//!    document READY in B.
//! 5. Fail back: A returns, replication catches up both ways, and A reconciles what only
//!    it held (uploads that never reached B). An upload A stored without acknowledging it
//!    is then a second copy of one B ran, and is linked to it as a duplicate (READY, with
//!    B's results, nothing run again). Replication catches up once more.
//! 6. The verdict: acknowledged documents without a final status in either region, or
//!    whose objects either region lacks (lost); documents brought to a final status by
//!    more than one run (processed twice), apart from those A finished in its last moments
//!    without the record reaching B, which B could only run again (counted on their own);
//!    unacknowledged copies not linked to the copy the clinic sent again; and whether both
//!    regions hold the same records.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use medidocs_core::inputs::SourceInput;
use medidocs_core::model::Status;
use medidocs_core::ports::{MetadataStore, StoreError};
use medidocs_pipeline::runner::Runner;
use serde::Serialize;

use crate::replication::{Region, Replicator, reconcile};
use crate::{LocalConfig, LocalRuntime};

#[derive(Debug, Clone)]
pub struct DrillOptions {
    pub documents: usize,
    /// How often a replicator looks for new changes.
    pub replication_interval: Duration,
    pub probe_interval: Duration,
    /// Failed health checks before failing over.
    pub failure_threshold: u32,
    pub concurrency: usize,
    pub ocr_worker: crate::WorkerCommand,
}

impl Default for DrillOptions {
    fn default() -> Self {
        Self {
            documents: 20,
            replication_interval: Duration::from_millis(250),
            probe_interval: Duration::from_millis(200),
            failure_threshold: 3,
            concurrency: 2,
            ocr_worker: crate::WorkerCommand::locate(),
        }
    }
}

/// The drill's measurements.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DrillReport {
    pub documents: usize,
    pub acknowledged_in_a: usize,
    pub acknowledged_in_b: usize,
    /// Changes replicated after fail-back (what A and B had not yet sent each other).
    pub caught_up_changes: usize,
    /// Acknowledged uploads of A that B did not have at failover.
    pub rpo_documents: usize,
    /// How long before the failure the oldest of them was acknowledged (ms).
    pub rpo_window_ms: u64,
    /// Failure → traffic moved to B (ms): the health checks.
    pub detection_ms: u64,
    /// Failure → first upload accepted by B and READY (ms).
    pub rto_ms: u64,
    /// Changes replicated while both regions ran, and their lag (written → applied).
    pub replicated_changes: usize,
    pub lag_p50_ms: u64,
    pub lag_p99_ms: u64,
    pub lag_max_ms: u64,
    /// Documents B took over and finished at its reconcile after the failover.
    pub taken_over_in_b: usize,
    /// Of those, documents A had finished but whose final record had not reached B: the
    /// records' recovery point, run again because B could not know.
    pub rerun_after_rpo: usize,
    /// Documents A finished at its reconcile after fail-back (only A held them).
    pub reconciled: usize,
    /// Incoming copies that lost to a region's own by the conflict rule.
    pub conflicts_kept: usize,
    /// Uploads A stored but never acknowledged (the one in flight at the failure, and any
    /// the failure itself cut between storing and answering), which the clinic sent again
    /// to B: each a record of its own, READY as a duplicate of B's copy.
    pub unacknowledged_in_a: usize,
    /// Of those, the copies not linked to the document the clinic sent again (should be 0).
    pub unacknowledged_unlinked: usize,
    pub lost: usize,
    pub processed_twice: usize,
    pub regions_identical: bool,
    pub statuses: BTreeMap<String, usize>,
}

/// A small page unlike any other of the batch: an uncompressed 8-bit grey TIFF at 200
/// DPI, white with black bars that spell `i` in binary.
pub fn drill_document(i: usize) -> Vec<u8> {
    let (w, h) = (320u32, 160u32);
    let pixels_at = 8u32;
    let ifd_at = pixels_at + w * h;
    let res_at = ifd_at + 2 + 11 * 12 + 4;
    let mut b = Vec::with_capacity((res_at + 8) as usize);
    b.extend_from_slice(b"II*\0");
    b.extend_from_slice(&ifd_at.to_le_bytes());
    for y in 0..h {
        for x in 0..w {
            let bit = (x / 20) as usize;
            let on = (20..140).contains(&y) && x % 20 < 12 && (i >> bit) & 1 == 1;
            b.push(if on { 0 } else { 255 });
        }
    }
    // (tag, type, count, value): type 3 SHORT, 4 LONG, 5 RATIONAL (value: its offset).
    let tags: [(u16, u16, u32, u32); 11] = [
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, pixels_at),
        (277, 3, 1, 1),
        (278, 4, 1, h),
        (279, 4, 1, w * h),
        (282, 5, 1, res_at),
        (283, 5, 1, res_at),
    ];
    b.extend_from_slice(&(tags.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in tags {
        b.extend_from_slice(&tag.to_le_bytes());
        b.extend_from_slice(&kind.to_le_bytes());
        b.extend_from_slice(&count.to_le_bytes());
        b.extend_from_slice(&value.to_le_bytes());
    }
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&200u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Region2 {
    rt: Arc<LocalRuntime>,
    runner: Arc<Runner>,
}

fn open(dir: &Path, name: &str, opts: &DrillOptions) -> Result<Region2, StoreError> {
    let mut config = LocalConfig::new(dir);
    config.journal = true;
    config.region = name.into();
    config.ocr_worker = opts.ocr_worker.clone();
    config.workers = opts.concurrency.max(1);
    let rt = Arc::new(LocalRuntime::open(config)?);
    let runner = Arc::new(rt.runner());
    Ok(Region2 { rt, runner })
}

fn region(name: &str, r: &Region2) -> Region {
    Region {
        name: name.into(),
        objects: r.rt.objects.clone(),
        meta: r.rt.meta.clone(),
    }
}

const PATIENT: &str = "p-drill";

/// Per document, the runs that did the work and brought it to a final status.
type Completions = Arc<Mutex<BTreeMap<String, usize>>>;

fn count(done: &Completions, processed: bool, status: Status, id: &str) {
    if processed
        && status.is_terminal()
        && let Ok(mut m) = done.lock()
    {
        *m.entry(id.to_string()).or_default() += 1;
    }
}

/// Runs the drill under `base` (two data dirs and the batch are created there).
pub async fn run(base: &Path, opts: &DrillOptions) -> Result<DrillReport, StoreError> {
    let io = |e: std::io::Error| StoreError::unavailable("drill", e);
    let step = |what: &'static str| {
        move |e: medidocs_pipeline::error::StepError| StoreError::unavailable(what, e)
    };
    let inbox = base.join("batch");
    std::fs::create_dir_all(&inbox).map_err(io)?;
    let mut files = Vec::new();
    for i in 0..opts.documents {
        let bytes = drill_document(i + 1);
        let f = inbox.join(format!("scan-{i:04}.tif"));
        std::fs::write(&f, &bytes).map_err(io)?;
        files.push((f, medidocs_core::keys::sha256_hex(&bytes)));
    }
    let (dir_a, dir_b) = (base.join("region-a"), base.join("region-b"));
    let a = open(&dir_a, "a", opts)?;
    let b = open(&dir_b, "b", opts)?;
    let mut report = DrillReport {
        documents: opts.documents,
        ..Default::default()
    };
    let done: Completions = Arc::default();

    // 1. A imports while replication runs both ways.
    let a2b = Arc::new(Replicator::new(region("a", &a), region("b", &b)));
    let b2a = Arc::new(Replicator::new(region("b", &b), region("a", &a)));
    let a2b_task = tokio::spawn(a2b.clone().run(opts.replication_interval));
    let b2a_task = tokio::spawn(b2a.clone().run(opts.replication_interval));
    let acked_a: Arc<Mutex<Vec<(SourceInput, Instant)>>> = Arc::default();
    let alive = Arc::new(AtomicBool::new(true));
    let import_a = {
        let (rt, runner, acked, done) = (
            a.rt.clone(),
            a.runner.clone(),
            acked_a.clone(),
            done.clone(),
        );
        let paths: Vec<PathBuf> = files.iter().map(|(f, _)| f.clone()).collect();
        let concurrency = opts.concurrency.max(1);
        tokio::spawn(async move {
            futures::stream::iter(paths)
                .for_each_concurrent(concurrency, move |f| {
                    let (rt, runner, acked, done) =
                        (rt.clone(), runner.clone(), acked.clone(), done.clone());
                    async move {
                        let Ok(source) = rt.ingest(&f, PATIENT).await else {
                            return;
                        };
                        if let Ok(mut v) = acked.lock() {
                            v.push((source.clone(), Instant::now()));
                        }
                        if let Ok(o) = runner.run(&source).await {
                            count(&done, o.processed, o.record.status, &o.record.id);
                        }
                    }
                })
                .await
        })
    };

    // 2. Midway, A fails: its pipeline runs and its replication stop where they are. Midway
    // is once half the uploads are acknowledged and replication has carried something to B
    // (a fast pipeline can acknowledge half before the replicator's first pass).
    let half = (opts.documents / 2).max(1);
    while (acked_a.lock().map(|v| v.len()).unwrap_or(0) < half || a2b.lags_ms().is_empty())
        && !import_a.is_finished()
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    import_a.abort();
    a2b_task.abort();
    b2a_task.abort();
    alive.store(false, Ordering::SeqCst);
    let failed_at = Instant::now();
    let acked: Vec<(SourceInput, Instant)> = acked_a.lock().map(|v| v.clone()).unwrap_or_default();
    report.acknowledged_in_a = acked.len();
    // The upload in flight: stored in A, its answer lost with the region.
    if let Some((f, _)) = files
        .iter()
        .find(|(_, sha)| !acked.iter().any(|(s, _)| &s.version == sha))
    {
        a.rt.ingest(f, PATIENT)
            .await
            .map_err(|e| StoreError::unavailable("drill: the upload in flight", e.to_string()))?;
    }

    // 3. Health checks of A fail; after the threshold, traffic goes to B. What B lacks
    // of A's acknowledged uploads at this moment is the RPO.
    let mut failures = 0;
    while failures < opts.failure_threshold {
        tokio::time::sleep(opts.probe_interval).await;
        if !alive.load(Ordering::SeqCst) {
            failures += 1;
        }
    }
    report.detection_ms = failed_at.elapsed().as_millis() as u64;
    let mut oldest_missing: Option<Instant> = None;
    for (source, at) in &acked {
        if !b.rt.objects.path_of(&source.key)?.exists() {
            report.rpo_documents += 1;
            oldest_missing = Some(oldest_missing.map_or(*at, |o| o.min(*at)));
        }
    }
    report.rpo_window_ms = oldest_missing
        .map(|o| failed_at.saturating_duration_since(o).as_millis() as u64)
        .unwrap_or(0);

    // 4. B takes over what it holds of A's work, then the uploads A never acknowledged
    // (the clinic sends them again).
    let mut first_ready: Option<Instant> = None;
    let r = reconcile(&b.rt, &b.runner).await?;
    for (id, processed, status) in &r.runs {
        count(&done, *processed, *status, id);
        if first_ready.is_none() && *status == Status::Ready {
            first_ready = Some(Instant::now());
        }
        // A finished it, but its final record never reached B.
        let finished_in_a =
            matches!(a.rt.meta.get_document(id).await, Ok(d) if d.status.is_terminal());
        if *processed && finished_in_a {
            report.rerun_after_rpo += 1;
        }
    }
    report.taken_over_in_b = r.runs.len();
    let mut acked_b = Vec::new();
    for (f, sha) in &files {
        if acked.iter().any(|(s, _)| &s.version == sha) {
            continue;
        }
        let source =
            b.rt.ingest(f, PATIENT)
                .await
                .map_err(|e| StoreError::unavailable("drill: an upload to B", e.to_string()))?;
        let o = b
            .runner
            .run(&source)
            .await
            .map_err(step("drill: the pipeline in B"))?;
        count(&done, o.processed, o.record.status, &o.record.id);
        if first_ready.is_none() && o.record.status == Status::Ready {
            first_ready = Some(Instant::now());
        }
        acked_b.push(source);
    }
    report.acknowledged_in_b = acked_b.len();
    report.rto_ms = first_ready
        .map(|t| t.duration_since(failed_at).as_millis() as u64)
        .unwrap_or(report.detection_ms);

    // 5. Fail back: A returns (a new process over its data dir); replication catches up
    // both ways before A does any work, then A reconciles, then replication catches up.
    let mut lags = a2b.lags_ms();
    lags.extend(b2a.lags_ms());
    let mut kept = a2b.kept() + b2a.kept();
    drop(a);
    let a = open(&dir_a, "a", opts)?;
    let a2b = Replicator::new(region("a", &a), region("b", &b));
    let b2a = Replicator::new(region("b", &b), region("a", &a));
    a2b.catch_up().await?;
    b2a.catch_up().await?;
    let r = reconcile(&a.rt, &a.runner).await?;
    for (id, processed, status) in &r.runs {
        count(&done, *processed, *status, id);
    }
    report.reconciled = r.runs.len();
    a2b.catch_up().await?;
    b2a.catch_up().await?;
    report.caught_up_changes = a2b.lags_ms().len() + b2a.lags_ms().len();
    kept += a2b.kept() + b2a.kept();
    lags.sort_unstable();
    report.replicated_changes = lags.len();
    report.lag_p50_ms = percentile(&lags, 0.5);
    report.lag_p99_ms = percentile(&lags, 0.99);
    report.lag_max_ms = lags.last().copied().unwrap_or(0);
    report.conflicts_kept = kept;

    // 6. The verdict, over the documents the clinic had an answer for.
    let answered: Vec<String> = acked
        .iter()
        .map(|(s, _)| s)
        .chain(acked_b.iter())
        .map(|s| s.document_id())
        .collect();
    for id in &answered {
        let mut whole = true;
        for r in [&a, &b] {
            match r.rt.meta.get_document(id).await {
                Ok(d) if d.status.is_terminal() => {
                    let mut keys = vec![d.source.key.clone()];
                    keys.extend(d.renditions.iter().map(|x| x.key.clone()));
                    keys.extend(d.text_key.iter().cloned());
                    for k in keys {
                        whole &= r.rt.objects.path_of(&k)?.exists();
                    }
                }
                _ => whole = false,
            }
        }
        if !whole {
            report.lost += 1;
        }
    }
    report.processed_twice = done
        .lock()
        .map(|m| m.values().filter(|n| **n > 1).count())
        .unwrap_or(0)
        .saturating_sub(report.rerun_after_rpo);
    let docs_a = a.rt.meta.all_documents().await?;
    let docs_b = b.rt.meta.all_documents().await?;
    report.regions_identical = docs_a == docs_b;
    for d in docs_a.iter().filter(|d| !answered.contains(&d.id)) {
        report.unacknowledged_in_a += 1;
        // Linked to an answered copy of the same bytes, either way: usually the
        // unanswered copy to the one B ran; but when the copy reached B before the
        // failover, B's reconcile ran it first and the re-sent one is its duplicate.
        let linked = d.status == Status::Ready
            && docs_a.iter().any(|o| {
                answered.contains(&o.id)
                    && o.source.version == d.source.version
                    && (d.duplicate_of.as_deref() == Some(o.id.as_str())
                        || (o.status == Status::Ready
                            && o.duplicate_of.as_deref() == Some(d.id.as_str())))
            });
        if !linked {
            report.unacknowledged_unlinked += 1;
        }
    }
    for d in &docs_a {
        *report
            .statuses
            .entry(d.status.as_str().to_string())
            .or_default() += 1;
    }
    Ok(report)
}
