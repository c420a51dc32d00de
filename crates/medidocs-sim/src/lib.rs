//! The capacity simulator (`medidocs simulate`): a planning tool for the operations
//! team. It runs the real state machine definitions (`statemachines/*.asl.json`) on the
//! in-process engine and the real step handlers, against models of the AWS services'
//! documented behaviour and limits, on a virtual clock: a day of traffic takes minutes.
//! It never stands in for the real services in a user-facing run.
//!
//! What is modelled, and from what:
//! - Lambda: account and reserved concurrency (`Lambda.TooManyRequestsException` past
//!   them), service errors, cold starts, billed GB-seconds ([`lambda`]).
//! - Textract: transactions per second (`ProvisionedThroughputExceededException`), a
//!   log-normal latency, the SDK's retries ([`textract`]).
//! - Step Functions: StartExecution's token bucket, execution names kept for 90 days
//!   whatever the outcome, transitions billed ([`sfn`]); Map and Distributed Map
//!   concurrency are the engine's.
//! - SQS queues with event source mappings ([`queue`]); S3 and DynamoDB in memory with
//!   their write rules, cross-region replication with a lag, throttling ([`stores`]).
//! - S3 and EventBridge deliver events at least once: duplicates, delays, reordering.
//! - A regional outage at a chosen moment: the region stops, traffic fails over, the
//!   surviving region reconciles, the region comes back ([`region`]).

pub mod clock;
pub mod files;
pub mod lambda;
pub mod pricing;
pub mod queue;
pub mod region;
pub mod rng;
pub mod sfn;
pub mod stores;
pub mod textract;
pub mod usage;
pub mod world;

use std::collections::BTreeMap;
use std::sync::Arc;

use medidocs_pipeline::runner::{BULK_DEFINITION, OCR_QUEUE_URL, PIPELINE_DEFINITION};
use serde::Serialize;

use crate::clock::{VirtualClock, sleep_secs};
use crate::rng::Rng;
use crate::stores::Ledger;
use crate::usage::Usage;
use crate::world::{Region, Traffic};

/// A scenario.
#[derive(Debug, Clone)]
pub struct Config {
    pub documents: usize,
    /// Pages per document, uniform in 1..=max_pages.
    pub max_pages: u32,
    /// Patients' uploads (the documents that are not in the bulk import).
    pub uploads_per_second: f64,
    /// How many of the documents come through a clinic's bulk import.
    pub bulk: usize,
    /// The bulk import's Distributed Map concurrency.
    pub bulk_pipelines: u32,
    /// Textract DetectDocumentText quota, per region.
    pub textract_tps: f64,
    /// Mean seconds of one DetectDocumentText call.
    pub textract_latency: f64,
    /// The OCR function's concurrency: the queue's maximum concurrency and the
    /// function's reservation (or, in definitions without the queue, its reservation).
    pub ocr_concurrency: usize,
    pub account_concurrency: usize,
    /// Share of upload events delivered twice.
    pub duplicate_events: f64,
    /// Share of Lambda invocations failing with `Lambda.ServiceException`.
    pub lambda_error_rate: f64,
    /// Share of DynamoDB requests throttled.
    pub dynamodb_throttle_rate: f64,
    /// When the primary region fails, as a share of the run's floor time.
    pub outage_at: Option<f64>,
    pub outage_minutes: f64,
    /// From the failure to Route 53 sending traffic to the other region.
    pub failover_seconds: f64,
    /// From the failure to the reconcile in the surviving region.
    pub reconcile_minutes: f64,
    /// From the primary's return to traffic going back to it.
    pub failback_minutes: f64,
    /// Share of uploads that are not documents (REJECTED).
    pub reject_share: f64,
    /// Share of uploads that repeat an earlier file of the same patient (linked as
    /// duplicates).
    pub duplicate_content: f64,
    /// Mean seconds before an object reaches the other region (S3 CRR with RTC).
    pub s3_replication_lag: f64,
    /// Mean seconds before an item reaches the other region (global table).
    pub dynamodb_replication_lag: f64,
    pub seed: u64,
    /// Virtual time after which documents not final count as stuck.
    pub max_hours: f64,
    /// The primary and the recovery region.
    pub regions: [String; 2],
    /// The definitions to run (the deployed ones by default).
    pub pipeline_definition: String,
    pub bulk_definition: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            documents: 1000,
            max_pages: 20,
            uploads_per_second: 0.2,
            bulk: 800,
            bulk_pipelines: 50,
            textract_tps: 5.0,
            textract_latency: 1.5,
            ocr_concurrency: 30,
            account_concurrency: 1000,
            duplicate_events: 0.1,
            lambda_error_rate: 0.0,
            dynamodb_throttle_rate: 0.0,
            outage_at: None,
            outage_minutes: 60.0,
            failover_seconds: 90.0,
            reconcile_minutes: 15.0,
            failback_minutes: 10.0,
            reject_share: 0.02,
            duplicate_content: 0.01,
            s3_replication_lag: 5.0,
            dynamodb_replication_lag: 1.0,
            seed: 1,
            max_hours: 7.0 * 24.0,
            regions: ["eu-west-1".into(), "us-east-1".into()],
            pipeline_definition: PIPELINE_DEFINITION.into(),
            bulk_definition: BULK_DEFINITION.into(),
        }
    }
}

/// Seconds at the 50th and 95th percentiles, and the largest.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Spread {
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

impl Spread {
    fn of(mut xs: Vec<f64>) -> Spread {
        if xs.is_empty() {
            return Spread::default();
        }
        xs.sort_by(f64::total_cmp);
        let at = |q: f64| round1(xs[((xs.len() - 1) as f64 * q).round() as usize]);
        Spread {
            p50: at(0.5),
            p95: at(0.95),
            max: at(1.0),
        }
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[derive(Debug, Clone, Serialize)]
pub struct OutageReport {
    pub at_seconds: f64,
    pub minutes: f64,
    /// Documents the surviving region took over and ran again.
    pub reconciled: usize,
    /// Of those, documents the failed region had finished in its last moments, whose
    /// final record had not reached the other region (the records' recovery point).
    pub finished_but_not_replicated: usize,
    /// Their ids: a second run of one of them is the recovery point's, not a document
    /// processed twice.
    #[serde(skip)]
    pub not_replicated: std::collections::BTreeSet<String>,
}

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub simulation: &'static str,
    pub documents: usize,
    pub pages: u64,
    /// Pages sent to OCR if every document is read once (duplicates and rejected files
    /// have none).
    pub ocr_pages: u64,
    pub statuses: BTreeMap<String, u64>,
    /// Uploaded documents that no region knows.
    pub lost: usize,
    /// Documents brought to a final status by more than one run, other than those the
    /// failed region finished without the other region learning of it.
    pub processed_twice: usize,
    /// Documents with a record that is not final when the run ends.
    pub stuck: usize,
    pub failed_by_throttling: usize,
    /// FAILED and REJECTED documents by reason code.
    pub reasons: BTreeMap<String, u64>,
    /// The most Textract calls made within one second, in any region.
    pub textract_peak_tps: usize,
    pub textract_tps_quota: f64,
    pub textract_pages_billed: u64,
    pub textract_throttled: u64,
    /// Virtual seconds until every document was final.
    pub drain_seconds: f64,
    /// What no design can beat: OCR pages / Textract quota, OCR pages × mean call time /
    /// OCR concurrency, and the last upload's arrival.
    pub floor_seconds: f64,
    pub drain_over_floor: f64,
    pub transitions_per_page: f64,
    pub lambda_gb_seconds_per_page: f64,
    pub lambda_throttles: u64,
    pub lambda_service_errors: u64,
    pub lambda_peak_concurrency: usize,
    pub start_throttles: u64,
    /// Seconds from a patient's upload to its final status.
    pub patient_latency_seconds: Spread,
    /// Seconds from the bulk import's start to each of its documents' final status.
    pub bulk_latency_seconds: Spread,
    /// Seconds pages waited in the OCR queue.
    pub ocr_queue_wait_seconds: Spread,
    pub outage: Option<OutageReport>,
    pub watchdog_passes: u64,
    pub watchdog_read_units: f64,
    /// Per 1,000 pages, by service, at each region's prices (the whole run's usage).
    pub cost_per_1000_pages: BTreeMap<String, BTreeMap<String, f64>>,
    /// Per 1,000 pages and year kept, at each region's prices: S3 (both regions) in the
    /// first year and each later one, and the metadata items.
    pub keeping_per_1000_pages_per_year: BTreeMap<String, BTreeMap<String, f64>>,
    pub prices_as_of: String,
    pub usage: BTreeMap<String, Usage>,
    pub wall_seconds: f64,
}

/// The floor of a set of documents: the tighter of Textract's rate and OCR concurrency,
/// and the last arrival.
fn floor(ocr_pages: u64, last_arrival: f64, cfg: &Config) -> f64 {
    let by_rate = ocr_pages as f64 / cfg.textract_tps.max(1e-9);
    let by_concurrency =
        ocr_pages as f64 * cfg.textract_latency / cfg.ocr_concurrency.max(1) as f64;
    by_rate.max(by_concurrency).max(last_arrival)
}

/// How the OCR concurrency is shared between the two queues' event source mappings:
/// half for patients' uploads, half for bulk imports, each at least 2 (the least a
/// mapping takes), as `sam/template.yaml` sets them. Workers without messages cost
/// nothing, and the pacer gives patients' pages the first slots whatever the split.
pub fn ocr_workers(concurrency: usize) -> (usize, usize) {
    let interactive = concurrency.div_ceil(2).max(2);
    (interactive, concurrency.saturating_sub(interactive).max(2))
}

/// Runs a scenario (on a runtime of its own, on a virtual clock).
pub fn run(cfg: Config) -> Result<Report, String> {
    for (what, def) in [
        ("pipeline", &cfg.pipeline_definition),
        ("bulk import", &cfg.bulk_definition),
    ] {
        medidocs_states::validate_text(def)
            .map_err(|e| format!("the {what} definition is not valid: {e:?}"))?;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| e.to_string())?;
    let wall = std::time::Instant::now();
    let mut report = rt.block_on(simulate(cfg))?;
    report.wall_seconds = round1(wall.elapsed().as_secs_f64());
    Ok(report)
}

async fn simulate(cfg: Config) -> Result<Report, String> {
    let prices = pricing::Prices::load()?;
    let clock = VirtualClock::new(time::macros::datetime!(2026-12-07 08:00 UTC));
    let rng = Arc::new(Rng::new(cfg.seed));
    let ledger = Arc::new(Ledger::default());
    let queue_design = cfg.pipeline_definition.contains(OCR_QUEUE_URL.0);
    let a = Region::new(&cfg.regions[0], &cfg, &clock, &rng, &ledger, queue_design);
    let b = Region::new(&cfg.regions[1], &cfg, &clock, &rng, &ledger, queue_design);
    a.objects.replicate_to(&b.objects);
    b.objects.replicate_to(&a.objects);
    a.meta.replicate_to(&b.meta);
    b.meta.replicate_to(&a.meta);
    let regions = [a.clone(), b.clone()];
    for r in &regions {
        if queue_design {
            let (interactive, bulk) = ocr_workers(cfg.ocr_concurrency);
            r.start_ocr_workers(0, interactive);
            r.start_ocr_workers(1, bulk);
        }
        // The upload queue's event source mapping: five at a time.
        r.start_starters(5);
        r.start_watchdog(clock.clone());
    }

    let docs = world::plan(&cfg, &rng);
    let pages: u64 = docs.iter().map(|d| u64::from(d.pages)).sum();
    let mut seen = std::collections::BTreeSet::new();
    let ocr_pages: u64 = docs
        .iter()
        .filter(|d| seen.insert(Arc::as_ptr(&d.bytes) as usize))
        .map(|d| u64::from(d.pages))
        .sum();
    let last_arrival = docs.iter().map(|d| d.arrival).fold(0.0, f64::max);
    let floor_seconds = floor(ocr_pages, last_arrival, &cfg);

    let traffic = Arc::new(Traffic::new());
    world::start_bulk(&a, &docs, &traffic, cfg.bulk_pipelines);
    world::start_uploads(
        regions.clone(),
        docs.clone(),
        traffic.clone(),
        rng.clone(),
        clock.clone(),
        cfg.duplicate_events,
    );
    tokio::spawn(world::compact(regions.clone(), ledger.clone()));

    let outage: Arc<std::sync::Mutex<Option<OutageReport>>> = Arc::new(std::sync::Mutex::new(None));
    if let Some(share) = cfg.outage_at {
        let at = share * floor_seconds;
        let (regions, traffic, clock, outage, cfg) = (
            regions.clone(),
            traffic.clone(),
            clock.clone(),
            outage.clone(),
            cfg.clone(),
        );
        tokio::spawn(async move {
            let [a, b] = &regions;
            sleep_secs(at).await;
            a.state.go_down();
            sleep_secs(cfg.failover_seconds).await;
            traffic.set_active(1);
            sleep_secs(cfg.reconcile_minutes * 60.0 - cfg.failover_seconds).await;
            let (mut reconciled, mut unreplicated) = (0, std::collections::BTreeSet::new());
            if a.state.is_down() {
                // What the failed region had finished without telling the other: known
                // here only to classify re-runs, never to the reconcile itself.
                let finished_in_a: std::collections::BTreeSet<String> = a
                    .meta
                    .all_documents()
                    .into_iter()
                    .filter(|(d, _)| d.status.is_terminal())
                    .map(|(d, _)| d.id)
                    .collect();
                // Final here before the reconcile (whether or not B held a record of it).
                let final_in_b: std::collections::BTreeSet<String> = b
                    .meta
                    .all_documents()
                    .into_iter()
                    .filter(|(d, _)| d.status.is_terminal())
                    .map(|(d, _)| d.id)
                    .collect();
                reconciled =
                    world::reconcile(b, &traffic, &clock, cfg.bulk_pipelines, "reconcile-1").await;
                unreplicated = finished_in_a
                    .into_iter()
                    .filter(|id| !final_in_b.contains(id))
                    .collect();
            }
            *outage.lock().unwrap_or_else(|e| e.into_inner()) = Some(OutageReport {
                at_seconds: round1(at),
                minutes: cfg.outage_minutes,
                reconciled,
                finished_but_not_replicated: unreplicated.len(),
                not_replicated: unreplicated,
            });
            sleep_secs(at + cfg.outage_minutes * 60.0 - clock.secs()).await;
            a.state.come_back();
            sleep_secs(cfg.failback_minutes * 60.0).await;
            traffic.set_active(0);
        });
    }

    let max = cfg.max_hours * 3600.0;
    loop {
        sleep_secs(30.0).await;
        let outage_over =
            cfg.outage_at.is_none() || outage.lock().unwrap_or_else(|e| e.into_inner()).is_some();
        if (outage_over && world::settled(&regions, &traffic).await) || clock.secs() > max {
            break;
        }
    }
    // Let replication catch up before reading the regions.
    sleep_secs(120.0).await;

    // The verdict.
    let expected = traffic
        .expected
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let finished = ledger.snapshot();
    let outage = outage.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let (mut statuses, mut lost, mut stuck, mut failed_by_throttling) = (BTreeMap::new(), 0, 0, 0);
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let (mut patient, mut bulk) = (Vec::new(), Vec::new());
    for (id, (index, _, at)) in &expected {
        match world::merged(&regions, id) {
            None => lost += 1,
            Some(d) => {
                *statuses
                    .entry(d.status.as_str().to_string())
                    .or_insert(0u64) += 1;
                if !d.status.is_terminal() {
                    stuck += 1;
                }
                if let Some(r) = &d.reason {
                    *reasons
                        .entry(format!("{} {}", d.status.as_str(), r.code))
                        .or_insert(0) += 1;
                    if std::env::var_os("MEDIDOCS_SIM_REASONS").is_some() {
                        eprintln!("{} {}: {}", d.id, r.code, r.message);
                    }
                }
                if d.status == medidocs_core::model::Status::Failed {
                    let r = d
                        .reason
                        .as_ref()
                        .map(|r| format!("{} {}", r.code, r.message))
                        .unwrap_or_default()
                        .to_lowercase();
                    if r.contains("throttl") || r.contains("toomanyrequests") {
                        failed_by_throttling += 1;
                    }
                }
            }
        }
        if let Some(f) = finished.get(id) {
            let latency = f.first_at - at;
            if docs[*index].bulk {
                bulk.push(latency);
            } else {
                patient.push(latency);
            }
        }
    }
    let rerun_after_rpo = |id: &str| {
        outage
            .as_ref()
            .is_some_and(|o| o.not_replicated.contains(id))
    };
    // Twice: more than one run wrote a final status, unless the first was the failed
    // region's, lost with it before it replicated.
    let processed_twice = finished
        .iter()
        .filter(|(id, f)| f.runs.len() > 1 && !rerun_after_rpo(id))
        .count();
    if std::env::var_os("MEDIDOCS_SIM_REASONS").is_some() {
        for (id, f) in finished.iter().filter(|(_, f)| f.runs.len() > 1) {
            eprintln!("twice {id}: {:?} first at {:.1}", f.runs, f.first_at);
        }
    }
    let drain = expected
        .keys()
        .filter_map(|id| finished.get(id))
        .map(|f| f.first_at)
        .fold(0.0, f64::max);
    let mut total = Usage::default();
    let mut usage = BTreeMap::new();
    for r in &regions {
        let u = r.meter.snapshot();
        total.add(&u);
        usage.insert(r.name.clone(), u);
    }
    let stored = prices.stored_bytes_per_page;
    let cost = prices
        .regions
        .iter()
        .map(|(name, p)| {
            (
                name.clone(),
                pricing::cost_per_1000_pages(&total, pages, p, &stored),
            )
        })
        .collect();
    let keeping = prices
        .regions
        .iter()
        .map(|(name, p)| {
            (
                name.clone(),
                pricing::keeping_per_1000_pages_per_year(p, &stored),
            )
        })
        .collect();
    let waits: Vec<f64> = regions
        .iter()
        .flat_map(|r| r.ocr_queues.iter().flat_map(|q| q.waits()))
        .collect();
    let per_page = |x: f64| round3(x / pages.max(1) as f64);
    Ok(Report {
        simulation: "capacity simulation: the real definitions and step handlers against models of AWS's documented limits, on a virtual clock; not a measurement of AWS",
        documents: expected.len(),
        pages,
        ocr_pages,
        statuses,
        lost,
        processed_twice,
        stuck,
        failed_by_throttling,
        reasons,
        textract_peak_tps: a.textract.peak_tps().max(b.textract.peak_tps()),
        textract_tps_quota: cfg.textract_tps,
        textract_pages_billed: total.textract_pages_billed,
        textract_throttled: total.textract_throttled,
        drain_seconds: round1(drain),
        floor_seconds: round1(floor_seconds),
        drain_over_floor: round3(drain / floor_seconds.max(1e-9)),
        transitions_per_page: per_page(total.sfn_transitions as f64),
        lambda_gb_seconds_per_page: per_page(total.lambda_gb_seconds),
        lambda_throttles: total.lambda_throttles,
        lambda_service_errors: total.lambda_service_errors,
        lambda_peak_concurrency: a.lambda.peak_concurrency().max(b.lambda.peak_concurrency()),
        start_throttles: total.sfn_start_throttles,
        patient_latency_seconds: Spread::of(patient),
        bulk_latency_seconds: Spread::of(bulk),
        ocr_queue_wait_seconds: Spread::of(waits),
        outage,
        watchdog_passes: total.watchdog_passes,
        watchdog_read_units: round3(total.watchdog_read_units),
        cost_per_1000_pages: cost,
        keeping_per_1000_pages_per_year: keeping,
        prices_as_of: prices.as_of.clone(),
        usage,
        wall_seconds: 0.0,
    })
}
