//! Each state's fields by its type (and query language), Task resources, Map
//! processors.

use serde_json::{Map, Value};

use super::{QueryLanguage, Scope, Validator};
use crate::{intrinsics, paths};

const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];
const JSONPATH_ONLY: &[&str] = &[
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "ResultSelector",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "ErrorPath",
    "CausePath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
    "Iterator",
];
const JSONATA_ONLY: &[&str] = &["Arguments", "Output", "Items"];

fn fields_for(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pass" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "Result",
            "Assign",
            "Output",
        ],
        "Task" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Retry",
            "Catch",
            "Credentials",
            "Assign",
            "Arguments",
            "Output",
        ],
        "Choice" => &[
            "InputPath",
            "OutputPath",
            "Choices",
            "Default",
            "Assign",
            "Output",
        ],
        "Wait" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
            "Assign",
            "Output",
        ],
        "Succeed" => &["InputPath", "OutputPath", "Output"],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Branches",
            "Retry",
            "Catch",
            "Assign",
            "Arguments",
            "Output",
        ],
        "Map" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ItemSelector",
            "ResultSelector",
            "ItemsPath",
            "Items",
            "Iterator",
            "ItemProcessor",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "Label",
            "Retry",
            "Catch",
            "Assign",
            "Arguments",
            "Output",
        ],
        _ => return None,
    })
}

impl Validator {
    /// Checks one state; returns its transition targets and whether it can end the machine.
    pub(super) fn state(
        &mut self,
        at: &str,
        s: &Value,
        inherited: QueryLanguage,
    ) -> (Vec<String>, bool) {
        let Some(obj) = s.as_object() else {
            self.err(at, "(state)", "must be an object");
            return (vec![], false);
        };
        let kind = match obj.get("Type").and_then(Value::as_str) {
            Some(k) if fields_for(k).is_some() => k,
            _ => {
                self.err(
                    at,
                    "Type",
                    "required: one of Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map",
                );
                return (vec![], false);
            }
        };
        let ql = match obj.get("QueryLanguage").and_then(Value::as_str) {
            Some("JSONata") => QueryLanguage::Jsonata,
            Some("JSONPath") => QueryLanguage::JsonPath,
            Some(_) => {
                self.err(at, "QueryLanguage", "must be \"JSONPath\" or \"JSONata\"");
                inherited
            }
            None => inherited,
        };
        let allowed = fields_for(kind).unwrap_or(&[]);
        for k in obj.keys() {
            let k = k.as_str();
            if !COMMON.contains(&k) && !allowed.contains(&k) {
                self.err(at, k, format!("unknown field for a {kind} state"));
            } else if ql == QueryLanguage::Jsonata && JSONPATH_ONLY.contains(&k) {
                self.err(
                    at,
                    k,
                    "is a JSONPath field; this state uses JSONata (use Arguments, Output, Items)",
                );
            } else if ql == QueryLanguage::JsonPath && JSONATA_ONLY.contains(&k) {
                self.err(at, k, "is a JSONata field; this state uses JSONPath");
            }
        }
        if ql == QueryLanguage::Jsonata {
            self.jsonata_strings(at, kind, s);
        }
        self.exclusive(
            at,
            obj,
            &[
                &["TimeoutSeconds", "TimeoutSecondsPath"],
                &["HeartbeatSeconds", "HeartbeatSecondsPath"],
                &["Error", "ErrorPath"],
                &["Cause", "CausePath"],
                &["Items", "ItemsPath"],
                &["MaxConcurrency", "MaxConcurrencyPath"],
                &["ToleratedFailureCount", "ToleratedFailureCountPath"],
                &[
                    "ToleratedFailurePercentage",
                    "ToleratedFailurePercentagePath",
                ],
            ],
        );

        // Paths and payload templates (JSONPath states).
        // Every JSONPath-only `*Path` field but ResultPath (a Reference Path, below).
        for f in JSONPATH_ONLY
            .iter()
            .copied()
            .filter(|f| f.ends_with("Path") && *f != "ResultPath")
        {
            match obj.get(f) {
                None | Some(Value::Null) => {}
                Some(Value::String(p)) => {
                    let r = if matches!(f, "ErrorPath" | "CausePath")
                        && intrinsics::looks_like_call(p)
                    {
                        intrinsics::parse(p).map(|_| ())
                    } else {
                        paths::check_path(p)
                    };
                    if let Err(e) = r {
                        self.err(at, f, e);
                    }
                }
                Some(_) => self.err(at, f, "must be a path string or null"),
            }
        }
        match obj.get("ResultPath") {
            None | Some(Value::Null) => {}
            Some(Value::String(p)) => {
                if let Err(e) = paths::check_reference_path(p, false) {
                    self.err(at, "ResultPath", e);
                }
            }
            Some(_) => self.err(at, "ResultPath", "must be a Reference Path or null"),
        }
        for f in ["Parameters", "ResultSelector", "ItemSelector"] {
            if let Some(t) = obj.get(f) {
                self.template(at, f, t);
            }
        }
        if let Some(a) = obj.get("Assign")
            && !a.is_object()
        {
            self.err(at, "Assign", "must be an object");
        }
        for f in ["TimeoutSeconds", "HeartbeatSeconds"] {
            if let Some(v) = obj.get(f).filter(|v| !v.is_string()) {
                self.positive_int(at, f, v);
            }
        }
        if let (Some(h), Some(t)) = (
            obj.get("HeartbeatSeconds").and_then(Value::as_u64),
            obj.get("TimeoutSeconds").and_then(Value::as_u64),
        ) && h >= t
        {
            self.err(
                at,
                "HeartbeatSeconds",
                format!("must be smaller than TimeoutSeconds ({h} >= {t})"),
            );
        }

        // Transitions.
        let mut targets = Vec::new();
        let next = obj.get("Next");
        let end = obj.get("End");
        let mut ends = false;
        match kind {
            "Choice" => {
                if end.is_some() || next.is_some() {
                    self.err(
                        at,
                        if end.is_some() { "End" } else { "Next" },
                        "a Choice state transitions through Choices and Default only",
                    );
                }
                self.choices(at, obj, ql, &mut targets);
            }
            "Succeed" | "Fail" => {
                ends = true;
                if next.is_some() || end.is_some() {
                    self.err(
                        at,
                        "Next",
                        format!("a {kind} state ends the machine: no Next or End"),
                    );
                }
            }
            _ => match (next, end) {
                (Some(Value::String(n)), None) => targets.push(n.clone()),
                (None, Some(Value::Bool(true))) => ends = true,
                (Some(_), Some(_)) => self.err(at, "Next", "Next and End cannot both be given"),
                (Some(_), None) => self.err(at, "Next", "must be a state name"),
                (None, Some(_)) => self.err(at, "End", "must be true (or use Next)"),
                (None, None) => self.err(at, "Next", "required: Next or \"End\": true"),
            },
        }
        for f in ["Retry", "Catch"] {
            if let Some(list) = obj.get(f) {
                self.retry_catch(at, f, list, ql, &mut targets);
            }
        }
        match kind {
            "Task" => self.task(at, obj),
            "Wait" => {
                let given = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
                    .iter()
                    .filter(|f| obj.contains_key(**f))
                    .count();
                if given != 1 {
                    self.err(
                        at,
                        "Seconds",
                        "exactly one of Seconds, SecondsPath, Timestamp, TimestampPath is required",
                    );
                }
            }
            "Parallel" => match obj.get("Branches").and_then(Value::as_array) {
                Some(b) if !b.is_empty() => {
                    for br in b {
                        self.machine(br, &format!("{at}/"), Scope::Branch, ql);
                    }
                }
                _ => self.err(
                    at,
                    "Branches",
                    "required: a non-empty array of state machines",
                ),
            },
            "Map" => self.map(at, obj, ql),
            _ => {}
        }
        (targets, ends)
    }

    fn exclusive(&mut self, at: &str, obj: &Map<String, Value>, pairs: &[&[&str]]) {
        for group in pairs {
            let given: Vec<&str> = group
                .iter()
                .copied()
                .filter(|f| obj.contains_key(*f))
                .collect();
            if given.len() > 1 {
                self.err(
                    at,
                    given[1],
                    format!("{} are mutually exclusive", given.join(" and ")),
                );
            }
        }
    }

    pub(super) fn positive_int(&mut self, at: &str, field: &str, v: &Value) {
        if v.as_u64().is_none_or(|n| n < 1) {
            self.err(at, field, "must be a positive integer");
        }
    }

    fn task(&mut self, at: &str, obj: &Map<String, Value>) {
        match obj.get("Resource") {
            Some(Value::String(r)) => {
                if let Err(e) = check_resource(r) {
                    self.err(at, "Resource", e);
                }
            }
            // A CloudFormation intrinsic ({"Ref": …} or {"Fn::GetAtt": …}) filled in at deployment.
            Some(Value::Object(o))
                if o.len() == 1 && o.keys().all(|k| k == "Ref" || k.starts_with("Fn::")) => {}
            _ => self.err(at, "Resource", "required: the task's resource ARN"),
        }
        match obj.get("Credentials") {
            None => {}
            Some(c @ Value::Object(_)) => self.template(at, "Credentials", c),
            Some(_) => self.err(
                at,
                "Credentials",
                "must be an object (RoleArn, or a template giving it)",
            ),
        }
    }

    fn map(&mut self, at: &str, obj: &Map<String, Value>, ql: QueryLanguage) {
        match (obj.get("Iterator"), obj.get("ItemProcessor")) {
            (Some(p), None) | (None, Some(p)) => {
                self.machine(p, &format!("{at}/"), Scope::Processor, ql)
            }
            (Some(_), Some(_)) => self.err(
                at,
                "ItemProcessor",
                "Iterator and ItemProcessor are mutually exclusive",
            ),
            (None, None) => self.err(
                at,
                "ItemProcessor",
                "required: the state machine run for each item",
            ),
        }
        if let Some(p) = obj
            .get("ToleratedFailurePercentage")
            .filter(|v| !v.is_string())
            && !p.as_f64().is_some_and(|n| (0.0..=100.0).contains(&n))
        {
            self.err(
                at,
                "ToleratedFailurePercentage",
                "must be a number from 0 to 100",
            );
        }
        if let Some(n) = obj.get("ToleratedFailureCount").filter(|v| !v.is_string())
            && n.as_u64().is_none()
        {
            self.err(
                at,
                "ToleratedFailureCount",
                "must be a non-negative integer",
            );
        }
        if let Some(n) = obj.get("MaxConcurrency").filter(|v| !v.is_string())
            && n.as_u64().is_none()
        {
            self.err(at, "MaxConcurrency", "must be a non-negative integer");
        }
        if let Some(b) = obj.get("ItemBatcher") {
            match b.as_object() {
                Some(o) => self.exclusive(
                    at,
                    o,
                    &[
                        &["MaxItemsPerBatch", "MaxItemsPerBatchPath"],
                        &["MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath"],
                    ],
                ),
                None => self.err(at, "ItemBatcher", "must be an object"),
            }
        }
        if let Some(r) = obj.get("ItemReader") {
            match r.as_object() {
                Some(o) => {
                    if !o.get("Resource").is_some_and(Value::is_string) {
                        self.err(at, "ItemReader", "Resource is required");
                    }
                    if let Some(rc) = o.get("ReaderConfig").and_then(Value::as_object) {
                        self.exclusive(at, rc, &[&["MaxItems", "MaxItemsPath"]]);
                    }
                    if let Some(p) = o.get("Parameters") {
                        self.template(at, "ItemReader", p);
                    }
                }
                None => self.err(at, "ItemReader", "must be an object"),
            }
        }
    }

    pub(super) fn processor_config(&mut self, at: &str, pc: &Value) {
        let Some(o) = pc.as_object() else {
            self.err(at, "ProcessorConfig", "must be an object");
            return;
        };
        if o.get("Mode")
            .is_some_and(|m| !matches!(m.as_str(), Some("INLINE" | "DISTRIBUTED")))
        {
            self.err(at, "ProcessorConfig", "Mode must be INLINE or DISTRIBUTED");
        }
        if o.get("ExecutionType")
            .is_some_and(|m| !matches!(m.as_str(), Some("STANDARD" | "EXPRESS")))
        {
            self.err(
                at,
                "ProcessorConfig",
                "ExecutionType must be STANDARD or EXPRESS",
            );
        }
    }
}

/// Task resources: ARNs (Lambda function ARNs with a valid qualifier), or a complete
/// `${Name}` substitution the deployment fills in.
fn check_resource(r: &str) -> Result<(), String> {
    if r.contains("${") || r.contains('}') {
        let mut rest = r;
        while let Some(i) = rest.find("${") {
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else {
                return Err(format!("'{r}': unclosed ${{…}} substitution"));
            };
            let name = &after[..end];
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!("'{r}': '${{{name}}}' is not a substitution name"));
            }
            rest = &after[end + 1..];
        }
        if rest.contains('}') {
            return Err(format!("'{r}': unmatched '}}'"));
        }
        return Ok(());
    }
    if !r.starts_with("arn:") {
        return Err(format!("'{r}' is not an ARN"));
    }
    let parts: Vec<&str> = r.split(':').collect();
    if parts.len() >= 7 && parts[2] == "lambda" && parts[5] == "function" {
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        let ok = match parts.len() {
            7 => name_ok(parts[6]),
            8 => name_ok(parts[6]) && (parts[7] == "$LATEST" || name_ok(parts[7])),
            _ => false,
        };
        if !ok {
            return Err(format!(
                "'{r}' is not a Lambda function ARN (name, then an optional version or alias)"
            ));
        }
    }
    Ok(())
}
