//! Executes validated definitions (JSONPath query language). Tasks dispatch to registered
//! handlers by resource (after `${Name}` substitution); Wait, Retry back-off and time-outs
//! go through a [`Clock`], real in production and instant in tests. Failures carry `Error`
//! and `Cause` as Step Functions reports them; the run records history events with the
//! types and detail fields of GetExecutionHistory.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::validate;

mod choice;
mod data;
mod errors;
mod items;
mod map;
mod parallel;
mod ports;
mod retry;
mod run;
mod task;
mod wait;

pub use errors::{BucketError, Failure};
pub use ports::{
    Buckets, Clock, Heartbeat, ManualClock, SystemClock, TaskHandler, handler,
    handler_with_heartbeat,
};
use run::Run;

/// The result of one execution.
#[derive(Debug, Clone)]
pub struct Execution {
    pub output: Result<Value, Failure>,
    /// GetExecutionHistory-shaped events.
    pub history: Vec<Value>,
}

/// A source of uniform numbers in [0, 1) for Retry's `JitterStrategy: FULL`.
pub type Random = Arc<dyn Fn() -> f64 + Send + Sync>;

pub struct Engine {
    handlers: HashMap<String, Arc<dyn TaskHandler>>,
    substitutions: HashMap<String, String>,
    clock: Arc<dyn Clock>,
    buckets: Option<Arc<dyn Buckets>>,
    random: Random,
}

type Fut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl Engine {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            handlers: HashMap::new(),
            substitutions: HashMap::new(),
            clock,
            buckets: None,
            random: Arc::new(|| (uuid::Uuid::new_v4().as_u128() % 1_000_000) as f64 / 1_000_000.0),
        }
    }

    /// Where Retry's jitter comes from (a seeded source makes a simulation repeatable).
    pub fn with_random(mut self, random: Random) -> Self {
        self.random = random;
        self
    }

    /// The buckets `ItemReader` reads from and `ResultWriter` writes to.
    pub fn with_buckets(mut self, buckets: Arc<dyn Buckets>) -> Self {
        self.buckets = Some(buckets);
        self
    }

    /// Registers the handler for a Task `Resource` (as written after substitution).
    pub fn register(&mut self, resource: impl Into<String>, h: Arc<dyn TaskHandler>) {
        self.handlers.insert(resource.into(), h);
    }

    /// A DefinitionSubstitutions entry: `${name}` in resources becomes `value`.
    pub fn substitute(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.substitutions.insert(name.into(), value.into());
    }

    fn resolve_resource(&self, r: &str) -> String {
        let mut out = r.to_string();
        for (k, v) in &self.substitutions {
            out = out.replace(&format!("${{{k}}}"), v);
        }
        out
    }

    /// Replaces every `${Name}` in the definition's strings, as CloudFormation's
    /// DefinitionSubstitutions do (resources, parameters, comments alike).
    fn substituted(&self, v: &Value) -> Value {
        match v {
            Value::String(s) if s.contains("${") => Value::String(self.resolve_resource(s)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.substituted(x)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), self.substituted(x)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Runs a definition (validated first) on an input.
    pub async fn execute(&self, def: &Value, input: Value, name: &str) -> Execution {
        let substituted;
        let def = if self.substitutions.is_empty() {
            def
        } else {
            substituted = self.substituted(def);
            &substituted
        };
        let run = Run {
            engine: self,
            history: Mutex::new(Vec::new()),
            execution: json!({
                "Id": format!("arn:aws:states:local:000000000000:execution:medidocs:{name}"),
                "Input": input.clone(),
                "Name": name,
                "StartTime": fmt_time(self.clock.now()),
            }),
        };
        let input_text = input.to_string();
        let input_quota = within_quota(&input_text, "execution input");
        run.event(
            "ExecutionStarted",
            "executionStartedEventDetails",
            json!({ "input": input_text }),
        );
        let output = match validate::validate(def) {
            Ok(()) if let Err(f) = input_quota => Err(f),
            Err(errors) => Err(Failure::new(
                "States.Runtime",
                errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
            Ok(()) if uses_jsonata(def) => Err(Failure::runtime(
                "this definition uses the JSONata query language, which this engine does not run (JSONPath only)",
            )),
            Ok(()) => {
                let body = run.machine(def, input, None, Arc::new(Map::new()));
                match def.get("TimeoutSeconds").and_then(Value::as_u64) {
                    Some(t) => {
                        let deadline = self.clock.now() + Duration::from_secs(t);
                        tokio::select! {
                            biased;
                            r = body => r,
                            _ = self.clock.expire_at(deadline) => Err(Failure::new("States.Timeout", "the execution timed out")),
                        }
                    }
                    None => body.await,
                }
            }
        };
        match &output {
            Ok(v) => run.event(
                "ExecutionSucceeded",
                "executionSucceededEventDetails",
                json!({ "output": v.to_string() }),
            ),
            Err(f) => run.event(
                "ExecutionFailed",
                "executionFailedEventDetails",
                json!({ "error": f.error, "cause": f.cause }),
            ),
        };
        let history = run.history.into_inner().unwrap_or_else(|e| e.into_inner());
        Execution { output, history }
    }
}

/// Step Functions' payload quota: 256 KiB of UTF-8 JSON for a state's input and output,
/// a task's result, and the execution's input.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// Checks a payload's JSON text (serialised once by the caller, which also records it in
/// the history) against the quota.
fn within_quota(text: &str, what: &str) -> Result<(), Failure> {
    let size = text.len();
    if size > MAX_PAYLOAD_BYTES {
        return Err(Failure::new(
            "States.DataLimitExceeded",
            format!("the {what} is {size} bytes, over the {MAX_PAYLOAD_BYTES}-byte payload quota"),
        ));
    }
    Ok(())
}

fn uses_jsonata(v: &Value) -> bool {
    match v {
        Value::Object(o) => {
            o.get("QueryLanguage").and_then(Value::as_str) == Some("JSONata")
                || o.values().any(uses_jsonata)
        }
        Value::Array(a) => a.iter().any(uses_jsonata),
        _ => false,
    }
}

fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}
