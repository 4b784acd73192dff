//! Explanations: reads a compiled [`Pattern`] and an [`Event`] and produces, per `$or`
//! branch, whether it matched and, when it did not, which fields failed and why.

use std::fmt;

use serde::Serialize;

use super::compile::Pattern;
use super::event::{Event, EventError, Flat};
use super::json::{Scalar, write_string};
use super::matcher::{FieldTest, Rule};

/// The outcome of matching, with the reasons for every branch that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub matched: bool,
    pub branches: Vec<BranchReport>,
}

/// One `$or` branch (there is one branch when the pattern has no `$or`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BranchReport {
    /// 1-based position among the expanded branches.
    pub branch: usize,
    pub matched: bool,
    /// The fields tested by this branch.
    pub fields: Vec<String>,
    pub failures: Vec<FieldFailure>,
}

/// Why one field of a branch failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldFailure {
    /// Dotted path of the field.
    pub field: String,
    /// The pattern's conditions for it, as written.
    pub expected: String,
    /// The event's values at that path, as JSON.
    pub found: Vec<String>,
    pub reason: String,
}

impl Pattern {
    /// Matches and explains; use [`Pattern::matches`] when only the answer is needed.
    pub fn explain(&self, event: &Event) -> Explanation {
        self.explain_json(event.as_str())
            .unwrap_or_else(|_| Explanation {
                matched: false,
                branches: Vec::new(),
            })
    }

    /// As [`Pattern::explain`], over raw event JSON.
    pub fn explain_json(&self, event: &str) -> Result<Explanation, EventError> {
        let flat = self.flatten(event)?;
        let branches: Vec<BranchReport> = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, rule)| self.branch_report(i, rule, &flat))
            .collect();
        Ok(Explanation {
            matched: branches.iter().any(|b| b.matched),
            branches,
        })
    }

    fn branch_report(&self, i: usize, rule: &Rule, flat: &Flat) -> BranchReport {
        let specs = &self.branches[i];
        let matched = rule.matches(flat);
        let mut failures: Vec<FieldFailure> = if matched {
            Vec::new()
        } else {
            rule.fields
                .iter()
                .zip(specs)
                .filter_map(|(test, (path, spec))| field_failure(test, path, &spec.shown, flat))
                .collect()
        };
        if !matched && failures.is_empty() {
            failures.push(FieldFailure {
                field: specs
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                expected: "values from the same array element".into(),
                found: Vec::new(),
                reason:
                    "each field matches on its own, but not within the same element of an array"
                        .into(),
            });
        }
        BranchReport {
            branch: i + 1,
            matched,
            fields: specs.iter().map(|(p, _)| p.clone()).collect(),
            failures,
        }
    }
}

/// The failure of one field taken alone, if it fails alone.
fn field_failure(test: &FieldTest, path: &str, shown: &str, flat: &Flat) -> Option<FieldFailure> {
    let values = flat.values(test.path);
    let accepted = values.iter().any(|f| test.accepts(&f.value));
    let reason = match (values.is_empty(), accepted, test.absent_ok) {
        (true, _, true) | (false, true, _) => return None,
        (true, _, false) => "the field is missing (or holds no plain value)",
        (false, false, true) if test.matchers.is_empty() => "the field must not exist, but it does",
        (false, false, _) => "no value of the field satisfies the conditions",
    };
    Some(FieldFailure {
        field: path.to_string(),
        expected: shown.to_string(),
        found: values.iter().map(|f| scalar_json(&f.value)).collect(),
        reason: reason.to_string(),
    })
}

fn scalar_json(v: &Scalar) -> String {
    match v {
        Scalar::Str(s) => {
            let mut out = String::new();
            write_string(s, &mut out);
            out
        }
        Scalar::Num(n) => n.to_string(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Null => "null".into(),
    }
}

impl fmt::Display for Explanation {
    /// Human-readable: `match`/`no match`, then one block per branch.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", if self.matched { "match" } else { "no match" })?;
        let total = self.branches.len();
        for b in &self.branches {
            let label = if total > 1 {
                format!(
                    "$or branch {} of {total} ({})",
                    b.branch,
                    b.fields.join(", ")
                )
            } else {
                "pattern".to_string()
            };
            writeln!(
                f,
                "  {label}: {}",
                if b.matched { "matched" } else { "failed" }
            )?;
            for fail in &b.failures {
                let found = if fail.found.is_empty() {
                    "nothing".to_string()
                } else {
                    fail.found.join(", ")
                };
                writeln!(f, "    {}: {}", fail.field, fail.reason)?;
                writeln!(f, "      expected {}, found {found}", fail.expected)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_failing_field_per_branch() {
        let p = Pattern::parse(
            r#"{"source": ["dpc"], "$or": [{"detail": {"status": ["SUCCEEDED"]}}, {"detail": {"gone": [{"exists": false}]}}]}"#,
        )
        .unwrap();
        let e = p
            .explain_json(r#"{"source": "dpc", "detail": {"status": "FAILED", "gone": 1}}"#)
            .unwrap();
        assert!(!e.matched);
        assert_eq!(e.branches.len(), 2);
        let first = &e.branches[0].failures;
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].field, "detail.status");
        assert_eq!(first[0].found, [r#""FAILED""#]);
        assert_eq!(first[0].expected, r#"["SUCCEEDED"]"#);
        assert!(e.branches[1].failures[0].reason.contains("must not exist"));
        let text = e.to_string();
        assert!(text.starts_with("no match\n"));
        assert!(text.contains("$or branch 1 of 2 (source, detail.status): failed"));
    }

    #[test]
    fn reports_missing_fields_and_array_inconsistency() {
        let p = Pattern::parse(r#"{"d": {"a": ["x"], "b": ["y"]}}"#).unwrap();
        let e = p
            .explain_json(r#"{"d": [{"a": "x"}, {"b": "y"}]}"#)
            .unwrap();
        assert!(e.branches[0].failures[0].reason.contains("same element"));
        let e = p.explain_json(r#"{"d": {"a": "x"}}"#).unwrap();
        assert_eq!(e.branches[0].failures[0].field, "d.b");
        assert!(e.branches[0].failures[0].reason.contains("missing"));
        let e = p.explain_json(r#"{"d": {"a": "x", "b": "y"}}"#).unwrap();
        assert!(e.matched && e.branches[0].failures.is_empty());
        assert_eq!(e.to_string(), "match\n  pattern: matched\n");
    }
}
