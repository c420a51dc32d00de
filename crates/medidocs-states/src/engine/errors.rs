//! What fails: a state's or execution's [`Failure`] (Error and Cause, as Step Functions
//! reports them) and a [`BucketError`] from the object store port.

/// A failed state or execution: `Error` (a name Retry/Catch match on) and `Cause`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: String,
    pub cause: String,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }
    pub(super) fn runtime(cause: impl Into<String>) -> Self {
        Self::new("States.Runtime", cause)
    }
}

/// Why a [`Buckets`] read or write failed: a message, the underlying error, or both (the
/// message then says where, as `path: error`). The underlying error stays reachable through
/// [`std::error::Error::source`], for a caller that inspects or downcasts it; the text,
/// which the engine puts in a failure's `Cause`, includes it too.
#[derive(Debug)]
pub struct BucketError {
    message: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl BucketError {
    /// The underlying error, its text as the message.
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            message: None,
            source: Some(source.into()),
        }
    }

    /// The underlying error with where it happened: shown as `context: source`.
    pub fn at(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            message: Some(context.into()),
            source: Some(source.into()),
        }
    }

    /// A failure with no underlying error.
    pub fn msg(message: impl Into<String>) -> Self {
        Self {
            message: Some(message.into()),
            source: None,
        }
    }
}

impl std::fmt::Display for BucketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.message, &self.source) {
            (Some(m), Some(s)) => write!(f, "{m}: {s}"),
            (Some(m), None) => f.write_str(m),
            (None, Some(s)) => write!(f, "{s}"),
            (None, None) => f.write_str("object store failure"),
        }
    }
}

impl std::error::Error for BucketError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl From<std::io::Error> for BucketError {
    fn from(e: std::io::Error) -> Self {
        Self::new(e)
    }
}

impl From<Box<dyn std::error::Error + Send + Sync>> for BucketError {
    fn from(e: Box<dyn std::error::Error + Send + Sync>) -> Self {
        Self {
            message: None,
            source: Some(e),
        }
    }
}

impl From<String> for BucketError {
    fn from(message: String) -> Self {
        Self::msg(message)
    }
}

impl From<&str> for BucketError {
    fn from(message: &str) -> Self {
        Self::msg(message)
    }
}

#[cfg(test)]
mod tests {
    use super::BucketError;
    use std::error::Error;

    #[test]
    fn bucket_errors_keep_their_source_and_their_text() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let e = BucketError::at("/b/k.json", io);
        assert_eq!(e.to_string(), "/b/k.json: No such file");
        let source = e.source().expect("the io error is the source");
        let io = source
            .downcast_ref::<std::io::Error>()
            .expect("an io::Error");
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);

        let e = BucketError::from(std::io::Error::other("disk full"));
        assert_eq!(e.to_string(), "disk full");
        assert!(e.source().unwrap().is::<std::io::Error>());

        let e = BucketError::from("bucket \"\" names no folder".to_string());
        assert_eq!(e.to_string(), "bucket \"\" names no folder");
        assert!(e.source().is_none());

        let boxed: Box<dyn Error + Send + Sync> = Box::new(BucketError::msg("inner"));
        let e = BucketError::new(boxed);
        assert_eq!(e.to_string(), "inner");
        assert!(e.source().unwrap().is::<BucketError>());
    }
}
