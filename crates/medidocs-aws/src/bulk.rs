//! The AWS side of `medidocs import --target s3://…`: originals go to the upload bucket
//! under `bulk/` (which the upload starter does not watch), the staff's labels next to
//! them, the manifest under `bulk-manifests/`, and one execution of the BulkImport state
//! machine (`statemachines/bulk-import.asl.json`) runs the pipeline for every row, paced
//! by its Distributed Map.

use std::path::Path;

use medidocs_core::inputs::BulkInput;
use medidocs_core::keys;
use medidocs_core::model::Labels;
use medidocs_core::ports::{ObjectStore, PutMode, StoreError};

use crate::clients;
use crate::error::store_error;
use crate::s3::{Placed, S3ObjectStore};

pub struct BulkTarget {
    pub uploads: S3ObjectStore,
    sfn: aws_sdk_sfn::Client,
    bulk_import_arn: String,
}

impl BulkTarget {
    pub fn new(uploads: S3ObjectStore, sfn: aws_sdk_sfn::Client, bulk_import_arn: &str) -> Self {
        Self {
            uploads,
            sfn,
            bulk_import_arn: bulk_import_arn.to_string(),
        }
    }

    /// Clients from the environment: the usual AWS credentials, profile and region. With
    /// `AWS_ENDPOINT_URL` set (an AWS-compatible server), S3 is addressed path-style.
    pub async fn from_env(bucket: &str, kms_key_id: Option<String>, bulk_import_arn: &str) -> Self {
        let config = clients::from_env().await;
        Self::new(
            S3ObjectStore::new(clients::s3_from_env(&config), bucket, kms_key_id),
            clients::sfn(&config),
            bulk_import_arn,
        )
    }

    pub fn bucket(&self) -> &str {
        self.uploads.bucket()
    }

    /// Checks, before anything is uploaded, that the bucket and the state machine are
    /// there and reachable with these credentials.
    pub async fn check(&self) -> Result<(), StoreError> {
        self.uploads.list(keys::BULK_MANIFESTS).await?;
        self.sfn
            .describe_state_machine()
            .state_machine_arn(&self.bulk_import_arn)
            .send()
            .await
            .map_err(|e| store_error("the bulk import state machine", e))?;
        Ok(())
    }

    /// Uploads one original (resuming: see [`S3ObjectStore::put_file`]) and its labels.
    pub async fn place(
        &self,
        key: &str,
        path: &Path,
        size: u64,
        sha256: &str,
        labels: &Labels,
    ) -> Result<Placed, StoreError> {
        if let (false, Some(labels_key)) = (labels.is_empty(), keys::labels_key(key)) {
            // Before the original: the pipeline may only see an original whose labels
            // are in place.
            let json =
                serde_json::to_vec(labels).map_err(|e| StoreError::unavailable("labels", e))?;
            // Written once: a rerun neither rewrites them nor adds a version.
            match self.uploads.put(&labels_key, json, PutMode::Create).await {
                Ok(_) | Err(StoreError::AlreadyExists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        self.uploads.put_file_once(key, path, size, sha256).await
    }

    /// Uploads the manifest (a local CSV file, streamed) to `key`.
    pub async fn put_manifest(&self, key: &str, path: &Path) -> Result<(), StoreError> {
        let bytes = std::fs::metadata(path)
            .map_err(|e| StoreError::unavailable("the manifest", e))?
            .len();
        let (sha, _) = std::fs::File::open(path)
            .and_then(keys::sha256_reader)
            .map_err(|e| StoreError::unavailable("the manifest", e))?;
        self.uploads
            .put_file_once(key, path, bytes, &sha)
            .await
            .map(|_| ())
    }

    /// Starts the bulk import; returns the execution's ARN.
    pub async fn start(&self, name: &str, input: &BulkInput) -> Result<String, StoreError> {
        let input =
            serde_json::to_string(input).map_err(|e| StoreError::unavailable("input", e))?;
        let out = self
            .sfn
            .start_execution()
            .state_machine_arn(&self.bulk_import_arn)
            .name(name)
            .input(input)
            .send()
            .await
            .map_err(|e| store_error(format!("bulk import {name}"), e))?;
        Ok(out.execution_arn().to_string())
    }
}
