//! Step errors and their stable names, shared by the in-process runner, Lambda handlers and
//! the state machines' Retry/Catch rules.

use serde::{Deserialize, Serialize};

use medidocs_core::ports::{OcrError, StoreError};
use medidocs_media::MediaError;

pub const INVALID_DOCUMENT: &str = "Medidocs.InvalidDocument";
pub const THROTTLED: &str = "Medidocs.Throttled";
pub const TRANSIENT: &str = "Medidocs.Transient";
pub const NOT_FOUND: &str = "Medidocs.NotFound";
pub const INTERNAL: &str = "Medidocs.Internal";
pub const SUPERSEDED: &str = "Medidocs.Superseded";
/// A step that took longer than its time limit (an OCR call that hangs): not retried.
pub const TIMEOUT: &str = "Medidocs.Timeout";
/// A bulk page that found no OCR slot soon enough: its worker gives it back to the queue.
pub const DEFERRED: &str = "Medidocs.Deferred";

/// Why a step did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    /// The input can never succeed (type, size, corrupt): the document is REJECTED.
    #[error("{message}")]
    InvalidDocument { code: String, message: String },
    /// A quota said slow down: retried with backoff and jitter.
    #[error("throttled: {0}")]
    Throttled(String),
    /// Network, 5xx, time-out of a dependency: retried a few times, then FAILED.
    #[error("temporarily unavailable: {0}")]
    Transient(String),
    /// An object or item is missing: FAILED.
    #[error("not found: {0}")]
    NotFound(String),
    /// A fault of ours (a broken invariant): FAILED.
    #[error("internal error: {0}")]
    Internal(String),
    /// A newer run of the pipeline (a retry, or a reconcile in the surviving region) owns
    /// the document: this run stops and changes nothing (the state machine ends it as a
    /// success with nothing done).
    #[error("superseded: {0}")]
    Superseded(String),
    /// Not now: an OCR worker gives the page back to its queue (never an outcome).
    #[error("deferred: {0}")]
    Deferred(String),
}

/// The `{Error, Cause}` pair Step Functions passes to a Catch handler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

#[derive(Serialize, Deserialize)]
struct Cause {
    code: String,
    message: String,
}

impl StepError {
    /// The stable error name (Lambda `errorType`, ASL `ErrorEquals`).
    pub fn name(&self) -> &'static str {
        match self {
            StepError::InvalidDocument { .. } => INVALID_DOCUMENT,
            StepError::Throttled(_) => THROTTLED,
            StepError::Transient(_) => TRANSIENT,
            StepError::NotFound(_) => NOT_FOUND,
            StepError::Internal(_) => INTERNAL,
            StepError::Superseded(_) => SUPERSEDED,
            StepError::Deferred(_) => DEFERRED,
        }
    }

    /// The reason code recorded on the document.
    pub fn code(&self) -> &str {
        match self {
            StepError::InvalidDocument { code, .. } => code,
            StepError::Throttled(_) => "throttled",
            StepError::Transient(_) => "dependency_unavailable",
            StepError::NotFound(_) => "missing_object",
            StepError::Internal(_) => "internal_error",
            StepError::Superseded(_) => "superseded",
            StepError::Deferred(_) => "deferred",
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, StepError::Throttled(_) | StepError::Transient(_))
    }

    /// `Cause`: a small JSON object `{code, message}` the Catch handler can parse.
    pub fn to_caught(&self) -> CaughtError {
        let message = match self {
            StepError::InvalidDocument { message, .. } => message.clone(),
            other => other.to_string(),
        };
        CaughtError {
            error: self.name().to_string(),
            cause: serde_json::to_string(&Cause {
                code: self.code().to_string(),
                message,
            })
            .unwrap_or_default(),
        }
    }
}

impl CaughtError {
    /// The reason to record: from a `{code, message}` cause if there is one, otherwise from
    /// the error name (engine errors such as `States.Timeout` carry free text).
    pub fn reason(&self) -> (String, String) {
        if let Ok(c) = serde_json::from_str::<Cause>(&self.cause) {
            return (c.code, c.message);
        }
        let code = match self.error.as_str() {
            INVALID_DOCUMENT => "invalid_document",
            THROTTLED | "Lambda.TooManyRequestsException" => "throttled",
            TRANSIENT => "dependency_unavailable",
            NOT_FOUND => "missing_object",
            "States.Timeout" | "States.HeartbeatTimeout" | TIMEOUT => "timeout",
            // Lambda's own failures to run a function, after the definition's retries.
            e if e.starts_with("Lambda.") => "dependency_unavailable",
            _ => "internal_error",
        };
        let message = if self.cause.is_empty() {
            self.error.clone()
        } else {
            format!("{}: {}", self.error, self.cause)
        };
        (code.to_string(), message)
    }
}

impl From<MediaError> for StepError {
    fn from(e: MediaError) -> Self {
        StepError::InvalidDocument {
            code: e.code().to_string(),
            message: e.to_string(),
        }
    }
}

/// An original whose bytes are not those its upload was created for: REJECTED (kept in
/// quarantine), never processed as the patient's document.
pub fn checksum_mismatch() -> StepError {
    StepError::InvalidDocument {
        code: "checksum_mismatch".into(),
        message:
            "the bytes stored are not those the upload was created for (their SHA-256 differs)"
                .into(),
    }
}

impl From<StoreError> for StepError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what } => StepError::NotFound(what),
            StoreError::Throttled { source } => StepError::Throttled(source.to_string()),
            StoreError::Unavailable { what, source } => {
                StepError::Transient(format!("{what}: {source}"))
            }
            // Someone wrote in between: a retry re-reads and decides again.
            StoreError::Precondition { what } => {
                StepError::Transient(format!("concurrent update: {what}"))
            }
            // Once may be a fault on the way; the step that reads an original reads it
            // again before it calls the bytes not the upload's (`checksum_mismatch`).
            StoreError::ChecksumMismatch { what } => {
                StepError::Transient(format!("checksum mismatch reading {what}"))
            }
            other => StepError::Internal(other.to_string()),
        }
    }
}

impl From<OcrError> for StepError {
    fn from(e: OcrError) -> Self {
        match e {
            OcrError::Throttled { source } => StepError::Throttled(source.to_string()),
            OcrError::Unavailable { what, .. } => StepError::Transient(what),
            e @ OcrError::Deferred { .. } => StepError::Deferred(e.to_string()),
            other => StepError::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(text: &str) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::ConnectionReset, text)
    }

    /// Name, code, retry and message of every error a store or an OCR engine turns into:
    /// the Catch rules and the recorded reasons read them.
    #[test]
    fn port_errors_keep_their_names_codes_and_messages() {
        let cases: Vec<(StepError, &str, &str, bool, &str)> = vec![
            (
                StoreError::not_found("DOC#d1").into(),
                NOT_FOUND,
                "missing_object",
                false,
                "not found: DOC#d1",
            ),
            (
                StoreError::Throttled {
                    source: io("slow down").into(),
                }
                .into(),
                THROTTLED,
                "throttled",
                true,
                "throttled: slow down",
            ),
            (
                StoreError::unavailable("objects", io("reset")).into(),
                TRANSIENT,
                "dependency_unavailable",
                true,
                "temporarily unavailable: objects: reset",
            ),
            (
                StoreError::Precondition {
                    what: "DOC#d1".into(),
                }
                .into(),
                TRANSIENT,
                "dependency_unavailable",
                true,
                "temporarily unavailable: concurrent update: DOC#d1",
            ),
            (
                StoreError::ChecksumMismatch {
                    what: "uploads/p/0a/original".into(),
                }
                .into(),
                TRANSIENT,
                "dependency_unavailable",
                true,
                "temporarily unavailable: checksum mismatch reading uploads/p/0a/original",
            ),
            (
                StoreError::AlreadyExists {
                    what: "DOC#d1".into(),
                }
                .into(),
                INTERNAL,
                "internal_error",
                false,
                "internal error: already exists: DOC#d1",
            ),
            (
                OcrError::Throttled {
                    source: io("rate exceeded").into(),
                }
                .into(),
                THROTTLED,
                "throttled",
                true,
                "throttled: rate exceeded",
            ),
            (
                OcrError::Unavailable {
                    what: "textract".into(),
                    source: Some(io("reset").into()),
                }
                .into(),
                TRANSIENT,
                "dependency_unavailable",
                true,
                "temporarily unavailable: textract",
            ),
            (
                OcrError::Deferred { seconds: 5 }.into(),
                DEFERRED,
                "deferred",
                false,
                "deferred: deferred: no OCR slot within 5 s",
            ),
            (
                OcrError::InvalidInput {
                    what: "empty".into(),
                }
                .into(),
                INTERNAL,
                "internal_error",
                false,
                "internal error: the OCR engine cannot read this image: empty",
            ),
        ];
        for (e, name, code, retryable, message) in cases {
            assert_eq!(e.name(), name, "{message}");
            assert_eq!(e.code(), code, "{message}");
            assert_eq!(e.is_retryable(), retryable, "{message}");
            assert_eq!(e.to_string(), message);
            let caught = e.to_caught();
            assert_eq!(caught.error, name);
            assert_eq!(
                caught.cause,
                serde_json::json!({ "code": code, "message": message }).to_string()
            );
        }
    }

    #[test]
    fn caught_errors_round_trip_their_reason() {
        let e: StepError = MediaError::TooManyPages {
            pages: 900,
            limit: 500,
        }
        .into();
        assert_eq!(e.name(), "Medidocs.InvalidDocument");
        let caught = e.to_caught();
        let (code, message) = caught.reason();
        assert_eq!(code, "too_many_pages");
        assert!(message.contains("900"), "{message}");
    }

    #[test]
    fn engine_errors_get_a_code_from_their_name() {
        let c = CaughtError {
            error: "States.Timeout".into(),
            cause: "Task timed out".into(),
        };
        assert_eq!(c.reason().0, "timeout");
        let c = CaughtError {
            error: "Medidocs.Throttled".into(),
            cause: String::new(),
        };
        assert_eq!(
            c.reason(),
            ("throttled".into(), "Medidocs.Throttled".into())
        );
        let lambda = |e: &str| CaughtError {
            error: e.into(),
            cause: "Rate Exceeded.".into(),
        };
        assert_eq!(
            lambda("Lambda.TooManyRequestsException").reason().0,
            "throttled"
        );
        assert_eq!(
            lambda("Lambda.ServiceException").reason().0,
            "dependency_unavailable"
        );
    }
}
