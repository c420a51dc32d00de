//! Retry and Catch fields.

use serde_json::Value;

use super::{QueryLanguage, Validator};
use crate::paths;

impl Validator {
    pub(super) fn retry_catch(
        &mut self,
        at: &str,
        field: &str,
        list: &Value,
        ql: QueryLanguage,
        targets: &mut Vec<String>,
    ) {
        let Some(items) = list.as_array() else {
            self.err(at, field, "must be an array");
            return;
        };
        for item in items {
            let Some(o) = item.as_object() else {
                self.err(at, field, "each entry must be an object");
                continue;
            };
            match o.get("ErrorEquals").and_then(Value::as_array) {
                Some(e) if !e.is_empty() && e.iter().all(Value::is_string) => {}
                _ => self.err(
                    at,
                    field,
                    "ErrorEquals must be a non-empty array of error names",
                ),
            }
            let allowed: &[&str] = if field == "Retry" {
                &[
                    "ErrorEquals",
                    "IntervalSeconds",
                    "MaxAttempts",
                    "BackoffRate",
                    "MaxDelaySeconds",
                    "JitterStrategy",
                    "Comment",
                ]
            } else {
                &[
                    "ErrorEquals",
                    "Next",
                    "ResultPath",
                    "Comment",
                    "Assign",
                    "Output",
                ]
            };
            for k in o.keys() {
                if !allowed.contains(&k.as_str()) {
                    self.err(at, field, format!("unknown field '{k}'"));
                }
            }
            if field == "Catch" {
                match o.get("Next").and_then(Value::as_str) {
                    Some(n) => targets.push(n.to_string()),
                    None => self.err(at, "Catch", "every catcher needs Next"),
                }
                if let Some(Value::String(p)) = o.get("ResultPath") {
                    if ql == QueryLanguage::Jsonata {
                        self.err(at, "Catch", "ResultPath is a JSONPath field");
                    } else if let Err(e) = paths::check_reference_path(p, false) {
                        self.err(at, "Catch", e);
                    }
                }
            } else {
                if o.get("IntervalSeconds")
                    .is_some_and(|v| v.as_u64().is_none_or(|n| n < 1))
                {
                    self.err(at, "Retry", "IntervalSeconds must be a positive integer");
                }
                if o.get("MaxAttempts").is_some_and(|v| v.as_u64().is_none()) {
                    self.err(at, "Retry", "MaxAttempts must be a non-negative integer");
                }
                if o.get("BackoffRate")
                    .is_some_and(|v| !v.as_f64().is_some_and(|n| n >= 1.0))
                {
                    self.err(at, "Retry", "BackoffRate must be a number of at least 1.0");
                }
                if o.get("JitterStrategy")
                    .is_some_and(|v| !matches!(v.as_str(), Some("FULL" | "NONE")))
                {
                    self.err(at, "Retry", "JitterStrategy must be FULL or NONE");
                }
            }
        }
    }
}
