//! `medidocs simulate`: the capacity simulator (`medidocs_sim`) for the operations team:
//! what a deployment does with its quotas under a given load, on a virtual clock.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::Args;
use medidocs_sim::{Config, Report};

#[derive(Args)]
pub struct SimulateArgs {
    /// Documents in all (the bulk import's and the patients' uploads).
    #[arg(long, default_value_t = 1000)]
    documents: usize,
    /// Pages per document: uniform from 1 to this.
    #[arg(long, default_value_t = 20)]
    max_pages: u32,
    /// Patients' uploads per second (the documents not in the bulk import).
    #[arg(long, default_value_t = 0.2)]
    uploads_per_second: f64,
    /// How many of the documents a clinic imports in bulk at the start (default: four in
    /// five; the rest are patients' uploads).
    #[arg(long)]
    bulk: Option<usize>,
    /// The bulk import's concurrency (documents in flight at once).
    #[arg(long, default_value_t = 50)]
    bulk_pipelines: u32,
    /// Textract DetectDocumentText quota, transactions per second, in each region.
    #[arg(long, default_value_t = 5.0)]
    textract_tps: f64,
    /// Mean seconds of one Textract call.
    #[arg(long, default_value_t = 1.5)]
    textract_latency: f64,
    /// OCR workers at once (the stack's OcrConcurrency: half for patients' pages, half for
    /// bulk imports; in definitions without the OCR queue, the OCR function's reservation).
    #[arg(long, default_value_t = 30)]
    ocr_concurrency: usize,
    /// The account's Lambda concurrency in each region.
    #[arg(long, default_value_t = 1000)]
    account_concurrency: usize,
    /// Share of upload events delivered twice (0 to 1).
    #[arg(long, default_value_t = 0.1)]
    duplicate_events: f64,
    /// Share of Lambda invocations that fail with a service error (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    lambda_error_rate: f64,
    /// Share of DynamoDB requests throttled (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    dynamodb_throttle_rate: f64,
    /// The primary region fails this far into the run (a share of the floor time, 0 to 1).
    #[arg(long)]
    outage_at: Option<f64>,
    /// How long the primary region stays down.
    #[arg(long, default_value_t = 60.0)]
    outage_minutes: f64,
    /// Minutes from the failure to the reconcile in the recovery region (an operator's
    /// decision, docs/dr-runbook.md).
    #[arg(long, default_value_t = 15.0)]
    reconcile_after_minutes: f64,
    /// Seed of every random choice: the same seed, the same run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run this pipeline definition instead of statemachines/document-pipeline.asl.json.
    #[arg(long)]
    definition: Option<PathBuf>,
    /// Run this bulk-import definition instead of statemachines/bulk-import.asl.json.
    #[arg(long)]
    bulk_definition: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn share(name: &str, v: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(anyhow!("--{name} is a share from 0 to 1, not {v}"))
    }
}

fn positive(name: &str, v: f64) -> Result<f64> {
    if v > 0.0 && v.is_finite() {
        Ok(v)
    } else {
        Err(anyhow!("--{name} must be more than 0, not {v}"))
    }
}

fn read(path: &Option<PathBuf>, default: String) -> Result<String> {
    match path {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
        }
        None => Ok(default),
    }
}

impl SimulateArgs {
    fn config(&self) -> Result<Config> {
        let d = Config::default();
        if self.documents == 0 {
            return Err(anyhow!("--documents must be at least 1"));
        }
        if self.ocr_concurrency == 0 || self.account_concurrency < self.ocr_concurrency {
            return Err(anyhow!(
                "--ocr-concurrency must be at least 1 and at most --account-concurrency ({})",
                self.account_concurrency
            ));
        }
        Ok(Config {
            documents: self.documents,
            max_pages: self.max_pages.clamp(1, 3000),
            uploads_per_second: positive("uploads-per-second", self.uploads_per_second)?,
            bulk: self
                .bulk
                .unwrap_or(self.documents * 4 / 5)
                .min(self.documents),
            bulk_pipelines: self.bulk_pipelines.max(1),
            textract_tps: positive("textract-tps", self.textract_tps)?,
            textract_latency: positive("textract-latency", self.textract_latency)?,
            ocr_concurrency: self.ocr_concurrency,
            account_concurrency: self.account_concurrency,
            duplicate_events: share("duplicate-events", self.duplicate_events)?,
            lambda_error_rate: share("lambda-error-rate", self.lambda_error_rate)?,
            dynamodb_throttle_rate: share("dynamodb-throttle-rate", self.dynamodb_throttle_rate)?,
            outage_at: self.outage_at.map(|f| share("outage-at", f)).transpose()?,
            outage_minutes: positive("outage-minutes", self.outage_minutes)?,
            reconcile_minutes: positive("reconcile-after-minutes", self.reconcile_after_minutes)?
                .max(d.failover_seconds / 60.0),
            seed: self.seed,
            pipeline_definition: read(&self.definition, d.pipeline_definition.clone())?,
            bulk_definition: read(&self.bulk_definition, d.bulk_definition.clone())?,
            ..d
        })
    }
}

pub fn simulate(args: SimulateArgs) -> Result<ExitCode> {
    let cfg = args.config()?;
    if !args.json {
        eprintln!(
            "Simulating {} documents (up to {} pages; {} in a bulk import at {} at a time, the rest uploaded at {}/s), Textract {} TPS, OCR concurrency {}, Lambda {} per region{}",
            cfg.documents,
            cfg.max_pages,
            cfg.bulk,
            cfg.bulk_pipelines,
            cfg.uploads_per_second,
            cfg.textract_tps,
            cfg.ocr_concurrency,
            cfg.account_concurrency,
            cfg.outage_at
                .map(|f| format!(
                    ", the primary region down for {} minutes at {:.0} % of the run",
                    cfg.outage_minutes,
                    f * 100.0
                ))
                .unwrap_or_default()
        );
    }
    // The simulator runs its own single-threaded runtime with a paused clock.
    let report = std::thread::spawn(move || medidocs_sim::run(cfg))
        .join()
        .map_err(|_| anyhow!("the simulation stopped unexpectedly"))?
        .map_err(|e| anyhow!(e))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn hours(s: f64) -> String {
    format!("{s:.0} s ({:.1} h)", s / 3600.0)
}

fn print_report(r: &Report) {
    println!("This is a simulation: models of AWS's documented limits, not AWS.");
    println!(
        "  documents            {} ({} pages, {} to OCR)",
        r.documents, r.pages, r.ocr_pages
    );
    let statuses: Vec<String> = r.statuses.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("  statuses             {}", statuses.join(", "));
    println!(
        "  lost / processed twice / stuck / failed by throttling   {} / {} / {} / {}",
        r.lost, r.processed_twice, r.stuck, r.failed_by_throttling
    );
    println!(
        "  Textract peak        {} calls in one second (quota {})",
        r.textract_peak_tps, r.textract_tps_quota
    );
    println!(
        "  drain                {}, floor {}: {:.2} x the floor",
        hours(r.drain_seconds),
        hours(r.floor_seconds),
        r.drain_over_floor
    );
    println!(
        "  patients' uploads    final in {} s (median), {} s (95 %)",
        r.patient_latency_seconds.p50, r.patient_latency_seconds.p95
    );
    if let Some(o) = &r.outage {
        println!(
            "  outage               at {} for {} min: {} documents reconciled in the other region ({} finished in the failed region but not replicated)",
            hours(o.at_seconds),
            o.minutes,
            o.reconciled,
            o.finished_but_not_replicated
        );
    }
    println!(
        "  per page             {:.2} state transitions, {:.3} Lambda GB-s",
        r.transitions_per_page, r.lambda_gb_seconds_per_page
    );
    for (region, c) in &r.cost_per_1000_pages {
        let parts: Vec<String> = c
            .iter()
            .filter(|(k, v)| *k != "total" && **v >= 0.005)
            .map(|(k, v)| format!("{k} {v:.2}"))
            .collect();
        println!(
            "  USD per 1,000 pages  {:.2} at {region} prices (prices of {}): {}",
            c.get("total").copied().unwrap_or(0.0),
            r.prices_as_of,
            parts.join(", ")
        );
    }
    for (region, k) in &r.keeping_per_1000_pages_per_year {
        let get = |n: &str| k.get(n).copied().unwrap_or(0.0);
        println!(
            "  keeping 1,000 pages  {:.3} the first year, {:.3} each later year at {region} prices (S3 in both regions, Intelligent-Tiering, nobody reading; metadata {:.4})",
            get("s3_first_year") + get("dynamodb_each_year"),
            get("s3_each_later_year") + get("dynamodb_each_year"),
            get("dynamodb_each_year"),
        );
    }
    println!("  (simulated in {} s)", r.wall_seconds);
}
