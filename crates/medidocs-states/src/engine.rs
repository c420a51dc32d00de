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

use async_trait::async_trait;
use futures::stream::{self, StreamExt};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::paths::{self, PathKind};
use crate::{intrinsics, validate};

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
    fn runtime(cause: impl Into<String>) -> Self {
        Self::new("States.Runtime", cause)
    }
}

/// What a Task state calls.
#[async_trait]
pub trait TaskHandler: Send + Sync {
    async fn call(&self, input: Value) -> Result<Value, Failure>;

    /// The call, for a task that reports progress: each [`Heartbeat::beat`] restarts the
    /// state's `HeartbeatSeconds` timer (as SendTaskHeartbeat does in Step Functions).
    async fn call_with_heartbeat(
        &self,
        input: Value,
        _heartbeat: Heartbeat,
    ) -> Result<Value, Failure> {
        self.call(input).await
    }
}

/// A running task's "still alive" signal.
#[derive(Clone)]
pub struct Heartbeat(Arc<tokio::sync::Notify>);

impl Heartbeat {
    fn new() -> Self {
        Self(Arc::new(tokio::sync::Notify::new()))
    }

    pub fn beat(&self) {
        self.0.notify_one();
    }
}

struct BeatingHandler<F>(F);

#[async_trait]
impl<F, Fut> TaskHandler for BeatingHandler<F>
where
    F: Fn(Value, Heartbeat) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, Failure>> + Send,
{
    async fn call(&self, input: Value) -> Result<Value, Failure> {
        (self.0)(input, Heartbeat::new()).await
    }
    async fn call_with_heartbeat(&self, input: Value, hb: Heartbeat) -> Result<Value, Failure> {
        (self.0)(input, hb).await
    }
}

/// A handler from an async closure that is handed a [`Heartbeat`].
pub fn handler_with_heartbeat<F, Fut>(f: F) -> Arc<dyn TaskHandler>
where
    F: Fn(Value, Heartbeat) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, Failure>> + Send + 'static,
{
    Arc::new(BeatingHandler(f))
}

struct FnHandler<F>(F);

#[async_trait]
impl<F, Fut> TaskHandler for FnHandler<F>
where
    F: Fn(Value) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, Failure>> + Send,
{
    async fn call(&self, input: Value) -> Result<Value, Failure> {
        (self.0)(input).await
    }
}

/// A handler from an async closure.
pub fn handler<F, Fut>(f: F) -> Arc<dyn TaskHandler>
where
    F: Fn(Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, Failure>> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

/// Where a DISTRIBUTED Map's `ItemReader` reads and its `ResultWriter` writes (S3 in AWS,
/// the embedded object store locally).
#[async_trait]
pub trait Buckets: Send + Sync {
    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, BucketError>;
    async fn put_object(&self, bucket: &str, key: &str, bytes: Vec<u8>) -> Result<(), BucketError>;
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

/// Time as the engine sees it.
#[async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
    /// Waits (Wait states, Retry back-off).
    async fn sleep(&self, d: Duration);
    /// A time-out timer: completes once `deadline` has passed (TimeoutSeconds).
    async fn expire_at(&self, deadline: OffsetDateTime) {
        let left = (deadline - self.now()).as_seconds_f64();
        if left > 0.0 {
            self.sleep(Duration::from_secs_f64(left)).await
        }
    }
}

/// The wall clock.
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await
    }
}

/// A clock whose sleeps return at once and move its time forward; it records them. Its
/// time-out timers fire only when sleeps have moved its time past their deadline, so real
/// work (IO, other processes) never times out under it.
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
    pub slept: Mutex<Vec<Duration>>,
    advanced: tokio::sync::Notify,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Mutex::new(start),
            slept: Mutex::new(Vec::new()),
            advanced: tokio::sync::Notify::new(),
        }
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
    async fn sleep(&self, d: Duration) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) += d;
        self.slept.lock().unwrap_or_else(|e| e.into_inner()).push(d);
        self.advanced.notify_waiters();
        tokio::task::yield_now().await;
    }
    async fn expire_at(&self, deadline: OffsetDateTime) {
        loop {
            let advanced = self.advanced.notified();
            if self.now() >= deadline {
                return;
            }
            advanced.await;
        }
    }
}

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

struct Run<'e> {
    engine: &'e Engine,
    history: Mutex<Vec<Value>>,
    execution: Value,
}

/// Where a state runs: its Map item (for the context object) and its workflow variables.
/// The top-level states share one scope; each Parallel branch and Map iteration has its
/// own, which reads (never writes) a snapshot of the enclosing scopes taken when the
/// Parallel or Map state started. A DISTRIBUTED Map's iterations see no outer variables.
struct Scope {
    map_item: Option<Value>,
    outer: Arc<Map<String, Value>>,
    vars: Mutex<Map<String, Value>>,
    /// Assignments of the running state, applied when it completes.
    pending: Mutex<Option<Map<String, Value>>>,
}

impl Scope {
    fn new(map_item: Option<Value>, outer: Arc<Map<String, Value>>) -> Self {
        Self {
            map_item,
            outer,
            vars: Mutex::new(Map::new()),
            pending: Mutex::new(None),
        }
    }

    /// Every variable this scope can read: the outer snapshot, then its own.
    fn visible(&self) -> Map<String, Value> {
        let mut all = (*self.outer).clone();
        for (k, v) in self.vars.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            all.insert(k.clone(), v.clone());
        }
        all
    }

    /// Evaluates an `Assign` object against `value` (`$`), with the variables as they were
    /// when the state was entered, and holds the result until the state completes.
    fn assign(&self, spec: Option<&Value>, value: &Value, ctx: &Ctx) -> Result<(), Failure> {
        let Some(spec) = spec else { return Ok(()) };
        let Value::Object(assigned) = template(spec, value, ctx)? else {
            return Err(Failure::runtime("Assign must be an object"));
        };
        if let Some(name) = assigned.keys().find(|k| self.outer.contains_key(*k)) {
            return Err(Failure::runtime(format!(
                "cannot assign ${name}: it belongs to an outer scope (a Map iteration or Parallel branch may read it, not change it)"
            )));
        }
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = Some(assigned);
        Ok(())
    }

    fn discard_pending(&self) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }

    /// Applies the completed state's assignments; returns them for the history.
    fn commit(&self) -> Option<Map<String, Value>> {
        let assigned = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()?;
        let mut vars = self.vars.lock().unwrap_or_else(|e| e.into_inner());
        for (k, v) in &assigned {
            vars.insert(k.clone(), v.clone());
        }
        Some(assigned)
    }
}

/// One Map iteration (a child execution, for a DISTRIBUTED Map).
struct Child {
    index: usize,
    input: Value,
    started: OffsetDateTime,
    stopped: OffsetDateTime,
    result: Result<Value, Failure>,
}

impl Child {
    /// Its output, or `{Error, Cause}` for a tolerated failure.
    fn compact(self) -> Value {
        self.result
            .unwrap_or_else(|f| json!({ "Error": f.error, "Cause": f.cause }))
    }

    /// The child execution as ResultWriter's NONE transformation records it.
    fn record(&self, map_run_arn: &str, map: &str) -> Value {
        let name = format!("{map}-{}", self.index);
        let mut r = json!({
            "ExecutionArn": format!("{map_run_arn}:{name}"),
            "Name": name,
            "StateMachineArn": "arn:aws:states:local:000000000000:stateMachine:medidocs",
            "Input": self.input.to_string(),
            "InputDetails": { "Included": true },
            "StartDate": fmt_time(self.started),
            "StopDate": fmt_time(self.stopped),
            "RedriveCount": 0,
        });
        match &self.result {
            Ok(v) => {
                r["Status"] = json!("SUCCEEDED");
                r["Output"] = json!(v.to_string());
                r["OutputDetails"] = json!({ "Included": true });
            }
            Err(f) => {
                r["Status"] = json!("FAILED");
                r["Error"] = json!(f.error);
                r["Cause"] = json!(f.cause);
            }
        }
        r
    }
}

/// What paths in a state can read: the context object (`$$`) and the workflow variables
/// (`$name`) as they were when the state was entered.
#[derive(Clone)]
struct Ctx {
    object: Value,
    vars: Arc<Map<String, Value>>,
}

impl Run<'_> {
    fn event(&self, kind: &str, details_key: &str, details: Value) {
        let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let id = h.len() as u64 + 1;
        let mut e = json!({
            "timestamp": fmt_time(self.engine.clock.now()),
            "type": kind,
            "id": id,
            "previousEventId": id - 1,
        });
        e[details_key] = details;
        h.push(e);
    }

    fn context(&self, state: &str, retry: u32, scope: &Scope) -> Ctx {
        let mut c = json!({
            "Execution": self.execution,
            "StateMachine": { "Id": "arn:aws:states:local:000000000000:stateMachine:medidocs", "Name": "medidocs" },
            "State": { "Name": state, "EnteredTime": fmt_time(self.engine.clock.now()), "RetryCount": retry },
        });
        if let Some(item) = &scope.map_item {
            c["Map"] = json!({ "Item": item });
        }
        Ctx {
            object: c,
            vars: Arc::new(scope.visible()),
        }
    }

    fn machine<'a>(
        &'a self,
        m: &'a Value,
        input: Value,
        map_item: Option<Value>,
        outer: Arc<Map<String, Value>>,
    ) -> Fut<'a, Result<Value, Failure>> {
        Box::pin(async move {
            let states = &m["States"];
            let scope = Scope::new(map_item, outer);
            let mut name = m["StartAt"].as_str().unwrap_or_default().to_string();
            let mut input = input;
            loop {
                let st = states
                    .get(&name)
                    .ok_or_else(|| Failure::runtime(format!("no state {name}")))?;
                let (next, output) = self.state(&name, st, input, &scope).await?;
                match next {
                    Some(n) => {
                        name = n;
                        input = output;
                    }
                    None => return Ok(output),
                }
            }
        })
    }

    async fn state(
        &self,
        name: &str,
        st: &Value,
        raw: Value,
        scope: &Scope,
    ) -> Result<(Option<String>, Value), Failure> {
        let kind = st["Type"].as_str().unwrap_or_default();
        // State names and types come from the definition; inputs are never logged.
        tracing::trace!(state = name, kind, "state entered");
        let details = json!({ "name": name, "input": raw.to_string() });
        self.event(
            &format!("{kind}StateEntered"),
            "stateEnteredEventDetails",
            details,
        );
        let ctx = self.context(name, 0, scope);
        let next = st.get("Next").and_then(Value::as_str).map(str::to_string);
        let result: Result<(Option<String>, Value), Failure> = match kind {
            "Pass" => (|| {
                let eff = self.effective_input(st, &raw, &ctx)?;
                let res = st.get("Result").cloned().unwrap_or(eff);
                scope.assign(st.get("Assign"), &res, &ctx)?;
                Ok((next.clone(), self.output(st, raw.clone(), res, &ctx)?))
            })(),
            "Succeed" => select_opt(st, "InputPath", &raw, &ctx)
                .and_then(|v| select_opt(st, "OutputPath", &v, &ctx))
                .map(|v| (None, v)),
            "Fail" => {
                let text = |f: &str, fp: &str| -> Result<String, Failure> {
                    if let Some(v) = st.get(f).and_then(Value::as_str) {
                        return Ok(v.to_string());
                    }
                    match st.get(fp).and_then(Value::as_str) {
                        Some(p) => dynamic(p, &raw, &ctx).map(|v| {
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string())
                        }),
                        None => Ok(String::new()),
                    }
                };
                Err(Failure::new(
                    text("Error", "ErrorPath")?,
                    text("Cause", "CausePath")?,
                ))
            }
            "Choice" => self.choice(st, &raw, &ctx, scope),
            "Wait" => self
                .wait(st, raw.clone(), &ctx, scope)
                .await
                .map(|v| (next.clone(), v)),
            "Task" | "Parallel" | "Map" => {
                self.with_retry(name, kind, st, raw.clone(), scope).await
            }
            other => Err(Failure::runtime(format!("unknown state type {other}"))),
        };
        let result = result.and_then(|(next, out)| {
            let text = out.to_string();
            within_quota(&text, &format!("output of state {name}"))?;
            Ok((next, out, text))
        });
        match result {
            Ok((next, out, text)) => {
                let mut details = json!({ "name": name, "output": text });
                if let Some(assigned) = scope.commit() {
                    // As GetExecutionHistory shows them: each value as JSON text.
                    let shown: Map<String, Value> = assigned
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.to_string())))
                        .collect();
                    details["assignedVariables"] = Value::Object(shown);
                    details["assignedVariablesDetails"] = json!({ "truncated": false });
                }
                self.event(
                    &format!("{kind}StateExited"),
                    "stateExitedEventDetails",
                    details,
                );
                Ok((next, out))
            }
            Err(f) => {
                scope.discard_pending();
                Err(f)
            }
        }
    }

    fn effective_input(&self, st: &Value, raw: &Value, ctx: &Ctx) -> Result<Value, Failure> {
        let v = select_opt(st, "InputPath", raw, ctx)?;
        // In a Map state, Parameters is the older name of ItemSelector: applied per item.
        let v = match st.get("Parameters").filter(|_| st["Type"] != "Map") {
            Some(t) => template(t, &v, ctx)?,
            None => v,
        };
        within_quota(&v.to_string(), "input after Parameters")?;
        Ok(v)
    }

    /// ResultSelector, ResultPath, OutputPath.
    fn output(&self, st: &Value, raw: Value, result: Value, ctx: &Ctx) -> Result<Value, Failure> {
        let result = match st.get("ResultSelector") {
            Some(t) => template(t, &result, ctx)?,
            None => result,
        };
        let merged = match st.get("ResultPath") {
            None => result,
            Some(Value::Null) => raw,
            Some(Value::String(p)) => set_path(raw, p, result)?,
            Some(_) => return Err(Failure::runtime("ResultPath must be a string or null")),
        };
        select_opt(st, "OutputPath", &merged, ctx)
    }

    fn choice(
        &self,
        st: &Value,
        raw: &Value,
        ctx: &Ctx,
        scope: &Scope,
    ) -> Result<(Option<String>, Value), Failure> {
        let input = select_opt(st, "InputPath", raw, ctx)?;
        for rule in st["Choices"].as_array().into_iter().flatten() {
            if eval_rule(rule, &input, ctx)? {
                // A matching rule's Assign; the state's own Assign goes with Default.
                scope.assign(rule.get("Assign"), &input, ctx)?;
                let out = select_opt(st, "OutputPath", &input, ctx)?;
                return Ok((rule["Next"].as_str().map(str::to_string), out));
            }
        }
        match st.get("Default").and_then(Value::as_str) {
            Some(d) => Ok((Some(d.to_string()), {
                scope.assign(st.get("Assign"), &input, ctx)?;
                select_opt(st, "OutputPath", &input, ctx)?
            })),
            None => Err(Failure::new(
                "States.NoChoiceMatched",
                "no choice rule matched and there is no Default",
            )),
        }
    }

    async fn wait(
        &self,
        st: &Value,
        raw: Value,
        ctx: &Ctx,
        scope: &Scope,
    ) -> Result<Value, Failure> {
        let input = select_opt(st, "InputPath", &raw, ctx)?;
        scope.assign(st.get("Assign"), &input, ctx)?;
        let seconds = |v: &Value| {
            v.as_f64()
                .filter(|s| *s >= 0.0)
                .ok_or_else(|| Failure::runtime("Wait seconds must be a non-negative number"))
        };
        let until = |v: &Value| -> Result<f64, Failure> {
            let t = v
                .as_str()
                .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
                .ok_or_else(|| Failure::runtime("Wait timestamp must be RFC 3339"))?;
            Ok(((t - self.engine.clock.now()).as_seconds_f64()).max(0.0))
        };
        let secs = if let Some(s) = st.get("Seconds") {
            seconds(s)?
        } else if let Some(p) = st.get("SecondsPath").and_then(Value::as_str) {
            seconds(&select(p, &input, ctx)?)?
        } else if let Some(t) = st.get("Timestamp") {
            until(t)?
        } else if let Some(p) = st.get("TimestampPath").and_then(Value::as_str) {
            until(&select(p, &input, ctx)?)?
        } else {
            0.0
        };
        self.engine.clock.sleep(Duration::from_secs_f64(secs)).await;
        select_opt(st, "OutputPath", &input, ctx)
    }

    /// Task, Parallel and Map: the work, then Retry and Catch.
    async fn with_retry(
        &self,
        name: &str,
        kind: &str,
        st: &Value,
        raw: Value,
        scope: &Scope,
    ) -> Result<(Option<String>, Value), Failure> {
        let retriers = st
            .get("Retry")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut counts = vec![0u32; retriers.len()];
        let mut retry = 0;
        loop {
            let mut ctx = self.context(name, retry, scope);
            if kind == "Task" {
                // A new task token for every try, as Step Functions gives a callback task
                // (`.waitForTaskToken`) one per attempt.
                ctx.object["Task"] = json!({ "Token": uuid::Uuid::new_v4().simple().to_string() });
            }
            let attempt = async {
                let eff = self.effective_input(st, &raw, &ctx)?;
                let result = match kind {
                    "Task" => self.task(st, eff, &ctx).await?,
                    "Parallel" => self.parallel(st, eff, &ctx).await?,
                    _ => self.map(name, st, eff, &ctx).await?,
                };
                // Assign sees the raw result, before ResultSelector.
                scope.assign(st.get("Assign"), &result, &ctx)?;
                self.output(st, raw.clone(), result, &ctx)
            };
            let failure = match attempt.await {
                Ok(out) => {
                    return Ok((
                        st.get("Next").and_then(Value::as_str).map(str::to_string),
                        out,
                    ));
                }
                Err(f) => {
                    scope.discard_pending();
                    f
                }
            };
            if let Some(i) = retriers
                .iter()
                .position(|r| error_matches(&r["ErrorEquals"], &failure.error))
            {
                let r = &retriers[i];
                let max = r.get("MaxAttempts").and_then(Value::as_u64).unwrap_or(3) as u32;
                if counts[i] < max {
                    let interval = r
                        .get("IntervalSeconds")
                        .and_then(Value::as_f64)
                        .unwrap_or(1.0);
                    let rate = r.get("BackoffRate").and_then(Value::as_f64).unwrap_or(2.0);
                    let mut delay = interval * rate.powi(counts[i] as i32);
                    if let Some(cap) = r.get("MaxDelaySeconds").and_then(Value::as_f64) {
                        delay = delay.min(cap);
                    }
                    if r.get("JitterStrategy").and_then(Value::as_str) == Some("FULL") {
                        delay *= (self.engine.random)();
                    }
                    counts[i] += 1;
                    retry += 1;
                    self.engine
                        .clock
                        .sleep(Duration::from_secs_f64(delay))
                        .await;
                    continue;
                }
            }
            for c in st
                .get("Catch")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if error_matches(&c["ErrorEquals"], &failure.error) {
                    let err = json!({ "Error": failure.error, "Cause": failure.cause });
                    // A catcher's Assign sees the error output.
                    scope.assign(c.get("Assign"), &err, &self.context(name, retry, scope))?;
                    let out = match c.get("ResultPath") {
                        None => err,
                        Some(Value::Null) => raw.clone(),
                        Some(Value::String(p)) => set_path(raw.clone(), p, err)?,
                        Some(_) => {
                            return Err(Failure::runtime(
                                "Catch ResultPath must be a string or null",
                            ));
                        }
                    };
                    return Ok((c["Next"].as_str().map(str::to_string), out));
                }
            }
            return Err(failure);
        }
    }

    async fn task(&self, st: &Value, input: Value, ctx: &Ctx) -> Result<Value, Failure> {
        let timeout = number_field(st, "TimeoutSeconds", &input, ctx)?;
        let heartbeat_secs = number_field(st, "HeartbeatSeconds", &input, ctx)?;
        let Some(resource) = st["Resource"].as_str() else {
            return Err(Failure::runtime(format!(
                "the Resource {} is a CloudFormation intrinsic, resolved only when the stack is deployed; to run the definition here, write a ${{Name}} placeholder and pass its value as a DefinitionSubstitution",
                st["Resource"]
            )));
        };
        let resource = self.engine.resolve_resource(resource);
        self.event(
            "TaskScheduled",
            "taskScheduledEventDetails",
            json!({ "resourceType": "lambda", "resource": resource, "region": "local", "parameters": input.to_string() }),
        );
        let h = self
            .engine
            .handlers
            .get(&resource)
            .cloned()
            .ok_or_else(|| {
                Failure::runtime(format!("no handler is registered for resource {resource}"))
            })?;
        let heartbeat = Heartbeat::new();
        let call = h.call_with_heartbeat(input, heartbeat.clone());
        let clock = &self.engine.clock;
        // Deadlines are taken now, when the task starts, not when the timers are first polled.
        let started = clock.now();
        let timed_out = async {
            match timeout {
                Some(t) => {
                    clock
                        .expire_at(started + Duration::from_secs_f64(t.max(0.0)))
                        .await;
                    Failure::new(
                        "States.Timeout",
                        format!("the task did not finish within {t} s"),
                    )
                }
                None => std::future::pending().await,
            }
        };
        // Each beat restarts the HeartbeatSeconds timer.
        let silent = async {
            match heartbeat_secs {
                Some(h) => {
                    let mut deadline = started + Duration::from_secs_f64(h.max(0.0));
                    loop {
                        tokio::select! {
                            biased;
                            _ = heartbeat.0.notified() => {
                                deadline = clock.now() + Duration::from_secs_f64(h.max(0.0));
                            }
                            _ = clock.expire_at(deadline) => break Failure::new(
                                "States.HeartbeatTimeout",
                                format!("the task sent no heartbeat for {h} s"),
                            ),
                        }
                    }
                }
                None => std::future::pending().await,
            }
        };
        let result = tokio::select! {
            biased;
            r = call => r,
            f = timed_out => Err(f),
            f = silent => Err(f),
        };
        let result = result.and_then(|v| {
            let text = v.to_string();
            within_quota(&text, "task result")?;
            self.event(
                "TaskSucceeded",
                "taskSucceededEventDetails",
                json!({ "resourceType": "lambda", "resource": resource, "output": text }),
            );
            Ok(v)
        });
        if let Err(f) = &result {
            let (kind, key) = if f.error == "States.Timeout" || f.error == "States.HeartbeatTimeout"
            {
                ("TaskTimedOut", "taskTimedOutEventDetails")
            } else {
                ("TaskFailed", "taskFailedEventDetails")
            };
            self.event(kind, key, json!({ "resourceType": "lambda", "resource": resource, "error": f.error, "cause": f.cause }));
        }
        result
    }

    async fn parallel(&self, st: &Value, input: Value, ctx: &Ctx) -> Result<Value, Failure> {
        self.event(
            "ParallelStateStarted",
            "parallelStateStartedEventDetails",
            json!({}),
        );
        let branches = st["Branches"].as_array().cloned().unwrap_or_default();
        let runs = branches
            .iter()
            .map(|b| self.machine(b, input.clone(), None, ctx.vars.clone()));
        let results = futures::future::join_all(runs).await;
        let mut out = Vec::with_capacity(results.len());
        for r in results {
            match r {
                Ok(v) => out.push(v),
                Err(f) => {
                    self.event(
                        "ParallelStateFailed",
                        "parallelStateFailedEventDetails",
                        json!({ "error": f.error, "cause": f.cause }),
                    );
                    return Err(f);
                }
            }
        }
        self.event(
            "ParallelStateSucceeded",
            "parallelStateSucceededEventDetails",
            json!({}),
        );
        Ok(Value::Array(out))
    }

    async fn map(&self, name: &str, st: &Value, eff: Value, ctx: &Ctx) -> Result<Value, Failure> {
        let items = match (
            st.get("ItemReader"),
            st.get("ItemsPath").and_then(Value::as_str),
        ) {
            (Some(reader), _) => self.read_items(reader, &eff, ctx).await?,
            (None, Some(p)) => select(p, &eff, ctx)?,
            (None, None) => eff.clone(),
        };
        let Value::Array(items) = items else {
            return Err(Failure::runtime("the Map state's items are not an array"));
        };
        let mut selector = st
            .get("ItemSelector")
            .or_else(|| st.get("Parameters"))
            .cloned();
        let items = match st.get("ItemBatcher") {
            None => items,
            Some(batcher) => {
                // Items are shaped by ItemSelector first, then grouped into batches:
                // each iteration receives {"Items": [...], "BatchInput": ...}.
                let mut shaped = Vec::with_capacity(items.len());
                for (index, value) in items.into_iter().enumerate() {
                    let mut item_ctx = ctx.clone();
                    item_ctx.object["Map"] = json!({ "Item": { "Index": index, "Value": value } });
                    shaped.push(match &selector {
                        Some(t) => template(t, &eff, &item_ctx)?,
                        None => value,
                    });
                }
                selector = None;
                batch(batcher, shaped, &eff, ctx)?
            }
        };
        self.event(
            "MapStateStarted",
            "mapStateStartedEventDetails",
            json!({ "length": items.len() }),
        );
        let processor = st
            .get("ItemProcessor")
            .or_else(|| st.get("Iterator"))
            .cloned()
            .unwrap_or(Value::Null);
        let concurrency = match number_field(st, "MaxConcurrency", &eff, ctx)? {
            Some(n) if n >= 1.0 => n as usize,
            _ => items.len().max(1),
        };
        let tolerated_count =
            number_field(st, "ToleratedFailureCount", &eff, ctx)?.map(|n| n as u64);
        let tolerated_pct = number_field(st, "ToleratedFailurePercentage", &eff, ctx)?;
        let total = items.len();
        let distributed = processor["ProcessorConfig"]["Mode"] == "DISTRIBUTED";
        let outer = if distributed {
            Arc::new(Map::new())
        } else {
            ctx.vars.clone()
        };
        let outer = &outer;
        let processor = &processor;
        let selector = &selector;
        let eff = &eff;
        let mut results: Vec<Child> = stream::iter(items.into_iter().enumerate())
            .map(|(index, value)| async move {
                let item = json!({ "Index": index, "Value": value });
                let mut item_ctx = ctx.clone();
                item_ctx.object["Map"] = json!({ "Item": item });
                let input = match selector {
                    Some(t) => template(t, eff, &item_ctx)?,
                    None => item["Value"].clone(),
                };
                self.event(
                    "MapIterationStarted",
                    "mapIterationStartedEventDetails",
                    json!({ "name": name, "index": index }),
                );
                let started = self.engine.clock.now();
                let r = self
                    .machine(processor, input.clone(), Some(item), outer.clone())
                    .await;
                match &r {
                    Ok(_) => self.event(
                        "MapIterationSucceeded",
                        "mapIterationSucceededEventDetails",
                        json!({ "name": name, "index": index }),
                    ),
                    Err(_) => self.event(
                        "MapIterationFailed",
                        "mapIterationFailedEventDetails",
                        json!({ "name": name, "index": index }),
                    ),
                }
                Ok::<_, Failure>(Child {
                    index,
                    input,
                    started,
                    stopped: self.engine.clock.now(),
                    result: r,
                })
            })
            // Unordered: a slow item does not hold the others' places, so MaxConcurrency
            // items run at once as in Step Functions; results are put back in item order.
            .buffer_unordered(concurrency)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<Vec<Child>, Failure>>()?;
        results.sort_by_key(|c| c.index);
        let failures: Vec<&Failure> = results
            .iter()
            .filter_map(|c| c.result.as_ref().err())
            .collect();
        if !failures.is_empty() {
            let within_count = tolerated_count.is_some_and(|n| failures.len() as u64 <= n);
            let within_pct =
                tolerated_pct.is_some_and(|p| failures.len() as f64 * 100.0 / total as f64 <= p);
            if !(within_count || within_pct) {
                let f = if tolerated_count.is_some() || tolerated_pct.is_some() {
                    Failure::new(
                        "States.ExceedToleratedFailureThreshold",
                        format!("{} of {total} items failed", failures.len()),
                    )
                } else {
                    failures[0].clone()
                };
                self.event("MapStateFailed", "mapStateFailedEventDetails", json!({}));
                return Err(f);
            }
        }
        let out = match st.get("ResultWriter") {
            Some(writer) => self.write_results(name, writer, results, eff, ctx).await?,
            None => Value::Array(results.into_iter().map(Child::compact).collect()),
        };
        self.event(
            "MapStateSucceeded",
            "mapStateSucceededEventDetails",
            json!({}),
        );
        Ok(out)
    }

    /// ResultWriter: the child executions' results, shaped by `WriterConfig`
    /// (`Transformation` NONE, COMPACT or FLATTEN; `OutputType` JSON or JSONL), returned as
    /// the state's result or, with `Resource` and `Parameters` (`Bucket`, `Prefix`), written
    /// as `{Prefix}/{map run id}/SUCCEEDED_0.json`, `FAILED_0.json` and `manifest.json`, with
    /// `{MapRunArn, ResultWriterDetails: {Bucket, Key}}` as the result.
    async fn write_results(
        &self,
        name: &str,
        writer: &Value,
        children: Vec<Child>,
        eff: &Value,
        ctx: &Ctx,
    ) -> Result<Value, Failure> {
        let fail = |m: String| Failure::new("States.ResultWriterFailed", m);
        let config = writer.get("WriterConfig");
        let export = writer.get("Parameters").is_some();
        let transformation = config
            .and_then(|c| c["Transformation"].as_str())
            .unwrap_or(if export { "NONE" } else { "COMPACT" });
        let output_type = config
            .and_then(|c| c["OutputType"].as_str())
            .unwrap_or("JSON");
        let run_id = uuid::Uuid::new_v4().to_string();
        let map_run_arn =
            format!("arn:aws:states:local:000000000000:mapRun:medidocs/{name}:{run_id}");
        let (mut succeeded, mut failed) = (Vec::new(), Vec::new());
        for child in children {
            let ok = child.result.is_ok();
            let shaped: Vec<Value> = match (transformation, &child.result) {
                // A failed child keeps its full record, whatever the transformation.
                (_, Err(_)) | ("NONE", _) => vec![child.record(&map_run_arn, name)],
                ("COMPACT", Ok(v)) => vec![v.clone()],
                ("FLATTEN", Ok(Value::Array(a))) => a.clone(),
                ("FLATTEN", Ok(v)) => vec![v.clone()],
                (other, _) => return Err(fail(format!("Transformation {other} is not known"))),
            };
            if ok { &mut succeeded } else { &mut failed }.extend(shaped);
        }
        if !export {
            let mut all = succeeded;
            all.extend(failed);
            return Ok(Value::Array(all));
        }
        let params = template(&writer["Parameters"], eff, ctx)?;
        let bucket = params["Bucket"]
            .as_str()
            .ok_or_else(|| fail("ResultWriter needs Parameters.Bucket".into()))?
            .to_string();
        let prefix = params["Prefix"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches('/');
        let base = if prefix.is_empty() {
            run_id.clone()
        } else {
            format!("{prefix}/{run_id}")
        };
        let buckets = self
            .engine
            .buckets
            .as_ref()
            .ok_or_else(|| fail("no object store is configured for ResultWriter".into()))?;
        let encode = |items: &[Value]| -> Vec<u8> {
            match output_type {
                "JSONL" => items
                    .iter()
                    .map(|v| format!("{v}\n"))
                    .collect::<String>()
                    .into_bytes(),
                _ => Value::Array(items.to_vec()).to_string().into_bytes(),
            }
        };
        let ext = if output_type == "JSONL" {
            "jsonl"
        } else {
            "json"
        };
        let mut files = json!({ "FAILED": [], "PENDING": [], "SUCCEEDED": [] });
        for (status, items) in [("SUCCEEDED", &succeeded), ("FAILED", &failed)] {
            if items.is_empty() {
                continue;
            }
            let key = format!("{base}/{status}_0.{ext}");
            let bytes = encode(items);
            let size = bytes.len();
            buckets
                .put_object(&bucket, &key, bytes)
                .await
                .map_err(|e| fail(format!("{bucket}/{key}: {e}")))?;
            if let Some(list) = files[status].as_array_mut() {
                list.push(json!({ "Key": key, "Size": size }));
            }
        }
        let manifest_key = format!("{base}/manifest.json");
        let manifest =
            json!({ "DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": files });
        buckets
            .put_object(&bucket, &manifest_key, manifest.to_string().into_bytes())
            .await
            .map_err(|e| fail(format!("{bucket}/{manifest_key}: {e}")))?;
        Ok(
            json!({ "MapRunArn": map_run_arn, "ResultWriterDetails": { "Bucket": bucket, "Key": manifest_key } }),
        )
    }
}

impl Run<'_> {
    /// ItemReader: a JSON array or a CSV file from the object store
    /// (`arn:aws:states:::s3:getObject` with `Bucket` and `Key`).
    async fn read_items(&self, reader: &Value, eff: &Value, ctx: &Ctx) -> Result<Value, Failure> {
        let fail = |m: String| Failure::new("States.ItemReaderFailed", m);
        let params = template(reader.get("Parameters").unwrap_or(&json!({})), eff, ctx)?;
        let (Some(bucket), Some(key)) = (params["Bucket"].as_str(), params["Key"].as_str()) else {
            return Err(fail(
                "ItemReader needs Parameters.Bucket and Parameters.Key".into(),
            ));
        };
        let buckets = self
            .engine
            .buckets
            .as_ref()
            .ok_or_else(|| fail("no object store is configured for ItemReader".into()))?;
        let bytes = buckets
            .get_object(bucket, key)
            .await
            .map_err(|e| fail(format!("{bucket}/{key}: {e}")))?;
        let config = reader.get("ReaderConfig").cloned().unwrap_or(json!({}));
        let text =
            String::from_utf8(bytes).map_err(|_| fail(format!("{key} is not UTF-8 text")))?;
        let mut items: Vec<Value> = match config["InputType"].as_str().unwrap_or("JSON") {
            "JSON" => match serde_json::from_str(&text) {
                Ok(Value::Array(a)) => a,
                Ok(_) => return Err(fail(format!("{key} does not hold a JSON array"))),
                Err(e) => return Err(fail(format!("{key} is not JSON: {e}"))),
            },
            "CSV" => csv_items(&text, &config).map_err(fail)?,
            other => return Err(fail(format!("InputType {other} is not supported"))),
        };
        if let Some(m) = number_field(&config, "MaxItems", eff, ctx)?.filter(|m| *m >= 1.0) {
            items.truncate(m as usize);
        }
        Ok(Value::Array(items))
    }
}

/// CSV rows as objects keyed by the header (the first row, or `CSVHeaders`); values are
/// strings, as Step Functions gives them. Quoted fields may hold commas and "" quotes.
fn csv_items(text: &str, config: &Value) -> Result<Vec<Value>, String> {
    let mut rows = text.lines().filter(|l| !l.trim().is_empty()).map(csv_row);
    let header: Vec<String> = match config["CSVHeaderLocation"].as_str().unwrap_or("FIRST_ROW") {
        "GIVEN" => config["CSVHeaders"]
            .as_array()
            .ok_or("CSVHeaders is required with CSVHeaderLocation GIVEN")?
            .iter()
            .map(|h| h.as_str().unwrap_or_default().to_string())
            .collect(),
        _ => rows.next().ok_or("the CSV file is empty")?,
    };
    Ok(rows
        .map(|r| {
            Value::Object(
                header
                    .iter()
                    .cloned()
                    .zip(r.into_iter().map(Value::String))
                    .collect(),
            )
        })
        .collect())
}

fn csv_row(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// ItemBatcher: groups items by `MaxItemsPerBatch` (and `MaxInputBytesPerBatch`).
fn batch(
    batcher: &Value,
    items: Vec<Value>,
    eff: &Value,
    ctx: &Ctx,
) -> Result<Vec<Value>, Failure> {
    let per = number_field(batcher, "MaxItemsPerBatch", eff, ctx)?
        .map_or(usize::MAX, |n| n.max(1.0) as usize);
    let max_bytes = batcher
        .get("MaxInputBytesPerBatch")
        .and_then(Value::as_u64)
        .unwrap_or(256 * 1024) as usize;
    let batch_input = match batcher.get("BatchInput") {
        Some(t) => Some(template(t, eff, ctx)?),
        None => None,
    };
    let mut batches = Vec::new();
    let mut cur: Vec<Value> = Vec::new();
    let mut bytes = 0;
    for item in items {
        let size = item.to_string().len();
        if !cur.is_empty() && (cur.len() >= per || bytes + size > max_bytes) {
            batches.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        bytes += size;
        cur.push(item);
    }
    if !cur.is_empty() {
        batches.push(cur);
    }
    Ok(batches
        .into_iter()
        .map(|b| {
            let mut v = json!({ "Items": b });
            if let Some(bi) = &batch_input {
                v["BatchInput"] = bi.clone();
            }
            v
        })
        .collect())
}

/// A number given directly (`field`) or read from the input at `{field}Path`, as the
/// States Language allows for time-outs, concurrency, tolerated failures and batch sizes.
fn number_field(
    obj: &Value,
    field: &str,
    input: &Value,
    ctx: &Ctx,
) -> Result<Option<f64>, Failure> {
    if let Some(v) = obj.get(field) {
        return Ok(v.as_f64());
    }
    match obj.get(format!("{field}Path")).and_then(Value::as_str) {
        Some(p) => select(p, input, ctx)?
            .as_f64()
            .map(Some)
            .ok_or_else(|| Failure::runtime(format!("{field}Path {p} does not give a number"))),
        None => Ok(None),
    }
}

fn error_matches(names: &Value, error: &str) -> bool {
    names
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|n| {
            n == error
                // States.ALL does not catch the terminal States.DataLimitExceeded, nor
                // runtime errors.
                || (n == "States.ALL"
                    && error != "States.Runtime"
                    && error != "States.DataLimitExceeded")
                // A heartbeat time-out is a kind of time-out.
                || (n == "States.Timeout" && error == "States.HeartbeatTimeout")
                || (n == "States.TaskFailed" && !error.starts_with("States."))
        })
}

/// `InputPath` / `OutputPath`: absent means `$`, null means `{}`.
fn select_opt(st: &Value, field: &str, v: &Value, ctx: &Ctx) -> Result<Value, Failure> {
    match st.get(field) {
        None => Ok(v.clone()),
        Some(Value::Null) => Ok(json!({})),
        Some(Value::String(p)) => select(p, v, ctx),
        Some(_) => Err(Failure::runtime(format!(
            "{field} must be a string or null"
        ))),
    }
}

/// A path's value: one value for a definite path, an array of matches otherwise.
fn select(path: &str, input: &Value, ctx: &Ctx) -> Result<Value, Failure> {
    let (kind, jp) = paths::compile(path).map_err(Failure::runtime)?;
    let root = match kind {
        PathKind::Input => input,
        PathKind::Context => &ctx.object,
        PathKind::Variable(v) => ctx.vars.get(&v).ok_or_else(|| {
            Failure::runtime(format!("the variable ${v} is not defined in this scope"))
        })?,
    };
    let nodes = jp.query(root).all();
    if is_definite(path) {
        match nodes.as_slice() {
            [one] => Ok((*one).clone()),
            _ => Err(Failure::runtime(format!(
                "the JSONPath {path} could not be found in the input"
            ))),
        }
    } else {
        Ok(Value::Array(nodes.into_iter().cloned().collect()))
    }
}

fn is_definite(path: &str) -> bool {
    !(path.contains('*')
        || path.contains("..")
        || path.contains('?')
        || path.contains(':')
        || path.contains(','))
}

/// A `.$` value: a path or an intrinsic function.
fn dynamic(expr: &str, input: &Value, ctx: &Ctx) -> Result<Value, Failure> {
    if intrinsics::looks_like_call(expr) {
        let call =
            intrinsics::parse(expr).map_err(|e| Failure::new("States.IntrinsicFailure", e))?;
        intrinsics::eval(&call, &|p| select(p, input, ctx).map_err(|f| f.cause))
            .map_err(|e| Failure::new("States.IntrinsicFailure", e))
    } else {
        select(expr, input, ctx)
    }
}

/// Payload templates: `key.$` values are evaluated, everything else copied.
fn template(t: &Value, input: &Value, ctx: &Ctx) -> Result<Value, Failure> {
    Ok(match t {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, v) in o {
                match (k.strip_suffix(".$"), v) {
                    (Some(base), Value::String(expr)) => {
                        out.insert(base.to_string(), dynamic(expr, input, ctx)?);
                    }
                    _ => {
                        out.insert(k.clone(), template(v, input, ctx)?);
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| template(v, input, ctx))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

/// Writes `value` at a Reference Path inside `target`, creating objects on the way.
fn set_path(mut target: Value, path: &str, value: Value) -> Result<Value, Failure> {
    let steps = paths::reference_steps(path).map_err(Failure::runtime)?;
    if steps.is_empty() {
        return Ok(value);
    }
    let fail = || {
        Failure::new(
            "States.ResultPathMatchFailure",
            format!("cannot apply ResultPath {path} to the state's input"),
        )
    };
    let mut cur = &mut target;
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        match step {
            paths::Step::Key(k) => {
                if cur.is_null() {
                    *cur = json!({});
                }
                let obj = cur.as_object_mut().ok_or_else(fail)?;
                if last {
                    obj.insert(k.clone(), value);
                    return Ok(target);
                }
                cur = obj.entry(k.clone()).or_insert(Value::Null);
            }
            paths::Step::Index(n) => {
                let arr = cur.as_array_mut().ok_or_else(fail)?;
                let slot = arr.get_mut(*n).ok_or_else(fail)?;
                if last {
                    *slot = value;
                    return Ok(target);
                }
                cur = slot;
            }
        }
    }
    Ok(target)
}

fn eval_rule(rule: &Value, input: &Value, ctx: &Ctx) -> Result<bool, Failure> {
    if let Some(list) = rule.get("And").and_then(Value::as_array) {
        for r in list {
            if !eval_rule(r, input, ctx)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if let Some(list) = rule.get("Or").and_then(Value::as_array) {
        for r in list {
            if eval_rule(r, input, ctx)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    if let Some(r) = rule.get("Not") {
        return Ok(!eval_rule(r, input, ctx)?);
    }
    let var = rule["Variable"].as_str().unwrap_or("$");
    let (op, operand) = rule
        .as_object()
        .and_then(|o| {
            o.iter()
                .find(|(k, _)| !matches!(k.as_str(), "Variable" | "Next" | "Comment" | "Assign"))
        })
        .ok_or_else(|| Failure::runtime("a choice rule without a comparison"))?;
    if op == "IsPresent" {
        let present = select(var, input, ctx).is_ok();
        return Ok(present == operand.as_bool().unwrap_or(true));
    }
    let value = select(var, input, ctx)?;
    let (base, expected) = match op.strip_suffix("Path") {
        Some(base) if !base.starts_with("Is") => {
            (base, select(operand.as_str().unwrap_or("$"), input, ctx)?)
        }
        _ => (op.as_str(), operand.clone()),
    };
    let want = |b: bool| expected.as_bool() == Some(b);
    Ok(match base {
        "IsNull" => want(value.is_null()),
        "IsNumeric" => want(value.is_number()),
        "IsString" => want(value.is_string()),
        "IsBoolean" => want(value.is_boolean()),
        "IsTimestamp" => want(
            value
                .as_str()
                .is_some_and(|s| OffsetDateTime::parse(s, &Rfc3339).is_ok()),
        ),
        "BooleanEquals" => value.is_boolean() && value == expected,
        "StringMatches" => match (value.as_str(), expected.as_str()) {
            (Some(v), Some(p)) => glob(p, v),
            _ => false,
        },
        b if b.starts_with("String") => match (value.as_str(), expected.as_str()) {
            (Some(v), Some(e)) => compare(&b["String".len()..], v.cmp(e)),
            _ => false,
        },
        b if b.starts_with("Numeric") => match (value.as_f64(), expected.as_f64()) {
            (Some(v), Some(e)) => v
                .partial_cmp(&e)
                .is_some_and(|o| compare(&b["Numeric".len()..], o)),
            _ => false,
        },
        b if b.starts_with("Timestamp") => {
            let ts = |v: &Value| {
                v.as_str()
                    .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
            };
            match (ts(&value), ts(&expected)) {
                (Some(v), Some(e)) => compare(&b["Timestamp".len()..], v.cmp(&e)),
                _ => false,
            }
        }
        other => return Err(Failure::runtime(format!("unknown comparison {other}"))),
    })
}

fn compare(op: &str, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        "Equals" => o == Equal,
        "LessThan" => o == Less,
        "GreaterThan" => o == Greater,
        "LessThanEquals" => o != Greater,
        "GreaterThanEquals" => o != Less,
        _ => false,
    }
}

/// StringMatches: `*` matches any run of characters; `\*` and `\\` are literal.
fn glob(pattern: &str, s: &str) -> bool {
    #[derive(PartialEq)]
    enum T {
        Lit(char),
        Star,
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => toks.push(T::Lit(it.next().unwrap_or('\\'))),
            '*' => toks.push(T::Star),
            c => toks.push(T::Lit(c)),
        }
    }
    let s: Vec<char> = s.chars().collect();
    let (mut p, mut i, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while i < s.len() {
        if p < toks.len() && toks[p] == T::Lit(s[i]) {
            p += 1;
            i += 1;
        } else if p < toks.len() && toks[p] == T::Star {
            star = Some(p);
            mark = i;
            p += 1;
        } else if let Some(sp) = star {
            p = sp + 1;
            mark += 1;
            i = mark;
        } else {
            return false;
        }
    }
    toks[p..].iter().all(|t| *t == T::Star)
}

#[cfg(test)]
mod tests {
    use super::{BucketError, glob};
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

    #[test]
    fn string_matches_globs() {
        assert!(glob("log-*.txt", "log-2026-11.txt"));
        assert!(glob("*", ""));
        assert!(!glob("log-*.txt", "log-1.csv"));
        assert!(glob("a\\*b", "a*b"));
        assert!(!glob("a\\*b", "axb"));
    }
}
