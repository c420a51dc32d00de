//! Paths, payload templates and intrinsic functions (JSONPath), and JSONata expressions,
//! which are checked for syntax only.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Validator;
use crate::{intrinsics, paths};

impl Validator {
    /// Payload templates: `name.$` values are paths or intrinsic calls, and no two keys
    /// are the same once `.$` is removed.
    pub(super) fn template(&mut self, at: &str, field: &str, t: &Value) {
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

    /// JSONata expressions are strings written `{% expression %}` and must parse.
    pub(super) fn jsonata_strings(&mut self, at: &str, kind: &str, s: &Value) {
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
