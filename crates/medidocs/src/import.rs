//! `medidocs import`: a clinic's folder of scans, or a manifest of them, into the embedded
//! pipeline, a bounded number at a time.
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
use medidocs_core::model::Status;

use crate::{LimitArgs, open_runtime};

#[derive(Args)]
pub struct ImportArgs {
    /// A folder (every file under it, for one patient) or a CSV manifest with the columns
    /// `path` and `patient_id`, and optionally `document_type` and `note`.
    source: PathBuf,
    /// The patient of every file of a folder (and of manifest rows without one).
    #[arg(long)]
    patient: Option<String>,
    /// Documents processed at once; default: the number of cores.
    #[arg(long)]
    concurrency: Option<usize>,
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
}

#[derive(Default)]
struct Tally {
    imported: u64,
    already: u64,
    duplicates: u64,
    rejected: u64,
    failed: u64,
    errors: u64,
}

impl Tally {
    fn done(&self) -> u64 {
        self.imported + self.already + self.duplicates + self.rejected + self.failed + self.errors
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
        "\r[{}{}] {done}/{total}  {rate:.0}/min  ETA {eta}  ok {} · already {} · dup {} · rejected {} · failed {} · errors {}   ",
        "#".repeat(filled as usize),
        ".".repeat((width - filled) as usize),
        t.imported,
        t.already,
        t.duplicates,
        t.rejected,
        t.failed,
        t.errors
    );
    let _ = std::io::stderr().flush();
}

pub async fn import(data_dir: &Path, args: ImportArgs) -> Result<ExitCode> {
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
    let mut report = report_writer(&args.report)?;
    if !args.quiet {
        eprintln!(
            "Importing {total} entr{} from {} into {} ({concurrency} at a time, OCR: {version})",
            if total == 1 { "y" } else { "ies" },
            args.source.display(),
            data_dir.display()
        );
    }
    let started = Instant::now();
    let (rt_ref, runner_ref) = (&rt, &runner);
    let mut results = stream::iter(entries(&args)?)
        .map(|entry| async move {
            match entry {
                Entry::Bad { line, path, reason } => Outcome {
                    line,
                    path,
                    patient: String::new(),
                    document_id: String::new(),
                    status: "ERROR",
                    reason,
                },
                Entry::File {
                    line,
                    path,
                    patient,
                } => {
                    let shown = path.display().to_string();
                    let run = match rt_ref.ingest(&path, &patient) {
                        Ok(source) => runner_ref.run(&source).await.map_err(anyhow::Error::from),
                        Err(e) => Err(anyhow::Error::from(e)),
                    };
                    match run {
                        Ok(o) => {
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
                            }
                        }
                        Err(e) => Outcome {
                            line,
                            path: shown,
                            patient,
                            document_id: String::new(),
                            status: "ERROR",
                            reason: format!("{e:#}"),
                        },
                    }
                }
            }
        })
        .buffer_unordered(concurrency);
    let mut t = Tally::default();
    let mut last_draw = Instant::now() - Duration::from_secs(1);
    while let Some(o) = results.next().await {
        match o.status {
            "READY" => t.imported += 1,
            "ALREADY_IMPORTED" => t.already += 1,
            "DUPLICATE" => t.duplicates += 1,
            "REJECTED" => t.rejected += 1,
            "FAILED" => t.failed += 1,
            _ => t.errors += 1,
        }
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
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}{} entries in {secs:.1} s: {} imported, {} already imported, {} duplicates linked, {} rejected, {} failed, {} errors",
        if args.quiet { "" } else { "\n" },
        t.done(),
        t.imported,
        t.already,
        t.duplicates,
        t.rejected,
        t.failed,
        t.errors
    );
    println!("report: {}", args.report.display());
    Ok(if t.failed + t.errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
