//! Compile-time checks run by `dpc validate`: reads every valid pipeline of a loaded tree,
//! compiles its trigger pattern and produces a diagnostic at its `trigger` key when the
//! pattern would be refused by EventBridge (both numbers and both limits in the message) or
//! its condition can never hold once account and region defaults are applied.

use super::{CompileError, Env, trigger_pattern};
use crate::diag::codes;
use crate::diag::diagnostic::Diagnostic;
use crate::diag::source::Span;
use crate::pipeline::load::Loaded;

/// Diagnostics for the trigger patterns of every valid pipeline in `loaded`.
pub fn trigger_patterns(loaded: &Loaded) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for unit in &loaded.units {
        let (Some(pipeline), Some(doc)) = (&unit.checked.value, &unit.checked.document) else {
            continue;
        };
        let env = Env::new(pipeline, loaded.config_of(unit), "");
        let Err(err) = trigger_pattern::size(&env) else {
            continue;
        };
        let span = doc
            .spans
            .key_or_value("/trigger")
            .unwrap_or(Span::new(0, 0));
        if let Some(diag) = diagnostic(&err) {
            out.push(diag.label(&unit.file, span, None));
        }
    }
    out
}

fn diagnostic(err: &CompileError) -> Option<Diagnostic> {
    match err {
        CompileError::PatternTooLarge(size) => Some(
            Diagnostic::new(
                &codes::TRIGGER_PATTERN_TOO_LARGE,
                format!(
                    "the trigger pattern has {} $or combinations (limit {}) and {} characters (limit {})",
                    size.combinations, size.max_combinations, size.length, size.max_length
                ),
            )
            .help(
                "anyOf leaves multiply: split this pipeline's trigger, use fewer alternatives, \
                 or (for length only) set `limits.patternLength: 4096` in dpc.yaml after raising the AWS quota",
            ),
        ),
        CompileError::Contradiction { upstream } => Some(
            Diagnostic::new(
                &codes::TRIGGER_CONTRADICTION,
                format!("allOf waits on {upstream} twice with statuses that cannot both hold"),
            )
            .help("a leaf without `account`/`region` means this pipeline's; merge the two leaves"),
        ),
        CompileError::ReservedName { name } => Some(
            Diagnostic::new(
                &codes::TRIGGER_RESERVED_NAME,
                format!(
                    "`{name}` is the name of an EventBridge pattern operator, which cannot be a field name inside the anyOf this trigger compiles to"
                ),
            )
            .help(
                "EventBridge refuses it inside `$or`: rename that upstream (or its account, region, domain), \
                 or wait on it in allOf (`operator: AND`) instead of anyOf",
            ),
        ),
        // A compiler bug, not the user's: `dpc synth` reports it as an internal error.
        CompileError::InvalidPattern(_) => None,
    }
}
