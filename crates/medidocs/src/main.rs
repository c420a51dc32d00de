//! `medidocs`: the Medi-Advice document pipeline on one machine.

mod bench;
mod drill;
mod import;
mod migrate;
mod output;
mod reconcile;
mod renditions;
mod search;
mod search_bench;
mod serve;
mod simulate;
mod states;
mod storage;
mod understand;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use futures::stream::{self, StreamExt};
use medidocs_core::keys;
use medidocs_core::ocr::OcrDocument;
use medidocs_core::ports::{MetadataStore, ObjectStore};
use medidocs_local::{LocalConfig, LocalRuntime};
use medidocs_media::Limits;

use crate::output::{RunRow, Table};

#[derive(Parser)]
#[command(
    name = "medidocs",
    version,
    about = "Medi-Advice document pipeline: extracts text (OCR) and makes image renditions of patient uploads",
    long_about = None
)]
struct Cli {
    /// Where documents, renditions, text and metadata are kept.
    #[arg(
        long,
        global = true,
        env = "MEDIDOCS_DATA_DIR",
        default_value = ".medidocs"
    )]
    data_dir: PathBuf,
    /// Log detail (error, warn, info, debug); logs never contain document content or names.
    #[arg(long, global = true, env = "MEDIDOCS_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ingest files (a folder: every file under it) and run the whole pipeline on each.
    Run(RunArgs),
    /// Show one document: metadata, renditions and the extracted text.
    Show {
        /// The document id printed by `run`.
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Count documents by status.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Stop documents that have not moved for longer than the deadline (RECEIVED or
    /// PROCESSING after a crash): they become FAILED with the reason `timeout`. `serve` runs
    /// this every minute on its own.
    Watchdog {
        /// Minutes without progress before a document is stopped.
        #[arg(long, default_value_t = 60)]
        deadline_minutes: u64,
    },
    /// Run FAILED documents again (after a time-out or an outage): each runs through the
    /// pipeline as its next attempt. READY and REJECTED documents are never redone.
    Retry {
        /// Document ids (as `run`, `status` and `import` print them).
        #[arg(required = true)]
        ids: Vec<String>,
        /// `local` (the data dir), or `aws`: start them in this region's stack (the
        /// configured AWS credentials and region; --table, --state-machine-arn).
        #[arg(long, default_value = "local")]
        target: String,
        /// aws: the metadata table.
        #[arg(long, default_value = "medidocs-documents")]
        table: String,
        /// aws: the document pipeline (the stack output StateMachineArn).
        #[arg(long, env = "MEDIDOCS_STATE_MACHINE_ARN")]
        state_machine_arn: Option<String>,
    },
    /// After a failover: run again every original this region holds without a final
    /// record, as a new attempt owned here, whatever the failed region's runs of it were
    /// (docs/dr-runbook.md). `--target aws` does it for a deployed region.
    Reconcile(reconcile::ReconcileArgs),
    /// Bring records written by an earlier version to today's rules (idempotent): a
    /// document linked as a duplicate to another patient's gets its own renditions and
    /// text, and content claims become per patient. `--target aws` for a deployed region.
    Migrate(migrate::MigrateArgs),
    /// Make the search index again from the records (READY documents and their OCR
    /// models). The index follows every change on its own; this is for a damaged or
    /// deleted index, or after restoring the data dir.
    Reindex,
    /// Search patients' documents as the API does: words, "quoted phrases", prefixes,
    /// one OCR error per word, English, French and Spanish stems; best first, each with
    /// the lines that hold what was searched.
    Search(search::SearchArgs),
    /// Measure search latency (p50, p99) at many documents made from the labelled texts:
    /// the index against the scan of OCR models it replaced, in one run.
    SearchBench(search_bench::SearchBenchArgs),
    /// Measure documents per minute and peak memory over a folder, repeated (in scratch
    /// data dirs of its own; --data-dir is not touched).
    Bench(bench::BenchArgs),
    /// Measure the bytes stored per page (original, each rendition, text, OCR model,
    /// per-page results, the metadata item) over files, in a scratch data dir; `--json`
    /// gives the profile the capacity simulator prices (`crates/medidocs-sim/prices.json`).
    Storage(storage::StorageArgs),
    /// Make the thumb, preview and OCR renditions of files into a folder, as the pipeline
    /// does, and time each page (nothing is stored in the data dir).
    Renditions(renditions::RenditionsArgs),
    /// What a document is (its type, with the LOINC code and the words that decided it)
    /// and its dates with their roles (service, birth, issued, due), from plain text; or,
    /// with --eval, the score over a labelled set.
    Understand(understand::UnderstandArgs),
    /// Import a folder of scans (for one patient) or a CSV manifest (path, patient_id,
    /// document_type, note): resumable, with progress, a tally and a CSV report.
    Import(import::ImportArgs),
    /// Disaster-recovery drill: two replicated regions, the primary killed midway through
    /// an import, failover, fail-back and reconcile; prints RPO, RTO, lost and processed
    /// twice (in a scratch folder; --data-dir is not touched).
    Drill(drill::DrillArgs),
    /// Capacity simulation for the operations team: the real state machines and step
    /// handlers against models of AWS's documented limits (Lambda and Textract quotas,
    /// Step Functions' names and rates, at-least-once events, a regional outage), on a
    /// virtual clock. A planning tool; it touches no AWS account and no data dir.
    Simulate(simulate::SimulateArgs),
    /// Serve the HTTP API and the doctors' web page over this data dir; uploads made
    /// through it are processed in the background.
    Serve(serve::ServeArgs),
    /// Print a development token (signed with the data dir's key) for the API.
    Token(serve::TokenArgs),
    /// Who is on which patient's care team (doctors and staff who may read their records).
    #[command(subcommand)]
    CareTeam(serve::CareTeamCommand),
    /// Show or set what is set for one patient: how numeric dates on their documents are
    /// read (--date-region); setting it reads again the documents whose dates it decided.
    Patient(serve::PatientArgs),
    /// List the audit trail: reads of text and renditions, searches, uploads, refusals.
    Audit(serve::AuditArgs),
    /// Amazon States Language definitions (state machines).
    #[command(subcommand)]
    States(states::StatesCommand),
    /// Amazon Textract results.
    #[command(subcommand)]
    Textract(TextractCommand),
}

#[derive(Subcommand)]
enum TextractCommand {
    /// Print saved Textract responses (DetectDocumentText, AnalyzeDocument or
    /// GetDocumentTextDetection JSON) as the pipeline's OCR model: pages, lines, words,
    /// confidence and page-relative boxes. The files of one job's NextToken pages are given
    /// in order.
    Normalize {
        #[arg(required = true)]
        responses: Vec<PathBuf>,
        /// Print the plain text instead (pages separated by form feeds).
        #[arg(long)]
        text: bool,
    },
}

fn textract_normalize(files: &[PathBuf], text: bool) -> Result<ExitCode> {
    let mut responses = Vec::with_capacity(files.len());
    for f in files {
        let json =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        responses.push(
            medidocs_core::textract::parse(&json)
                .with_context(|| format!("{} is not a Textract response", f.display()))?,
        );
    }
    let doc = medidocs_core::textract::normalize(&responses)?;
    if text {
        print!("{}", doc.text());
    } else {
        println!("{}", serde_json::to_string_pretty(&doc)?);
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Clone)]
pub struct RunArgs {
    /// Files or folders to ingest.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The patient these documents belong to.
    #[arg(long, default_value = "unassigned")]
    patient: String,
    /// One JSON object per document per line instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    limits: LimitArgs,
    /// Parallel work (documents, pages, OCR); default: the number of cores.
    #[arg(long)]
    workers: Option<usize>,
}

#[derive(Args, Clone)]
pub struct LimitArgs {
    /// Largest accepted file, in MB.
    #[arg(long, default_value_t = 50)]
    max_mb: u64,
    /// Largest accepted page or image, in megapixels.
    #[arg(long, default_value_t = 100)]
    max_megapixels: u64,
    /// Most pages accepted in one document.
    #[arg(long, default_value_t = 500)]
    max_pages: u32,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_bytes: self.max_mb.saturating_mul(1024 * 1024),
            max_pixels: self.max_megapixels.saturating_mul(1_000_000),
            max_pages: self.max_pages,
        }
    }
}

/// Caps glibc's malloc arenas. Every thread that allocates may otherwise get an arena of
/// its own, and memory freed in an arena is kept: decoding pages on changing threads made
/// peak RSS grow with every batch (234 → 517 MiB over 10 bench repetitions; 187 MiB with
/// two arenas).
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Output piped into a reader that stops early (`medidocs run … --json | head -1`): the
/// process ends as a command killed by SIGPIPE does (status 141), without a panic's
/// message. SIGPIPE itself stays ignored, so a closed pipe to an OCR worker is an error
/// the adapter handles (it replaces the worker), not the end of the process.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("os error 32") {
            std::process::exit(141);
        }
        default(info)
    }));
}

fn main() -> ExitCode {
    // The hidden `ocr-worker` subcommand: the OCR worker process the Tesseract adapter
    // starts (medidocs_local's tesseract/worker.rs), before any thread or runtime exists.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == "ocr-worker")
    {
        return ExitCode::from(medidocs_local::ocr_worker_main().clamp(0, 255) as u8);
    }
    limit_malloc_arenas();
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    // Few blocking threads: decoding is bounded by the worker count anyway.
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(cores * 2 + 2)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run(&cli.data_dir, args).await,
        Command::Show { id, json } => show(&cli.data_dir, &id, json).await,
        Command::Status { json } => status(&cli.data_dir, json).await,
        Command::Watchdog { deadline_minutes } => watchdog(&cli.data_dir, deadline_minutes).await,
        Command::Retry {
            ids,
            target,
            table,
            state_machine_arn,
        } => match target.as_str() {
            "local" => retry(&cli.data_dir, &ids).await,
            "aws" => {
                let arn = state_machine_arn.context(
                    "--target aws needs --state-machine-arn (or MEDIDOCS_STATE_MACHINE_ARN): the stack output StateMachineArn",
                )?;
                reconcile::retry_aws(&ids, &table, &arn).await
            }
            t => anyhow::bail!("--target {t}: use local or aws"),
        },
        Command::Reconcile(args) => reconcile::reconcile(&cli.data_dir, args).await,
        Command::Migrate(args) => migrate::migrate(&cli.data_dir, args).await,
        Command::Reindex => search::reindex(&cli.data_dir)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Search(args) => search::search(&cli.data_dir, args)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::SearchBench(args) => search_bench::search_bench(args).map(|()| ExitCode::SUCCESS),
        Command::Bench(args) => bench::bench(args).await,
        Command::Storage(args) => storage::storage(args).await,
        Command::Renditions(args) => renditions::renditions(args),
        Command::Understand(args) => understand::understand(args),
        Command::Import(args) => import::import(&cli.data_dir, args).await,
        Command::Drill(args) => drill::drill(args).await,
        Command::Simulate(args) => simulate::simulate(args),
        Command::Serve(args) => serve::serve(&cli.data_dir, args).await,
        Command::Token(args) => serve::token(&cli.data_dir, args),
        Command::CareTeam(cmd) => serve::care_team(&cli.data_dir, cmd).await,
        Command::Patient(args) => serve::patient(&cli.data_dir, args).await,
        Command::Audit(args) => serve::audit(&cli.data_dir, args).await,
        Command::States(cmd) => states::dispatch(cmd).await,
        Command::Textract(TextractCommand::Normalize { responses, text }) => {
            textract_normalize(&responses, text)
        }
    }
}

/// The OCR worker this program starts: `MEDIDOCS_OCR_WORKER` if set, else itself (its
/// hidden `ocr-worker` subcommand).
pub fn ocr_worker() -> medidocs_local::WorkerCommand {
    match (
        std::env::var_os("MEDIDOCS_OCR_WORKER"),
        std::env::current_exe(),
    ) {
        (None, Ok(exe)) => medidocs_local::WorkerCommand::medidocs(exe),
        _ => medidocs_local::WorkerCommand::locate(),
    }
}

pub fn open_runtime(
    data_dir: &Path,
    limits: Limits,
    workers: Option<usize>,
) -> Result<LocalRuntime> {
    let mut config = LocalConfig::new(data_dir);
    config.ocr_worker = ocr_worker();
    config.limits = limits;
    if let Some(w) = workers {
        config.workers = w.max(1);
    }
    if let Ok(r) = std::env::var("MEDIDOCS_DATE_REGION") {
        config.date_region = medidocs_core::understand::Region::parse(r.trim())
            .with_context(|| format!("MEDIDOCS_DATE_REGION={r}: use ie, uk, us or ca"))?;
    }
    LocalRuntime::open(config)
        .with_context(|| format!("cannot open the data dir {}", data_dir.display()))
}

/// Every regular file under the given paths, in a stable order (the paths in the order
/// given; a folder's files in the order of their paths). Symbolic links to folders are not
/// followed (no loops); hidden files and folders are skipped inside folders. The folders
/// are walked as `import` walks one ([`import::walk::Walk`]); anything under them that
/// cannot be read is an error.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
        if meta.is_file() {
            out.push(p.clone());
        } else if meta.is_dir() {
            for file in import::walk::Walk::new(p)? {
                out.push(file.map_err(|e| e.error)?);
            }
        } else {
            bail!("{} is neither a file nor a folder", p.display());
        }
    }
    Ok(out)
}

async fn run(data_dir: &Path, args: RunArgs) -> Result<ExitCode> {
    keys::validate_patient_id(&args.patient).map_err(|e| anyhow::anyhow!("--patient: {e}"))?;
    let files = collect_files(&args.paths)?;
    if files.is_empty() {
        bail!(
            "no files found under {}",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let rt = open_runtime(data_dir, args.limits.limits(), args.workers)?;
    let version = rt
        .ocr
        .check()
        .await
        .context("the OCR engine is not ready")?;
    tracing::info!(%version, "OCR engine");
    let runner = rt.runner();
    let started = Instant::now();
    let mut table = Table::new(args.json);
    if !args.json {
        println!(
            "Processing {} file{} into {} (OCR: {version})\n",
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            data_dir.display()
        );
        table.header();
    }
    let workers = rt.config.workers;
    let rt_ref = &rt;
    let runner_ref = &runner;
    let patient = args.patient.as_str();
    let mut results = stream::iter(files)
        .map(|file| async move {
            let t = Instant::now();
            let outcome = match rt_ref.ingest(&file, patient).await {
                Ok(source) => runner_ref.run(&source).await.map_err(anyhow::Error::from),
                Err(e) => Err(anyhow::Error::from(e)),
            };
            (file, outcome, t.elapsed())
        })
        .buffered(workers);
    let mut had_error = false;
    while let Some((file, outcome, elapsed)) = results.next().await {
        match outcome {
            Ok(o) => table.row(&RunRow::new(&file, &o.record, !o.processed, elapsed)),
            Err(e) => {
                had_error = true;
                table.error(&file, &format!("{e:#}"));
            }
        }
    }
    table.tally(started.elapsed());
    Ok(if had_error {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn show(data_dir: &Path, id: &str, json: bool) -> Result<ExitCode> {
    if !keys::is_system_id(id) {
        bail!("'{id}' is not a document id (ids are the hex strings `medidocs run` prints)");
    }
    let rt = open_runtime(data_dir, Limits::default(), None)?;
    let doc = match rt.meta.get_document(id).await {
        Ok(d) => d,
        Err(medidocs_core::ports::StoreError::NotFound { .. }) => {
            bail!("no document {id} in {}", data_dir.display())
        }
        Err(e) => return Err(e.into()),
    };
    let ocr: Option<OcrDocument> = match &doc.ocr_key {
        Some(k) => Some(
            serde_json::from_slice(&rt.objects.get(k).await?).context("reading the OCR result")?,
        ),
        None => None,
    };
    if json {
        let mut v = output::record_json(&doc);
        if let Some(ocr) = &ocr {
            v["text"] = ocr.text().into();
            v["page_count"] = doc.pages.into();
            v["pages"] = serde_json::Value::Array(
                ocr.pages
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "page": p.page, "text": p.text(), "text_source": p.text_source,
                            "rotation": p.rotation, "mean_confidence": p.mean_confidence(),
                            "lines": p.lines.len(), "words": p.word_count(),
                        })
                    })
                    .collect(),
            );
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        output::print_document(&doc, ocr.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

async fn watchdog(data_dir: &Path, minutes: u64) -> Result<ExitCode> {
    let rt = open_runtime(data_dir, Limits::default(), None)?;
    let stopped = sweep(rt.meta.as_ref(), Duration::from_secs(minutes.max(1) * 60)).await?;
    println!(
        "{} document{} stopped after {minutes} minutes without progress{}",
        stopped.len(),
        if stopped.len() == 1 { "" } else { "s" },
        if stopped.is_empty() {
            String::new()
        } else {
            format!(
                ": {} (medidocs retry ID runs one again)",
                stopped.join(", ")
            )
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// One pass of the watchdog over the embedded region: documents in flight whose last
/// write is older than `deadline` (their recorded deadline is the default one after it).
pub async fn sweep(
    meta: &dyn medidocs_core::ports::MetadataStore,
    deadline: Duration,
) -> Result<Vec<String>> {
    let now = time::OffsetDateTime::now_utc();
    let at = now + medidocs_core::watchdog::DEFAULT_DEADLINE - deadline;
    Ok(medidocs_core::watchdog::sweep(meta, medidocs_core::model::LOCAL_REGION, at).await?)
}

async fn retry(data_dir: &Path, ids: &[String]) -> Result<ExitCode> {
    let rt = open_runtime(data_dir, Limits::default(), None)?;
    rt.ocr
        .check()
        .await
        .context("the OCR engine is not ready")?;
    let runner = rt.runner();
    let mut failures = 0;
    for id in ids {
        let doc = match rt.meta.get_document(id).await {
            Ok(d) if d.status == medidocs_core::model::Status::Failed => d,
            Ok(d) => {
                eprintln!(
                    "{id}: it is {}: only FAILED documents are retried",
                    d.status.as_str()
                );
                failures += 1;
                continue;
            }
            Err(e) => {
                eprintln!("{id}: {e}");
                failures += 1;
                continue;
            }
        };
        let source = medidocs_core::inputs::SourceInput::new(
            doc.source.bucket.clone(),
            doc.source.key.clone(),
            doc.source.version.clone(),
        );
        let out = runner.retry(&source).await?;
        let d = &out.record;
        match &d.reason {
            Some(r) => println!("{id}: {} ({}: {})", d.status.as_str(), r.code, r.message),
            None => println!("{id}: {}", d.status.as_str()),
        }
        if d.status == medidocs_core::model::Status::Failed {
            failures += 1;
        }
    }
    Ok(if failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn status(data_dir: &Path, json: bool) -> Result<ExitCode> {
    let rt = open_runtime(data_dir, Limits::default(), None)?;
    let counts = rt.meta.count_by_status().await?;
    let total: u64 = counts.values().sum();
    if json {
        println!(
            "{}",
            serde_json::json!({ "counts": counts, "total": total })
        );
    } else {
        println!("Documents in {}:", data_dir.display());
        for s in medidocs_core::model::Status::ALL {
            println!(
                "  {:<11} {:>6}",
                s.as_str(),
                counts.get(s.as_str()).copied().unwrap_or(0)
            );
        }
        println!("  {:<11} {:>6}", "total", total);
    }
    Ok(ExitCode::SUCCESS)
}
