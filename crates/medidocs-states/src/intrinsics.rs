//! Intrinsic functions (`States.Format('{}', $.x)` …): parsing into an expression tree and
//! checking names, arity and argument kinds.

use crate::paths;

/// An argument of an intrinsic function.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Str(String),
    Number(f64),
    Bool(bool),
    Null,
    /// A path (`$.x`, `$$.Execution.Id`, `$var`).
    Path(String),
    Call(Call),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Without the `States.` prefix: `Format`, `MathAdd`, …
    pub name: String,
    pub args: Vec<Arg>,
}

/// (name, least arguments, most arguments)
const FUNCTIONS: &[(&str, usize, usize)] = &[
    ("Format", 1, usize::MAX),
    ("StringToJson", 1, 1),
    ("JsonToString", 1, 1),
    ("Array", 0, usize::MAX),
    ("ArrayPartition", 2, 2),
    ("ArrayContains", 2, 2),
    ("ArrayRange", 3, 3),
    ("ArrayGetItem", 2, 2),
    ("ArrayLength", 1, 1),
    ("ArrayUnique", 1, 1),
    ("Base64Encode", 1, 1),
    ("Base64Decode", 1, 1),
    ("Hash", 2, 2),
    ("JsonMerge", 3, 3),
    ("MathRandom", 2, 3),
    ("MathAdd", 2, 2),
    ("StringSplit", 2, 2),
    ("UUID", 0, 0),
];

/// True if the string is meant as an intrinsic call (starts with `States.` and a name).
pub fn looks_like_call(s: &str) -> bool {
    s.trim_start().starts_with("States.")
}

/// Parses and checks one intrinsic function call.
pub fn parse(s: &str) -> Result<Call, String> {
    let mut p = Parser {
        s: s.trim(),
        pos: 0,
    };
    let call = p.call()?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(format!(
            "unexpected text after the call: '{}'",
            &p.s[p.pos..]
        ));
    }
    Ok(call)
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn skip_ws(&mut self) {
        while self.rest().starts_with([' ', '\t', '\n']) {
            self.pos += 1;
        }
    }

    fn call(&mut self) -> Result<Call, String> {
        self.skip_ws();
        let Some(after) = self.rest().strip_prefix("States.") else {
            return Err("an intrinsic function starts with 'States.'".into());
        };
        let name_len = after.bytes().take_while(u8::is_ascii_alphanumeric).count();
        let name = after[..name_len].to_string();
        self.pos += "States.".len() + name_len;
        let Some(&(_, min, max)) = FUNCTIONS.iter().find(|(n, _, _)| *n == name) else {
            return Err(format!("States.{name} is not an intrinsic function"));
        };
        if !self.rest().starts_with('(') {
            return Err(format!("States.{name} needs '(' after its name"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.rest().starts_with(')') {
            self.pos += 1;
        } else {
            loop {
                args.push(self.arg()?);
                self.skip_ws();
                match self.rest().chars().next() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(format!("States.{name}: expected ',' or ')'")),
                }
            }
        }
        if args.len() < min || args.len() > max {
            return Err(format!(
                "States.{name} takes {} arguments, got {}",
                arity(min, max),
                args.len()
            ));
        }
        let call = Call { name, args };
        check_kinds(&call)?;
        Ok(call)
    }

    fn arg(&mut self) -> Result<Arg, String> {
        self.skip_ws();
        let r = self.rest();
        if r.starts_with("States.") {
            return Ok(Arg::Call(self.call()?));
        }
        if r.starts_with('\'') {
            return self.string();
        }
        if r.starts_with('$') {
            let end = path_end(r);
            let path = r[..end].trim_end().to_string();
            paths::check_path(&path)?;
            self.pos += end;
            return Ok(Arg::Path(path));
        }
        let end = r.find([',', ')']).unwrap_or(r.len());
        let word = r[..end].trim().to_string();
        self.pos += end;
        match word.as_str() {
            "null" => Ok(Arg::Null),
            "true" => Ok(Arg::Bool(true)),
            "false" => Ok(Arg::Bool(false)),
            w => w
                .parse::<f64>()
                .map(Arg::Number)
                .map_err(|_| format!("'{w}' is not a string, number, path or call")),
        }
    }

    fn string(&mut self) -> Result<Arg, String> {
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, e)) => out.push(e),
                    None => break,
                },
                '\'' => {
                    self.pos += i + 1;
                    return Ok(Arg::Str(out));
                }
                c => out.push(c),
            }
        }
        Err("unterminated string literal".into())
    }
}

fn arity(min: usize, max: usize) -> String {
    match (min, max) {
        (a, b) if a == b => a.to_string(),
        (a, usize::MAX) => format!("at least {a}"),
        (a, b) => format!("{a} to {b}"),
    }
}

/// Where a path argument ends: at a ',' or ')' outside brackets and quotes.
fn path_end(s: &str) -> usize {
    let (mut depth, mut quote) = (0i32, None::<char>);
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '(') => depth += 1,
            (None, ']') => depth -= 1,
            (None, ')') if depth > 0 => depth -= 1,
            (None, ',' | ')') if depth <= 0 => return i,
            _ => {}
        }
    }
    s.len()
}

fn check_kinds(call: &Call) -> Result<(), String> {
    let numeric = |a: &Arg| matches!(a, Arg::Number(_) | Arg::Path(_) | Arg::Call(_));
    match call.name.as_str() {
        "MathAdd" | "MathRandom" | "ArrayRange" if !call.args.iter().all(numeric) => Err(format!(
            "States.{}: arguments must be numbers or paths",
            call.name
        )),
        "Format" if !matches!(call.args[0], Arg::Str(_) | Arg::Path(_)) => {
            Err("States.Format: the template must be a string".into())
        }
        _ => Ok(()),
    }
}

/// Evaluates a parsed call. `resolve` gives the value of a path argument.
pub fn eval(
    call: &Call,
    resolve: &dyn Fn(&str) -> Result<serde_json::Value, String>,
) -> Result<serde_json::Value, String> {
    use serde_json::{Value, json};
    let args: Vec<Value> = call
        .args
        .iter()
        .map(|a| match a {
            Arg::Str(s) => Ok(Value::String(s.clone())),
            Arg::Number(n) => Ok(num(*n)),
            Arg::Bool(b) => Ok(Value::Bool(*b)),
            Arg::Null => Ok(Value::Null),
            Arg::Path(p) => resolve(p),
            Arg::Call(c) => eval(c, resolve),
        })
        .collect::<Result<_, _>>()?;
    let name = call.name.as_str();
    let fail = |m: &str| Err(format!("States.{name}: {m}"));
    let int = |v: &Value| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64);
    // Where AWS documents an argument as an integer and adds "If you specify a non-integer
    // value … Step Functions will round it off to the nearest integer" (ArrayPartition's
    // chunk size, every ArrayRange argument, MathRandom's start and end, both MathAdd
    // arguments: https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html),
    // the number is rounded with `rounded`, not refused.
    let string = |v: &Value| v.as_str().map(str::to_string);
    match name {
        "Format" => {
            let Some(template) = string(&args[0]) else {
                return fail("the template must be a string");
            };
            let mut out = String::new();
            let mut rest = args[1..].iter();
            let mut chars = template.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '{' && chars.peek() == Some(&'}') {
                    chars.next();
                    let Some(v) = rest.next() else {
                        return fail("more {} than arguments");
                    };
                    format_value(v, &mut out);
                } else {
                    out.push(c);
                }
            }
            if rest.next().is_some() {
                return fail("more arguments than {}");
            }
            Ok(Value::String(out))
        }
        "StringToJson" => match string(&args[0]) {
            // AWS's documentation is silent on an empty string. Executions recorded against
            // AWS (LocalStack's test_json_manipulation.snapshot.json, test_string_to_json,
            // github.com/localstack/localstack, tests/aws/services/stepfunctions/v2/
            // intrinsic_functions) show that "" and " " give null, not an error.
            Some(s) if s.trim_matches([' ', '\t', '\n', '\r']).is_empty() => Ok(Value::Null),
            Some(s) => serde_json::from_str(&s).or_else(|e| fail(&format!("not JSON: {e}"))),
            None => fail("the argument must be a string"),
        },
        "JsonToString" => Ok(Value::String(args[0].to_string())),
        "Array" => Ok(Value::Array(args)),
        "ArrayPartition" => {
            let (Some(a), Some(n)) = (args[0].as_array(), rounded(&args[1]).filter(|n| *n > 0))
            else {
                return fail("expects an array and a positive chunk size");
            };
            Ok(Value::Array(
                a.chunks(n as usize)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            ))
        }
        "ArrayContains" => match args[0].as_array() {
            Some(a) => Ok(Value::Bool(a.contains(&args[1]))),
            None => fail("the first argument must be an array"),
        },
        "ArrayRange" => {
            let (Some(start), Some(end), Some(step)) = (
                rounded(&args[0]),
                rounded(&args[1]),
                rounded(&args[2]).filter(|s| *s != 0),
            ) else {
                return fail("expects numbers for start, end and a non-zero step");
            };
            let mut out = Vec::new();
            let mut i = start;
            while (step > 0 && i <= end) || (step < 0 && i >= end) {
                out.push(json!(i));
                if out.len() > 1000 {
                    return fail("at most 1000 items");
                }
                i += step;
            }
            Ok(Value::Array(out))
        }
        "ArrayGetItem" => match (args[0].as_array(), int(&args[1])) {
            (Some(a), Some(i)) if i >= 0 && (i as usize) < a.len() => Ok(a[i as usize].clone()),
            (Some(_), Some(i)) => fail(&format!("index {i} is out of bounds")),
            _ => fail("expects an array and an integer index"),
        },
        "ArrayLength" => match args[0].as_array() {
            Some(a) => Ok(json!(a.len())),
            None => fail("the argument must be an array"),
        },
        "ArrayUnique" => match args[0].as_array() {
            Some(a) => {
                let mut out: Vec<Value> = Vec::new();
                for v in a {
                    if !out.contains(v) {
                        out.push(v.clone());
                    }
                }
                Ok(Value::Array(out))
            }
            None => fail("the argument must be an array"),
        },
        "Base64Encode" => match string(&args[0]) {
            Some(s) => Ok(Value::String(base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                s,
            ))),
            None => fail("the argument must be a string"),
        },
        "Base64Decode" => match string(&args[0]) {
            Some(s) => base64::Engine::decode(&base64::engine::general_purpose::STANDARD, s)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .map(Value::String)
                .map_or_else(|| fail("not base64 of UTF-8 text"), Ok),
            None => fail("the argument must be a string"),
        },
        "Hash" => {
            use sha2::Digest;
            let (Some(data), Some(alg)) = (string(&args[0]), string(&args[1])) else {
                return fail("expects a string and an algorithm name");
            };
            let d = data.as_bytes();
            let h = match alg.as_str() {
                "MD5" => hex::encode(md5::Md5::digest(d)),
                "SHA-1" => hex::encode(sha1::Sha1::digest(d)),
                "SHA-256" => hex::encode(sha2::Sha256::digest(d)),
                "SHA-384" => hex::encode(sha2::Sha384::digest(d)),
                "SHA-512" => hex::encode(sha2::Sha512::digest(d)),
                other => return fail(&format!("unknown algorithm {other}")),
            };
            Ok(Value::String(h))
        }
        "JsonMerge" => {
            let (Some(a), Some(b), Some(deep)) =
                (args[0].as_object(), args[1].as_object(), args[2].as_bool())
            else {
                return fail("expects two objects and a boolean");
            };
            if deep {
                return fail(
                    "only shallow merges are supported (the third argument must be false)",
                );
            }
            let mut out = a.clone();
            for (k, v) in b {
                out.insert(k.clone(), v.clone());
            }
            Ok(Value::Object(out))
        }
        "MathRandom" => {
            let (Some(lo), Some(hi)) = (rounded(&args[0]), rounded(&args[1])) else {
                return fail("expects numbers for the start and the end");
            };
            if hi <= lo {
                return fail("the end must be greater than the start");
            }
            // AWS documents the rounding for the start and the end only; the seed is read
            // the same way (a number, rounded) rather than being ignored when it has a
            // fraction, so that a seeded call stays reproducible.
            let seed = match args.get(2) {
                None => None,
                Some(v) => match rounded(v) {
                    Some(s) => Some(s),
                    None => return fail("the seed must be a number"),
                },
            };
            let r = seed.map_or_else(
                || uuid::Uuid::new_v4().as_u128() as u64,
                |s| splitmix(s as u64),
            );
            Ok(json!(lo + (r % (hi - lo) as u64) as i64))
        }
        "MathAdd" => {
            let (Some(a), Some(b)) = (rounded(&args[0]), rounded(&args[1])) else {
                return fail("expects two numbers");
            };
            // "You must specify integer values in the range of -2147483648 and 2147483647"
            // (AWS's input validation for MathAdd). The sum itself is exact.
            let int32 = i64::from(i32::MIN)..=i64::from(i32::MAX);
            if !int32.contains(&a) || !int32.contains(&b) {
                return fail("arguments must be between -2147483648 and 2147483647");
            }
            Ok(json!(a + b))
        }
        "StringSplit" => match (string(&args[0]), string(&args[1])) {
            (Some(s), Some(d)) => Ok(Value::Array(
                s.split(|c| d.contains(c))
                    .filter(|p| !p.is_empty())
                    .map(|p| Value::String(p.into()))
                    .collect(),
            )),
            _ => fail("expects a string and delimiter characters"),
        },
        "UUID" => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
        _ => fail("unknown function"),
    }
}

/// Appends a `States.Format` argument as Step Functions renders it: not as JSON but in the
/// notation of Java's `Map.toString` and `List.toString` — `{"a":1,"b":"x"}` as `{a=1, b=x}`,
/// `[1,"x"]` as `[1, x]`, strings unquoted at every depth, `null`, `true`, `false`. AWS's
/// documentation does not say this; executions recorded against AWS show it
/// (LocalStack's test_generic.snapshot.json, github.com/localstack/localstack,
/// tests/aws/services/stepfunctions/v2/intrinsic_functions: an input object
/// `{"Arg1": 1, "Arg2": []}` formats as `{Arg1=1, Arg2=[]}`, the context object
/// `$$.StateMachine` as `{Id=arn:aws:states:…, Name=…}`, 1 as `1`, 1.1 as `1.1`, null as
/// `null`). Keys keep their order in the input.
fn format_value(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::String(s) => out.push_str(s),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&java_number(n)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                format_value(item, out);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (k, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                format_value(item, out);
            }
            out.push('}');
        }
    }
}

/// A JSON number as Java prints it once parsed: integers as they are; numbers written with
/// a fraction or an exponent are doubles, and `Double.toString` writes them in decimal
/// between 10^-3 and 10^7 with at least one digit after the point (`2.0`, `1.1`) and in
/// scientific notation with a capital E outside it (`1.0E10`, `1.5E-5`). The recorded
/// evidence covers integers and plain decimals; the exponent form follows from AWS's Java
/// runtime parsing fractions as doubles, which is an inference, not a recording.
fn java_number(n: &serde_json::Number) -> String {
    let Some(d) = n.as_f64().filter(|_| n.is_f64()) else {
        return n.to_string();
    };
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0" } else { "0.0" }.to_string();
    }
    if (1e-3..1e7).contains(&d.abs()) {
        let plain = d.to_string();
        return if plain.contains('.') {
            plain
        } else {
            format!("{plain}.0")
        };
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, as `1.5e-5` or `1e10`.
    let sci = format!("{d:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    if mantissa.contains('.') {
        format!("{mantissa}E{exponent}")
    } else {
        format!("{mantissa}.0E{exponent}")
    }
}

/// A number rounded to the nearest integer as Step Functions rounds it: Java's
/// `Math.round`, halves towards positive infinity (0.5 → 1, 2.5 → 3, -0.5 → 0, -2.5 → -2).
/// AWS runs on Java; executions recorded against AWS by LocalStack's conformance suite
/// (`States.MathAdd` of 0.5, 2.5, -0.5, -1.5, -2.5 …, test_math_operations.snapshot.json in
/// github.com/localstack/localstack, tests/aws/services/stepfunctions/v2/intrinsic_functions)
/// show exactly this rule, not round-half-even nor round-half-away-from-zero.
fn rounded(v: &serde_json::Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    let x = v.as_f64()?;
    let floor = x.floor();
    // x - floor is exact for doubles, so 0.49999999999999994 stays below one half.
    let r = if x - floor >= 0.5 { floor + 1.0 } else { floor };
    // Saturates at the ends of i64, as Math.round saturates at the ends of long.
    Some(r as i64)
}

fn num(n: f64) -> serde_json::Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        serde_json::json!(n as i64)
    } else {
        serde_json::json!(n)
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// Evaluates `expr` with `$.a.b` paths read from `input`.
    fn eval_on(expr: &str, input: Value) -> Result<Value, String> {
        let call = parse(expr)?;
        eval(&call, &|p: &str| {
            let pointer = format!("/{}", p.trim_start_matches("$.").replace('.', "/"));
            input
                .pointer(&pointer)
                .cloned()
                .ok_or_else(|| format!("{p} not found"))
        })
    }

    // AWS renders objects and arrays in Java's Map/List notation, not as JSON. Recorded
    // against AWS (LocalStack's test_generic.snapshot.json, test_format_1/test_format_2 and
    // test_context_json_path): {"Arg1": 1, "Arg2": []} → {Arg1=1, Arg2=[]}, $$.StateMachine
    // → {Id=arn:…, Name=…}, null → null, 1 → 1, 1.1 → 1.1, "" → (nothing).
    #[test]
    fn format_renders_objects_and_arrays_in_aws_notation() {
        let fmt = |v: Value| eval_on("States.Format('<{}>', $.v)", json!({ "v": v })).unwrap();
        assert_eq!(
            fmt(json!({ "Arg1": 1, "Arg2": [] })),
            json!("<{Arg1=1, Arg2=[]}>")
        );
        assert_eq!(fmt(json!({ "a": 1, "b": "x" })), json!("<{a=1, b=x}>"));
        assert_eq!(fmt(json!([1, "x"])), json!("<[1, x]>"));
        assert_eq!(
            fmt(json!({ "b": [true, false, null], "a": { "s": "two words", "e": {} }, "n": 1.1 })),
            json!("<{b=[true, false, null], a={s=two words, e={}}, n=1.1}>"),
            "nested, in input order, strings unquoted"
        );
        assert_eq!(fmt(json!([[], [[1]], {}])), json!("<[[], [[1]], {}]>"));
        assert_eq!(
            fmt(json!("{\"Arg1\": 1}")),
            json!("<{\"Arg1\": 1}>"),
            "a string is copied as it is"
        );
        assert_eq!(fmt(json!("")), json!("<>"));
        assert_eq!(fmt(Value::Null), json!("<null>"));
        assert_eq!(fmt(json!(1)), json!("<1>"));
        assert_eq!(fmt(json!(-7)), json!("<-7>"));
        assert_eq!(fmt(json!(1.1)), json!("<1.1>"));
        assert_eq!(
            eval_on(
                "States.Format('{} and {}', $.a, $.b)",
                json!({ "a": { "Id": "arn:aws:states:eu-west-1:1:stateMachine:M", "Name": "M" }, "b": true })
            )
            .unwrap(),
            json!("{Id=arn:aws:states:eu-west-1:1:stateMachine:M, Name=M} and true")
        );
    }

    // Numbers parsed with a fraction or an exponent print as Java's Double.toString does.
    #[test]
    fn format_prints_doubles_as_java_does() {
        let fmt = |v: Value| eval_on("States.Format('{}', $.v)", json!({ "v": v })).unwrap();
        for (text, shown) in [
            ("2.0", "2.0"),
            ("0.001", "0.001"),
            ("1234567.5", "1234567.5"),
            ("1e10", "1.0E10"),
            ("1.5e-5", "1.5E-5"),
            ("-2.5e7", "-2.5E7"),
            ("0.0", "0.0"),
            ("12345678901", "12345678901"),
        ] {
            let v: Value = serde_json::from_str(text).unwrap();
            assert_eq!(fmt(v.clone()), json!(shown), "{text}");
            assert_eq!(
                fmt(json!([v])),
                json!(format!("[{shown}]")),
                "{text} in an array"
            );
        }
    }

    // AWS documents no case of an empty string; its recorded answer (LocalStack's
    // test_json_manipulation.snapshot.json, test_string_to_json) is null for "" and " ".
    #[test]
    fn string_to_json_of_a_blank_string_is_null() {
        for blank in ["", " ", "\t\n "] {
            assert_eq!(
                eval_on("States.StringToJson($.s)", json!({ "s": blank })).unwrap(),
                Value::Null,
                "{blank:?}"
            );
        }
        assert_eq!(
            eval_on(
                "States.StringToJson($.s)",
                json!({ "s": "{\"Arg1\": 1, \"Arg2\": []}" })
            )
            .unwrap(),
            json!({ "Arg1": 1, "Arg2": [] })
        );
        assert!(eval_on("States.StringToJson($.s)", json!({ "s": "{" })).is_err());
    }

    // AWS, "Intrinsics for Math operations", States.MathAdd input validation: "If you specify
    // a non-integer value for one or both the arguments, Step Functions will round it off to
    // the nearest integer." The expected sums are those AWS returned in the executions that
    // LocalStack recorded (test_math_operations.snapshot.json): each argument is rounded on
    // its own, halves upwards (Java's Math.round).
    #[test]
    fn math_add_rounds_each_argument_to_the_nearest_integer() {
        for (a, b, sum) in [
            (json!(-9), json!(3), -6),
            (json!(1.5), json!(0), 2),
            (json!(1.49), json!(1.5), 3),
            (json!(1.5), json!(1.51), 4),
            (json!(-1.49), json!(-1.5), -2),
            (json!(-1.5), json!(-1.51), -3),
            (json!(1.49), json!(-1.49), 0),
            (json!(0.5), json!(0), 1),
            (json!(2.5), json!(0), 3),
            (json!(-0.5), json!(0.5), 1),
            (json!(-0.5), json!(0), 0),
            (json!(-2.5), json!(0), -2),
        ] {
            let input = json!({ "a": a, "b": b });
            assert_eq!(
                eval_on("States.MathAdd($.a, $.b)", input.clone()).unwrap(),
                json!(sum),
                "{input}"
            );
        }
        assert_eq!(
            eval_on("States.MathAdd(1.5, 1)", json!({})).unwrap(),
            json!(3)
        );
    }

    // AWS: "You must specify integer values in the range of -2147483648 and 2147483647."
    #[test]
    fn math_add_refuses_arguments_outside_32_bits() {
        assert_eq!(
            eval_on("States.MathAdd(2147483647, -2147483648)", json!({})).unwrap(),
            json!(-1)
        );
        let err = eval_on("States.MathAdd($.a, 1)", json!({ "a": 2147483648u64 })).unwrap_err();
        assert!(err.contains("between -2147483648 and 2147483647"), "{err}");
        assert!(eval_on("States.MathAdd($.a, 1)", json!({ "a": "1" })).is_err());
    }

    // AWS, States.MathRandom input validation: "If you specify a non-integer value for the
    // start number or end number argument, Step Functions will round it off to the nearest
    // integer." LocalStack's recording of MathRandom(12.5, 44.51) against AWS succeeded.
    #[test]
    fn math_random_rounds_its_bounds() {
        for seed in 0..50 {
            let n = eval_on(
                &format!("States.MathRandom($.lo, $.hi, {seed})"),
                json!({ "lo": 12.5, "hi": 14.4 }),
            )
            .unwrap();
            // 12.5 → 13 and 14.4 → 14; the end is exclusive, so only 13 remains.
            assert_eq!(n, json!(13), "seed {seed}");
        }
        let a = eval_on("States.MathRandom(0, 1000, 7.4)", json!({})).unwrap();
        let b = eval_on("States.MathRandom(0, 1000, 7)", json!({})).unwrap();
        assert_eq!(a, b, "a seed is rounded like the bounds");
        assert!(eval_on("States.MathRandom(1.4, 1.2)", json!({})).is_err());
        assert!(eval_on("States.MathRandom(0, 9, $.s)", json!({ "s": "x" })).is_err());
    }

    // AWS, States.ArrayRange input validation: "If you specify a non-integer value for any of
    // the arguments, Step Functions will round it off to the nearest integer", and "You must
    // specify a non-zero value for the third argument."
    #[test]
    fn array_range_rounds_its_arguments() {
        assert_eq!(
            eval_on("States.ArrayRange(0.5, 9.4, 2.5)", json!({})).unwrap(),
            json!([1, 4, 7])
        );
        assert_eq!(
            eval_on(
                "States.ArrayRange($.a, $.b, $.c)",
                json!({ "a": 1.5, "b": -1.5, "c": -1 })
            )
            .unwrap(),
            json!([2, 1, 0, -1])
        );
        let err = eval_on("States.ArrayRange(1, 9, 0.4)", json!({})).unwrap_err();
        assert!(err.contains("non-zero step"), "{err}");
        assert!(eval_on("States.ArrayRange(0, 1000.5, 1)", json!({})).is_err());
    }

    // AWS, States.ArrayPartition: "If you specify a non-integer value for the second
    // argument, Step Functions will round it off to the nearest integer."
    #[test]
    fn array_partition_rounds_the_chunk_size() {
        assert_eq!(
            eval_on("States.ArrayPartition($.a, 1.5)", json!({ "a": [1, 2, 3] })).unwrap(),
            json!([[1, 2], [3]])
        );
        assert!(eval_on("States.ArrayPartition($.a, 0.4)", json!({ "a": [1] })).is_err());
    }

    #[test]
    fn calls_parse_into_trees() {
        let c =
            parse("States.Format('Hello {}, it\\'s {}', $.name, States.MathAdd($.n, -1))").unwrap();
        assert_eq!(c.name, "Format");
        assert_eq!(c.args[0], Arg::Str("Hello {}, it's {}".into()));
        assert_eq!(c.args[1], Arg::Path("$.name".into()));
        assert!(
            matches!(&c.args[2], Arg::Call(inner) if inner.name == "MathAdd" && inner.args[1] == Arg::Number(-1.0))
        );
        assert_eq!(parse("States.UUID()").unwrap().args.len(), 0);
        assert_eq!(
            parse("States.ArrayGetItem($.a['x,y'], 0)")
                .unwrap()
                .args
                .len(),
            2
        );
    }

    #[test]
    fn bad_calls_are_refused() {
        for bad in [
            "States.MathAdd(1,'-1')",
            "States.Nope(1)",
            "States.UUID(1)",
            "States.ArrayRange(1, 2)",
            "States.Format(",
            "States.Format('x') extra",
            "States.Format('unterminated)",
            "States.Hash($.a, bogus)",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
