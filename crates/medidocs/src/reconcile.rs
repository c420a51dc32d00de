//! `medidocs reconcile`: after a failover, the surviving region runs again every original
//! it holds that has no final record, as a new attempt it owns, whatever happened to the
//! failed region's runs of it; after fail-back, the returning region does the same for
//! what only it held (docs/dr-runbook.md). And `medidocs retry --target aws`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use medidocs_aws::{BulkTarget, DynamoMetadataStore, ExecutionStarter, clients};
use medidocs_core::inputs::SourceInput;
use medidocs_core::inputs::{BulkInput, MANIFEST_COLUMNS};
use medidocs_core::keys;
use medidocs_core::model::Status;
use medidocs_core::ports::MetadataStore;

use crate::open_runtime;

#[derive(Args)]
pub struct ReconcileArgs {
    /// `local` (the data dir) or `aws` (this region's stack: the options below).
    #[arg(long, default_value = "local")]
    target: String,
    /// aws: this region's upload bucket (the stack output UploadBucketArn's name).
    #[arg(long)]
    upload_bucket: Option<String>,
    /// aws: the other region's upload bucket, where replicas here were first uploaded.
    #[arg(long)]
    peer_bucket: Option<String>,
    /// aws: the metadata table.
    #[arg(long, default_value = "medidocs-documents")]
    table: String,
    /// aws: this region's BulkImport state machine (the stack output BulkImportArn).
    #[arg(long, env = "MEDIDOCS_BULK_IMPORT_ARN")]
    bulk_import_arn: Option<String>,
    /// aws: the stack's KMS key (the manifest is written with it).
    #[arg(long, env = "MEDIDOCS_KMS_KEY_ID")]
    kms_key_id: Option<String>,
    /// aws: documents in flight at once while they run again.
    #[arg(long, default_value_t = 50)]
    concurrency: u32,
    /// aws: this region's name (default: the AWS configuration's).
    #[arg(long)]
    region: Option<String>,
    /// Only say what would run again.
    #[arg(long)]
    dry_run: bool,
}

pub async fn reconcile(data_dir: &Path, args: ReconcileArgs) -> Result<ExitCode> {
    match args.target.as_str() {
        "local" => reconcile_local(data_dir, &args).await,
        "aws" => reconcile_aws(&args).await,
        t => bail!("--target {t}: use local or aws"),
    }
}

async fn reconcile_local(data_dir: &Path, args: &ReconcileArgs) -> Result<ExitCode> {
    if args.dry_run {
        bail!("--dry-run is for --target aws; the embedded reconcile runs what it finds");
    }
    let rt = open_runtime(data_dir, Default::default(), None)?;
    rt.ocr
        .check()
        .await
        .context("the OCR engine is not ready")?;
    let runner = rt.runner();
    let r = medidocs_local::replication::reconcile(&rt, &runner).await?;
    for (id, processed, status) in &r.runs {
        println!(
            "{id}: {}{}",
            status.as_str(),
            if *processed { "" } else { " (nothing to do)" }
        );
    }
    println!(
        "{} originals checked, {} run again",
        r.checked,
        r.runs.len()
    );
    Ok(if r.runs.iter().any(|(_, _, s)| *s == Status::Failed) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn reconcile_aws(args: &ReconcileArgs) -> Result<ExitCode> {
    let (Some(bucket), Some(peer), Some(arn)) = (
        &args.upload_bucket,
        &args.peer_bucket,
        &args.bulk_import_arn,
    ) else {
        bail!(
            "--target aws needs --upload-bucket (this region's), --peer-bucket (the other region's) and --bulk-import-arn (or MEDIDOCS_BULK_IMPORT_ARN)"
        );
    };
    let config = clients::from_env().await;
    let region = match &args.region {
        Some(r) => r.clone(),
        None => config
            .region()
            .map(|r| r.to_string())
            .context("no region: give --region or set AWS_REGION")?,
    };
    let target = BulkTarget::from_env(bucket, args.kms_key_id.clone(), arn).await;
    target
        .check()
        .await
        .with_context(|| format!("cannot reach s3://{bucket} and the BulkImport state machine"))?;
    let meta = DynamoMetadataStore::new(clients::dynamodb(&config), &args.table);
    let now = time::OffsetDateTime::now_utc();
    let mut rows = Vec::new();
    let (mut checked, mut errors) = (0, 0);
    for prefix in medidocs_core::keys::ORIGINAL_PREFIXES {
        for o in target.uploads.originals(prefix).await? {
            checked += 1;
            // The document id names the bucket the original was uploaded to.
            let origin = if o.replica { peer } else { bucket };
            let source = SourceInput::new(origin.clone(), o.key.clone(), o.version.clone());
            if args.dry_run {
                match meta.get_document(&source.document_id()).await {
                    Ok(d) if d.status.is_terminal() => {}
                    _ => rows.push(medidocs_core::inputs::manifest_row(
                        origin, &o.key, &o.version, 0,
                    )),
                }
                continue;
            }
            // One original's error does not strand the others: what was claimed runs, and
            // a second reconcile picks up the rest.
            match medidocs_core::watchdog::reconcile_row(&meta, &source, &region, now).await {
                Ok(Some(row)) => rows.push(row),
                Ok(None) => {}
                Err(e) => {
                    eprintln!("{}: {e}", source.document_id());
                    errors += 1;
                }
            }
        }
    }
    println!(
        "{checked} originals in s3://{bucket}; {} without a final record",
        rows.len()
    );
    let outcome = if errors > 0 {
        eprintln!(
            "{errors} originals could not be decided: run reconcile again once the errors above are fixed"
        );
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    if args.dry_run || rows.is_empty() {
        return Ok(outcome);
    }
    let stamp: String = medidocs_core::clock::now_rfc3339()
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect();
    let batch = format!("reconcile-{stamp}");
    let mut file = tempfile::NamedTempFile::new()?;
    {
        let mut w = csv::Writer::from_writer(file.as_file_mut());
        w.write_record(MANIFEST_COLUMNS)?;
        for r in &rows {
            w.write_record(r)?;
        }
        w.flush()?;
    }
    let manifest_key = medidocs_core::keys::bulk_manifest(&batch);
    let again = "run reconcile again: what this one claimed is taken over again under new attempts";
    target
        .put_manifest(&manifest_key, file.path())
        .await
        .with_context(|| format!("cannot write the manifest; {again}"))?;
    let input = BulkInput {
        manifest_bucket: bucket.clone(),
        manifest_key: manifest_key.clone(),
        upload_bucket: bucket.clone(),
        max_concurrency: args.concurrency.max(1),
        results_prefix: medidocs_core::keys::bulk_results(&batch),
    };
    let execution = target
        .start(&batch, &input)
        .await
        .with_context(|| format!("cannot start the bulk import; {again}"))?;
    println!("manifest: s3://{bucket}/{manifest_key}");
    println!(
        "{} documents run again in {region}, {} at a time: {execution}",
        rows.len(),
        input.max_concurrency
    );
    println!(
        "If this execution does not finish, run reconcile again: it takes over what is still not final under new attempts."
    );
    Ok(outcome)
}

/// `medidocs retry ID... --target aws`: each FAILED document's next attempt, started in
/// this region's state machine.
pub async fn retry_aws(ids: &[String], table: &str, state_machine_arn: &str) -> Result<ExitCode> {
    let config = clients::from_env().await;
    let meta = DynamoMetadataStore::new(clients::dynamodb(&config), table);
    let starter = ExecutionStarter::new(clients::sfn(&config), state_machine_arn);
    let mut failures = 0;
    for id in ids {
        let doc = match meta.get_document(id).await {
            Ok(d) if d.status == Status::Failed => d,
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
        let source = SourceInput::new(
            doc.source.bucket.clone(),
            doc.source.key.clone(),
            doc.source.version.clone(),
        );
        let name = keys::retry_execution_name(&doc.id, doc.attempt + 1);
        starter.start_named(&source, &name).await?;
        println!("{id}: started again as {name}");
    }
    Ok(if failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
