//! `medidocs import`: a clinic's folder of scans, or a manifest of them, into the embedded
//! pipeline (a bounded number at a time), or to the deployed one in AWS (`--target
//! s3://BUCKET/BATCH`: uploads, then one execution of the BulkImport state machine).
//!
//! Resuming needs no state of its own: the pipeline is idempotent. A file's upload id is a
//! keyed hash of its path and content, so a rerun finds the same upload (already copied:
//! not copied again) and the same document (terminal: not processed again; interrupted in
//! PROCESSING: continued). Same content under another path is linked to the first
//! document, never processed twice.
//!
//! Memory stays bounded: the folder is walked and the manifest read lazily, one entry at
//! a time, with at most `--concurrency` documents in flight.
//!
//! The walk of a folder is [`walk`] (`medidocs run` collects its files with it too), the
//! manifest's reading [`manifest`], the progress line and the CSV report [`report`]; the
//! two targets are [`local`] and [`s3`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use futures::stream::{self, StreamExt};
use medidocs_core::keys;
use medidocs_core::model::Labels;

use crate::LimitArgs;

mod local;
mod manifest;
mod report;
mod s3;
pub mod walk;

pub use manifest::Manifest;
pub use walk::Walk;

use local::import_local;
use report::{Kinds, Outcome, Tally, progress, report_writer};
use s3::import_s3;

#[derive(Args)]
pub struct ImportArgs {
    /// A folder (every file under it, for one patient) or a CSV manifest with the columns
    /// `path` and `patient_id`, and optionally `document_type` and `note`.
    source: PathBuf,
    /// The patient of every file of a folder (and of manifest rows without one).
    #[arg(long)]
    patient: Option<String>,
    /// `local` (the embedded pipeline over --data-dir) or `s3://BUCKET[/BATCH]`: upload to
    /// the deployment's upload bucket and start its BulkImport state machine. BATCH names
    /// the manifest and results (default: import-YYYYMMDD-HHMMSS).
    #[arg(long, default_value = "local")]
    target: String,
    /// Documents processed (local) or files uploaded (s3) at once; default: the number of
    /// cores (local), 8 (s3).
    #[arg(long)]
    concurrency: Option<usize>,
    /// s3: the BulkImport state machine (the stack output BulkImportArn).
    #[arg(long, env = "MEDIDOCS_BULK_IMPORT_ARN")]
    bulk_import_arn: Option<String>,
    /// s3: the KMS key that encrypts the uploads (the stack's key; by default the bucket's
    /// default encryption, which is that key).
    #[arg(long, env = "MEDIDOCS_KMS_KEY_ID")]
    kms_key_id: Option<String>,
    /// s3: pipeline executions at once in AWS (the Distributed Map's MaxConcurrency):
    /// documents in flight. Textract is paced for every import and upload together by the
    /// stack's OCR queues, and patients' pages go first, whatever this is.
    #[arg(long, default_value_t = 10)]
    pipelines: u32,
    /// Where to write the CSV report of every file; default: import-report.csv in the
    /// current folder.
    #[arg(long, default_value = "import-report.csv")]
    report: PathBuf,
    /// No progress line (for logs and scripts).
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

/// One file to import, or why a manifest line cannot be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File {
        /// The manifest line (1 is the header), or `None` in a folder.
        line: Option<u64>,
        path: PathBuf,
        patient: String,
        labels: Labels,
    },
    Bad {
        line: Option<u64>,
        path: String,
        reason: String,
    },
}

impl Entry {
    /// A file's line, path, patient and labels, or the outcome of a bad line.
    fn file(self) -> Result<(Option<u64>, PathBuf, String, Labels), Box<Outcome>> {
        match self {
            Entry::File {
                line,
                path,
                patient,
                labels,
            } => Ok((line, path, patient, labels)),
            Entry::Bad { line, path, reason } => {
                Err(Box::new(Outcome::error(line, path, String::new(), reason)))
            }
        }
    }
}

fn entries(args: &ImportArgs) -> Result<Box<dyn Iterator<Item = Entry> + Send>> {
    let meta = std::fs::metadata(&args.source)
        .with_context(|| format!("cannot read {}", args.source.display()))?;
    if meta.is_dir() {
        let patient = args
            .patient
            .clone()
            .context("a folder is imported for one patient: give --patient ID")?;
        keys::validate_patient_id(&patient).map_err(|e| anyhow::anyhow!("--patient: {e}"))?;
        // What cannot be read under the folder is a line of the report; the rest imports.
        let files = Walk::new(&args.source)?.map(move |item| match item {
            Ok(path) => Entry::File {
                line: None,
                path,
                patient: patient.clone(),
                labels: Labels::default(),
            },
            Err(e) => Entry::Bad {
                line: None,
                path: e.path.display().to_string(),
                reason: format!("{:#}", e.error),
            },
        });
        Ok(Box::new(files))
    } else {
        if let Some(p) = &args.patient {
            keys::validate_patient_id(p).map_err(|e| anyhow::anyhow!("--patient: {e}"))?;
        }
        Ok(Box::new(Manifest::open(
            &args.source,
            args.patient.clone(),
        )?))
    }
}

pub async fn import(data_dir: &Path, args: ImportArgs) -> Result<ExitCode> {
    match args.target.as_str() {
        "local" => import_local(data_dir, args).await,
        t if t.starts_with("s3://") => import_s3(data_dir, args).await,
        t => bail!("--target {t:?}: give `local` or s3://BUCKET[/BATCH]"),
    }
}

/// Runs `process` over every entry, at most `concurrency` at a time, writing the report
/// and the progress line as outcomes arrive; `each` sees every outcome too.
async fn drive<F, Fut>(
    args: &ImportArgs,
    kinds: Kinds,
    total: u64,
    concurrency: usize,
    process: F,
    mut each: impl FnMut(&Outcome) -> Result<()>,
) -> Result<Tally>
where
    F: Fn(Entry) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let mut report = report_writer(&args.report)?;
    let started = Instant::now();
    let mut results = stream::iter(entries(args)?)
        .map(process)
        .buffer_unordered(concurrency.max(1));
    let mut t = Tally::new(kinds);
    let mut last_draw = Instant::now() - Duration::from_secs(1);
    while let Some(o) = results.next().await {
        t.add(o.status);
        each(&o)?;
        report.write_record([
            o.line.map(|l| l.to_string()).unwrap_or_default(),
            o.path,
            o.patient,
            o.document_id,
            o.status.to_string(),
            o.reason,
        ])?;
        if last_draw.elapsed() >= Duration::from_millis(200) && t.done() < total {
            report.flush()?;
            progress(&t, total, started, args.quiet);
            last_draw = Instant::now();
        }
    }
    report.flush()?;
    progress(&t, total, started, args.quiet);
    println!(
        "{}{} entries in {:.1} s: {}",
        if args.quiet { "" } else { "\n" },
        t.done(),
        started.elapsed().as_secs_f64(),
        t.words(", ")
    );
    println!("report: {}", args.report.display());
    Ok(t)
}
