//! `--target s3://BUCKET[/BATCH]`: every file uploaded to a deployed stack, then one
//! execution of its BulkImport state machine over the batch's manifest.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use medidocs_aws::{BulkTarget, Placed};
use medidocs_core::inputs::BulkInput;
use medidocs_core::keys;
use medidocs_local::{identify, import_secret};

use super::report::{Kinds, Outcome};
use super::{Entry, ImportArgs, drive, entries};

const S3_KINDS: Kinds = &[
    ("UPLOADED", "uploaded"),
    ("ALREADY_UPLOADED", "already uploaded"),
    ("ERROR", "errors"),
];

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

pub(super) async fn import_s3(data_dir: &Path, args: ImportArgs) -> Result<ExitCode> {
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
