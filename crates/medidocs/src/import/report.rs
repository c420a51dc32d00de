//! What happened to each entry: the tally, the progress line and the CSV report.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

/// What happened to one entry.
pub(super) struct Outcome {
    pub(super) line: Option<u64>,
    pub(super) path: String,
    pub(super) patient: String,
    pub(super) document_id: String,
    pub(super) status: &'static str,
    pub(super) reason: String,
    /// s3: the bulk manifest's row (`document_id`, `key`, `version`).
    pub(super) row: Option<[String; 5]>,
}

impl Outcome {
    pub(super) fn error(
        line: Option<u64>,
        path: String,
        patient: String,
        reason: String,
    ) -> Outcome {
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
pub(super) type Kinds = &'static [(&'static str, &'static str)];

pub(super) struct Tally {
    kinds: Kinds,
    counts: Vec<u64>,
}

impl Tally {
    pub(super) fn new(kinds: Kinds) -> Tally {
        Tally {
            kinds,
            counts: vec![0; kinds.len()],
        }
    }
    pub(super) fn add(&mut self, status: &str) {
        let i = self
            .kinds
            .iter()
            .position(|(s, _)| *s == status)
            .unwrap_or(self.kinds.len() - 1);
        self.counts[i] += 1;
    }
    pub(super) fn count(&self, status: &str) -> u64 {
        self.kinds
            .iter()
            .position(|(s, _)| *s == status)
            .map_or(0, |i| self.counts[i])
    }
    pub(super) fn done(&self) -> u64 {
        self.counts.iter().sum()
    }
    pub(super) fn words(&self, sep: &str) -> String {
        self.kinds
            .iter()
            .zip(&self.counts)
            .map(|((_, w), n)| format!("{n} {w}"))
            .collect::<Vec<_>>()
            .join(sep)
    }
}

pub(super) fn report_writer(path: &Path) -> Result<csv::Writer<File>> {
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

pub(super) fn progress(t: &Tally, total: u64, started: Instant, quiet: bool) {
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
