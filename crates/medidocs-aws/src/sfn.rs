//! Step Functions: starting the document pipeline, and answering its OCR tasks.
//!
//! S3 and EventBridge deliver events at least once, so an upload's execution is named
//! after its document: its first run is the document id, derived from (bucket, key,
//! versionId); a later run is named for its attempt ([`keys::execution_name`],
//! [`keys::retry_execution_name`]). A repeated start asks for the same name, and Step
//! Functions' `ExecutionAlreadyExists` means the run is on its way (or was made), which is
//! success. Step Functions keeps a name for 90 days whatever the outcome, which is why a
//! new run of a document always carries a new attempt.

use async_trait::async_trait;
use aws_sdk_sfn::Client;
use medidocs_core::inputs::SourceInput;
use medidocs_core::keys;
use medidocs_core::ports::{Orchestrator, StoreError};
use serde_json::Value;

use crate::error::store_error;

#[derive(Clone)]
pub struct ExecutionStarter {
    client: Client,
    state_machine_arn: String,
}

/// What starting did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// A new execution, or the running one of this name (Step Functions answers an
    /// identical StartExecution with it).
    New { execution_arn: String },
    /// An execution of this name exists: a repeated event.
    AlreadyStarted,
}

impl ExecutionStarter {
    pub fn new(client: Client, state_machine_arn: impl Into<String>) -> Self {
        Self {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }

    /// The first run of an uploaded object: named by its document id.
    pub fn execution_name(source: &SourceInput) -> String {
        keys::execution_name(&source.document_id(), 1)
    }

    /// Starts the first run of an uploaded object.
    pub async fn start(&self, source: &SourceInput) -> Result<Started, StoreError> {
        self.start_named(source, &Self::execution_name(source))
            .await
    }

    /// Starts the execution `name` on `source`.
    pub async fn start_named(
        &self,
        source: &SourceInput,
        name: &str,
    ) -> Result<Started, StoreError> {
        let input = serde_json::to_string(source)
            .map_err(|e| StoreError::unavailable("execution input", e))?;
        let result = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Started::New {
                execution_arn: out.execution_arn().to_string(),
            }),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_execution_already_exists()) =>
            {
                Ok(Started::AlreadyStarted)
            }
            Err(e) => Err(store_error(format!("execution {name}"), e)),
        }
    }
}

#[async_trait]
impl Orchestrator for ExecutionStarter {
    async fn start(&self, source: &SourceInput, name: &str) -> Result<(), StoreError> {
        self.start_named(source, name).await.map(|_| ())
    }
}

/// What answering a task did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    Delivered,
    /// The task is gone (timed out, its execution stopped, or answered already): there is
    /// nobody to tell, and the message is done with.
    Gone,
}

/// Answers callback tasks (`.waitForTaskToken`) with SendTaskSuccess and SendTaskFailure.
#[derive(Clone)]
pub struct TaskTokens {
    client: Client,
}

/// The error codes of a token whose task is no longer waiting.
const GONE: &[&str] = &["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"];

impl TaskTokens {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub async fn succeed(&self, token: &str, output: &Value) -> Result<Answered, StoreError> {
        let r = self
            .client
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await;
        answered(r.map(|_| ()))
    }

    /// `error` is the name Retry and Catch match (`Medidocs.Throttled`, …), at most 256
    /// characters; `cause` at most 32,768.
    pub async fn fail(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<Answered, StoreError> {
        let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
        let r = self
            .client
            .send_task_failure()
            .task_token(token)
            .error(cut(error, 256))
            .cause(cut(cause, 32_768))
            .send()
            .await;
        answered(r.map(|_| ()))
    }
}

fn answered<E>(
    r: Result<(), aws_sdk_sfn::error::SdkError<E, aws_sdk_sfn::config::http::HttpResponse>>,
) -> Result<Answered, StoreError>
where
    E: aws_sdk_sfn::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match r {
        Ok(()) => Ok(Answered::Delivered),
        Err(e) => {
            let code = e
                .as_service_error()
                .and_then(|s| s.code())
                .unwrap_or_default();
            if GONE.contains(&code) {
                Ok(Answered::Gone)
            } else {
                Err(store_error("a task answer", e))
            }
        }
    }
}
