//! What an AWS error means for the ports, read from the service's error code and the HTTP
//! status.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use medidocs_core::ports::StoreError;

/// How a failed call is to be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    NotFound,
    /// A conditional write's condition did not hold.
    Condition,
    Throttled,
    /// The bytes received are not those of the checksum sent with them.
    Checksum,
    Other,
}

/// Error codes AWS services use when a caller is going too fast.
const THROTTLING: &[&str] = &[
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "RequestThrottledException",
    "LimitExceededException",
];

pub(crate) fn kind<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> Kind {
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = match e {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    };
    match (code, status) {
        (Some(c), _) if THROTTLING.contains(&c) => Kind::Throttled,
        (_, Some(429 | 503)) => Kind::Throttled,
        // Not ResourceNotFoundException: DynamoDB's word for a missing table is an outage
        // of the store, not a missing document.
        (Some("NoSuchKey" | "NoSuchVersion" | "NotFound" | "NoSuchBucket"), _) => Kind::NotFound,
        (_, Some(404)) => Kind::NotFound,
        (
            Some(
                "PreconditionFailed"
                | "ConditionalRequestConflict"
                | "ConditionalCheckFailedException"
                | "TransactionConflictException",
            ),
            _,
        ) => Kind::Condition,
        (_, Some(412)) => Kind::Condition,
        // The bytes S3 received are not those whose checksum came with them: a file that
        // changed while it was sent.
        (Some("BadDigest" | "InvalidDigest" | "XAmzContentSHA256Mismatch"), _) => Kind::Checksum,
        _ => Kind::Other,
    }
}

/// The error for a call about `what` (an object key or an item id: never patient data).
pub(crate) fn store_error<E>(what: impl Into<String>, e: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let what = what.into();
    match kind(&e) {
        Kind::NotFound => StoreError::not_found(what),
        Kind::Condition => StoreError::Precondition { what },
        Kind::Throttled => StoreError::Throttled {
            source: Box::new(e),
        },
        Kind::Checksum => StoreError::ChecksumMismatch {
            what: format!(
                "{what}: the bytes sent changed while they were sent (a file written to \
                 during the upload); send it again once nothing is writing to it"
            ),
        },
        Kind::Other => {
            let detail = describe(&e);
            StoreError::unavailable(format!("{what}: {detail}"), e)
        }
    }
}

/// A short description: the service's code and message, or the transport failure.
pub(crate) fn describe<E: ProvideErrorMetadata + std::error::Error>(
    e: &SdkError<E, HttpResponse>,
) -> String {
    match e {
        SdkError::ServiceError(s) => format!(
            "{} ({})",
            s.err().code().unwrap_or("error"),
            s.err().message().unwrap_or("no message")
        ),
        SdkError::DispatchFailure(_) => "the service could not be reached".into(),
        SdkError::TimeoutError(_) => "the request timed out".into(),
        other => other.to_string(),
    }
}
