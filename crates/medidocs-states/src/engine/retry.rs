//! Retry and Catch around Task, Parallel and Map states.

use std::time::Duration;

use serde_json::{Value, json};

use super::Failure;
use super::data::set_path;
use super::run::{Run, Scope};

impl Run<'_> {
    /// Task, Parallel and Map: the work, then Retry and Catch.
    pub(super) async fn with_retry(
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
