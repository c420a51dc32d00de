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

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use futures::stream::{self, StreamExt};
use medidocs_core::keys;
use medidocs_core::model::{Labels, Status};

use medidocs_aws::{BulkTarget, Placed};
use medidocs_core::inputs::BulkInput;
use medidocs_local::{identify, import_secret};

use crate::{LimitArgs, open_runtime};

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

const COLUMNS: [&str; 4] = ["path", "patient_id", "document_type", "note"];

/// Reads a manifest lazily. Problems of the header are reported as line 1 (an unknown
/// column is ignored); problems of a row are reported with its line and the row skipped.
pub struct Manifest {
    rows: csv::StringRecordsIntoIter<File>,
    base: PathBuf,
    default_patient: Option<String>,
    path_col: usize,
    patient_col: Option<usize>,
    type_col: Option<usize>,
    note_col: Option<usize>,
    pending: Vec<Entry>,
    line: u64,
}

impl Manifest {
    pub fn open(file: &Path, default_patient: Option<String>) -> Result<Manifest> {
        let f = File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(f);
        let headers = reader
            .headers()
            .with_context(|| format!("{}: no header line", file.display()))?
            .clone();
        let names: Vec<String> = headers
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        let mut pending = Vec::new();
        for (i, n) in names.iter().enumerate() {
            if !COLUMNS.contains(&n.as_str()) {
                pending.push(Entry::Bad {
                    line: Some(1),
                    path: String::new(),
                    reason: format!(
                        "unknown column {:?} (column {}), ignored; the columns are {}",
                        headers.get(i).unwrap_or_default(),
                        i + 1,
                        COLUMNS.join(", ")
                    ),
                });
            }
        }
        let path_col = names
            .iter()
            .position(|n| n == "path")
            .with_context(|| format!("{}: line 1 has no `path` column", file.display()))?;
        let patient_col = names.iter().position(|n| n == "patient_id");
        let type_col = names.iter().position(|n| n == "document_type");
        let note_col = names.iter().position(|n| n == "note");
        if patient_col.is_none() && default_patient.is_none() {
            bail!(
                "{}: line 1 has no `patient_id` column, and no --patient was given",
                file.display()
            );
        }
        Ok(Manifest {
            rows: reader.into_records(),
            base: file.parent().map(Path::to_path_buf).unwrap_or_default(),
            default_patient,
            path_col,
            patient_col,
            type_col,
            note_col,
            pending,
            line: 1,
        })
    }
}

impl Iterator for Manifest {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        if let Some(e) = self.pending.pop() {
            return Some(e);
        }
        let row = self.rows.next()?;
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                self.line += 1;
                return Some(Entry::Bad {
                    line: e.position().map(|p| p.line()).or(Some(self.line)),
                    path: String::new(),
                    reason: format!("not CSV: {e}"),
                });
            }
        };
        // Quoted fields may span lines: the line a row starts on, as the reader counts.
        self.line = row.position().map(|p| p.line()).unwrap_or(self.line + 1);
        let line = Some(self.line);
        let path = row
            .get(self.path_col)
            .unwrap_or_default()
            .trim()
            .to_string();
        if path.is_empty() {
            return Some(Entry::Bad {
                line,
                path,
                reason: "no path".into(),
            });
        }
        let patient = self
            .patient_col
            .and_then(|c| row.get(c))
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .or_else(|| self.default_patient.clone());
        let Some(patient) = patient else {
            return Some(Entry::Bad {
                line,
                path,
                reason: "no patient_id (and no --patient)".into(),
            });
        };
        if let Err(e) = keys::validate_patient_id(&patient) {
            return Some(Entry::Bad {
                line,
                path,
                reason: format!("patient_id {patient:?}: {e}"),
            });
        }
        let cell = |c: Option<usize>| c.and_then(|c| row.get(c)).unwrap_or_default();
        let labels = match Labels::new(cell(self.type_col), cell(self.note_col)) {
            Ok(l) => l,
            Err(reason) => return Some(Entry::Bad { line, path, reason }),
        };
        let full = self.base.join(&path);
        if !full.is_file() {
            return Some(Entry::Bad {
                line,
                path,
                reason: "no such file".into(),
            });
        }
        Some(Entry::File {
            line,
            path: full,
            patient,
            labels,
        })
    }
}

/// Every regular file under `root`, depth first, each folder's entries in name order;
/// hidden entries skipped, links to folders not followed. Holds one folder's listing at a
/// time per level, not the whole tree.
pub struct Walk {
    stack: Vec<std::vec::IntoIter<PathBuf>>,
    patient: String,
}

impl Walk {
    pub fn new(root: &Path, patient: String) -> Result<Walk> {
        Ok(Walk {
            stack: vec![sorted(root)?.into_iter()],
            patient,
        })
    }
}

fn sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    v.sort();
    Ok(v)
}

impl Iterator for Walk {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        loop {
            let top = self.stack.last_mut()?;
            let Some(p) = top.next() else {
                self.stack.pop();
                continue;
            };
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                match sorted(&p) {
                    Ok(v) => self.stack.push(v.into_iter()),
                    Err(e) => {
                        return Some(Entry::Bad {
                            line: None,
                            path: p.display().to_string(),
                            reason: format!("{e:#}"),
                        });
                    }
                }
            } else if meta.is_file() || (meta.file_type().is_symlink() && p.is_file()) {
                return Some(Entry::File {
                    line: None,
                    path: p,
                    patient: self.patient.clone(),
                    labels: Labels::default(),
                });
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
        Ok(Box::new(Walk::new(&args.source, patient)?))
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

/// What happened to one entry.
struct Outcome {
    line: Option<u64>,
    path: String,
    patient: String,
    document_id: String,
    status: &'static str,
    reason: String,
    /// s3: the bulk manifest's row (`document_id`, `key`, `version`).
    row: Option<[String; 5]>,
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

impl Outcome {
    fn error(line: Option<u64>, path: String, patient: String, reason: String) -> Outcome {
        Outcome {
            line,
            path,
            patient,
            document_id: String::new(),
            status: "ERROR",
            reason,
            row: None,
        }
    }
}

/// A target's statuses in tally order, each with its words in the progress line and the
/// summary.
type Kinds = &'static [(&'static str, &'static str)];
const LOCAL_KINDS: Kinds = &[
    ("READY", "imported"),
    ("ALREADY_IMPORTED", "already imported"),
    ("DUPLICATE", "duplicates linked"),
    ("REJECTED", "rejected"),
    ("FAILED", "failed"),
    ("ERROR", "errors"),
];
const S3_KINDS: Kinds = &[
    ("UPLOADED", "uploaded"),
    ("ALREADY_UPLOADED", "already uploaded"),
    ("ERROR", "errors"),
];

struct Tally {
    kinds: Kinds,
    counts: Vec<u64>,
}

impl Tally {
    fn new(kinds: Kinds) -> Tally {
        Tally {
            kinds,
            counts: vec![0; kinds.len()],
        }
    }
    fn add(&mut self, status: &str) {
        let i = self
            .kinds
            .iter()
            .position(|(s, _)| *s == status)
            .unwrap_or(self.kinds.len() - 1);
        self.counts[i] += 1;
    }
    fn count(&self, status: &str) -> u64 {
        self.kinds
            .iter()
            .position(|(s, _)| *s == status)
            .map_or(0, |i| self.counts[i])
    }
    fn done(&self) -> u64 {
        self.counts.iter().sum()
    }
    fn words(&self, sep: &str) -> String {
        self.kinds
            .iter()
            .zip(&self.counts)
            .map(|((_, w), n)| format!("{n} {w}"))
            .collect::<Vec<_>>()
            .join(sep)
    }
}

fn report_writer(path: &Path) -> Result<csv::Writer<File>> {
    // The report names patients' files: readable by its owner only.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write the report {}", path.display()))?;
    let mut w = csv::Writer::from_writer(f);
    w.write_record([
        "line",
        "path",
        "patient_id",
        "document_id",
        "status",
        "reason",
    ])?;
    Ok(w)
}

fn progress(t: &Tally, total: u64, started: Instant, quiet: bool) {
    if quiet {
        return;
    }
    let done = t.done();
    let secs = started.elapsed().as_secs_f64().max(0.001);
    let rate = done as f64 / secs * 60.0;
    let eta = if done > 0 && total > done {
        let left = (total - done) as f64 * secs / done as f64;
        format!("{:02}:{:02}", (left / 60.0) as u64, (left % 60.0) as u64)
    } else {
        "--:--".into()
    };
    let width = 30;
    let filled = (done * width).checked_div(total).unwrap_or(0).min(width);
    eprint!(
        "\r[{}{}] {done}/{total}  {rate:.0}/min  ETA {eta}  {}   ",
        "#".repeat(filled as usize),
        ".".repeat((width - filled) as usize),
        t.words(" · ")
    );
    let _ = std::io::stderr().flush();
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

pub async fn import(data_dir: &Path, args: ImportArgs) -> Result<ExitCode> {
    match args.target.as_str() {
        "local" => import_local(data_dir, args).await,
        t if t.starts_with("s3://") => import_s3(data_dir, args).await,
        t => bail!("--target {t:?}: give `local` or s3://BUCKET[/BATCH]"),
    }
}

async fn import_local(data_dir: &Path, args: ImportArgs) -> Result<ExitCode> {
    // A counting pass (streamed, nothing kept) gives the progress line its total.
    let total = entries(&args)?.count() as u64;
    let rt = open_runtime(data_dir, args.limits.limits(), args.concurrency)?;
    let version = rt
        .ocr
        .check()
        .await
        .context("the OCR engine is not ready")?;
    let runner = rt.runner();
    let concurrency = args.concurrency.unwrap_or(rt.config.workers).max(1);
    if !args.quiet {
        eprintln!(
            "Importing {total} entr{} from {} into {} ({concurrency} at a time, OCR: {version})",
            if total == 1 { "y" } else { "ies" },
            args.source.display(),
            data_dir.display()
        );
    }
    let (rt, runner) = (&rt, &runner);
    let process = |entry: Entry| async move {
        let (line, path, patient, labels) = match entry.file() {
            Ok(f) => f,
            Err(o) => return *o,
        };
        let shown = path.display().to_string();
        let run = match rt.ingest_bulk(&path, &patient, &labels).await {
            Ok(source) => runner.run(&source).await.map_err(anyhow::Error::from),
            Err(e) => Err(anyhow::Error::from(e)),
        };
        let o = match run {
            Ok(o) => o,
            Err(e) => return Outcome::error(line, shown, patient, format!("{e:#}")),
        };
        let d = &o.record;
        let status = match (d.status, o.processed, &d.duplicate_of) {
            (_, false, _) => "ALREADY_IMPORTED",
            (Status::Ready, true, Some(_)) => "DUPLICATE",
            (s, true, _) => s.as_str(),
        };
        let reason = match (&d.reason, &d.duplicate_of) {
            (Some(r), _) => format!("{}: {}", r.code, r.message),
            (None, Some(first)) => format!("same content as {first}"),
            _ => String::new(),
        };
        Outcome {
            line,
            path: shown,
            patient,
            document_id: d.id.clone(),
            status,
            reason,
            row: None,
        }
    };
    let t = drive(&args, LOCAL_KINDS, total, concurrency, process, |_| Ok(())).await?;
    Ok(if t.count("FAILED") + t.count("ERROR") > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `s3://BUCKET[/BATCH]` → (bucket, batch).
fn parse_s3_target(t: &str) -> Result<(String, Option<String>)> {
    let rest = t.strip_prefix("s3://").unwrap_or(t);
    let (bucket, batch) = match rest.split_once('/') {
        Some((b, p)) => (b, Some(p.trim_end_matches('/')).filter(|p| !p.is_empty())),
        None => (rest, None),
    };
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.');
    if !bucket_ok {
        bail!("--target {t}: {bucket:?} is not an S3 bucket name");
    }
    if let Some(b) = batch {
        let ok = b.len() <= 40
            && b.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
        if !ok {
            bail!(
                "--target {t}: the batch name {b:?} must be 1 to 40 of A-Z a-z 0-9 - _ (it names the manifest and the execution)"
            );
        }
    }
    Ok((bucket.to_string(), batch.map(str::to_string)))
}

/// `YYYYMMDD-HHMMSS` (UTC) from an RFC 3339 time.
fn stamp(rfc3339: &str) -> String {
    let digits: String = rfc3339
        .chars()
        .take(19)
        .filter(char::is_ascii_digit)
        .collect();
    format!(
        "{}-{}",
        &digits[..8.min(digits.len())],
        &digits[8.min(digits.len())..]
    )
}

async fn import_s3(data_dir: &Path, args: ImportArgs) -> Result<ExitCode> {
    let (bucket, batch) = parse_s3_target(&args.target)?;
    let arn = args.bulk_import_arn.clone().context(
        "--target s3://… needs the BulkImport state machine: give --bulk-import-arn ARN or set MEDIDOCS_BULK_IMPORT_ARN (the stack output BulkImportArn, see docs/deploy.md)",
    )?;
    let now = stamp(&medidocs_core::clock::now_rfc3339());
    let batch = batch.unwrap_or_else(|| format!("import-{now}"));
    let total = entries(&args)?.count() as u64;
    // Upload ids are keyed with this data dir's secret: a rerun from it finds its uploads.
    let secret = import_secret(data_dir)?;
    let target = BulkTarget::from_env(&bucket, args.kms_key_id.clone(), &arn).await;
    target.check().await.with_context(|| {
        format!(
            "cannot reach s3://{bucket} and the BulkImport state machine with these AWS credentials"
        )
    })?;
    let concurrency = args.concurrency.unwrap_or(8).max(1);
    if !args.quiet {
        eprintln!(
            "Uploading {total} entr{} from {} to s3://{bucket}/bulk/ ({concurrency} at a time), batch {batch}",
            if total == 1 { "y" } else { "ies" },
            args.source.display(),
        );
    }
    let mut manifest_file = tempfile::NamedTempFile::new().context("a temporary manifest")?;
    let mut manifest = csv::Writer::from_writer(manifest_file.as_file_mut());
    manifest.write_record(medidocs_core::inputs::MANIFEST_COLUMNS)?;
    let mut rows = 0u64;
    let (target, secret) = (&target, &secret);
    let process = |entry: Entry| async move {
        let (line, path, patient, labels) = match entry.file() {
            Ok(f) => f,
            Err(o) => return *o,
        };
        let shown = path.display().to_string();
        let (s, p) = (secret.clone(), path.clone());
        let id = match tokio::task::spawn_blocking(move || identify(&s, &p)).await {
            Ok(Ok(id)) => id,
            Ok(Err(e)) => return Outcome::error(line, shown, patient, e.to_string()),
            Err(e) => return Outcome::error(line, shown, patient, e.to_string()),
        };
        let key = keys::bulk_key(&patient, &id.upload_id);
        let placed = target
            .place(&key, &id.canonical, id.bytes, &id.sha256, &labels)
            .await;
        let (status, version) = match placed {
            Ok(Placed::Uploaded { version }) => ("UPLOADED", version),
            Ok(Placed::AlreadyThere { version }) => ("ALREADY_UPLOADED", version),
            Err(e) => return Outcome::error(line, shown, patient, e.to_string()),
        };
        let row = medidocs_core::inputs::manifest_row(target.bucket(), &key, &version, 1);
        Outcome {
            line,
            path: shown,
            patient,
            document_id: row[0].clone(),
            status,
            reason: String::new(),
            row: Some(row),
        }
    };
    let t = drive(&args, S3_KINDS, total, concurrency, process, |o| {
        if let Some(row) = &o.row {
            manifest.write_record(row)?;
            rows += 1;
        }
        Ok(())
    })
    .await?;
    manifest.flush()?;
    drop(manifest);
    if rows == 0 {
        println!("Nothing was uploaded: no bulk import started.");
        return Ok(ExitCode::FAILURE);
    }
    let manifest_key = medidocs_core::keys::bulk_manifest(&batch);
    target
        .put_manifest(&manifest_key, manifest_file.path())
        .await
        .context("cannot upload the manifest")?;
    let input = BulkInput {
        manifest_bucket: bucket.clone(),
        manifest_key: manifest_key.clone(),
        upload_bucket: bucket.clone(),
        max_concurrency: args.pipelines.max(1),
        results_prefix: medidocs_core::keys::bulk_results(&batch),
    };
    let name: String = format!("{batch}-{now}").chars().take(80).collect();
    let execution = target
        .start(&name, &input)
        .await
        .context("cannot start the bulk import")?;
    println!("manifest: s3://{bucket}/{manifest_key} ({rows} documents)");
    println!(
        "bulk import started ({} pipelines at a time): {execution}",
        input.max_concurrency
    );
    println!(
        "Follow it in the Step Functions console (its Map Run), or with\n  aws stepfunctions describe-execution --execution-arn {execution}\nPer-document results: s3://{bucket}/{}/ . Documents already processed are not processed again.",
        input.results_prefix
    );
    Ok(if t.count("ERROR") > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
