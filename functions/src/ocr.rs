//! The OCR worker: reads pages from the OCR queues (SQS event source mappings, one
//! message at a time, a maximum concurrency each) and answers the waiting task of the
//! state machine with SendTaskSuccess or SendTaskFailure. Every Textract call waits for
//! its slot from the region's pacer ([`medidocs_core::pacing`]), so the calls of every
//! execution and bulk import together stay within the account's quota, and a patient's
//! page (the interactive queue) takes the first free slot before a bulk import's.

use std::sync::Arc;

use async_trait::async_trait;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use medidocs_aws::{Answered, DynamoPacer, TaskTokens, TextractOcr, clients};
use medidocs_core::pacing::PacedOcr;
use medidocs_core::ports::{OcrEngine, StoreError};
use medidocs_pipeline::Step;
use medidocs_pipeline::error::{CaughtError, TIMEOUT};
use medidocs_pipeline::runner::OcrMessage;
use medidocs_pipeline::steps::Steps;
use medidocs_states::SystemClock;
use serde_json::{Value, json};

use crate::{Config, ConfigError};

/// Where an answer goes (Step Functions' task tokens in AWS).
#[async_trait]
pub trait Answers: Send + Sync {
    async fn succeed(&self, token: &str, output: &Value) -> Result<Answered, StoreError>;
    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<Answered, StoreError>;
}

#[async_trait]
impl Answers for TaskTokens {
    async fn succeed(&self, token: &str, output: &Value) -> Result<Answered, StoreError> {
        TaskTokens::succeed(self, token, output).await
    }
    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<Answered, StoreError> {
        TaskTokens::fail(self, token, error, cause).await
    }
}

/// The steps of the two queues: patients' pages, and bulk imports' (which take a slot
/// only when none is wanted by a patient's page).
pub struct OcrWorker {
    pub interactive: Steps,
    pub bulk: Steps,
}

impl OcrWorker {
    /// Paced Textract over the configured stores: the pacer is the table's item for
    /// this region's Textract quota of `tps` calls a second.
    pub fn new(config: &Config, sdk: &aws_config::SdkConfig, tps: f64) -> Self {
        let textract: Arc<dyn OcrEngine> =
            Arc::new(TextractOcr::new(clients::textract_unretried(sdk)));
        let pacer = Arc::new(DynamoPacer::new(
            clients::dynamodb(sdk),
            &config.table,
            &format!("textract#{}", config.region),
            tps,
        ));
        let paced = |bulk: bool| -> Arc<dyn OcrEngine> {
            let p = PacedOcr::new(textract.clone(), pacer.clone(), Arc::new(SystemClock));
            Arc::new(if bulk { p.bulk() } else { p })
        };
        Self {
            interactive: crate::steps_with_ocr(config, sdk, paced(false)),
            bulk: crate::steps_with_ocr(config, sdk, paced(true)),
        }
    }
}

/// How long the worker gives one page (a slot, the Textract call, the results written):
/// within the function's 60 s time-out, so that the task is always answered. A
/// synchronous Textract call takes seconds; a bulk page waits at most 30 s for a slot.
pub const PAGE_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(45);

/// A batch of OCR queue messages: each page read (within [`PAGE_TIME_LIMIT`]) and its
/// task answered. A message whose answer could not be delivered is reported as a batch
/// item failure: SQS gives it back after its visibility time-out, and the step, which
/// keeps what it read, answers at once the second time.
pub async fn handle_ocr_messages(
    interactive: &Steps,
    bulk: &Steps,
    answers: &dyn Answers,
    batch: &Value,
) -> Value {
    let mut failures = Vec::new();
    for record in batch["Records"].as_array().into_iter().flatten() {
        let id = record["messageId"].as_str().unwrap_or_default();
        let body: Option<Value> = record["body"]
            .as_str()
            .and_then(|b| serde_json::from_str(b).ok());
        let message = body
            .clone()
            .and_then(|b| serde_json::from_value::<OcrMessage>(b).ok());
        let Some(message) = message else {
            // Not a page of ours. If a task waits for it, it is told at once rather than
            // left to its time-out; otherwise nothing can be done with it.
            let token = body.as_ref().and_then(|b| b["task_token"].as_str());
            if let Some(token) = token {
                let _ = answers
                    .fail(
                        token,
                        medidocs_pipeline::error::INTERNAL,
                        "the OCR queue message is not a page",
                    )
                    .await;
            }
            tracing::warn!("an OCR queue message that is not a page: dropped");
            continue;
        };
        let from_bulk = record["eventSourceARN"]
            .as_str()
            .is_some_and(|a| a.ends_with("-bulk"));
        let steps = if from_bulk { bulk } else { interactive };
        let page = serde_json::to_value(&message.page).unwrap_or(Value::Null);
        let result =
            match tokio::time::timeout(PAGE_TIME_LIMIT, steps.call(Step::OcrPage, page)).await {
                Ok(r) => r,
                Err(_) => Err(CaughtError {
                    error: TIMEOUT.into(),
                    cause: format!(
                        "reading one page took longer than {} s",
                        PAGE_TIME_LIMIT.as_secs()
                    ),
                }),
            };
        if let Err(e) = &result
            && e.error == medidocs_pipeline::error::DEFERRED
        {
            // Not now: the page goes back to its queue and comes again after the queue's
            // visibility time-out; its task keeps waiting.
            failures.push(json!({ "itemIdentifier": id }));
            continue;
        }
        let answer = match &result {
            Ok(out) => answers.succeed(&message.task_token, out).await,
            Err(e) => answers.fail(&message.task_token, &e.error, &e.cause).await,
        };
        match answer {
            Ok(Answered::Delivered) => tracing::info!(
                document = %message.page.document_id,
                page = message.page.page,
                error = result.as_ref().err().map(|e| e.error.as_str()).unwrap_or(""),
                "page answered"
            ),
            Ok(Answered::Gone) => tracing::info!(
                document = %message.page.document_id,
                page = message.page.page,
                "the task no longer waits (timed out, stopped or answered)"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "the answer was not delivered: the message comes back");
                failures.push(json!({ "itemIdentifier": id }));
            }
        }
    }
    json!({ "batchItemFailures": failures })
}

/// The main of the OCR worker (the step functions' configuration, and `TEXTRACT_TPS`: the
/// region's DetectDocumentText quota).
pub async fn serve_ocr_worker() -> Result<(), lambda_runtime::Error> {
    crate::init_logging();
    let config = Config::from_env()?;
    let tps = match std::env::var("TEXTRACT_TPS") {
        Ok(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|t| *t > 0.0)
            .ok_or(ConfigError::Invalid {
                name: "TEXTRACT_TPS",
                why: format!("{v:?} is not a positive number of calls a second"),
            })?,
        Err(_) => return Err(ConfigError::Missing("TEXTRACT_TPS").into()),
    };
    let sdk = clients::from_env().await;
    let worker = Arc::new(OcrWorker::new(&config, &sdk, tps));
    let answers = Arc::new(TaskTokens::new(clients::sfn(&sdk)));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (worker, answers) = (worker.clone(), answers.clone());
        async move {
            Ok::<Value, Diagnostic>(
                handle_ocr_messages(
                    &worker.interactive,
                    &worker.bulk,
                    answers.as_ref(),
                    &event.payload,
                )
                .await,
            )
        }
    }))
    .await
}
