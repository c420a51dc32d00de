//! Runs one document through `statemachines/document-pipeline.asl.json` with the
//! in-process States Language engine: the control flow (order, branch by type and status,
//! fan-out per page, Retry and Catch) lives in that file, the same one Step Functions runs;
//! here the step handlers are registered under the names its `${…}` resources use.

use std::sync::Arc;

use async_trait::async_trait;
use medidocs_states::{BucketError, Buckets, Clock, Engine, Failure, handler};
use serde_json::Value;

use crate::error::{self, StepError};
use crate::step::Step;
use crate::steps::Steps;
use medidocs_core::inputs::{BulkInput, SourceInput};
use medidocs_core::keys;
use medidocs_core::model::DocumentRecord;
use medidocs_core::ports::{ObjectStore, PutMode, StoreError};

/// The pipeline's state machine, as deployed.
pub const PIPELINE_DEFINITION: &str =
    include_str!("../../../statemachines/document-pipeline.asl.json");

/// The Task resource that puts a page in the OCR queue and waits for a worker's answer
/// (Step Functions' callback pattern).
pub const OCR_QUEUE_RESOURCE: &str = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";
/// The `${OcrQueueUrl}` substitution, and the queue's name in the embedded runtime, where
/// the answer comes from the OCR step run in-process.
pub const OCR_QUEUE_URL: (&str, &str) = ("OcrQueueUrl", "local://medidocs-ocr");

/// How long an OCR worker gives one page before it answers `Medidocs.Timeout` (a call
/// that hangs): the queue task itself waits up to a day, for the queue's sake.
pub const OCR_STEP_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);

/// An OCR queue message: the page, the run, and the task token to answer with.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OcrMessage {
    pub task_token: String,
    #[serde(flatten)]
    pub page: crate::steps::PageInput,
}

impl OcrMessage {
    /// From the message body Step Functions sends (`Parameters.MessageBody`).
    pub fn from_task_input(v: &Value) -> Result<Self, Failure> {
        serde_json::from_value(v["MessageBody"].clone())
            .map_err(|e| Failure::new(error::INTERNAL, format!("bad OCR queue message: {e}")))
    }
}

/// The Lambda-style ARN a step is registered under in the embedded runtime.
pub fn local_arn(step: Step) -> String {
    format!("arn:aws:lambda:local:000000000000:function:medidocs-{step}")
}

/// What running one document did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub record: DocumentRecord,
    /// False when the document was already finished (a repeated run did no work).
    pub processed: bool,
    /// The execution's history (GetExecutionHistory events).
    pub history: Vec<Value>,
}

pub struct Runner {
    steps: Arc<Steps>,
    engine: Engine,
    definition: Value,
}

/// The pipeline's object store as the engine's buckets (Distributed Map `ItemReader` and
/// `ResultWriter`). The embedded store is one namespace whose key prefixes (`uploads/`,
/// `artefacts/`, …) stand for the buckets of a deployment, so every bucket name maps to it.
pub struct StoreBuckets(pub Arc<dyn ObjectStore>);

#[async_trait]
impl Buckets for StoreBuckets {
    async fn get_object(&self, _bucket: &str, key: &str) -> Result<Vec<u8>, BucketError> {
        self.0.get(key).await.map_err(BucketError::new)
    }
    async fn put_object(
        &self,
        _bucket: &str,
        key: &str,
        bytes: Vec<u8>,
    ) -> Result<(), BucketError> {
        self.0
            .put(key, bytes, PutMode::Overwrite)
            .await
            .map(|_| ())
            .map_err(BucketError::new)
    }
}

impl Runner {
    /// `clock`: real for runs, a manual one in tests (retries and waits then take no time).
    pub fn new(steps: Steps, clock: Arc<dyn Clock>) -> Self {
        let steps = Arc::new(steps);
        let mut engine =
            Engine::new(clock.clone()).with_buckets(Arc::new(StoreBuckets(steps.objects.clone())));
        for step in Step::ALL {
            engine.substitute(step.resource(), local_arn(step));
        }
        engine.substitute(OCR_QUEUE_URL.0, OCR_QUEUE_URL.1);
        {
            // One machine: the OCR queue's worker is the OCR step, run at once, within the
            // worker's time limit on the execution's clock.
            let (steps, clock) = (steps.clone(), clock.clone());
            engine.register(
                OCR_QUEUE_RESOURCE,
                handler(move |v: Value| {
                    let (steps, clock) = (steps.clone(), clock.clone());
                    async move {
                        let m = OcrMessage::from_task_input(&v)?;
                        let page = serde_json::to_value(&m.page)
                            .map_err(|e| Failure::new(error::INTERNAL, e.to_string()))?;
                        let deadline = clock.now() + OCR_STEP_TIME_LIMIT;
                        tokio::select! {
                            r = steps.call(Step::OcrPage, page) => r.map_err(|c| Failure::new(c.error, c.cause)),
                            _ = clock.expire_at(deadline) => Err(Failure::new(
                                error::TIMEOUT,
                                format!("reading one page took longer than {} s", OCR_STEP_TIME_LIMIT.as_secs()),
                            )),
                        }
                    }
                }),
            );
        }
        for step in Step::ALL {
            let steps = steps.clone();
            engine.register(
                local_arn(step),
                handler(move |v: Value| {
                    let steps = steps.clone();
                    async move {
                        steps
                            .call(step, v)
                            .await
                            .map_err(|c| Failure::new(c.error, c.cause))
                    }
                }),
            );
        }
        // The definition is compiled in; a broken one is reported by every run (and by tests).
        let definition = serde_json::from_str(PIPELINE_DEFINITION).unwrap_or(Value::Null);
        Self {
            steps,
            engine,
            definition,
        }
    }

    pub fn steps(&self) -> &Steps {
        &self.steps
    }

    /// Runs a document as its current attempt owns it (the first, or the one a retry or
    /// a take-over gave it): the execution is named [`keys::execution_name`].
    pub async fn run(&self, source: &SourceInput) -> Result<Outcome, StepError> {
        let id = source.document_id();
        let attempt = match self.steps.meta.get_document(&id).await {
            Ok(d) => d.attempt,
            Err(StoreError::NotFound { .. }) => 1,
            Err(e) => return Err(e.into()),
        };
        self.run_named(source, &keys::execution_name(&id, attempt))
            .await
    }

    /// Runs a FAILED document again, as the next attempt (an execution named
    /// [`keys::retry_execution_name`]); any other document is left as it is.
    pub async fn retry(&self, source: &SourceInput) -> Result<Outcome, StepError> {
        let id = source.document_id();
        let doc = self.steps.meta.get_document(&id).await?;
        self.run_named(source, &keys::retry_execution_name(&id, doc.attempt + 1))
            .await
    }

    /// Runs one execution named `name` (a Distributed Map's child names its own).
    pub async fn run_named(&self, source: &SourceInput, name: &str) -> Result<Outcome, StepError> {
        let input = serde_json::to_value(source)
            .map_err(|e| StepError::internal(e.to_string()).caused_by(e))?;
        let id = source.document_id();
        let ex = self.engine.execute(&self.definition, input, name).await;
        let processed = match &ex.output {
            Ok(v) => {
                v.pointer("/inspect/next").and_then(Value::as_str) != Some("done")
                    && v.get("superseded").is_none()
            }
            // The document was marked FAILED with its cause; the execution reports it.
            Err(f) if f.error == "Medidocs.DocumentFailed" => true,
            Err(f) => return Err(failure_to_step_error(f)),
        };
        let record = self.steps.meta.get_document(&id).await?;
        Ok(Outcome {
            record,
            processed,
            history: ex.history,
        })
    }
}

/// The bulk-import state machine, as deployed.
pub const BULK_DEFINITION: &str = include_str!("../../../statemachines/bulk-import.asl.json");

/// The pipeline's state machine ARN in the embedded runtime (`${DocumentPipelineArn}`).
pub const LOCAL_PIPELINE_ARN: &str =
    "arn:aws:states:local:000000000000:stateMachine:medidocs-document-pipeline";

/// Runs `statemachines/bulk-import.asl.json`: its Distributed Map reads the manifest from
/// the object store and starts the document pipeline (`states:startExecution.sync:2`) for
/// each row, here by running [`Runner::run`] in-process.
pub struct BulkRunner {
    engine: Engine,
    definition: Value,
}

impl BulkRunner {
    pub fn new(pipeline: Arc<Runner>, clock: Arc<dyn Clock>) -> Self {
        let mut engine =
            Engine::new(clock).with_buckets(Arc::new(StoreBuckets(pipeline.steps.objects.clone())));
        engine.substitute("DocumentPipelineArn", LOCAL_PIPELINE_ARN);
        engine.register(
            "arn:aws:states:::states:startExecution.sync:2",
            handler(move |v: Value| {
                let pipeline = pipeline.clone();
                async move {
                    if v["StateMachineArn"] != LOCAL_PIPELINE_ARN {
                        return Err(Failure::new(
                            "StepFunctions.StateMachineDoesNotExistException",
                            "only the document pipeline runs here",
                        ));
                    }
                    let source: SourceInput = serde_json::from_value(v["Input"].clone())
                        .map_err(|e| Failure::new("States.Runtime", e.to_string()))?;
                    let name = v["Name"].as_str().unwrap_or_default().to_string();
                    let name = if name.is_empty() {
                        source.document_id()
                    } else {
                        name
                    };
                    let out = pipeline
                        .run_named(&source, &name)
                        .await
                        .map_err(|e| Failure::new(e.name(), e.to_string()))?;
                    // As DescribeExecution answers: the status, and the output as JSON text.
                    Ok(serde_json::json!({
                        "ExecutionArn": format!("{LOCAL_PIPELINE_ARN}:{}", out.record.id),
                        "Status": "SUCCEEDED",
                        "Output": serde_json::json!({
                            "document_id": out.record.id,
                            "status": out.record.status,
                            "processed": out.processed,
                        }).to_string(),
                    }))
                }
            }),
        );
        let definition = serde_json::from_str(BULK_DEFINITION).unwrap_or(Value::Null);
        Self { engine, definition }
    }

    /// Runs one bulk import; the result is the Map's `{MapRunArn, ResultWriterDetails}`.
    pub async fn run(&self, input: &BulkInput, name: &str) -> Result<Value, StepError> {
        let input = serde_json::to_value(input)
            .map_err(|e| StepError::internal(e.to_string()).caused_by(e))?;
        self.engine
            .execute(&self.definition, input, name)
            .await
            .output
            .map_err(|f| failure_to_step_error(&f))
    }
}

fn failure_to_step_error(f: &Failure) -> StepError {
    match f.error.as_str() {
        error::NOT_FOUND => StepError::not_found(f.cause.clone()),
        error::THROTTLED => StepError::throttled(f.cause.clone()),
        error::TRANSIENT => StepError::transient(f.cause.clone()),
        _ => StepError::internal(format!("{}: {}", f.error, f.cause)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipeline_definition_is_valid_and_every_resource_is_substituted() {
        let def =
            medidocs_states::validate_text(PIPELINE_DEFINITION).unwrap_or_else(|e| panic!("{e:?}"));
        let text = def.to_string();
        let mut names = Vec::new();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("${") {
            let end = rest[i..].find('}').unwrap();
            names.push(rest[i + 2..i + end].to_string());
            rest = &rest[i + end..];
        }
        assert!(!names.is_empty());
        for n in names {
            assert!(
                Step::ALL.iter().any(|s| s.resource() == n) || n == OCR_QUEUE_URL.0,
                "${{{n}}} has no handler"
            );
        }
    }
}
