//! Validation of state machine definitions. Every error names the state (with its
//! enclosing Map or Parallel states) and the field, so a definition can be fixed from the
//! message alone.

use std::collections::{BTreeSet, HashMap, VecDeque};

use serde_json::{Map, Value};

use crate::{intrinsics, json, paths};

/// One problem in a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The state, as `Outer/Inner` for states inside Map or Parallel; empty at top level.
    pub state: String,
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.state.is_empty() {
            write!(f, "{}: {}", self.field, self.message)
        } else {
            write!(
                f,
                "state '{}', {}: {}",
                self.state, self.field, self.message
            )
        }
    }
}

impl std::error::Error for ValidationError {}

/// Longest state name Step Functions deploys.
pub const MAX_STATE_NAME: usize = 80;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryLanguage {
    JsonPath,
    Jsonata,
}

/// Parses JSON text (refusing duplicate keys) and validates it.
pub fn validate_text(text: &str) -> Result<Value, Vec<ValidationError>> {
    let def = json::parse_strict(text).map_err(|e| {
        vec![ValidationError {
            state: String::new(),
            field: "(document)".into(),
            message: format!("not valid JSON: {e}"),
        }]
    })?;
    validate(&def)?;
    Ok(def)
}

/// Validates a parsed definition; all problems found are returned, not just the first.
pub fn validate(def: &Value) -> Result<(), Vec<ValidationError>> {
    let mut v = Validator::default();
    v.machine(def, "", Scope::Top, QueryLanguage::JsonPath);
    let dupes: Vec<String> = v
        .names
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(name, _)| name.clone())
        .collect();
    for name in dupes {
        v.err(&name, "(name)", "state names must be unique in the whole state machine, Map and Parallel states included");
    }
    if v.errors.is_empty() {
        Ok(())
    } else {
        Err(v.errors)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Top,
    Branch,
    Processor,
}

#[derive(Default)]
struct Validator {
    errors: Vec<ValidationError>,
    names: HashMap<String, usize>,
}

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
    fn err(&mut self, state: &str, field: &str, message: impl Into<String>) {
        self.errors.push(ValidationError {
            state: state.to_string(),
            field: field.to_string(),
            message: message.into(),
        });
    }

    fn machine(&mut self, m: &Value, prefix: &str, scope: Scope, inherited: QueryLanguage) {
        let at = prefix.trim_end_matches('/');
        let Some(obj) = m.as_object() else {
            self.err(
                at,
                if scope == Scope::Top {
                    "(document)"
                } else {
                    "Branches/ItemProcessor"
                },
                "must be an object",
            );
            return;
        };
        let allowed: &[&str] = match scope {
            Scope::Top => &[
                "Comment",
                "StartAt",
                "States",
                "TimeoutSeconds",
                "Version",
                "QueryLanguage",
            ],
            Scope::Branch => &["Comment", "StartAt", "States", "QueryLanguage"],
            Scope::Processor => &[
                "Comment",
                "StartAt",
                "States",
                "ProcessorConfig",
                "QueryLanguage",
            ],
        };
        for k in obj.keys() {
            if !allowed.contains(&k.as_str()) {
                self.err(at, k, "unknown field");
            }
        }
        let ql = match obj.get("QueryLanguage") {
            None => inherited,
            Some(Value::String(s)) if s == "JSONPath" => QueryLanguage::JsonPath,
            Some(Value::String(s)) if s == "JSONata" => QueryLanguage::Jsonata,
            Some(_) => {
                self.err(at, "QueryLanguage", "must be \"JSONPath\" or \"JSONata\"");
                inherited
            }
        };
        if let Some(t) = obj.get("TimeoutSeconds") {
            self.positive_int(at, "TimeoutSeconds", t);
        }
        if let Some(pc) = obj.get("ProcessorConfig") {
            self.processor_config(at, pc);
        }
        let Some(states) = obj
            .get("States")
            .and_then(Value::as_object)
            .filter(|s| !s.is_empty())
        else {
            self.err(at, "States", "required: an object with at least one state");
            return;
        };
        let start = match obj.get("StartAt") {
            Some(Value::String(s)) => {
                if !states.contains_key(s) {
                    self.err(
                        at,
                        "StartAt",
                        format!("names '{s}', which is not a state here"),
                    );
                }
                Some(s.clone())
            }
            _ => {
                self.err(at, "StartAt", "required: the name of the first state");
                None
            }
        };
        let mut edges: HashMap<&str, Vec<String>> = HashMap::new();
        let mut terminal = false;
        for (name, s) in states {
            *self.names.entry(name.clone()).or_default() += 1;
            let path = format!("{prefix}{name}");
            if name.chars().count() > MAX_STATE_NAME {
                self.err(
                    &path,
                    "(name)",
                    format!("state names are at most {MAX_STATE_NAME} characters"),
                );
            }
            let (targets, ends) = self.state(&path, s, ql);
            terminal |= ends;
            for t in &targets {
                if !states.contains_key(t) {
                    self.err(&path, "Next", format!("'{t}' is not a state in the same scope (a transition cannot leave or enter a Map or Parallel)"));
                }
            }
            edges.insert(name.as_str(), targets);
        }
        if !terminal {
            self.err(at, "States", "no terminal state: at least one state must have \"End\": true or be a Succeed or Fail state");
        }
        if let Some(start) = start.filter(|s| states.contains_key(s)) {
            let mut seen = BTreeSet::from([start.clone()]);
            let mut queue = VecDeque::from([start]);
            while let Some(n) = queue.pop_front() {
                for t in edges.get(n.as_str()).into_iter().flatten() {
                    if states.contains_key(t) && seen.insert(t.clone()) {
                        queue.push_back(t.clone());
                    }
                }
            }
            for name in states.keys() {
                if !seen.contains(name) {
                    self.err(
                        &format!("{prefix}{name}"),
                        "(name)",
                        "unreachable: no transition leads to this state",
                    );
                }
            }
        }
    }

    /// Checks one state; returns its transition targets and whether it can end the machine.
    fn state(&mut self, at: &str, s: &Value, inherited: QueryLanguage) -> (Vec<String>, bool) {
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

    fn positive_int(&mut self, at: &str, field: &str, v: &Value) {
        if v.as_u64().is_none_or(|n| n < 1) {
            self.err(at, field, "must be a positive integer");
        }
    }

    /// Payload templates: `name.$` values are paths or intrinsic calls, and no two keys
    /// are the same once `.$` is removed.
    fn template(&mut self, at: &str, field: &str, t: &Value) {
        match t {
            Value::Object(o) => {
                let mut seen = BTreeSet::new();
                for (k, v) in o {
                    let base = k.strip_suffix(".$").unwrap_or(k);
                    if !seen.insert(base.to_string()) {
                        self.err(
                            at,
                            field,
                            format!("'{base}' is given twice (with and without '.$')"),
                        );
                    }
                    if k.ends_with(".$") {
                        match v.as_str() {
                            Some(s) => self.dynamic_value(at, field, k, s),
                            None => self.err(
                                at,
                                field,
                                format!("'{k}' must be a path or intrinsic function string"),
                            ),
                        }
                    } else {
                        self.template(at, field, v);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| self.template(at, field, v)),
            _ => {}
        }
    }

    fn dynamic_value(&mut self, at: &str, field: &str, key: &str, s: &str) {
        let r = if intrinsics::looks_like_call(s) {
            intrinsics::parse(s).map(|_| ())
        } else {
            paths::check_path(s)
        };
        if let Err(e) = r {
            self.err(at, field, format!("'{key}': {e}"));
        }
    }

    fn choices(
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

    fn retry_catch(
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

    fn processor_config(&mut self, at: &str, pc: &Value) {
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

    /// JSONata expressions are strings written `{% expression %}` and must parse.
    fn jsonata_strings(&mut self, at: &str, kind: &str, s: &Value) {
        let Some(o) = s.as_object() else { return };
        for (k, v) in o {
            // Nested state machines are checked as machines of their own; comments are text.
            if k == "Comment"
                || (kind == "Parallel" && k == "Branches")
                || (kind == "Map" && k == "ItemProcessor")
            {
                continue;
            }
            self.jsonata_value(at, k, v);
        }
    }

    fn jsonata_value(&mut self, at: &str, field: &str, v: &Value) {
        match v {
            Value::String(s)
                if s.trim_start().starts_with("{%") || s.trim_end().ends_with("%}") =>
            {
                if let Err(e) = check_jsonata(s) {
                    self.err(at, field, e);
                }
            }
            Value::Object(o) => o.values().for_each(|x| self.jsonata_value(at, field, x)),
            Value::Array(a) => a.iter().for_each(|x| self.jsonata_value(at, field, x)),
            _ => {}
        }
    }
}

/// `{% expression %}`: one space after `{%`, one before `%}`, on one line, and an
/// expression JSONata can parse.
fn check_jsonata(s: &str) -> Result<(), String> {
    let inner = s
        .strip_prefix("{% ")
        .and_then(|r| r.strip_suffix(" %}"))
        .ok_or_else(|| {
            format!("JSONata expressions are written \"{{% expression %}}\", got {s:?}")
        })?;
    if inner.contains('\n') || inner.trim().is_empty() {
        return Err(format!(
            "JSONata expressions are written \"{{% expression %}}\" on one line, got {s:?}"
        ));
    }
    if let Some(bad) = number_ending_in_dot(inner) {
        return Err(format!(
            "JSONata expression {inner:?}: the number '{bad}' ends with '.'"
        ));
    }
    let arena = bumpalo::Bump::new();
    jsonata_rs::JsonAta::new(inner, &arena)
        .map(|_| ())
        .map_err(|e| format!("JSONata expression {inner:?} does not parse: {e}"))
}

/// JSONata numbers are `digits[.digits]`: `420.` is a syntax error (the JSONata parser
/// used here accepts it).
fn number_ending_in_dot(expr: &str) -> Option<String> {
    let b: Vec<char> = expr.chars().collect();
    let mut quote = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            // A '/' where an operand is expected starts a regular expression literal.
            None if c == '/'
                && b[..i]
                    .iter()
                    .rev()
                    .find(|x| !x.is_whitespace())
                    .is_none_or(|p| "(,=:[{!&|+-*<>?".contains(*p)) =>
            {
                quote = Some('/')
            }
            None if c.is_ascii_digit()
                && (i == 0
                    || !(b[i - 1].is_alphanumeric()
                        || b[i - 1] == '_'
                        || b[i - 1] == '$'
                        || b[i - 1] == '.')) =>
            {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                if i < b.len()
                    && b[i] == '.'
                    && !b
                        .get(i + 1)
                        .is_some_and(|n| n.is_ascii_digit() || *n == '.')
                {
                    return Some(b[start..=i].iter().collect());
                }
                continue;
            }
            None => {}
        }
        i += 1;
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_are_std_errors() {
        let errors = validate_text("{").unwrap_err();
        let e: Box<dyn std::error::Error + Send + Sync> = Box::new(errors[0].clone());
        assert!(
            e.to_string().starts_with("(document): not valid JSON"),
            "{e}"
        );
        assert!(e.source().is_none());
        let named = ValidationError {
            state: "M/In".into(),
            field: "Next".into(),
            message: "no state 'Out'".into(),
        };
        let as_error: &dyn std::error::Error = &named;
        assert_eq!(as_error.to_string(), "state 'M/In', Next: no state 'Out'");
    }
}
