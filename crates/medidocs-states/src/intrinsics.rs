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

#[cfg(test)]
mod tests {
    use super::*;

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
