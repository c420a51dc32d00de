//! One execution as it runs: its history, the scopes of its variables, the context
//! object, and the loop that enters each state and applies its input and output
//! processing.

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use super::data::{dynamic, select_opt, set_path, template};
use super::{Engine, Failure, Fut, fmt_time, within_quota};

pub(super) struct Run<'e> {
    pub(super) engine: &'e Engine,
    pub(super) history: Mutex<Vec<Value>>,
    pub(super) execution: Value,
}

/// Where a state runs: its Map item (for the context object) and its workflow variables.
/// The top-level states share one scope; each Parallel branch and Map iteration has its
/// own, which reads (never writes) a snapshot of the enclosing scopes taken when the
/// Parallel or Map state started. A DISTRIBUTED Map's iterations see no outer variables.
pub(super) struct Scope {
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
    pub(super) fn assign(
        &self,
        spec: Option<&Value>,
        value: &Value,
        ctx: &Ctx,
    ) -> Result<(), Failure> {
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

    pub(super) fn discard_pending(&self) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }

    /// Applies the completed state's assignments; returns them for the history.
    pub(super) fn commit(&self) -> Option<Map<String, Value>> {
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

/// What paths in a state can read: the context object (`$$`) and the workflow variables
/// (`$name`) as they were when the state was entered.
#[derive(Clone)]
pub(super) struct Ctx {
    pub(super) object: Value,
    pub(super) vars: Arc<Map<String, Value>>,
}

impl Run<'_> {
    pub(super) fn event(&self, kind: &str, details_key: &str, details: Value) {
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

    pub(super) fn context(&self, state: &str, retry: u32, scope: &Scope) -> Ctx {
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

    pub(super) fn machine<'a>(
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

    pub(super) fn effective_input(
        &self,
        st: &Value,
        raw: &Value,
        ctx: &Ctx,
    ) -> Result<Value, Failure> {
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
    pub(super) fn output(
        &self,
        st: &Value,
        raw: Value,
        result: Value,
        ctx: &Ctx,
    ) -> Result<Value, Failure> {
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
}
