//! Which function a Lambda instance is. Every function of the deployment runs the same
//! binary (`medidocs-lambda`), so one build serves them all; its `MEDIDOCS_FUNCTION`
//! setting, written next to each function in the template, says which it is.

use std::fmt;
use std::str::FromStr;

use medidocs_pipeline::Step;

/// The environment variable that names a function.
pub const FUNCTION_SETTING: &str = "MEDIDOCS_FUNCTION";

/// A function of the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// A step of the pipeline that is a Task of its own ([`Step::has_function`]).
    Step(Step),
    /// The HTTP API behind API Gateway.
    Api,
    /// Starts the pipeline for each upload (the upload queue).
    Start,
    /// Reads pages from the OCR queues and answers the waiting tasks.
    OcrWorker,
    /// Stops documents stuck past their deadline (on a schedule).
    Watchdog,
    /// Copies this region's accounts to the other region's user pool (on a schedule, and
    /// when an account changes).
    IdentitySync,
    /// Keeps each patient's search index object up to date (the table's stream).
    Indexer,
}

impl Function {
    /// Every function, in the template's order of sections.
    pub fn all() -> Vec<Function> {
        let steps = Step::ALL.into_iter().filter(|s| s.has_function());
        steps
            .map(Function::Step)
            .chain([
                Function::OcrWorker,
                Function::Api,
                Function::Watchdog,
                Function::Start,
                Function::IdentitySync,
                Function::Indexer,
            ])
            .collect()
    }

    /// The name `MEDIDOCS_FUNCTION` gives.
    pub fn name(self) -> &'static str {
        match self {
            Function::Step(step) => step.name(),
            Function::Api => "api",
            Function::Start => "start",
            Function::OcrWorker => "ocr-worker",
            Function::Watchdog => "watchdog",
            Function::IdentitySync => "identity-sync",
            Function::Indexer => "indexer",
        }
    }

    /// The function's logical id in `sam/template.yaml`.
    pub fn logical_id(self) -> &'static str {
        match self {
            Function::Step(step) => step.resource(),
            Function::Api => "ApiFunction",
            Function::Start => "StartFunction",
            Function::OcrWorker => "OcrWorkerFunction",
            Function::Watchdog => "WatchdogFunction",
            Function::IdentitySync => "IdentitySyncFunction",
            Function::Indexer => "IndexerFunction",
        }
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `MEDIDOCS_FUNCTION` missing, or naming no function. Its Debug is its message: a
/// Lambda binary's `main` prints the error it returns with Debug, into the function's log.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum FunctionError {
    #[error("{FUNCTION_SETTING} is not set: the template sets it on every function (one of {0})")]
    Missing(String),
    #[error("{FUNCTION_SETTING}={given:?} names no function: it is one of {known}")]
    Unknown { given: String, known: String },
}

impl fmt::Debug for FunctionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn known() -> String {
    let names: Vec<_> = Function::all().into_iter().map(Function::name).collect();
    names.join(", ")
}

impl FromStr for Function {
    type Err = FunctionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Function::all()
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| FunctionError::Unknown {
                given: s.to_string(),
                known: known(),
            })
    }
}

impl Function {
    /// The function `MEDIDOCS_FUNCTION` names, from a lookup of the environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, FunctionError> {
        match lookup(FUNCTION_SETTING) {
            None => Err(FunctionError::Missing(known())),
            Some(name) => name.trim().parse(),
        }
    }

    /// Runs this function's Lambda loop. (Each loop is boxed: the binary holds one future
    /// whatever the function, not the largest of them all.)
    pub async fn serve(self) -> Result<(), lambda_runtime::Error> {
        type Loop =
            std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), lambda_runtime::Error>>>>;
        let run: Loop = match self {
            Function::Step(step) => Box::pin(crate::serve_step(step)),
            Function::Api => Box::pin(crate::api::serve_api()),
            Function::Start => Box::pin(crate::serve_starter()),
            Function::OcrWorker => Box::pin(crate::ocr::serve_ocr_worker()),
            Function::Watchdog => Box::pin(crate::serve_watchdog()),
            Function::IdentitySync => Box::pin(crate::identity::serve_identity_sync()),
            Function::Indexer => Box::pin(crate::serve_indexer()),
        };
        run.await
    }
}

/// The main of the Lambda binary: the function `MEDIDOCS_FUNCTION` names.
pub async fn serve_from_env() -> Result<(), lambda_runtime::Error> {
    let function = Function::from_lookup(|k| std::env::var(k).ok())?;
    function.serve().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_is_named_once_and_read_back() {
        let all = Function::all();
        assert_eq!(all.len(), 13, "{all:?}");
        for f in &all {
            assert_eq!(f.name().parse::<Function>(), Ok(*f));
            assert_eq!(all.iter().filter(|g| g.name() == f.name()).count(), 1);
            assert_eq!(
                all.iter()
                    .filter(|g| g.logical_id() == f.logical_id())
                    .count(),
                1
            );
        }
        assert!(!all.contains(&Function::Step(Step::OcrPage)));
    }

    #[test]
    fn a_missing_or_unknown_setting_says_what_it_may_be() {
        let missing = format!("{:?}", Function::from_lookup(|_| None).unwrap_err());
        assert!(
            missing.contains("MEDIDOCS_FUNCTION is not set"),
            "{missing}"
        );
        assert!(
            missing.contains("render-page") && missing.contains("ocr-worker"),
            "{missing}"
        );
        let unknown = Function::from_lookup(|_| Some("ocr-page".into()))
            .unwrap_err()
            .to_string();
        assert!(
            unknown.contains("\"ocr-page\" names no function"),
            "{unknown}"
        );
        assert_eq!(
            Function::from_lookup(|_| Some(" plan\n".into())),
            Ok(Function::Step(Step::Plan))
        );
    }
}
