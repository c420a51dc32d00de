//! SDK clients, built once per process (in a Lambda's `main`, or a test).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;

/// Configuration from the environment (region, credentials: the Lambda role in AWS).
pub async fn from_env() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Configuration for an AWS-compatible server (moto in the tests) at `endpoint`, with
/// throw-away credentials.
pub async fn compatible_server(endpoint: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await
}

/// An S3 client. Path-style addressing is for servers without virtual-host buckets
/// (moto on 127.0.0.1); AWS itself uses virtual-hosted style.
pub fn s3(config: &SdkConfig, path_style: bool) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build(),
    )
}

/// An S3 client for the environment's endpoint: path-style when `AWS_ENDPOINT_URL` (or
/// `AWS_ENDPOINT_URL_S3`) names an AWS-compatible server.
pub fn s3_from_env(config: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = std::env::var_os("AWS_ENDPOINT_URL").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    s3(config, path_style)
}

pub fn dynamodb(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

pub fn textract(config: &SdkConfig) -> aws_sdk_textract::Client {
    aws_sdk_textract::Client::new(config)
}

/// A Textract client that does not retry on its own: behind the OCR pacer, a refused call
/// is tried again in a slot of its own, never in a burst of the SDK's retries.
pub fn textract_unretried(config: &SdkConfig) -> aws_sdk_textract::Client {
    aws_sdk_textract::Client::from_conf(
        aws_sdk_textract::config::Builder::from(config)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
            .build(),
    )
}

pub fn sfn(config: &SdkConfig) -> aws_sdk_sfn::Client {
    aws_sdk_sfn::Client::new(config)
}

pub fn cognito(config: &SdkConfig) -> aws_sdk_cognitoidentityprovider::Client {
    aws_sdk_cognitoidentityprovider::Client::new(config)
}
