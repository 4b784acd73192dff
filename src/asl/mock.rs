//! Reads mocked task responses as JSON (a per-state form, or Step Functions Local's MockConfig layout); produces a `MockHandler` that answers Task states.

use super::handler::{TaskCall, TaskHandler, TaskOutcome, no_handler};
use super::problem::{Problem, Problems, bracket, field, index};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// One mocked response.
#[derive(Debug, Clone, PartialEq)]
pub struct MockResponse {
    outcome: TaskOutcome,
}

/// Answers Task states by name from mocked responses, consumed in order; the last one repeats.
#[derive(Debug, Clone, Default)]
pub struct MockHandler {
    responses: HashMap<String, Vec<MockResponse>>,
    calls: HashMap<String, usize>,
}

impl MockHandler {
    /// Parses either form:
    ///
    /// * per state: `{"State name": R}` where R is one response, an array of responses,
    ///   or an object keyed `"0"`, `"1-2"`, … (invocation numbers);
    /// * MockConfig: `{"StateMachines": {…: {"TestCases": {…: {"State": "MockName"}}}}, "MockedResponses": {…}}`,
    ///   which must then hold exactly one state machine with one test case (else use [`MockHandler::parse_test_case`]).
    ///
    /// A response is `{"Return": json}` or `{"Throw": {"Error": "...", "Cause": "..."}}`,
    /// with optional `"Duration"` (virtual seconds) and `"Heartbeats"` (seconds after the start).
    pub fn parse(v: &Value) -> Result<MockHandler, Vec<Problem>> {
        let mut pr = Problems::default();
        let Some(m) = v.as_object() else {
            pr.add("$", "BAD_TYPE", "a mock file must be a JSON object");
            return Err(pr.list);
        };
        if m.contains_key("StateMachines") || m.contains_key("MockedResponses") {
            return only_case(m).and_then(|(sm, tc)| MockHandler::parse_test_case(v, &sm, &tc));
        }
        let mut h = MockHandler::default();
        for (state, r) in m {
            if let Some(seq) = sequence(r, &bracket("$", state), &mut pr) {
                h.responses.insert(state.clone(), seq);
            }
        }
        finish(h, pr)
    }

    /// Parses the MockConfig layout for one state machine and test case.
    pub fn parse_test_case(
        v: &Value,
        machine: &str,
        case: &str,
    ) -> Result<MockHandler, Vec<Problem>> {
        let mut pr = Problems::default();
        let case_at = bracket(
            &field(&bracket("$.StateMachines", machine), "TestCases"),
            case,
        );
        let states = v
            .get("StateMachines")
            .and_then(|s| s.get(machine))
            .and_then(|s| s.get("TestCases"))
            .and_then(|t| t.get(case));
        let Some(states) = states.and_then(Value::as_object) else {
            pr.add(
                &case_at,
                "MISSING_FIELD",
                format!("no test case '{case}' for state machine '{machine}'"),
            );
            return Err(pr.list);
        };
        let mocked = v.get("MockedResponses").and_then(Value::as_object);
        let mut h = MockHandler::default();
        for (state, name) in states {
            let at = bracket(&case_at, state);
            let Some(name) = name.as_str() else {
                pr.add(&at, "BAD_TYPE", "expected the name of a mocked response");
                continue;
            };
            let Some(r) = mocked.and_then(|m| m.get(name)) else {
                pr.add(
                    &at,
                    "MISSING_TARGET",
                    format!("no MockedResponses entry named '{name}'"),
                );
                continue;
            };
            if let Some(seq) = sequence(r, &bracket("$.MockedResponses", name), &mut pr) {
                h.responses.insert(state.clone(), seq);
            }
        }
        finish(h, pr)
    }

    /// How many times a state was called so far.
    pub fn calls(&self, state: &str) -> usize {
        self.calls.get(state).copied().unwrap_or(0)
    }
}

fn finish(h: MockHandler, pr: Problems) -> Result<MockHandler, Vec<Problem>> {
    if pr.list.is_empty() {
        Ok(h)
    } else {
        Err(pr.list)
    }
}

fn only_case(m: &Map<String, Value>) -> Result<(String, String), Vec<Problem>> {
    let mut pr = Problems::default();
    let machines = m.get("StateMachines").and_then(Value::as_object);
    let cases: Vec<(String, String)> = machines
        .into_iter()
        .flatten()
        .flat_map(|(sm, v)| {
            let tcs = v.get("TestCases").and_then(Value::as_object);
            tcs.into_iter()
                .flatten()
                .map(move |(tc, _)| (sm.clone(), tc.clone()))
        })
        .collect();
    match cases.as_slice() {
        [one] => Ok(one.clone()),
        _ => {
            pr.add(
                "$.StateMachines",
                "AMBIGUOUS_TEST_CASE",
                format!(
                    "found {} test cases; name the state machine and test case to use",
                    cases.len()
                ),
            );
            Err(pr.list)
        }
    }
}

/// A response list from one value at `at`.
fn sequence(v: &Value, at: &str, pr: &mut Problems) -> Option<Vec<MockResponse>> {
    match v {
        Value::Array(a) if !a.is_empty() => a
            .iter()
            .enumerate()
            .map(|(i, r)| response(r, &index(at, i), pr))
            .collect::<Vec<_>>()
            .into_iter()
            .collect(),
        Value::Object(m) if m.contains_key("Return") || m.contains_key("Throw") => {
            Some(vec![response(v, at, pr)?])
        }
        Value::Object(m) if !m.is_empty() => numbered(m, at, pr),
        _ => {
            pr.add(at, "BAD_TYPE", "expected a response, a non-empty array of responses, or an object keyed by invocation numbers (\"0\", \"1-2\")");
            None
        }
    }
}

/// `{"0": R, "1-2": R}`: keys must cover 0..n without gaps or overlaps.
fn numbered(m: &Map<String, Value>, at: &str, pr: &mut Problems) -> Option<Vec<MockResponse>> {
    let mut ranges: Vec<(usize, usize, MockResponse)> = Vec::new();
    for (k, r) in m {
        let kat = bracket(at, k);
        let Some((lo, hi)) = parse_range(k) else {
            pr.add(
                &kat,
                "BAD_KEY",
                format!("'{k}' is not an invocation number or range such as \"0\" or \"1-2\""),
            );
            continue;
        };
        ranges.extend(response(r, &kat, pr).map(|resp| (lo, hi, resp)));
    }
    ranges.sort_by_key(|(lo, _, _)| *lo);
    let mut out = Vec::new();
    for (lo, hi, r) in ranges {
        if lo != out.len() {
            pr.add(
                at,
                "BAD_KEY",
                format!(
                    "invocation numbers must run from 0 without gaps or overlaps; {lo} follows {}",
                    out.len()
                ),
            );
            return None;
        }
        out.extend(std::iter::repeat_n(r, hi - lo + 1));
    }
    Some(out)
}

fn parse_range(k: &str) -> Option<(usize, usize)> {
    let (a, b) = k.split_once('-').unwrap_or((k, k));
    let (lo, hi) = (
        a.trim().parse::<usize>().ok()?,
        b.trim().parse::<usize>().ok()?,
    );
    // A cap keeps a key like "0-999999999" from allocating without bound.
    (lo <= hi && hi < 10_000).then_some((lo, hi))
}

fn response(v: &Value, at: &str, pr: &mut Problems) -> Option<MockResponse> {
    let Some(m) = v.as_object() else {
        pr.add(
            at,
            "BAD_TYPE",
            "a response must be an object with \"Return\" or \"Throw\"",
        );
        return None;
    };
    for k in m.keys() {
        if !matches!(
            k.as_str(),
            "Return" | "Throw" | "Duration" | "Heartbeats" | "Comment"
        ) {
            pr.add(
                &field(at, k),
                "UNKNOWN_FIELD",
                format!("unknown field '{k}' (Return, Throw, Duration, Heartbeats)"),
            );
        }
    }
    let duration = seconds(m.get("Duration"), &field(at, "Duration"), pr)?;
    let heartbeats = match m.get("Heartbeats") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, x)| seconds(Some(x), &index(&field(at, "Heartbeats"), i), pr))
            .collect::<Option<Vec<f64>>>()?,
        Some(_) => {
            pr.add(
                &field(at, "Heartbeats"),
                "BAD_TYPE",
                "Heartbeats must be an array of seconds",
            );
            return None;
        }
    };
    let outcome = match (m.get("Return"), m.get("Throw")) {
        (Some(r), None) => TaskOutcome::Ok {
            output: r.clone(),
            duration,
            heartbeats,
        },
        (None, Some(t)) => throw(t, &field(at, "Throw"), duration, pr)?,
        _ => {
            pr.add(
                at,
                "BAD_RESPONSE",
                "a response needs exactly one of \"Return\" and \"Throw\"",
            );
            return None;
        }
    };
    Some(MockResponse { outcome })
}

fn seconds(v: Option<&Value>, at: &str, pr: &mut Problems) -> Option<f64> {
    match v {
        None => Some(0.0),
        Some(x) => match x.as_f64() {
            Some(s) if s >= 0.0 && s.is_finite() => Some(s),
            _ => {
                pr.add(at, "BAD_VALUE", "expected a non-negative number of seconds");
                None
            }
        },
    }
}

fn throw(v: &Value, at: &str, duration: f64, pr: &mut Problems) -> Option<TaskOutcome> {
    let error = v.get("Error").and_then(Value::as_str);
    let cause = v.get("Cause").map_or(Some(""), Value::as_str);
    let (Some(error), Some(cause)) = (error, cause) else {
        pr.add(
            at,
            "BAD_RESPONSE",
            "Throw needs \"Error\" (a string) and optionally \"Cause\" (a string)",
        );
        return None;
    };
    if let Some(k) = v
        .as_object()
        .and_then(|m| m.keys().find(|k| !matches!(k.as_str(), "Error" | "Cause")))
    {
        pr.add(
            &field(at, k),
            "UNKNOWN_FIELD",
            format!("unknown field '{k}' (Error, Cause)"),
        );
    }
    Some(TaskOutcome::Err {
        error: error.into(),
        cause: cause.into(),
        duration,
    })
}

impl TaskHandler for MockHandler {
    fn call(&mut self, call: &TaskCall<'_>) -> TaskOutcome {
        let Some(seq) = self.responses.get(call.state) else {
            return no_handler(call);
        };
        let n = self.calls.entry(call.state.to_string()).or_insert(0);
        let r = seq.get(*n).or(seq.last());
        *n += 1;
        r.map_or_else(|| no_handler(call), |r| r.outcome.clone())
    }
}
