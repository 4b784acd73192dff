//! Runs the EventBridge conformance corpus (`eventbridge-conformance/cases.jsonl`, recorded
//! from aws/event-ruler's unit tests, read from the shared data folder `../shared/`: see
//! `common::shared`) against `dpc::pattern`: every match result must agree and every invalid
//! pattern must be rejected. No case is skipped, and a missing corpus fails the tests.

use dpc::pattern::{Event, Machine, Pattern};
use serde_json::Value;

use crate::common::shared;

const EXPECTED_CASES: usize = 708;

/// The corpus, one JSON case per line.
fn corpus() -> String {
    shared::read("eventbridge-conformance/cases.jsonl")
}

/// Parses one corpus line. The corpus was written by Python's `json`, which spells
/// out-of-range numbers as bare `Infinity`/`NaN`; those lines also carry the exact original
/// text (`pattern_text`), so such tokens outside strings are read as `null` here.
fn parse_line(line: &str) -> Value {
    let mut out = String::with_capacity(line.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        let token = ["-Infinity", "Infinity", "NaN"]
            .iter()
            .find(|t| rest.starts_with(**t));
        if let (false, Some(token)) = (in_string, token) {
            out.push_str("null");
            rest = &rest[token.len()..];
            continue;
        }
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (_, false, '"') => in_string = !in_string,
            _ => {}
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("corpus line is not JSON ({e}): {line}"))
}

/// The raw text of a top-level member of a one-line JSON object, exactly as written.
/// (Re-serialising a parsed value would sort its keys, and key order matters in patterns:
/// a key repeated after `$or` overrides the branches.)
fn raw_member<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let needle = format!("{}:", serde_json::to_string(key).ok()?);
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut value_start = None;
    for (i, c) in line.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' if depth == 1 && value_start.is_none() && line[i..].starts_with(&needle) => {
                value_start = Some(i + needle.len());
                in_string = true;
            }
            '"' => in_string = true,
            '{' | '[' => depth += 1,
            '}' | ']' | ',' if depth == 1 => {
                if let Some(start) = value_start.filter(|&s| s < i) {
                    return Some(line[start..i].trim());
                }
                if c != ',' {
                    depth -= 1;
                }
            }
            '}' | ']' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The exact text of the pattern or event: `*_text` when present, the value itself when
/// `*_is_text`, else the value's raw JSON text from the corpus line.
fn text_of(case: &Value, line: &str, field: &str) -> String {
    if let Some(text) = case.get(format!("{field}_text")).and_then(Value::as_str) {
        return text.to_string();
    }
    let value = &case[field];
    if case.get(format!("{field}_is_text")) == Some(&Value::Bool(true)) {
        return value
            .as_str()
            .expect("*_is_text value is a string")
            .to_string();
    }
    raw_member(line, field)
        .unwrap_or_else(|| panic!("no {field} in {line}"))
        .to_string()
}

/// Checks one case; `Err` says how it failed.
fn check(case: &Value, line: &str) -> Result<(), String> {
    let pattern_text = text_of(case, line, "pattern");
    if case.get("invalid") == Some(&Value::Bool(true)) {
        return match Pattern::parse(&pattern_text) {
            Err(_) => Ok(()),
            Ok(_) => Err(format!("accepted invalid pattern {pattern_text}")),
        };
    }
    let pattern =
        Pattern::parse(&pattern_text).map_err(|e| format!("rejected valid pattern: {e}"))?;
    let event_text = text_of(case, line, "event");
    let expected = case["match"].as_bool().ok_or("case without \"match\"")?;
    let lazy = pattern
        .matches_json(&event_text)
        .map_err(|e| format!("rejected event: {e}"))?;
    // The same answer through a validated Event and through a Machine.
    let event = Event::parse(event_text.as_str()).map_err(|e| format!("rejected event: {e}"))?;
    let mut machine = Machine::new();
    machine.add("p", &pattern);
    let via_machine = machine.matches(&event) == ["p"];
    let explained = pattern.explain(&event).matched;
    if (lazy, pattern.matches(&event), via_machine, explained)
        != (expected, expected, expected, expected)
    {
        return Err(format!(
            "expected match={expected}, got matches_json={lazy} matches={} machine={via_machine} explain={explained}",
            pattern.matches(&event)
        ));
    }
    Ok(())
}

#[test]
fn every_conformance_case_passes() {
    let corpus = corpus();
    let lines: Vec<&str> = corpus.lines().filter(|l| !l.trim().is_empty()).collect();
    let cases: Vec<Value> = lines.iter().map(|l| parse_line(l)).collect();
    assert_eq!(cases.len(), EXPECTED_CASES, "corpus size changed");
    let failures: Vec<String> = cases
        .iter()
        .zip(&lines)
        .filter_map(|(c, l)| check(c, l).err().map(|why| format!("{}: {why}", c["name"])))
        .collect();
    let passed = cases.len() - failures.len();
    println!(
        "EventBridge conformance: {passed}/{} cases passed",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn raw_members_keep_key_order() {
    let line =
        r#"{"name": "x", "pattern": {"b": [1], "$or": [{"a": ["}"]}, {"c": [2]}]}, "match": true}"#;
    assert_eq!(
        raw_member(line, "pattern"),
        Some(r#"{"b": [1], "$or": [{"a": ["}"]}, {"c": [2]}]}"#)
    );
    assert_eq!(raw_member(line, "match"), Some("true"));
    assert_eq!(raw_member(line, "event"), None);
}

#[test]
fn the_corpus_covers_both_outcomes_and_rejections() {
    let corpus = corpus();
    let count = |key: &str, value: Value| {
        corpus
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(parse_line)
            .filter(|c| c.get(key) == Some(&value))
            .count()
    };
    assert!(count("match", Value::Bool(true)) > 200);
    assert!(count("match", Value::Bool(false)) > 200);
    assert_eq!(count("invalid", Value::Bool(true)), 93);
}
