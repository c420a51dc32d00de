//! Runs one document through `statemachines/document-pipeline.asl.json` with the
//! in-process States Language engine: the control flow (order, branch by type and status,
//! fan-out per page, Retry and Catch) lives in that file, the same one Step Functions runs;
//! here the step handlers are registered under the names its `${…}` resources use.

use std::sync::Arc;

use async_trait::async_trait;
use medidocs_states::{Buckets, Clock, Engine, Failure, handler};
use serde_json::Value;

use crate::error::{self, StepError};
use crate::model::DocumentRecord;
use crate::ports::{ObjectStore, PutMode};
use crate::steps::{STEP_NAMES, SourceInput, Steps};

/// The pipeline's state machine, as deployed.
pub const PIPELINE_DEFINITION: &str =
    include_str!("../../../statemachines/document-pipeline.asl.json");

/// DefinitionSubstitutions of the embedded runtime: each `${Name}` resource of the
/// definition and the step handler behind it.
pub const SUBSTITUTIONS: &[(&str, &str)] = &[
    ("InspectFunction", "inspect"),
    ("LinkDuplicateFunction", "link-duplicate"),
    ("PlanFunction", "plan"),
    ("RenderPageFunction", "render-page"),
    ("OcrPageFunction", "ocr-page"),
    ("FinalizeFunction", "finalize"),
    ("RejectFunction", "reject"),
    ("FailFunction", "fail"),
];

/// The Lambda-style ARN a step is registered under in the embedded runtime.
pub fn local_arn(step: &str) -> String {
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
    async fn get_object(&self, _bucket: &str, key: &str) -> Result<Vec<u8>, String> {
        self.0.get(key).await.map_err(|e| e.to_string())
    }
    async fn put_object(&self, _bucket: &str, key: &str, bytes: Vec<u8>) -> Result<(), String> {
        self.0
            .put(key, bytes, PutMode::Overwrite)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

impl Runner {
    /// `clock`: real for runs, a manual one in tests (retries and waits then take no time).
    pub fn new(steps: Steps, clock: Arc<dyn Clock>) -> Self {
        let steps = Arc::new(steps);
        let mut engine =
            Engine::new(clock).with_buckets(Arc::new(StoreBuckets(steps.objects.clone())));
        for (name, step_name) in SUBSTITUTIONS {
            engine.substitute(*name, local_arn(step_name));
        }
        for name in STEP_NAMES {
            let steps = steps.clone();
            engine.register(
                local_arn(name),
                handler(move |v: Value| {
                    let steps = steps.clone();
                    async move {
                        steps
                            .call(name, v)
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

    pub async fn run(&self, source: &SourceInput) -> Result<Outcome, StepError> {
        let started = std::time::Instant::now();
        let input = serde_json::to_value(source).map_err(|e| StepError::Internal(e.to_string()))?;
        let id = source.document_id();
        let ex = self.engine.execute(&self.definition, input, &id).await;
        let processed = match &ex.output {
            Ok(v) => v.pointer("/inspect/next").and_then(Value::as_str) != Some("done"),
            // The document was marked FAILED with its cause; the execution reports it.
            Err(f) if f.error == "Medidocs.DocumentFailed" => true,
            Err(f) => return Err(failure_to_step_error(f)),
        };
        let mut record = self.steps.meta.get_document(&id).await?;
        if processed && !record.timings.contains_key("total") {
            record
                .timings
                .insert("total".into(), started.elapsed().as_millis() as u64);
            record.version += 1;
            // Timing is informative: losing this write to a concurrent run is harmless.
            if self.steps.meta.update_document(&record).await.is_err() {
                record = self.steps.meta.get_document(&id).await?;
            }
        }
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

/// Where a bulk import's manifest is and how fast to go.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BulkInput {
    pub manifest_bucket: String,
    /// A CSV object with the columns `document_id`, `key`, `version`.
    pub manifest_key: String,
    pub upload_bucket: String,
    pub max_concurrency: u32,
    /// Where the per-document results go (`{prefix}/{run}/SUCCEEDED_0.json`, …).
    pub results_prefix: String,
}

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
                    let out = pipeline
                        .run(&source)
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
        let input = serde_json::to_value(input).map_err(|e| StepError::Internal(e.to_string()))?;
        self.engine
            .execute(&self.definition, input, name)
            .await
            .output
            .map_err(|f| failure_to_step_error(&f))
    }
}

fn failure_to_step_error(f: &Failure) -> StepError {
    match f.error.as_str() {
        error::NOT_FOUND => StepError::NotFound(f.cause.clone()),
        error::THROTTLED => StepError::Throttled(f.cause.clone()),
        error::TRANSIENT => StepError::Transient(f.cause.clone()),
        _ => StepError::Internal(format!("{}: {}", f.error, f.cause)),
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
                SUBSTITUTIONS.iter().any(|(s, _)| *s == n),
                "${{{n}}} has no handler"
            );
        }
    }
}
