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

/// What caused a step error: another error, kept as the step error's
/// [`std::error::Error::source`].
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a step did not complete. Its message (and so the `Cause` a Catch handler reads) is
/// the same whether or not it keeps what caused it; the cause is for diagnosis in the
/// process that met it, never recorded on the document.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    /// The input can never succeed (type, size, corrupt): the document is REJECTED.
    #[error("{message}")]
    InvalidDocument {
        code: String,
        message: String,
        #[source]
        source: Option<Source>,
    },
    /// A quota said slow down: retried with backoff and jitter.
    #[error("throttled: {what}")]
    Throttled {
        what: String,
        #[source]
        source: Option<Source>,
    },
    /// Network, 5xx, time-out of a dependency: retried a few times, then FAILED.
    #[error("temporarily unavailable: {what}")]
    Transient {
        what: String,
        #[source]
        source: Option<Source>,
    },
    /// An object or item is missing: FAILED.
    #[error("not found: {what}")]
    NotFound {
        what: String,
        #[source]
        source: Option<Source>,
    },
    /// A fault of ours (a broken invariant): FAILED.
    #[error("internal error: {what}")]
    Internal {
        what: String,
        #[source]
        source: Option<Source>,
    },
    /// A newer run of the pipeline (a retry, or a reconcile in the surviving region) owns
    /// the document: this run stops and changes nothing (the state machine ends it as a
    /// success with nothing done).
    #[error("superseded: {0}")]
    Superseded(String),
    /// Not now: an OCR worker gives the page back to its queue (never an outcome).
    #[error("deferred: {what}")]
    Deferred {
        what: String,
        #[source]
        source: Option<Source>,
    },
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
    /// [`StepError::InvalidDocument`]: REJECTED with `code` and `message`.
    pub fn invalid(code: impl Into<String>, message: impl Into<String>) -> Self {
        StepError::InvalidDocument {
            code: code.into(),
            message: message.into(),
            source: None,
        }
    }

    /// [`StepError::Throttled`].
    pub fn throttled(what: impl Into<String>) -> Self {
        StepError::Throttled {
            what: what.into(),
            source: None,
        }
    }

    /// [`StepError::Transient`].
    pub fn transient(what: impl Into<String>) -> Self {
        StepError::Transient {
            what: what.into(),
            source: None,
        }
    }

    /// [`StepError::NotFound`].
    pub fn not_found(what: impl Into<String>) -> Self {
        StepError::NotFound {
            what: what.into(),
            source: None,
        }
    }

    /// [`StepError::Internal`].
    pub fn internal(what: impl Into<String>) -> Self {
        StepError::Internal {
            what: what.into(),
            source: None,
        }
    }

    /// [`StepError::Deferred`].
    pub fn deferred(what: impl Into<String>) -> Self {
        StepError::Deferred {
            what: what.into(),
            source: None,
        }
    }

    /// The same error, caused by `source` (its [`std::error::Error::source`] from now on;
    /// the message does not change). A superseded run has no cause: it is returned as it
    /// is.
    pub fn caused_by(mut self, source: impl Into<Source>) -> Self {
        match &mut self {
            StepError::InvalidDocument { source: s, .. }
            | StepError::Throttled { source: s, .. }
            | StepError::Transient { source: s, .. }
            | StepError::NotFound { source: s, .. }
            | StepError::Internal { source: s, .. }
            | StepError::Deferred { source: s, .. } => *s = Some(source.into()),
            StepError::Superseded(_) => {}
        }
        self
    }

    /// The stable error name (Lambda `errorType`, ASL `ErrorEquals`).
    pub fn name(&self) -> &'static str {
        match self {
            StepError::InvalidDocument { .. } => INVALID_DOCUMENT,
            StepError::Throttled { .. } => THROTTLED,
            StepError::Transient { .. } => TRANSIENT,
            StepError::NotFound { .. } => NOT_FOUND,
            StepError::Internal { .. } => INTERNAL,
            StepError::Superseded(_) => SUPERSEDED,
            StepError::Deferred { .. } => DEFERRED,
        }
    }

    /// The reason code recorded on the document.
    pub fn code(&self) -> &str {
        match self {
            StepError::InvalidDocument { code, .. } => code,
            StepError::Throttled { .. } => "throttled",
            StepError::Transient { .. } => "dependency_unavailable",
            StepError::NotFound { .. } => "missing_object",
            StepError::Internal { .. } => "internal_error",
            StepError::Superseded(_) => "superseded",
            StepError::Deferred { .. } => "deferred",
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StepError::Throttled { .. } | StepError::Transient { .. }
        )
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
        StepError::invalid(e.code(), e.to_string()).caused_by(e)
    }
}

/// An original whose bytes are not those its upload was created for: REJECTED (kept in
/// quarantine), never processed as the patient's document.
pub fn checksum_mismatch() -> StepError {
    StepError::invalid(
        "checksum_mismatch",
        "the bytes stored are not those the upload was created for (their SHA-256 differs)",
    )
}

/// The store's error is kept as the step error's source.
impl From<StoreError> for StepError {
    fn from(e: StoreError) -> Self {
        let step = match &e {
            StoreError::NotFound { what } => StepError::not_found(what.clone()),
            StoreError::Throttled { source } => StepError::throttled(source.to_string()),
            StoreError::Unavailable { what, source } => {
                StepError::transient(format!("{what}: {source}"))
            }
            // Someone wrote in between: a retry re-reads and decides again.
            StoreError::Precondition { what } => {
                StepError::transient(format!("concurrent update: {what}"))
            }
            // Once may be a fault on the way; the step that reads an original reads it
            // again before it calls the bytes not the upload's (`checksum_mismatch`).
            StoreError::ChecksumMismatch { what } => {
                StepError::transient(format!("checksum mismatch reading {what}"))
            }
            other => StepError::internal(other.to_string()),
        };
        step.caused_by(e)
    }
}

/// The OCR engine's error is kept as the step error's source.
impl From<OcrError> for StepError {
    fn from(e: OcrError) -> Self {
        let step = match &e {
            OcrError::Throttled { source } => StepError::throttled(source.to_string()),
            OcrError::Unavailable { what, .. } => StepError::transient(what.clone()),
            OcrError::Deferred { .. } => StepError::deferred(e.to_string()),
            other => StepError::internal(other.to_string()),
        };
        step.caused_by(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(text: &str) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::ConnectionReset, text)
    }

    #[test]
    fn a_store_error_and_its_io_error_stay_reachable_through_source() {
        use std::error::Error as _;

        let e: StepError = StoreError::unavailable("objects", io("connection reset")).into();
        assert_eq!(
            e.to_string(),
            "temporarily unavailable: objects: connection reset"
        );
        let store = e.source().expect("the store's error is the source");
        assert!(
            matches!(
                store.downcast_ref::<StoreError>(),
                Some(StoreError::Unavailable { what, .. }) if what == "objects"
            ),
            "{store:?}"
        );
        let chain: Vec<&(dyn std::error::Error + 'static)> =
            std::iter::successors(e.source(), |e| (*e).source()).collect();
        let io = chain
            .iter()
            .find_map(|e| e.downcast_ref::<std::io::Error>())
            .expect("the io error is in the chain");
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionReset);
        assert_eq!(io.to_string(), "connection reset");
        // The cause is kept for diagnosis; what the Catch rules read does not change.
        let caught = e.to_caught();
        assert_eq!(caught.error, TRANSIENT);
        assert_eq!(
            caught.reason(),
            (
                "dependency_unavailable".into(),
                "temporarily unavailable: objects: connection reset".into()
            )
        );
    }

    #[test]
    fn errors_made_here_have_no_source_until_given_one() {
        use std::error::Error as _;

        assert!(StepError::transient("x").source().is_none());
        assert!(checksum_mismatch().source().is_none());
        let e = StepError::internal("bad step input").caused_by(io("eof"));
        assert_eq!(e.to_string(), "internal error: bad step input");
        assert_eq!(e.source().map(|s| s.to_string()).as_deref(), Some("eof"));
        let media: StepError = MediaError::TooManyPages {
            pages: 900,
            limit: 500,
        }
        .into();
        assert!(
            media
                .source()
                .unwrap()
                .downcast_ref::<MediaError>()
                .is_some()
        );
        // A superseded run has no cause.
        let s = StepError::Superseded("attempt 2 owns it".into()).caused_by(io("x"));
        assert!(s.source().is_none());
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
