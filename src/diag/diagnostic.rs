//! Diagnostics: what every check produces. A diagnostic has a stable code, a severity, a
//! message, a help text and labelled spans in source files; renderers live in `report`.

use std::sync::Arc;

use crate::diag::source::{SourceFile, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A stable diagnostic code (`dpc::area::name`) with its default severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

/// A place in a file, with an optional caption.
#[derive(Debug, Clone)]
pub struct Label {
    pub file: Arc<SourceFile>,
    pub span: Span,
    pub text: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub code: &'static Code,
    pub severity: Severity,
    pub message: String,
    pub help: Option<String>,
    /// The first label is the primary location; the others add context (possibly in other files).
    pub labels: Vec<Label>,
}

impl Diagnostic {
    pub fn new(code: &'static Code, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: code.severity,
            message: message.into(),
            help: None,
            labels: Vec::new(),
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn maybe_help(mut self, help: Option<String>) -> Self {
        self.help = help.or(self.help);
        self
    }

    pub fn label(mut self, file: &Arc<SourceFile>, span: Span, text: Option<String>) -> Self {
        let span = file.clamp_span(span);
        self.labels.push(Label {
            file: Arc::clone(file),
            span,
            text,
        });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    pub fn primary(&self) -> Option<&Label> {
        self.labels.first()
    }

    /// Sort key: file, then position, then code, so output is stable.
    pub fn sort_key(&self) -> (String, usize, &'static str) {
        match self.primary() {
            Some(l) => (l.file.name(), l.span.offset, self.code.id),
            None => (String::new(), 0, self.code.id),
        }
    }
}

/// Sorts diagnostics into a stable order and drops exact repeats.
pub fn normalize(diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diags.dedup_by(|a, b| a.sort_key() == b.sort_key() && a.message == b.message);
}

/// Suggests the candidate closest to `input`, if any is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["schedule", "executions", "dataProducts"];
        assert_eq!(did_you_mean("shedule", keys), Some("schedule"));
        assert_eq!(did_you_mean("dataproducts", keys), Some("dataProducts"));
        assert_eq!(did_you_mean("zzz", keys), None);
    }
}
