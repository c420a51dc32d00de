//! Validation of state machine definitions. Every error names the state (with its
//! enclosing Map or Parallel states) and the field, so a definition can be fixed from the
//! message alone.

use std::collections::HashMap;

use serde_json::Value;

use crate::json;

mod choice;
mod expressions;
mod retry;
mod states;
mod structure;

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

impl Validator {
    fn err(&mut self, state: &str, field: &str, message: impl Into<String>) {
        self.errors.push(ValidationError {
            state: state.to_string(),
            field: field.to_string(),
            message: message.into(),
        });
    }
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
