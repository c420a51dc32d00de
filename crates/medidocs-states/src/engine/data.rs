//! Paths and payload templates: InputPath/OutputPath, `.$` values (paths and intrinsic
//! functions), ResultPath, and numbers given directly or by path.

use serde_json::{Map, Value, json};

use super::Failure;
use super::run::Ctx;
use crate::intrinsics;
use crate::paths::{self, PathKind};

/// A number given directly (`field`) or read from the input at `{field}Path`, as the
/// States Language allows for time-outs, concurrency, tolerated failures and batch sizes.
pub(super) fn number_field(
    obj: &Value,
    field: &str,
    input: &Value,
    ctx: &Ctx,
) -> Result<Option<f64>, Failure> {
    if let Some(v) = obj.get(field) {
        return Ok(v.as_f64());
    }
    match obj.get(format!("{field}Path")).and_then(Value::as_str) {
        Some(p) => select(p, input, ctx)?
            .as_f64()
            .map(Some)
            .ok_or_else(|| Failure::runtime(format!("{field}Path {p} does not give a number"))),
        None => Ok(None),
    }
}

/// `InputPath` / `OutputPath`: absent means `$`, null means `{}`.
pub(super) fn select_opt(st: &Value, field: &str, v: &Value, ctx: &Ctx) -> Result<Value, Failure> {
    match st.get(field) {
        None => Ok(v.clone()),
        Some(Value::Null) => Ok(json!({})),
        Some(Value::String(p)) => select(p, v, ctx),
        Some(_) => Err(Failure::runtime(format!(
            "{field} must be a string or null"
        ))),
    }
}

/// A path's value: one value for a definite path, an array of matches otherwise.
pub(super) fn select(path: &str, input: &Value, ctx: &Ctx) -> Result<Value, Failure> {
    let (kind, jp) = paths::compile(path).map_err(Failure::runtime)?;
    let root = match kind {
        PathKind::Input => input,
        PathKind::Context => &ctx.object,
        PathKind::Variable(v) => ctx.vars.get(&v).ok_or_else(|| {
            Failure::runtime(format!("the variable ${v} is not defined in this scope"))
        })?,
    };
    let nodes = jp.query(root).all();
    if is_definite(path) {
        match nodes.as_slice() {
            [one] => Ok((*one).clone()),
            _ => Err(Failure::runtime(format!(
                "the JSONPath {path} could not be found in the input"
            ))),
        }
    } else {
        Ok(Value::Array(nodes.into_iter().cloned().collect()))
    }
}

fn is_definite(path: &str) -> bool {
    !(path.contains('*')
        || path.contains("..")
        || path.contains('?')
        || path.contains(':')
        || path.contains(','))
}

/// A `.$` value: a path or an intrinsic function.
pub(super) fn dynamic(expr: &str, input: &Value, ctx: &Ctx) -> Result<Value, Failure> {
    if intrinsics::looks_like_call(expr) {
        let call =
            intrinsics::parse(expr).map_err(|e| Failure::new("States.IntrinsicFailure", e))?;
        intrinsics::eval(&call, &|p| select(p, input, ctx).map_err(|f| f.cause))
            .map_err(|e| Failure::new("States.IntrinsicFailure", e))
    } else {
        select(expr, input, ctx)
    }
}

/// Payload templates: `key.$` values are evaluated, everything else copied.
pub(super) fn template(t: &Value, input: &Value, ctx: &Ctx) -> Result<Value, Failure> {
    Ok(match t {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, v) in o {
                match (k.strip_suffix(".$"), v) {
                    (Some(base), Value::String(expr)) => {
                        out.insert(base.to_string(), dynamic(expr, input, ctx)?);
                    }
                    _ => {
                        out.insert(k.clone(), template(v, input, ctx)?);
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| template(v, input, ctx))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

/// Writes `value` at a Reference Path inside `target`, creating objects on the way.
pub(super) fn set_path(mut target: Value, path: &str, value: Value) -> Result<Value, Failure> {
    let steps = paths::reference_steps(path).map_err(Failure::runtime)?;
    if steps.is_empty() {
        return Ok(value);
    }
    let fail = || {
        Failure::new(
            "States.ResultPathMatchFailure",
            format!("cannot apply ResultPath {path} to the state's input"),
        )
    };
    let mut cur = &mut target;
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        match step {
            paths::Step::Key(k) => {
                if cur.is_null() {
                    *cur = json!({});
                }
                let obj = cur.as_object_mut().ok_or_else(fail)?;
                if last {
                    obj.insert(k.clone(), value);
                    return Ok(target);
                }
                cur = obj.entry(k.clone()).or_insert(Value::Null);
            }
            paths::Step::Index(n) => {
                let arr = cur.as_array_mut().ok_or_else(fail)?;
                let slot = arr.get_mut(*n).ok_or_else(fail)?;
                if last {
                    *slot = value;
                    return Ok(target);
                }
                cur = slot;
            }
        }
    }
    Ok(target)
}
