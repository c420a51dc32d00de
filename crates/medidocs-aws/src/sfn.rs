//! Starts the document pipeline's execution for an uploaded object. S3 and EventBridge
//! deliver events at least once, so the execution's name is the document id, derived from
//! (bucket, key, versionId): a repeated event asks for the same name, and Step Functions'
//! `ExecutionAlreadyExists` means the document is already on its way, which is success.

use aws_sdk_sfn::Client;
use medidocs_core::ports::StoreError;
use medidocs_core::steps::SourceInput;

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

    /// The execution name of a source object: its document id (24 hex characters).
    pub fn execution_name(source: &SourceInput) -> String {
        source.document_id()
    }

    pub async fn start(&self, source: &SourceInput) -> Result<Started, StoreError> {
        let name = Self::execution_name(source);
        let input = serde_json::to_string(source)
            .map_err(|e| StoreError::unavailable("execution input", e))?;
        let result = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(&name)
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
