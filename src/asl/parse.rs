//! Reads a state machine definition as JSON; produces the checked `Definition` or every problem found, each with its JSON path.

use super::fields::{self, F};
use super::model::{Definition, Machine, Next, State};
use super::problem::{Problem, Problems, bracket, field};
use super::states;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

impl Definition {
    /// Checks `v` and builds the model; on failure returns all problems found.
    pub fn parse(v: &Value) -> Result<Definition, Vec<Problem>> {
        let mut cx = Cx::default();
        let def = cx.top(v);
        match def {
            Some(d) if cx.pr.list.is_empty() => Ok(d),
            _ => Err(cx.pr.list),
        }
    }
}

/// Longest state name AWS accepts.
const MAX_NAME: usize = 80;
/// Deepest nesting of Parallel/Map, so hostile input cannot exhaust the stack.
const MAX_NESTING: usize = 16;

/// Parsing state shared by every nested machine.
#[derive(Default)]
pub(crate) struct Cx {
    pub pr: Problems,
    seen: HashSet<String>,
    pub depth: usize,
}

/// State names of one machine, for resolving transitions.
pub(crate) struct Names<'a> {
    map: HashMap<&'a str, usize>,
}

impl Names<'_> {
    /// Resolves a transition target, reporting a missing one.
    pub fn target(&self, v: Option<&Value>, at: &str, pr: &mut Problems) -> Option<usize> {
        let Some(name) = v.and_then(Value::as_str) else {
            pr.add(
                at,
                "BAD_TYPE",
                "a transition target must be a state name (string)",
            );
            return None;
        };
        let found = self.map.get(name).copied();
        if found.is_none() {
            pr.add(
                at,
                "MISSING_TRANSITION_TARGET",
                format!("no state named '{name}' (in this scope)"),
            );
        }
        found
    }
}

impl Cx {
    fn top(&mut self, v: &Value) -> Option<Definition> {
        let m = self.object(v, "$")?;
        self.unknown(
            m,
            "$",
            &[
                F::StartAt,
                F::States,
                F::Comment,
                F::Version,
                F::TimeoutSeconds,
                F::QueryLanguage,
            ],
        );
        self.query_language(m, "$");
        let timeout = fields::opt_uint(m, "TimeoutSeconds", "$", 1, 99_999_999, &mut self.pr);
        if let Some(c) = m.get("Version").filter(|x| !x.is_string()) {
            self.pr.add(
                "$.Version",
                "BAD_TYPE",
                format!("Version must be a string, got {c}"),
            );
        }
        let comment = fields::opt_string(m, "Comment", "$", &mut self.pr).map(str::to_string);
        let machine = self.machine(m, "$");
        Some(Definition {
            comment,
            timeout_seconds: timeout,
            machine: machine?,
        })
    }

    /// Reports `QueryLanguage: JSONata`, which this interpreter refuses.
    pub fn query_language(&mut self, m: &Map<String, Value>, at: &str) {
        match m.get("QueryLanguage") {
            None => {}
            Some(Value::String(s)) if s == "JSONPath" => {}
            Some(Value::String(s)) if s == "JSONata" => {
                self.pr.add(
                    &field(at, "QueryLanguage"),
                    "JSONATA_UNSUPPORTED",
                    "JSONata is not supported; use JSONPath",
                );
            }
            Some(x) => self.pr.add(
                &field(at, "QueryLanguage"),
                "BAD_VALUE",
                format!("QueryLanguage must be \"JSONPath\" or \"JSONata\", got {x}"),
            ),
        }
    }

    pub fn object<'v>(&mut self, v: &'v Value, at: &str) -> Option<&'v Map<String, Value>> {
        let m = v.as_object();
        if m.is_none() {
            self.pr.add(at, "BAD_TYPE", "expected a JSON object");
        }
        m
    }

    /// Reports keys of `m` not in `allowed`.
    pub fn unknown(&mut self, m: &Map<String, Value>, at: &str, allowed: &[F]) {
        for k in m.keys() {
            if !allowed.iter().any(|f| f.name() == k) {
                let (code, msg) = fields::unknown_message(k);
                self.pr.add(&field(at, k), code, msg);
            }
        }
    }

    /// Parses `StartAt` and `States` of a machine found at `at`.
    pub fn machine(&mut self, m: &Map<String, Value>, at: &str) -> Option<Machine> {
        if self.depth > MAX_NESTING {
            self.pr
                .add(at, "BAD_VALUE", "Parallel and Map states nested too deeply");
            return None;
        }
        let states_at = field(at, "States");
        let states = match m.get("States") {
            None => {
                self.pr
                    .add(at, "MISSING_FIELD", "missing required field 'States'");
                return None;
            }
            Some(v) => self.object(v, &states_at)?,
        };
        if states.is_empty() {
            self.pr.add(
                &states_at,
                "BAD_VALUE",
                "States must name at least one state",
            );
            return None;
        }
        let names = Names {
            map: states
                .keys()
                .enumerate()
                .map(|(i, k)| (k.as_str(), i))
                .collect(),
        };
        let start = match m.get("StartAt") {
            None => {
                self.pr
                    .add(at, "MISSING_FIELD", "missing required field 'StartAt'");
                None
            }
            Some(v) => names.target(Some(v), &field(at, "StartAt"), &mut self.pr),
        };
        let parsed: Vec<Option<State>> = states
            .iter()
            .map(|(name, sv)| self.state(name, sv, &bracket(&states_at, name), &names))
            .collect();
        let start = start?;
        if !states.values().any(is_terminal) {
            self.pr.add(
                &states_at,
                "MISSING_END_STATE",
                "Workflow has no terminal state",
            );
        } else {
            self.reachability(states, start, &states_at);
        }
        let states: Option<Vec<State>> = parsed.into_iter().collect();
        Some(Machine {
            start,
            states: states?,
        })
    }

    fn state(&mut self, name: &str, v: &Value, at: &str, names: &Names) -> Option<State> {
        if name.is_empty() || name.chars().count() > MAX_NAME {
            self.pr.add(
                at,
                "BAD_NAME",
                format!("state names must be 1 to {MAX_NAME} characters long"),
            );
        }
        if !self.seen.insert(name.to_string()) {
            self.pr.add(
                at,
                "DUPLICATE_STATE_NAME",
                format!("the state name '{name}' is used more than once in the state machine"),
            );
        }
        let m = self.object(v, at)?;
        self.query_language(m, at);
        let Some(ty) = m.get("Type") else {
            self.pr
                .add(at, "MISSING_FIELD", "missing required field 'Type'");
            return None;
        };
        let Some(allowed) = ty.as_str().and_then(fields::allowed) else {
            self.pr.add(&field(at, "Type"), "BAD_VALUE", format!("unknown state type {ty} (Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map)"));
            return None;
        };
        self.unknown(m, at, allowed);
        let next = self.next(m, at, allowed, names);
        let io = states::io(m, at, allowed, &mut self.pr);
        let kind = states::kind(self, ty.as_str().unwrap_or(""), m, at, names)?;
        Some(State {
            name: name.to_string(),
            kind,
            io,
            next: next?,
        })
    }

    /// `Next` or `End`: exactly one where the type allows them.
    fn next(
        &mut self,
        m: &Map<String, Value>,
        at: &str,
        allowed: &[F],
        names: &Names,
    ) -> Option<Next> {
        if !allowed.contains(&F::Next) {
            return Some(Next::End);
        }
        let end = match m.get("End") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.pr
                    .add(&field(at, "End"), "BAD_TYPE", "End must be true or false");
                false
            }
        };
        match (m.get("Next"), end) {
            (Some(_), true) => {
                self.pr.add(
                    at,
                    "NEXT_AND_END",
                    "a state has either 'Next' or 'End': true, not both",
                );
                None
            }
            (Some(n), false) => names
                .target(Some(n), &field(at, "Next"), &mut self.pr)
                .map(Next::To),
            (None, true) => Some(Next::End),
            (None, false) => {
                self.pr
                    .add(at, "MISSING_TRANSITION", "missing 'Next' (or 'End': true)");
                None
            }
        }
    }

    fn reachability(&mut self, states: &Map<String, Value>, start: usize, at: &str) {
        let keys: Vec<&String> = states.keys().collect();
        let mut seen = vec![false; keys.len()];
        let mut todo = vec![start];
        while let Some(i) = todo.pop() {
            match seen.get_mut(i) {
                Some(s) if !*s => *s = true,
                _ => continue,
            }
            let Some(sv) = keys.get(i).and_then(|k| states.get(*k)) else {
                continue;
            };
            for t in targets(sv) {
                todo.extend(keys.iter().position(|k| k.as_str() == t));
            }
        }
        for (k, s) in keys.iter().zip(seen) {
            if !s {
                self.pr.add(
                    &bracket(at, k),
                    "MISSING_TRANSITION_TARGET",
                    format!("State \"{k}\" is not reachable."),
                );
            }
        }
    }

    /// Kind-specific parsing needs the nesting depth to grow around branches.
    pub fn nested<T>(&mut self, f: impl FnOnce(&mut Cx) -> T) -> T {
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }
}

/// Whether a raw state ends its machine: `End: true`, Succeed or Fail.
fn is_terminal(v: &Value) -> bool {
    v.get("End") == Some(&Value::Bool(true))
        || matches!(
            v.get("Type").and_then(Value::as_str),
            Some("Succeed" | "Fail")
        )
}

/// Names a state may transition to, read from raw JSON.
fn targets(v: &Value) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    out.extend(v.get("Next").and_then(Value::as_str));
    out.extend(v.get("Default").and_then(Value::as_str));
    for list in ["Choices", "Catch"] {
        if let Some(a) = v.get(list).and_then(Value::as_array) {
            out.extend(
                a.iter()
                    .filter_map(|r| r.get("Next").and_then(Value::as_str)),
            );
        }
    }
    out
}
