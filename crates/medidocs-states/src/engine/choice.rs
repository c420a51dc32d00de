//! Choice states: rules, comparisons and StringMatches globs.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Failure;
use super::data::{select, select_opt};
use super::run::{Ctx, Run, Scope};

impl Run<'_> {
    pub(super) fn choice(
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
    use super::glob;

    #[test]
    fn string_matches_globs() {
        assert!(glob("log-*.txt", "log-2026-11.txt"));
        assert!(glob("*", ""));
        assert!(!glob("log-*.txt", "log-1.csv"));
        assert!(glob("a\\*b", "a*b"));
        assert!(!glob("a\\*b", "axb"));
    }
}
