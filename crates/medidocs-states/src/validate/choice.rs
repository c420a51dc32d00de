//! Choice rules: comparisons, And/Or/Not, and the variables they read.

use serde_json::{Map, Value};

use super::{QueryLanguage, Validator};
use crate::paths;

const COMPARISONS: &[&str] = &[
    "StringEquals",
    "StringLessThan",
    "StringGreaterThan",
    "StringLessThanEquals",
    "StringGreaterThanEquals",
    "StringMatches",
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThan",
    "NumericLessThanEquals",
    "NumericGreaterThanEquals",
    "BooleanEquals",
    "TimestampEquals",
    "TimestampLessThan",
    "TimestampGreaterThan",
    "TimestampLessThanEquals",
    "TimestampGreaterThanEquals",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
];

impl Validator {
    pub(super) fn choices(
        &mut self,
        at: &str,
        obj: &Map<String, Value>,
        ql: QueryLanguage,
        targets: &mut Vec<String>,
    ) {
        match obj.get("Choices").and_then(Value::as_array) {
            Some(rules) if !rules.is_empty() => {
                for r in rules {
                    match r.get("Next").and_then(Value::as_str) {
                        Some(n) => targets.push(n.to_string()),
                        None => self.err(at, "Choices", "every choice rule needs Next"),
                    }
                    self.rule(at, r, ql, true);
                }
            }
            _ => self.err(at, "Choices", "required: a non-empty array of choice rules"),
        }
        match obj.get("Default") {
            None => {}
            Some(Value::String(d)) => targets.push(d.clone()),
            Some(_) => self.err(at, "Default", "must be a state name"),
        }
    }

    fn rule(&mut self, at: &str, r: &Value, ql: QueryLanguage, top: bool) {
        let Some(o) = r.as_object() else {
            self.err(at, "Choices", "a choice rule must be an object");
            return;
        };
        if ql == QueryLanguage::Jsonata {
            if !o.get("Condition").is_some_and(Value::is_string) {
                self.err(at, "Choices", "a JSONata choice rule needs a Condition");
            }
            return;
        }
        if !top && o.contains_key("Next") {
            self.err(
                at,
                "Choices",
                "Next is only allowed on top-level choice rules",
            );
        }
        let ops: Vec<&String> = o
            .keys()
            .filter(|k| !matches!(k.as_str(), "Next" | "Comment" | "Variable" | "Assign"))
            .collect();
        if ops.len() != 1 {
            self.err(
                at,
                "Choices",
                format!("a choice rule needs exactly one comparison or And/Or/Not, found {ops:?}"),
            );
            return;
        }
        let op = ops[0].as_str();
        match op {
            "And" | "Or" => match o[op].as_array() {
                Some(list) if !list.is_empty() => {
                    list.iter().for_each(|x| self.rule(at, x, ql, false))
                }
                _ => self.err(
                    at,
                    "Choices",
                    format!("{op} needs a non-empty array of rules"),
                ),
            },
            "Not" => self.rule(at, &o[op], ql, false),
            _ => {
                let base = op.strip_suffix("Path").unwrap_or(op);
                if !COMPARISONS.contains(&base) || (op.ends_with("Path") && base.starts_with("Is"))
                {
                    self.err(
                        at,
                        "Choices",
                        format!("'{op}' is not a comparison operator"),
                    );
                    return;
                }
                match o.get("Variable").and_then(Value::as_str) {
                    Some(v) => {
                        if let Err(e) = paths::check_reference_path(v, true) {
                            self.err(at, "Variable", e);
                        }
                    }
                    None => self.err(at, "Variable", format!("required with {op}")),
                }
                if op.ends_with("Path") {
                    match o[op].as_str() {
                        Some(p) => {
                            if let Err(e) = paths::check_reference_path(p, true) {
                                self.err(at, op, e);
                            }
                        }
                        None => self.err(at, op, "must be a path"),
                    }
                }
            }
        }
    }
}
