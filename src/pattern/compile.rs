//! One compiled pattern: reads pattern text (through `parse`) and produces a [`Pattern`]
//! holding its `$or` branches as rules over interned paths, ready to match events.

use std::fmt;

use super::event::{self, Event, EventError, Flat};
use super::json::Json;
use super::matcher::{FieldTest, Rule};
use super::parse::{self, Branch, PatternError};
use super::paths::Paths;

/// A validated, compiled EventBridge event pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    compact: String,
    pub(crate) branches: Vec<Branch>,
    pub(crate) paths: Paths,
    pub(crate) rules: Vec<Rule>,
}

impl Pattern {
    /// Parses and validates pattern JSON, rejecting what EventBridge rejects.
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let parsed = parse::parse(text)?;
        let mut paths = Paths::default();
        let rules = parsed
            .branches
            .iter()
            .map(|b| compile_branch(b, &mut paths))
            .collect();
        Ok(Pattern {
            compact: compact(&parsed.source),
            branches: parsed.branches,
            paths,
            rules,
        })
    }

    /// Whether the event matches (any `$or` branch holds).
    pub fn matches(&self, event: &Event) -> bool {
        // An `Event` is validated JSON, so flattening cannot fail.
        self.matches_json(event.as_str()).unwrap_or(false)
    }

    /// Matches raw event JSON, reading only the parts the pattern refers to.
    pub fn matches_json(&self, event: &str) -> Result<bool, EventError> {
        let flat = self.flatten(event)?;
        Ok(self.rules.iter().any(|r| r.matches(&flat)))
    }

    pub(crate) fn flatten<'a>(&self, event: &'a str) -> Result<Flat<'a>, EventError> {
        event::flatten(event, &self.paths)
    }

    /// The pattern as compact JSON (no insignificant whitespace), as it would be deployed.
    pub fn to_json(&self) -> &str {
        &self.compact
    }

    /// The dotted field paths the pattern tests, each once, in first-seen order.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for (path, _) in self.branches.iter().flatten() {
            if !out.contains(&path.as_str()) {
                out.push(path);
            }
        }
        out
    }
}

impl std::str::FromStr for Pattern {
    type Err = PatternError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pattern::parse(s)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.compact)
    }
}

/// Compiles one branch against a path table (interning each of its paths once more).
pub(crate) fn compile_branch(branch: &Branch, paths: &mut Paths) -> Rule {
    let fields = branch
        .iter()
        .map(|(path, spec)| FieldTest {
            path: paths.intern(path),
            matchers: spec.matchers.clone(),
            absent_ok: spec.absent_ok,
        })
        .collect();
    Rule { fields }
}

fn compact(source: &Json) -> String {
    source.to_compact()
}
