//! `--target local`: every entry through the embedded pipeline over the data dir.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use medidocs_core::model::Status;

use super::report::{Kinds, Outcome};
use super::{Entry, ImportArgs, drive, entries};
use crate::open_runtime;

const LOCAL_KINDS: Kinds = &[
    ("READY", "imported"),
    ("ALREADY_IMPORTED", "already imported"),
    ("DUPLICATE", "duplicates linked"),
    ("REJECTED", "rejected"),
    ("FAILED", "failed"),
    ("ERROR", "errors"),
];

pub(super) async fn import_local(data_dir: &Path, args: ImportArgs) -> Result<ExitCode> {
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
