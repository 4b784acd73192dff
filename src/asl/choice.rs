//! Reads Choice rules (comparison operators, And/Or/Not, type tests); produces compiled rules and evaluates them against state data.

use super::context::Ctx;
use super::errors::Fault;
use super::jsonpath::{Path, Root};
use super::problem::{Problems, field, index};
use super::time::parse_timestamp;
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// A compiled rule.
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Test { var: Path, test: Test },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Str,
    Num,
    Bool,
    Ts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeTest {
    Null,
    Present,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Lit(Value),
    Path(Path),
}

#[derive(Debug, Clone)]
pub(crate) enum Test {
    Compare(Kind, Cmp, Operand),
    Matches(Vec<Glob>),
    Is(TypeTest, bool),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Glob {
    Lit(char),
    Star,
}

const KINDS: [(&str, Kind); 4] = [
    ("String", Kind::Str),
    ("Numeric", Kind::Num),
    ("Boolean", Kind::Bool),
    ("Timestamp", Kind::Ts),
];
const CMPS: [(&str, Cmp); 5] = [
    ("Equals", Cmp::Eq),
    ("LessThan", Cmp::Lt),
    ("GreaterThan", Cmp::Gt),
    ("LessThanEquals", Cmp::Le),
    ("GreaterThanEquals", Cmp::Ge),
];
const TYPES: [(&str, TypeTest); 6] = [
    ("IsNull", TypeTest::Null),
    ("IsPresent", TypeTest::Present),
    ("IsNumeric", TypeTest::Numeric),
    ("IsString", TypeTest::String),
    ("IsBoolean", TypeTest::Boolean),
    ("IsTimestamp", TypeTest::Timestamp),
];

/// Maximum nesting of And/Or/Not, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// What an operator name means, if it is one.
fn operator(name: &str) -> Option<(Kind, Cmp, bool)> {
    let (base, is_path) = match name.strip_suffix("Path") {
        Some(b) => (b, true),
        None => (name, false),
    };
    KINDS.iter().find_map(|(kp, k)| {
        let rest = base.strip_prefix(kp)?;
        let (_, c) = CMPS.iter().find(|(cn, _)| *cn == rest)?;
        if *k == Kind::Bool && *c != Cmp::Eq {
            return None;
        }
        Some((*k, *c, is_path))
    })
}

fn is_operator_key(k: &str) -> bool {
    operator(k).is_some() || k == "StringMatches" || TYPES.iter().any(|(n, _)| *n == k)
}

/// Parses one rule at `at`; `top` rules carry `Next`, which the caller reads.
pub(crate) fn parse_rule(
    v: &Value,
    at: &str,
    top: bool,
    depth: usize,
    pr: &mut Problems,
) -> Option<Rule> {
    let Some(m) = v.as_object() else {
        pr.add(at, "BAD_TYPE", "a choice rule must be an object");
        return None;
    };
    if depth > MAX_DEPTH {
        pr.add(at, "BAD_VALUE", "choice rules nested too deeply");
        return None;
    }
    for k in m.keys() {
        let known = matches!(k.as_str(), "Variable" | "And" | "Or" | "Not" | "Comment")
            || (top && k == "Next")
            || is_operator_key(k);
        if !known {
            let why = if k == "Next" {
                "'Next' is only allowed on top-level choice rules"
            } else {
                "unknown field"
            };
            pr.add(&field(at, k), "UNKNOWN_FIELD", format!("{why}: '{k}'"));
        }
    }
    let ops: Vec<&String> = m
        .keys()
        .filter(|k| is_operator_key(k) || matches!(k.as_str(), "And" | "Or" | "Not"))
        .collect();
    match ops.as_slice() {
        [] => {
            pr.add(
                at,
                "MISSING_OPERATOR",
                "a choice rule needs exactly one comparison operator (or And, Or, Not)",
            );
            None
        }
        [op] => parse_op(m, op, at, depth, pr),
        _ => {
            let names: Vec<&str> = ops.iter().map(|s| s.as_str()).collect();
            pr.add(
                at,
                "MULTIPLE_OPERATORS",
                format!(
                    "a choice rule needs exactly one comparison operator, found {}",
                    names.join(", ")
                ),
            );
            None
        }
    }
}

fn parse_op(
    m: &Map<String, Value>,
    op: &str,
    at: &str,
    depth: usize,
    pr: &mut Problems,
) -> Option<Rule> {
    let val = m.get(op).unwrap_or(&Value::Null);
    let vat = field(at, op);
    match op {
        "And" | "Or" => {
            if m.contains_key("Variable") {
                pr.add(
                    &field(at, "Variable"),
                    "UNKNOWN_FIELD",
                    format!("'{op}' rules take no Variable"),
                );
            }
            let Some(list) = val.as_array().filter(|a| !a.is_empty()) else {
                pr.add(
                    &vat,
                    "BAD_TYPE",
                    format!("'{op}' must be a non-empty array of rules"),
                );
                return None;
            };
            let rules: Vec<Option<Rule>> = list
                .iter()
                .enumerate()
                .map(|(i, r)| parse_rule(r, &index(&vat, i), false, depth + 1, pr))
                .collect();
            let rules: Option<Vec<Rule>> = rules.into_iter().collect();
            rules.map(|r| {
                if op == "And" {
                    Rule::And(r)
                } else {
                    Rule::Or(r)
                }
            })
        }
        "Not" => {
            if m.contains_key("Variable") {
                pr.add(
                    &field(at, "Variable"),
                    "UNKNOWN_FIELD",
                    "'Not' rules take no Variable",
                );
            }
            parse_rule(val, &vat, false, depth + 1, pr).map(|r| Rule::Not(Box::new(r)))
        }
        _ => parse_test(m, op, val, at, pr),
    }
}

fn parse_test(
    m: &Map<String, Value>,
    op: &str,
    val: &Value,
    at: &str,
    pr: &mut Problems,
) -> Option<Rule> {
    let vat = field(at, op);
    let var = match m.get("Variable") {
        None => {
            pr.add(at, "MISSING_FIELD", format!("'{op}' needs a 'Variable'"));
            None
        }
        Some(v) => parse_path(v, &field(at, "Variable"), pr),
    };
    let test = test_of(op, val, &vat, pr);
    Some(Rule::Test {
        var: var?,
        test: test?,
    })
}

fn parse_path(v: &Value, at: &str, pr: &mut Problems) -> Option<Path> {
    let Some(s) = v.as_str() else {
        pr.add(at, "BAD_TYPE", "expected a path string");
        return None;
    };
    match Path::parse(s) {
        Ok(p) if p.root() != Root::Current => Some(p),
        Ok(_) => {
            pr.add(at, "BAD_PATH", "a path must start with '$'");
            None
        }
        Err(e) => {
            pr.add(at, "BAD_PATH", e);
            None
        }
    }
}

fn test_of(op: &str, val: &Value, at: &str, pr: &mut Problems) -> Option<Test> {
    if let Some((_, t)) = TYPES.iter().find(|(n, _)| *n == op) {
        let Some(b) = val.as_bool() else {
            pr.add(at, "BAD_TYPE", format!("'{op}' takes true or false"));
            return None;
        };
        return Some(Test::Is(*t, b));
    }
    if op == "StringMatches" {
        let Some(s) = val.as_str() else {
            pr.add(at, "BAD_TYPE", "'StringMatches' takes a string pattern");
            return None;
        };
        return Some(Test::Matches(glob(s)));
    }
    let (kind, cmp, is_path) = operator(op)?;
    if is_path {
        return parse_path(val, at, pr).map(|p| Test::Compare(kind, cmp, Operand::Path(p)));
    }
    let ok = match kind {
        Kind::Str => val.is_string(),
        Kind::Num => val.is_number(),
        Kind::Bool => val.is_boolean(),
        Kind::Ts => val.as_str().and_then(parse_timestamp).is_some(),
    };
    if !ok {
        let want = [
            "a string",
            "a number",
            "true or false",
            "an RFC 3339 timestamp string",
        ];
        let w = want.get(kind as usize).copied().unwrap_or("a value");
        pr.add(at, "BAD_TYPE", format!("'{op}' takes {w}"));
        return None;
    }
    Some(Test::Compare(kind, cmp, Operand::Lit(val.clone())))
}

/// `*` is a wildcard; `\*` and `\\` stand for `*` and `\`.
fn glob(s: &str) -> Vec<Glob> {
    let mut out = Vec::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => out.push(Glob::Lit(it.next().unwrap_or('\\'))),
            '*' => out.push(Glob::Star),
            c => out.push(Glob::Lit(c)),
        }
    }
    out
}

fn glob_match(pat: &[Glob], s: &str) -> bool {
    let s: Vec<char> = s.chars().collect();
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        match pat.get(p) {
            Some(Glob::Star) => {
                star = Some((p, i));
                p += 1;
            }
            Some(Glob::Lit(c)) if s.get(i) == Some(c) => {
                p += 1;
                i += 1;
            }
            _ => match star {
                Some((sp, si)) => {
                    p = sp + 1;
                    i = si + 1;
                    star = Some((sp, si + 1));
                }
                None => return false,
            },
        }
    }
    pat.get(p..)
        .unwrap_or_default()
        .iter()
        .all(|g| *g == Glob::Star)
}

fn lookup<'a>(p: &Path, input: &'a Value, cx: &'a Ctx) -> Option<std::borrow::Cow<'a, Value>> {
    super::context::select(p, input, cx)
}

fn invalid(p: &Path) -> Fault {
    Fault::runtime(format!(
        "Invalid path '{}': The choice state's condition path references an invalid value.",
        p.text()
    ))
}

impl Rule {
    /// Whether the rule holds for `input`.
    pub fn eval(&self, input: &Value, cx: &Ctx) -> Result<bool, Fault> {
        match self {
            Rule::And(rs) => {
                for r in rs {
                    if !r.eval(input, cx)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rs) => {
                for r in rs {
                    if r.eval(input, cx)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(r) => Ok(!r.eval(input, cx)?),
            Rule::Test { var, test } => eval_test(var, test, input, cx),
        }
    }
}

fn eval_test(var: &Path, test: &Test, input: &Value, cx: &Ctx) -> Result<bool, Fault> {
    let v = lookup(var, input, cx);
    if let Test::Is(TypeTest::Present, want) = test {
        return Ok(v.is_some() == *want);
    }
    let v = v.ok_or_else(|| invalid(var))?;
    Ok(match test {
        Test::Is(t, want) => type_test(*t, &v) == *want,
        Test::Matches(g) => v.as_str().is_some_and(|s| glob_match(g, s)),
        Test::Compare(kind, cmp, rhs) => {
            let r = match rhs {
                Operand::Lit(x) => std::borrow::Cow::Borrowed(x),
                Operand::Path(p) => lookup(p, input, cx).ok_or_else(|| invalid(p))?,
            };
            compare(*kind, &v, &r).is_some_and(|o| holds(*cmp, o))
        }
    })
}

fn type_test(t: TypeTest, v: &Value) -> bool {
    match t {
        TypeTest::Null => v.is_null(),
        TypeTest::Present => true,
        TypeTest::Numeric => v.is_number(),
        TypeTest::String => v.is_string(),
        TypeTest::Boolean => v.is_boolean(),
        TypeTest::Timestamp => v.as_str().and_then(parse_timestamp).is_some(),
    }
}

fn compare(kind: Kind, a: &Value, b: &Value) -> Option<Ordering> {
    match kind {
        Kind::Str => Some(a.as_str()?.cmp(b.as_str()?)),
        Kind::Num => num_cmp(a, b),
        Kind::Bool => (a.as_bool()? == b.as_bool()?).then_some(Ordering::Equal),
        Kind::Ts => Some(parse_timestamp(a.as_str()?)?.cmp(&parse_timestamp(b.as_str()?)?)),
    }
}

fn num_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    let (Value::Number(x), Value::Number(y)) = (a, b) else {
        return None;
    };
    if let (Some(i), Some(j)) = (x.as_i64(), y.as_i64()) {
        return Some(i.cmp(&j));
    }
    x.as_f64()?.partial_cmp(&y.as_f64()?)
}

fn holds(c: Cmp, o: Ordering) -> bool {
    match c {
        Cmp::Eq => o == Ordering::Equal,
        Cmp::Lt => o == Ordering::Less,
        Cmp::Gt => o == Ordering::Greater,
        Cmp::Le => o != Ordering::Greater,
        Cmp::Ge => o != Ordering::Less,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(&glob("log-*.txt"), "log-1.txt"));
        assert!(!glob_match(&glob("log-\\*.txt"), "log-1.txt"));
        assert!(glob_match(&glob("log-\\*.txt"), "log-*.txt"));
        assert!(glob_match(&glob("*"), ""));
        assert!(glob_match(&glob("a*b*c"), "aXXbYYc"));
        assert!(!glob_match(&glob("a*b"), "aXXbYYc"));
    }
}
