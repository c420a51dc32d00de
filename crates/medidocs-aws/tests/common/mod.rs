//! Shared by the AWS adapters' test files: names, the moto bucket helper, the corpus.

#![allow(dead_code)] // each test file uses its own subset

use std::path::PathBuf;

use medidocs_aws::clients;
use serde_json::Value;

pub const REGION: &str = "eu-west-1";
pub const KMS_KEY: &str =
    "arn:aws:kms:eu-west-1:123456789012:key/0d7e4d6a-8f0c-4c39-9d5d-2f1a0c9e7b11";

/// A name no other test (or earlier run on a shared server) has used.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// A new bucket named after `prefix` on the server at `endpoint`.
pub async fn bucket(endpoint: &str, prefix: &str) -> (aws_sdk_s3::Client, String) {
    new_bucket(endpoint, prefix, false).await
}

/// A new bucket created with S3 Object Lock enabled (as the template's buckets are).
pub async fn locked_bucket(endpoint: &str, prefix: &str) -> (aws_sdk_s3::Client, String) {
    new_bucket(endpoint, prefix, true).await
}

async fn new_bucket(
    endpoint: &str,
    prefix: &str,
    object_lock: bool,
) -> (aws_sdk_s3::Client, String) {
    let config = clients::compatible_server(endpoint, REGION).await;
    let s3 = clients::s3(&config, true);
    let name = unique(prefix);
    s3.create_bucket()
        .bucket(&name)
        .object_lock_enabled_for_bucket(object_lock)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("create bucket");
    (s3, name)
}

/// A real Textract response from tests/corpus/textract.
pub fn textract_corpus(name: &str) -> Value {
    let dir = std::env::var_os("MEDIDOCS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR")
                    .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../tests/corpus")
        });
    serde_json::from_str(&std::fs::read_to_string(dir.join("textract").join(name)).unwrap())
        .unwrap()
}
