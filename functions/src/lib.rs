//! The pipeline's Lambda functions, kept thin: each binary in `src/bin` names its step;
//! this library reads the configuration from the environment once (failing at start-up
//! with the missing variable's name), builds the AWS clients once, and hands each
//! invocation to `Steps::call`, the same dispatch the embedded runtime uses. Errors leave
//! as `errorType` = the stable name the state machine's Retry and Catch match
//! (`Medidocs.Throttled`, `Medidocs.InvalidDocument`, …) and `errorMessage` = its cause.
//!
//! Logs: `tracing` through the Lambda runtime's subscriber (JSON when the function's log
//! format is JSON). They carry step names, document ids, codes and counts, never document
//! content, file names or patient ids.

pub mod api;
pub mod function;
pub mod identity;
pub mod indexer;
pub mod ocr;
pub mod wrapper;

pub use function::{FUNCTION_SETTING, Function, serve_from_env};

use medidocs_core::understand::Region;
use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use medidocs_aws::events::{Upload, uploads};
use medidocs_aws::{
    DynamoMetadataStore, ExecutionStarter, Keeping, PipelineBuckets, S3ObjectStore, Started,
    TextractOcr, clients,
};
use medidocs_core::ports::OcrEngine;
use medidocs_media::Limits;
use medidocs_pipeline::Step;
use medidocs_pipeline::error::CaughtError;
use medidocs_pipeline::steps::Steps;
use serde_json::{Value, json};

/// A configuration problem, found at start-up.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is not valid: {why}")]
    Invalid { name: &'static str, why: String },
}

/// The step functions' configuration (set by the SAM template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `UPLOAD_BUCKET`: where patients' originals arrive.
    pub upload_bucket: String,
    /// `ARTEFACT_BUCKET`: renditions, text, quarantine.
    pub artefact_bucket: String,
    /// `TABLE_NAME`: the metadata table.
    pub table: String,
    /// `KMS_KEY_ID`: the customer-managed key every written object is encrypted with.
    pub kms_key_id: String,
    /// `MAX_UPLOAD_MB`, `MAX_MEGAPIXELS`, `MAX_PAGES` (optional): input limits.
    pub limits: Limits,
    /// `AWS_REGION` (set by Lambda): the region whose pipeline owns what it processes.
    pub region: String,
    /// `DEADLINE_MINUTES` (optional, default 1,455: the execution's 24-hour time-out and
    /// a quarter of an hour): how long a document may stay in flight.
    pub deadline: Duration,
    /// `RETENTION_YEARS` and `STORAGE_CLASS` (optional): how the record's objects are
    /// written (Object Lock retention in governance mode; storage class).
    pub keeping: Keeping,
    /// `DATE_REGION` (optional, `ie` when unset): how numeric dates are read on documents
    /// of patients with no setting of their own (ie, uk, us, ca).
    pub date_region: Region,
}

/// The deadline of a document in flight when `DEADLINE_MINUTES` is not set.
pub const DEFAULT_DEADLINE_MINUTES: u64 = 24 * 60 + 15;

fn required(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<String, ConfigError> {
    lookup(name)
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::Missing(name))
}

fn number(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<u64>, ConfigError> {
    match lookup(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or(ConfigError::Invalid {
                name,
                why: format!("{v:?} is not a positive whole number"),
            }),
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut limits = Limits::default();
        if let Some(mb) = number(&lookup, "MAX_UPLOAD_MB")? {
            limits.max_bytes = mb * 1024 * 1024;
        }
        if let Some(mp) = number(&lookup, "MAX_MEGAPIXELS")? {
            limits.max_pixels = mp * 1_000_000;
        }
        if let Some(p) = number(&lookup, "MAX_PAGES")? {
            limits.max_pages = p as u32;
        }
        let minutes = number(&lookup, "DEADLINE_MINUTES")?.unwrap_or(DEFAULT_DEADLINE_MINUTES);
        Ok(Self {
            upload_bucket: required(&lookup, "UPLOAD_BUCKET")?,
            artefact_bucket: required(&lookup, "ARTEFACT_BUCKET")?,
            table: required(&lookup, "TABLE_NAME")?,
            kms_key_id: required(&lookup, "KMS_KEY_ID")?,
            limits,
            region: required(&lookup, "AWS_REGION")?,
            deadline: Duration::from_secs(minutes * 60),
            date_region: match lookup("DATE_REGION").filter(|v| !v.trim().is_empty()) {
                None => Region::Ie,
                Some(v) => Region::parse(v.trim()).ok_or(ConfigError::Invalid {
                    name: "DATE_REGION",
                    why: format!("{v:?} is not ie, uk, us or ca"),
                })?,
            },
            keeping: Keeping::from_lookup(&lookup).map_err(|why| ConfigError::Invalid {
                name: "RETENTION_YEARS / STORAGE_CLASS",
                why,
            })?,
        })
    }
}

/// The step handlers over S3, DynamoDB and Textract.
pub fn steps(config: &Config, sdk: &aws_config::SdkConfig) -> Steps {
    steps_with_ocr(
        config,
        sdk,
        Arc::new(TextractOcr::new(clients::textract(sdk))),
    )
}

/// The step handlers with another OCR engine (the OCR workers' paced Textract).
pub fn steps_with_ocr(
    config: &Config,
    sdk: &aws_config::SdkConfig,
    ocr: Arc<dyn OcrEngine>,
) -> Steps {
    let s3 = clients::s3(sdk, false);
    let kms = Some(config.kms_key_id.clone());
    let buckets = PipelineBuckets {
        uploads: S3ObjectStore::new(s3.clone(), &config.upload_bucket, kms.clone()),
        artefacts: S3ObjectStore::new(s3, &config.artefact_bucket, kms)
            .with_keeping(config.keeping.clone()),
    };
    Steps::new(
        Arc::new(buckets),
        Arc::new(DynamoMetadataStore::new(
            clients::dynamodb(sdk),
            &config.table,
        )),
        ocr,
        config.limits,
        // A Lambda function handles one event at a time; its memory size sets its vCPUs.
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    )
    .with_region(config.region.clone())
    .with_deadline(config.deadline)
    .with_date_region(config.date_region)
}

/// A caught step error as Lambda reports it: `errorType` is what Retry/Catch match.
pub fn diagnostic(e: CaughtError) -> Diagnostic {
    Diagnostic {
        error_type: e.error,
        error_message: e.cause,
    }
}

/// One invocation of step `step`.
pub async fn handle(steps: &Steps, step: Step, payload: Value) -> Result<Value, Diagnostic> {
    let started = std::time::Instant::now();
    let result = steps.call(step, payload).await;
    match &result {
        Ok(_) => tracing::info!(
            step = step.name(),
            ms = started.elapsed().as_millis() as u64,
            "done"
        ),
        Err(e) => tracing::warn!(step = step.name(), error = %e.error, "failed"),
    }
    result.map_err(diagnostic)
}

pub(crate) fn init_logging() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// The main of a step function.
pub async fn serve_step(step: Step) -> Result<(), lambda_runtime::Error> {
    init_logging();
    let config = Config::from_env()?;
    let sdk = clients::from_env().await;
    let steps = Arc::new(steps(&config, &sdk));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let steps = steps.clone();
        async move { handle(&steps, step, event.payload).await }
    }))
    .await
}

/// Starts one execution per upload in the event; a repeated event starts nothing new.
///
/// Replicas are not started: an upload replicated from the other region (S3 says REPLICA)
/// is processed there, and its document reaches this region through the global table.
pub async fn start_uploads(
    starter: &ExecutionStarter,
    uploads_bucket: &S3ObjectStore,
    event: &Value,
) -> Result<Value, Diagnostic> {
    let (mut started, mut repeated, mut ignored, mut replicas) = (0, 0, 0, 0);
    for u in uploads(event, uploads_bucket.bucket()) {
        match u {
            Upload::Start(source) => match uploads_bucket.is_replica(&source.key).await {
                Ok(true) => {
                    replicas += 1;
                    tracing::info!("replica of an upload to the other region: not started here");
                }
                Ok(false) => match starter.start(&source).await {
                    Ok(Started::New { .. }) => started += 1,
                    Ok(Started::AlreadyStarted) => repeated += 1,
                    Err(e) => return Err(start_failure(e)),
                },
                Err(e) => return Err(start_failure(e)),
            },
            Upload::Ignore(why) => {
                ignored += 1;
                tracing::info!(why, "event ignored");
            }
        }
    }
    tracing::info!(started, repeated, ignored, replicas, "uploads");
    Ok(
        json!({ "started": started, "already_started": repeated, "ignored": ignored, "replicas": replicas }),
    )
}

/// A batch of the upload queue (SQS records whose bodies are EventBridge "Object
/// Created" events): each record's uploads started; a record that could not be started
/// is reported as a batch item failure, so SQS gives it back later and the others are done.
pub async fn start_queued_uploads(
    starter: &ExecutionStarter,
    uploads_bucket: &S3ObjectStore,
    batch: &Value,
) -> Value {
    let mut failures = Vec::new();
    let (mut started, mut repeated) = (0, 0);
    for record in batch["Records"].as_array().into_iter().flatten() {
        let id = record["messageId"].as_str().unwrap_or_default();
        let Some(event) = record["body"]
            .as_str()
            .and_then(|b| serde_json::from_str::<Value>(b).ok())
        else {
            // Never startable: dropped (the queue's dead-letter queue keeps nothing useful).
            tracing::warn!("an upload queue message that is not an event: dropped");
            continue;
        };
        match start_uploads(starter, uploads_bucket, &event).await {
            Ok(v) => {
                started += v["started"].as_u64().unwrap_or(0);
                repeated += v["already_started"].as_u64().unwrap_or(0);
            }
            Err(_) => failures.push(json!({ "itemIdentifier": id })),
        }
    }
    json!({ "batchItemFailures": failures, "started": started, "already_started": repeated })
}

fn start_failure(e: medidocs_core::ports::StoreError) -> Diagnostic {
    let caught = medidocs_pipeline::error::StepError::from(e).to_caught();
    tracing::warn!(error = %caught.error, "could not start an execution");
    diagnostic(caught)
}

/// The main of the watchdog function (`TABLE_NAME`, `AWS_REGION`), run on a schedule:
/// this region's documents still in flight past their deadline become FAILED with
/// `timeout` (an execution stopped by hand, or timed out as a whole, leaves them there).
pub async fn serve_watchdog() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let lookup = |k: &str| std::env::var(k).ok();
    let table = required(&lookup, "TABLE_NAME")?;
    let region = required(&lookup, "AWS_REGION")?;
    let sdk = clients::from_env().await;
    let meta = Arc::new(DynamoMetadataStore::new(clients::dynamodb(&sdk), &table));
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| {
        let (meta, region) = (meta.clone(), region.clone());
        async move {
            let stopped = medidocs_core::watchdog::sweep(
                meta.as_ref(),
                &region,
                time::OffsetDateTime::now_utc(),
            )
            .await
            .map_err(start_failure)?;
            Ok::<Value, Diagnostic>(json!({ "stopped": stopped.len() }))
        }
    }))
    .await
}

/// The main of the starter function (`STATE_MACHINE_ARN`, `UPLOAD_BUCKET`), reading the
/// upload queue.
pub async fn serve_starter() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let lookup = |k: &str| std::env::var(k).ok();
    let machine = required(&lookup, "STATE_MACHINE_ARN")?;
    let bucket = required(&lookup, "UPLOAD_BUCKET")?;
    let sdk = clients::from_env().await;
    let starter = Arc::new(ExecutionStarter::new(clients::sfn(&sdk), machine));
    let bucket = Arc::new(S3ObjectStore::new(clients::s3(&sdk, false), bucket, None));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (starter, bucket) = (starter.clone(), bucket.clone());
        async move {
            Ok::<Value, Diagnostic>(start_queued_uploads(&starter, &bucket, &event.payload).await)
        }
    }))
    .await
}

/// The main of the search indexer (the functions' [`Config`]: `RETENTION_YEARS` among it,
/// so its objects get a day's retention, not the bucket's default):
/// batches of the table's stream, or a reindex asked for by hand.
pub async fn serve_indexer() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let lookup = |k: &str| std::env::var(k).ok();
    let sdk = clients::from_env().await;
    let indexer = Arc::new(indexer_from(lookup, &sdk)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let indexer = indexer.clone();
        async move { indexer.handle(&event.payload).await.map_err(start_failure) }
    }))
    .await
}

/// The indexer over this region's table and artefact bucket (the functions' common
/// configuration: its objects are written as the others write theirs).
pub fn indexer_from(
    lookup: impl Fn(&str) -> Option<String>,
    sdk: &aws_config::SdkConfig,
) -> Result<indexer::Indexer, ConfigError> {
    let config = Config::from_lookup(lookup)?;
    let meta: Arc<dyn medidocs_core::ports::MetadataStore> = Arc::new(DynamoMetadataStore::new(
        clients::dynamodb(sdk),
        &config.table,
    ));
    let objects: Arc<dyn medidocs_core::ports::ObjectStore> = Arc::new(
        S3ObjectStore::new(
            clients::s3(sdk, false),
            &config.artefact_bucket,
            Some(config.kms_key_id),
        )
        .with_keeping(config.keeping),
    );
    Ok(indexer::Indexer {
        // It reads each object once per batch and never searches: nothing to keep.
        indexes: medidocs_search::PatientIndexes::with_cache(meta.clone(), objects.clone(), 0),
        meta,
        objects,
    })
}
