//! Path syntax of the States Language (JSONPath query language): full JSONPath for
//! `InputPath`, `OutputPath`, `ItemsPath` and `.$` values (via `serde_json_path`,
//! RFC 9535), Reference Paths for `ResultPath` and Choice `Variable`, the context object
//! (`$$.…`) and workflow variables (`$name…`).

use serde_json_path::JsonPath;

/// How a path string refers to data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathKind {
    /// `$…`: the state's input.
    Input,
    /// `$$…`: the context object.
    Context,
    /// `$name…`: a workflow variable.
    Variable(String),
}

/// Splits a path into what it refers to and a JSONPath (starting with `$`) into it.
pub fn split(path: &str) -> Result<(PathKind, String), String> {
    if let Some(rest) = path.strip_prefix("$$") {
        return Ok((PathKind::Context, format!("${rest}")));
    }
    let Some(rest) = path.strip_prefix('$') else {
        return Err(format!("'{path}' does not start with '$'"));
    };
    let name_len = rest
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit()))
        .count();
    if name_len > 0 {
        let (name, tail) = rest.split_at(name_len);
        return Ok((PathKind::Variable(name.to_string()), format!("${tail}")));
    }
    Ok((PathKind::Input, path.to_string()))
}

/// A JSONPath as the States Language allows it in `InputPath`, `OutputPath` and `.$` values.
pub fn check_path(path: &str) -> Result<(), String> {
    compile(path).map(|_| ())
}

/// Compiles a States Language path into an RFC 9535 JSONPath. Step Functions follows
/// Jayway's JSONPath, which accepts a few forms RFC 9535 does not; they are rewritten:
/// `.input-foo` (a hyphen in a dot name) → `['input-foo']`, `[(@.length-1)]` → `[-1]`, and
/// an unquoted word compared in a filter (`@.k == Foo`) → a string (`'Foo'`).
pub fn compile(path: &str) -> Result<(PathKind, JsonPath), String> {
    let (kind, jp) = split(path)?;
    let jp = normalize(&jp);
    JsonPath::parse(&jp)
        .map(|p| (kind, p))
        .map_err(|e| format!("'{path}' is not a valid JSONPath: {e}"))
}

fn is_shorthand(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || !c.is_ascii())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii())
}

fn normalize(jp: &str) -> String {
    let b: Vec<char> = jp.chars().collect();
    let mut out = String::with_capacity(jp.len() + 8);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            '.' if i + 1 < b.len() && b[i + 1] != '.' && b[i + 1] != '*' && b[i + 1] != '[' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != '.' && b[j] != '[' {
                    j += 1;
                }
                let name: String = b[start..j].iter().collect();
                let descendant = i > 0 && b[i - 1] == '.';
                if is_shorthand(&name) || name.is_empty() {
                    out.push('.');
                    out.push_str(&name);
                } else {
                    if descendant {
                        out.push('.');
                    }
                    out.push_str(&format!(
                        "['{}']",
                        name.replace('\\', "\\\\").replace('\'', "\\'")
                    ));
                }
                i = j;
            }
            '[' => {
                let depth_end = bracket_end(&b, i);
                let inner: String = b[i + 1..depth_end.min(b.len())].iter().collect();
                if let Some(n) = inner
                    .strip_prefix("(@.length-")
                    .and_then(|r| r.strip_suffix(')'))
                    .filter(|n| n.bytes().all(|c| c.is_ascii_digit()) && !n.is_empty())
                {
                    out.push_str(&format!("[-{n}]"));
                } else if let Some(filter) = inner.strip_prefix('?') {
                    out.push_str("[?");
                    out.push_str(&quote_barewords(filter));
                    out.push(']');
                } else {
                    out.push('[');
                    out.push_str(&inner);
                    if depth_end < b.len() {
                        out.push(']');
                    }
                }
                i = depth_end + 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Index of the `]` closing the `[` at `open`, outside quotes (or the end).
fn bracket_end(b: &[char], open: usize) -> usize {
    let (mut depth, mut quote) = (0i32, None::<char>);
    for (k, &c) in b.iter().enumerate().skip(open) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => {
                depth -= 1;
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    b.len()
}

/// In a filter, a bare word after a comparison operator is a string in Jayway.
fn quote_barewords(filter: &str) -> String {
    let b: Vec<char> = filter.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut quote = None::<char>;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
            out.push(c);
            i += 1;
            continue;
        }
        let op_len = if i + 1 < b.len()
            && matches!(
                (c, b[i + 1]),
                ('=', '=') | ('!', '=') | ('<', '=') | ('>', '=')
            ) {
            2
        } else if c == '<' || c == '>' {
            1
        } else {
            0
        };
        if op_len == 0 {
            out.push(c);
            i += 1;
            continue;
        }
        out.extend(&b[i..i + op_len]);
        i += op_len;
        while i < b.len() && b[i] == ' ' {
            out.push(' ');
            i += 1;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '_' || b[i] == '-') {
            i += 1;
        }
        let word: String = b[start..i].iter().collect();
        let literal = word.is_empty()
            || matches!(word.as_str(), "true" | "false" | "null")
            || word.parse::<f64>().is_ok();
        if literal {
            out.push_str(&word);
        } else {
            out.push_str(&format!("'{word}'"));
        }
    }
    out
}

/// A Reference Path: `$` then `.name`, `['name']` or `[index]` steps only, no wildcards,
/// filters or slices (the spec's rule for `ResultPath` and Choice `Variable`).
pub fn check_reference_path(path: &str, allow_variables: bool) -> Result<(), String> {
    let (kind, jp) = split(path)?;
    if let PathKind::Variable(name) = &kind
        && !allow_variables
    {
        return Err(format!(
            "'{path}' refers to the variable ${name}; only the state's data can be written here"
        ));
    }
    let bad = |why: &str| Err(format!("'{path}' is not a Reference Path: {why}"));
    let mut rest = &jp[1..];
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..n];
            if name.is_empty() || name == "*" || name.contains([' ', '(', ')', '?', '@', '*', ']'])
            {
                return bad("a step needs a plain field name");
            }
            rest = &r[n..];
        } else if let Some(r) = rest.strip_prefix("['") {
            let Some(end) = r.find("']") else {
                return bad("unclosed ['…']");
            };
            rest = &r[end + 2..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let Some(end) = r.find(']') else {
                return bad("unclosed [");
            };
            if r[..end].is_empty() || !r[..end].bytes().all(|b| b.is_ascii_digit()) {
                return bad("only [index] with digits is allowed");
            }
            rest = &r[end + 1..];
        } else {
            return bad("unexpected characters");
        }
    }
    Ok(())
}

/// One step of a Reference Path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// The steps of a Reference Path on the state's data (`$.a['b c'][2]`).
pub fn reference_steps(path: &str) -> Result<Vec<Step>, String> {
    check_reference_path(path, false)?;
    let mut steps = Vec::new();
    let mut rest = &path[1..];
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']").unwrap_or(r.len());
            steps.push(Step::Key(r[..end].to_string()));
            rest = r.get(end + 2..).unwrap_or("");
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').unwrap_or(r.len());
            steps.push(Step::Index(
                r[..end]
                    .parse()
                    .map_err(|_| format!("bad index in {path}"))?,
            ));
            rest = r.get(end + 1..).unwrap_or("");
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            steps.push(Step::Key(r[..end].to_string()));
            rest = &r[end..];
        } else {
            return Err(format!("bad Reference Path {path}"));
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        for ok in [
            "$",
            "$.a",
            "$.a[0].b",
            "$..a",
            "$.a[?(@.p < 10)].t",
            "$$.Execution.Id",
            "$var",
            "$var.x[1]",
            "$.vals[3:]",
            "$.input-foo-bar",
            "$[(@.length-1)].bar",
            "$.r[?(@.OutputKey == FizzBuzz)].OutputValue",
            "$..some-name",
        ] {
            assert!(check_path(ok).is_ok(), "{ok}: {:?}", check_path(ok));
        }
        for bad in [
            ".guid", "..guid", "()", "$...", "bug$.x", "ipsum", "$.a[", "",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn jayway_forms_compile_to_rfc9535() {
        let v = serde_json::json!({"a-b": 1, "r": [{"k": "Foo", "v": 2}, {"k": "Bar", "v": 3}], "l": [{"bar": 4}, {"bar": 5}]});
        let one = |p: &str| {
            compile(p)
                .unwrap()
                .1
                .query(&v)
                .all()
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(one("$.a-b"), vec![serde_json::json!(1)]);
        assert_eq!(one("$.r[?(@.k == Bar)].v"), vec![serde_json::json!(3)]);
        assert_eq!(one("$.l[(@.length-1)].bar"), vec![serde_json::json!(5)]);
    }

    #[test]
    fn reference_paths() {
        for ok in ["$", "$.a", "$.a.b[3]", "$['x y'].z", "$.a-b_c"] {
            assert!(check_reference_path(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "$..a",
            "$.a[*]",
            "$.a[?(@.x)]",
            "$.a[1:2]",
            "States.ArrayContains($.a, 'x')",
            "$foo",
            ".a",
        ] {
            assert!(check_reference_path(bad, false).is_err(), "{bad}");
        }
        assert!(check_reference_path("$foo.bar", true).is_ok());
    }
}
