//! A machine's structure: its fields, StartAt, unique and reachable states, a terminal
//! state, and transitions that stay in their scope.

use std::collections::{BTreeSet, HashMap, VecDeque};

use serde_json::Value;

use super::{MAX_STATE_NAME, QueryLanguage, Scope, Validator};

impl Validator {
    pub(super) fn machine(
        &mut self,
        m: &Value,
        prefix: &str,
        scope: Scope,
        inherited: QueryLanguage,
    ) {
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
}
