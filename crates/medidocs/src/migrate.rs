//! `medidocs migrate`: brings the records of a data dir (or of a deployed region's table
//! and buckets) to today's rules; idempotent (see `medidocs_core::migrate`).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;
use medidocs_aws::{DynamoMetadataStore, Keeping, PipelineBuckets, S3ObjectStore, clients};
use medidocs_core::clock::now_rfc3339;
use medidocs_core::migrate::{MigrationReport, migrate as run_migration};
use medidocs_core::understand::Region;

use crate::open_runtime;

#[derive(Args)]
pub struct MigrateArgs {
    /// `local` (the data dir) or `aws` (a deployed region: the options below; run it in
    /// one region, the global table and replication carry it to the other).
    #[arg(long, default_value = "local")]
    target: String,
    /// aws: the metadata table.
    #[arg(long, default_value = "medidocs-documents")]
    table: String,
    /// aws: the upload bucket.
    #[arg(long)]
    upload_bucket: Option<String>,
    /// aws: the artefact bucket (renditions and text).
    #[arg(long)]
    artefact_bucket: Option<String>,
    /// aws: the stack's KMS key (copies are written with it).
    #[arg(long, env = "MEDIDOCS_KMS_KEY_ID")]
    kms_key_id: Option<String>,
    /// How numeric dates are read in documents read again (day first in Ireland and the
    /// UK, month first in the US; Canada from each document's cues) where a patient has
    /// no setting of their own: ie, uk, us or ca.
    #[arg(long, default_value = "ie", value_parser = parse_region)]
    date_region: Region,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_region(s: &str) -> Result<Region, String> {
    Region::parse(s).ok_or_else(|| format!("{s}: use ie, uk, us or ca"))
}

/// What the PDF pass did: documents given a searchable PDF, and those that could not be.
#[derive(Debug, Default, serde::Serialize)]
struct PdfReport {
    made: usize,
    errors: Vec<(String, String)>,
}

/// Gives every READY document made before searchable PDFs its own (from its previews
/// and OCR model), one at a time.
async fn add_missing_pdfs(
    legacy: &dyn medidocs_core::migrate::LegacyRecords,
    steps: &medidocs_pipeline::steps::Steps,
) -> Result<PdfReport> {
    let mut report = PdfReport::default();
    for id in legacy.documents_without_pdf().await? {
        match steps.add_missing_pdf(&id).await {
            Ok(true) => report.made += 1,
            Ok(false) => {}
            Err(e) => report.errors.push((id, e.to_string())),
        }
    }
    Ok(report)
}

pub async fn migrate(data_dir: &Path, args: MigrateArgs) -> Result<ExitCode> {
    let (mut report, pdfs) = match args.target.as_str() {
        "local" => {
            let rt = open_runtime(data_dir, Default::default(), None)?;
            let report = run_migration(
                &*rt.store,
                &*rt.meta,
                &*rt.meta,
                args.date_region,
                &now_rfc3339(),
            )
            .await?;
            (report, add_missing_pdfs(&*rt.meta, &rt.steps()).await?)
        }
        "aws" => {
            let (Some(uploads), Some(artefacts)) = (&args.upload_bucket, &args.artefact_bucket)
            else {
                bail!("--target aws needs --upload-bucket and --artefact-bucket");
            };
            let config = clients::from_env().await;
            let s3 = clients::s3_from_env(&config);
            // The copies it makes are kept like the pipeline's own (storage class; the
            // bucket's default retention, or RETENTION_YEARS).
            let keeping = Keeping::from_env_for_stack().map_err(anyhow::Error::msg)?;
            let buckets = PipelineBuckets {
                uploads: S3ObjectStore::new(s3.clone(), uploads, args.kms_key_id.clone()),
                artefacts: S3ObjectStore::new(s3, artefacts, args.kms_key_id.clone())
                    .with_keeping(keeping),
            };
            let meta = DynamoMetadataStore::new(clients::dynamodb(&config), &args.table);
            let report =
                run_migration(&buckets, &meta, &meta, args.date_region, &now_rfc3339()).await?;
            // The PDFs are made here, with this machine's CPU, not by the stack's functions.
            let steps = medidocs_pipeline::steps::Steps::new(
                std::sync::Arc::new(buckets),
                std::sync::Arc::new(meta.clone()),
                std::sync::Arc::new(medidocs_aws::TextractOcr::new(clients::textract(&config))),
                Default::default(),
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            );
            (report, add_missing_pdfs(&meta, &steps).await?)
        }
        t => bail!("--target {t}: use local or aws"),
    };
    report.errors.extend(pdfs.errors.iter().cloned());
    print(&report, pdfs.made, args.json)?;
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print(r: &MigrationReport, pdfs_made: usize, json: bool) -> Result<()> {
    if json {
        let mut v = serde_json::to_value(r)?;
        v["pdfs_made"] = pdfs_made.into();
        println!("{v}");
        return Ok(());
    }
    for id in &r.split {
        println!(
            "{id}: now has its own renditions and text (was linked to another patient's document)"
        );
    }
    println!(
        "{} documents given their own artefacts ({} objects copied), {} links within a patient kept, {} content claims moved to their patient",
        r.split.len(),
        r.objects_copied,
        r.kept,
        r.claims_moved
    );
    println!(
        "{} documents read again for what they are and when (now in their patient's timeline), {} written again into the timeline index",
        r.dated, r.indexed
    );
    println!("{pdfs_made} documents given a searchable PDF (READY before there were any)");
    for (what, why) in &r.errors {
        eprintln!("{what}: not migrated: {why}");
    }
    if !r.errors.is_empty() {
        eprintln!(
            "{} not migrated; the rest was. Run migrate again once the cause is fixed.",
            r.errors.len()
        );
    } else if r.split.is_empty()
        && r.claims_moved == 0
        && r.dated == 0
        && r.indexed == 0
        && pdfs_made == 0
    {
        println!("nothing to migrate: the records follow today's rules");
    }
    Ok(())
}
