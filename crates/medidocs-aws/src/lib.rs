//! AWS adapters of the pipeline's ports: S3 ([`S3ObjectStore`]), DynamoDB
//! ([`DynamoMetadataStore`]), Textract ([`TextractOcr`]), the Step Functions starter
//! ([`ExecutionStarter`]), and Cognito user pools for the identity sync
//! ([`cognito::CognitoDirectory`]). Each converts the SDK's errors into the port's error type
//! (throttling into `Throttled`, conditional-check failures into `AlreadyExists` or
//! `Precondition`), keeping the original as the source. Clients are built once by the
//! caller ([`clients`]) and passed in.

pub mod bulk;
pub mod clients;
pub mod cognito;
pub mod dynamodb;
mod error;
pub mod events;
pub mod pacer;
pub mod s3;
pub mod sfn;
pub mod textract;

pub use bulk::BulkTarget;
pub use dynamodb::DynamoMetadataStore;
pub use pacer::DynamoPacer;
pub use s3::{Keeping, Original, PipelineBuckets, Placed, Presigned, S3ObjectStore};
pub use sfn::{Answered, ExecutionStarter, Started, TaskTokens};
pub use textract::{JobState, TextractOcr};
