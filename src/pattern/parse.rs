//! Pattern validation: reads pattern JSON text and produces its `$or` branches, each a list
//! of `(dotted path, conditions)`, or an [`PatternError`] saying what is wrong and where, in
//! the spirit of EventBridge's `InvalidEventPatternException`.
//!
//! Semantics follow aws/event-ruler: `$or` forks the branches built so far; a key repeated at
//! the same path replaces the earlier one in every branch it reaches (the last one wins).

use super::cidr::IpRange;
use super::glob::Glob;
use super::json::{self, Json};
use super::matcher::{Literal, Matcher, Range, fold};
use super::number;

/// Most `$or` combinations expanded; EventBridge itself accepts at most 1000.
pub const MAX_EXPANDED_COMBINATIONS: usize = 10_000;

/// Field names that cannot be used inside `$or` (they are operators).
pub(crate) const RESERVED_IN_OR: &[&str] = &[
    "anything-but",
    "cidr",
    "equals-ignore-case",
    "exactly",
    "exists",
    "numeric",
    "prefix",
    "suffix",
    "wildcard",
];

/// Why a pattern was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("InvalidEventPatternException: {message} (at {location})")]
pub struct PatternError {
    /// What is wrong.
    pub message: String,
    /// Where: a JSON path such as `detail.state[0].numeric[2]`, or `line L column C` for
    /// malformed JSON.
    pub location: String,
}

impl PatternError {
    fn at(location: &str, message: impl Into<String>) -> PatternError {
        PatternError {
            message: message.into(),
            location: if location.is_empty() {
                "the top level".to_string()
            } else {
                location.to_string()
            },
        }
    }
}

/// The conditions on one path within a branch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldSpec {
    pub matchers: Vec<Matcher>,
    pub absent_ok: bool,
    /// The condition list as written (compact JSON), for explanations.
    pub shown: String,
}

/// One `$or` branch: `(dotted path, conditions)` in first-seen order.
pub(crate) type Branch = Vec<(String, FieldSpec)>;

/// A parsed pattern: its source tree and its expanded branches.
pub(crate) struct Parsed {
    pub source: Json,
    pub branches: Vec<Branch>,
}

/// Parses and validates pattern text.
pub(crate) fn parse(text: &str) -> Result<Parsed, PatternError> {
    let source = json::parse(text).map_err(|e| PatternError {
        message: format!("malformed JSON: {}", e.message),
        location: format!("line {} column {}", e.line, e.column),
    })?;
    let Json::Obj(members) = &source else {
        return Err(PatternError::at(
            "",
            "an event pattern must be a JSON object",
        ));
    };
    let mut branches = Vec::new();
    object(members, "", "", false, &mut branches)?;
    Ok(Parsed { source, branches })
}

/// Reads an object's members; `path` is the dotted field path, `loc` the JSON path.
fn object(
    members: &[(String, Json)],
    path: &str,
    loc: &str,
    in_or: bool,
    branches: &mut Vec<Branch>,
) -> Result<(), PatternError> {
    if members.is_empty() {
        return Err(PatternError::at(loc, "empty objects are not allowed"));
    }
    for (key, value) in members {
        let here = join(loc, key);
        if key == "$or" {
            or(value, path, &here, branches)?;
            continue;
        }
        if in_or && RESERVED_IN_OR.contains(&key.as_str()) {
            return Err(PatternError::at(
                &here,
                format!("{key:?} is an operator and cannot be a field name inside $or"),
            ));
        }
        let field = join(path, key);
        match value {
            Json::Obj(inner) => object(inner, &field, &here, in_or, branches)?,
            Json::Arr(items) => put(branches, &field, conditions(items, &here)?),
            _ => {
                return Err(PatternError::at(
                    &here,
                    format!("{key:?} must be an object or an array of match values"),
                ));
            }
        }
    }
    Ok(())
}

/// `$or`: every branch so far is forked once per alternative.
fn or(value: &Json, path: &str, loc: &str, branches: &mut Vec<Branch>) -> Result<(), PatternError> {
    let Json::Arr(alternatives) = value else {
        return Err(PatternError::at(loc, "$or must be an array of objects"));
    };
    if alternatives.len() < 2 {
        return Err(PatternError::at(
            loc,
            "$or must have at least 2 alternatives",
        ));
    }
    let before = std::mem::take(branches);
    for (i, alt) in alternatives.iter().enumerate() {
        let here = format!("{loc}[{i}]");
        let Json::Obj(members) = alt else {
            return Err(PatternError::at(
                &here,
                "each $or alternative must be an object",
            ));
        };
        let mut forked = if before.is_empty() {
            vec![Vec::new()]
        } else {
            before.clone()
        };
        object(members, path, &here, true, &mut forked)?;
        branches.extend(forked);
        if branches.len() > MAX_EXPANDED_COMBINATIONS {
            return Err(PatternError::at(
                loc,
                format!(
                    "more than {MAX_EXPANDED_COMBINATIONS} $or combinations \
                     (EventBridge allows at most 1000)"
                ),
            ));
        }
    }
    Ok(())
}

/// Sets `path` in every branch (replacing an earlier entry: the last key wins).
fn put(branches: &mut Vec<Branch>, path: &str, spec: FieldSpec) {
    if branches.is_empty() {
        branches.push(Vec::new());
    }
    for branch in branches.iter_mut() {
        match branch.iter_mut().find(|(p, _)| p == path) {
            Some(entry) => entry.1 = spec.clone(),
            None => branch.push((path.to_string(), spec.clone())),
        }
    }
}

fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_string()
    } else {
        format!("{base}.{key}")
    }
}

/// Reads a field's array of match values.
fn conditions(items: &[Json], loc: &str) -> Result<FieldSpec, PatternError> {
    if items.is_empty() {
        return Err(PatternError::at(loc, "empty arrays are not allowed"));
    }
    let mut spec = FieldSpec {
        matchers: Vec::new(),
        absent_ok: false,
        shown: Json::Arr(items.to_vec()).to_compact(),
    };
    for (i, item) in items.iter().enumerate() {
        let here = format!("{loc}[{i}]");
        match item {
            Json::Str(s) => spec.matchers.push(match IpRange::single(s) {
                Some(ip) => Matcher::ExactIp(ip, s.clone()),
                None => Matcher::Exact(Literal::Str(s.clone())),
            }),
            Json::Obj(members) => match expression(members, &here)? {
                Some(m) => spec.matchers.push(m),
                None => spec.absent_ok = true,
            },
            Json::Arr(_) => {
                return Err(PatternError::at(
                    &here,
                    "a match value must be a string, number, true, false, null or an object",
                ));
            }
            scalar => spec.matchers.push(Matcher::Exact(literal(scalar))),
        }
    }
    Ok(spec)
}

fn literal(value: &Json) -> Literal {
    match value {
        Json::Str(s) => Literal::Str(s.clone()),
        Json::Num(n) => Literal::Num {
            text: n.clone(),
            value: number::comparable(n),
        },
        Json::Bool(b) => Literal::Bool(*b),
        _ => Literal::Null,
    }
}

/// Reads a match expression object; `None` stands for `exists: false`.
fn expression(members: &[(String, Json)], loc: &str) -> Result<Option<Matcher>, PatternError> {
    let [(op, value)] = members else {
        return Err(PatternError::at(
            loc,
            "a match expression must have exactly one key, e.g. {\"prefix\": \"abc\"}",
        ));
    };
    let here = join(loc, op);
    let matcher = match op.as_str() {
        "exactly" => Matcher::Exact(Literal::Str(string(value, &here, op)?)),
        "prefix" => affix(value, &here, op, Matcher::Prefix, Matcher::PrefixIgnoreCase)?,
        "suffix" => affix(value, &here, op, Matcher::Suffix, Matcher::SuffixIgnoreCase)?,
        "equals-ignore-case" => Matcher::EqualsIgnoreCase(fold(&string(value, &here, op)?).into()),
        "wildcard" => Matcher::Wildcard(glob(&string(value, &here, op)?, &here)?),
        "cidr" => Matcher::Cidr(
            IpRange::parse_cidr(&string(value, &here, op)?)
                .map_err(|e| PatternError::at(&here, e))?,
        ),
        "numeric" => Matcher::Numeric(numeric(value, &here)?),
        "anything-but" => anything_but(value, &here)?,
        "exists" => match value {
            Json::Bool(true) => Matcher::Exists,
            Json::Bool(false) => return Ok(None),
            _ => return Err(PatternError::at(&here, "exists must be true or false")),
        },
        other => {
            return Err(PatternError::at(
                loc,
                format!("unrecognized match type {other:?}"),
            ));
        }
    };
    Ok(Some(matcher))
}

fn string(value: &Json, loc: &str, op: &str) -> Result<String, PatternError> {
    match value {
        Json::Str(s) => Ok(s.clone()),
        _ => Err(PatternError::at(
            loc,
            format!("{op} match pattern must be a string"),
        )),
    }
}

fn glob(text: &str, loc: &str) -> Result<Glob, PatternError> {
    Glob::parse(text).map_err(|e| PatternError::at(loc, e))
}

/// `prefix` / `suffix`: a string, or `{"equals-ignore-case": string}`.
fn affix(
    value: &Json,
    loc: &str,
    op: &str,
    plain: fn(String) -> Matcher,
    ignore_case: fn(String) -> Matcher,
) -> Result<Matcher, PatternError> {
    match value {
        Json::Str(s) => Ok(plain(s.clone())),
        Json::Obj(members) => match members.as_slice() {
            [(k, v)] if k == "equals-ignore-case" => {
                let s = string(v, &join(loc, k), k)?;
                Ok(ignore_case(fold(&s).into()))
            }
            [(k, _)] => Err(PatternError::at(
                loc,
                format!("unsupported {op} pattern: {k:?}"),
            )),
            _ => Err(PatternError::at(
                loc,
                "only one key allowed in a match expression",
            )),
        },
        _ => Err(PatternError::at(
            loc,
            format!("{op} match pattern must be a string"),
        )),
    }
}

/// `numeric`: `[op, n]` or `[">" | ">=", low, "<" | "<=", high]`.
fn numeric(value: &Json, loc: &str) -> Result<Range, PatternError> {
    let Json::Arr(items) = value else {
        return Err(PatternError::at(
            loc,
            "numeric must be an array such as [\">\", 0, \"<=\", 5]",
        ));
    };
    let (first_op, first) = bound(items, 0, loc)?;
    let mut range = Range {
        lower: None,
        upper: None,
    };
    match first_op {
        "=" => {
            range.lower = Some((first, true));
            range.upper = Some((first, true));
        }
        "<" | "<=" => range.upper = Some((first, first_op == "<=")),
        _ => range.lower = Some((first, first_op == ">=")),
    }
    if items.len() == 2 {
        return Ok(range);
    }
    if range.lower.is_none() || first_op == "=" || items.len() != 4 {
        return Err(PatternError::at(
            loc,
            "too many elements in numeric expression: only [\">\"|\">=\", low, \"<\"|\"<=\", high] has four",
        ));
    }
    let (second_op, second) = bound(items, 2, loc)?;
    if !matches!(second_op, "<" | "<=") {
        return Err(PatternError::at(
            &format!("{loc}[2]"),
            "the second operator of a numeric range must be \"<\" or \"<=\"",
        ));
    }
    if first >= second {
        return Err(PatternError::at(
            loc,
            "bottom must be less than top in a numeric range",
        ));
    }
    range.upper = Some((second, second_op == "<="));
    Ok(range)
}

/// Reads `items[at]` (an operator) and `items[at + 1]` (its number).
fn bound<'j>(items: &'j [Json], at: usize, loc: &str) -> Result<(&'j str, f64), PatternError> {
    let op = match items.get(at) {
        Some(Json::Str(op)) if matches!(op.as_str(), "=" | "<" | "<=" | ">" | ">=") => op.as_str(),
        Some(Json::Str(op)) => {
            return Err(PatternError::at(
                &format!("{loc}[{at}]"),
                format!("unrecognized numeric range operator: {op:?}"),
            ));
        }
        _ => {
            return Err(PatternError::at(
                &format!("{loc}[{at}]"),
                "expected a numeric operator: one of =, <, <=, >, >=",
            ));
        }
    };
    let here = format!("{loc}[{}]", at + 1);
    match items.get(at + 1) {
        Some(Json::Num(text)) => number::comparable(text).map(|n| (op, n)).ok_or_else(|| {
            PatternError::at(&here, format!("cannot compare number {text}: out of range"))
        }),
        _ => Err(PatternError::at(
            &here,
            format!("value of {op} must be numeric"),
        )),
    }
}

/// `anything-but`: a value, a list of strings or of numbers, or an object with one of
/// `prefix`, `suffix`, `equals-ignore-case`, `wildcard`.
fn anything_but(value: &Json, loc: &str) -> Result<Matcher, PatternError> {
    match value {
        Json::Str(_) | Json::Num(_) => Ok(Matcher::AnythingBut(vec![literal(value)])),
        Json::Arr(items) => {
            let all_str = items.iter().all(|v| matches!(v, Json::Str(_)));
            let all_num = items.iter().all(|v| matches!(v, Json::Num(_)));
            if items.is_empty() || !(all_str || all_num) {
                return Err(PatternError::at(
                    loc,
                    "an anything-but list must be non-empty and hold only strings or only numbers",
                ));
            }
            Ok(Matcher::AnythingBut(items.iter().map(literal).collect()))
        }
        Json::Obj(members) => {
            let [(op, inner)] = members.as_slice() else {
                return Err(PatternError::at(
                    loc,
                    "only one key allowed in an anything-but expression",
                ));
            };
            let here = join(loc, op);
            let list = string_list(inner, &here, op)?;
            match op.as_str() {
                "prefix" | "suffix" if list.iter().any(String::is_empty) => Err(PatternError::at(
                    &here,
                    format!("an empty {op} is not allowed in anything-but"),
                )),
                "prefix" => Ok(Matcher::AnythingButPrefix(list)),
                "suffix" => Ok(Matcher::AnythingButSuffix(list)),
                "equals-ignore-case" => Ok(Matcher::AnythingButIgnoreCase(
                    list.iter().map(|s| fold(s).into_owned()).collect(),
                )),
                "wildcard" => list
                    .iter()
                    .map(|s| glob(s, &here))
                    .collect::<Result<_, _>>()
                    .map(Matcher::AnythingButWildcard),
                other => Err(PatternError::at(
                    loc,
                    format!("unsupported anything-but pattern: {other:?}"),
                )),
            }
        }
        _ => Err(PatternError::at(
            loc,
            "anything-but takes a string, a number, a list, or an object",
        )),
    }
}

/// A string or a non-empty list of strings.
fn string_list(value: &Json, loc: &str, op: &str) -> Result<Vec<String>, PatternError> {
    let err = || {
        PatternError::at(
            loc,
            format!("{op} must be a string or a non-empty list of strings"),
        )
    };
    match value {
        Json::Str(s) => Ok(vec![s.clone()]),
        Json::Arr(items) if !items.is_empty() => items
            .iter()
            .map(|v| match v {
                Json::Str(s) => Ok(s.clone()),
                _ => Err(err()),
            })
            .collect(),
        _ => Err(err()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(text: &str) -> Vec<Vec<String>> {
        parse(text)
            .unwrap()
            .branches
            .iter()
            .map(|b| b.iter().map(|(p, _)| p.clone()).collect())
            .collect()
    }

    fn error(text: &str) -> PatternError {
        parse(text)
            .err()
            .unwrap_or_else(|| panic!("{text} should be rejected"))
    }

    #[test]
    fn or_forks_branches_and_keeps_outer_fields() {
        assert_eq!(
            paths(
                r#"{"s": ["a"], "d": {"$or": [{"x": [1]}, {"y": [2], "$or": [{"p": [1]}, {"q": [2]}]}]}}"#
            ),
            vec![
                vec!["s", "d.x"],
                vec!["s", "d.y", "d.p"],
                vec!["s", "d.y", "d.q"]
            ]
        );
    }

    #[test]
    fn the_last_duplicate_key_wins_in_each_branch() {
        let parsed = parse(r#"{"x": ["y"], "x": ["z"]}"#).unwrap();
        assert_eq!(parsed.branches.len(), 1);
        assert_eq!(parsed.branches[0][0].1.shown, r#"["z"]"#);
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = error(r#"{"detail": {"state": [{"numeric": [">", 5, "<", 1]}]}}"#);
        assert_eq!(e.location, "detail.state[0].numeric");
        assert!(e.message.contains("bottom must be less than top"));
        let e = error(r#"{"a": [{"anything-but": {"prefix": ""}}]}"#);
        assert_eq!(e.location, "a[0].anything-but.prefix");
        let e = error("{\n \"a\": [1 2]}");
        assert_eq!(e.location, "line 2 column 10");
        assert_eq!(error("[1]").location, "the top level");
        assert!(
            error(r#"{"a": [{"wildcard": "a**"}]}"#)
                .message
                .contains("**")
        );
    }

    #[test]
    fn rejects_what_eventbridge_rejects() {
        for bad in [
            r#"{}"#,
            r#"{"a": []}"#,
            r#"{"a": "x"}"#,
            r#"{"a": {}}"#,
            r#"{"a": [[1]]}"#,
            r#"{"a": [{}]}"#,
            r#"{"a": [{"prefix": "x", "suffix": "y"}]}"#,
            r#"{"a": [{"nope": 1}]}"#,
            r#"{"a": [{"numeric": ["=", 1, "<", 2]}]}"#,
            r#"{"a": [{"numeric": ["<", 1, ">", 0]}]}"#,
            r#"{"a": [{"numeric": [">", 1, ">", 2]}]}"#,
            r#"{"a": [{"numeric": [">", "1"]}]}"#,
            r#"{"a": [{"numeric": []}]}"#,
            r#"{"a": [{"cidr": "10.0.0.0/33"}]}"#,
            r#"{"a": [{"anything-but": []}]}"#,
            r#"{"a": [{"anything-but": ["a", 1]}]}"#,
            r#"{"a": [{"anything-but": true}]}"#,
            r#"{"a": [{"anything-but": {"equals-ignore-case": [1]}}]}"#,
            r#"{"a": [{"exists": "yes"}]}"#,
            r#"{"$or": [{"a": [1]}]}"#,
            r#"{"$or": [{"a": [1]}, [{"b": [1]}]]}"#,
            r#"{"$or": [{"prefix": [1]}, {"b": [1]}]}"#,
            r#"{"$or": {"a": [1]}}"#,
        ] {
            error(bad);
        }
    }

    #[test]
    fn expansion_is_bounded() {
        let alt = r#"{"$or": [{"a": [1]}, {"b": [1]}, {"c": [1]}, {"d": [1]}, {"e": [1]}, {"f": [1]}, {"g": [1]}, {"h": [1]}, {"i": [1]}, {"j": [1]}]}"#;
        let nested = format!(r#"{{"w": {alt}, "x": {alt}, "y": {alt}}}"#);
        assert_eq!(parse(&nested).unwrap().branches.len(), 1000);
        let too_many = format!(r#"{{"v": {alt}, "w": {alt}, "x": {alt}, "y": {alt}, "z": {alt}}}"#);
        assert!(error(&too_many).message.contains("more than"));
    }
}
