//! Renders diagnostics for people (miette, with colours on request) and for machines (JSON
//! with line and column, GitHub workflow annotations, SARIF 2.1.0). Produces strings; the CLI
//! decides where they go.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde_json::{Value, json};

use crate::diag::codes;
use crate::diag::diagnostic::{Diagnostic, Label, Severity};

/// Counts shown in summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub files: usize,
    pub pipelines: usize,
    pub errors: usize,
    pub warnings: usize,
}

impl Summary {
    pub fn count(mut self, diags: &[Diagnostic]) -> Self {
        self.errors = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        self.warnings = diags.len() - self.errors;
        self
    }
}

/// Where a label starts and ends, 1-based; `end_column` is exclusive (as SARIF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

pub fn region(label: &Label) -> Region {
    let start = label.file.line_col(label.span.offset);
    let end = label.file.line_col(label.span.end());
    Region {
        line: start.line,
        column: start.column,
        end_line: end.line,
        end_column: end.column,
    }
}

/// miette's view of one diagnostic: the labels in the primary file; labels in other files
/// become related diagnostics.
struct Miette<'a> {
    diag: &'a Diagnostic,
    labels: Vec<&'a Label>,
    source: Option<NamedSource<String>>,
    related: Vec<Miette<'a>>,
    is_related: bool,
}

impl<'a> Miette<'a> {
    fn new(diag: &'a Diagnostic) -> Self {
        let primary = diag.primary().map(|l| l.file.path.clone());
        let (mine, others): (Vec<&Label>, Vec<&Label>) = diag
            .labels
            .iter()
            .partition(|l| Some(&l.file.path) == primary.as_ref());
        let source = diag
            .primary()
            .map(|l| NamedSource::new(l.file.name(), l.file.text.to_string()));
        let related = others
            .into_iter()
            .map(|l| Miette {
                diag,
                labels: vec![l],
                source: Some(NamedSource::new(l.file.name(), l.file.text.to_string())),
                related: Vec::new(),
                is_related: true,
            })
            .collect();
        Self {
            diag,
            labels: mine,
            source,
            related,
            is_related: false,
        }
    }
}

impl fmt::Debug for Miette<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl fmt::Display for Miette<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_related {
            return f.write_str(
                self.labels
                    .first()
                    .and_then(|l| l.text.as_deref())
                    .unwrap_or("related location"),
            );
        }
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for Miette<'_> {}

impl miette::Diagnostic for Miette<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        if self.is_related {
            return None;
        }
        Some(Box::new(self.diag.code.id))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let spans = self.labels.iter().enumerate().map(|(i, l)| {
            let span = SourceSpan::new(l.span.offset.into(), l.span.len);
            if i == 0 {
                LabeledSpan::new_primary_with_span(l.text.clone(), span)
            } else {
                LabeledSpan::new_with_span(l.text.clone(), span)
            }
        });
        Some(Box::new(spans.collect::<Vec<_>>().into_iter()))
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

/// Human output: one miette report per diagnostic, then a summary line.
pub fn human(diags: &[Diagnostic], summary: Summary, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    for diag in diags {
        let view = Miette::new(diag);
        if handler.render_report(&mut out, &view).is_err() {
            out.push_str(&diag.message);
        }
        out.push('\n');
    }
    out.push_str(&summary_line(summary));
    out
}

pub fn summary_line(s: Summary) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}: {}, {} in {}\n",
        if s.errors == 0 { "ok" } else { "failed" },
        plural(s.errors, "error"),
        plural(s.warnings, "warning"),
        plural(s.files, "file"),
    )
}

fn json_diag(d: &Diagnostic) -> Value {
    let mut v = json!({
        "severity": d.severity.as_str(),
        "code": d.code.id,
        "message": d.message,
        "help": d.help,
    });
    if let Some(primary) = d.primary() {
        let r = region(primary);
        v["file"] = json!(primary.file.name());
        v["line"] = json!(r.line);
        v["column"] = json!(r.column);
        v["endLine"] = json!(r.end_line);
        v["endColumn"] = json!(r.end_column);
    }
    let related: Vec<Value> = d.labels.iter().skip(1).map(|l| {
        let r = region(l);
        json!({"file": l.file.name(), "line": r.line, "column": r.column, "endLine": r.end_line, "endColumn": r.end_column, "message": l.text})
    }).collect();
    if !related.is_empty() {
        v["related"] = json!(related);
    }
    v
}

/// `{"diagnostics": [...], "summary": {...}}`.
pub fn json(diags: &[Diagnostic], summary: Summary) -> String {
    let doc = json!({
        "diagnostics": diags.iter().map(json_diag).collect::<Vec<_>>(),
        "summary": {"files": summary.files, "pipelines": summary.pipelines, "errors": summary.errors, "warnings": summary.warnings},
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// GitHub Actions workflow commands (`::error file=…,line=…::message`).
pub fn github(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut props = vec![format!("title={}", escape_property(d.code.id))];
        if let Some(primary) = d.primary() {
            let r = region(primary);
            props.insert(
                0,
                format!(
                    "file={},line={},col={},endLine={},endColumn={}",
                    escape_property(&primary.file.name()),
                    r.line,
                    r.column,
                    r.end_line,
                    r.end_column
                ),
            );
        }
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        out.push_str(&format!(
            "::{level} {}::{}\n",
            props.join(","),
            escape_data(&message)
        ));
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// SARIF 2.1.0, one run, every code as a rule.
pub fn sarif(diags: &[Diagnostic]) -> String {
    let rules: Vec<Value> = codes::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "shortDescription": {"text": c.summary},
                "defaultConfiguration": {"level": c.severity.as_str()},
            })
        })
        .collect();
    let results: Vec<Value> = diags
        .iter()
        .map(|d| {
            let locations: Vec<Value> = d.primary().map(|l| {
                let r = region(l);
                json!({"physicalLocation": {
                    "artifactLocation": {"uri": l.file.name()},
                    "region": {"startLine": r.line, "startColumn": r.column, "endLine": r.end_line, "endColumn": r.end_column},
                }})
            }).into_iter().collect();
            let text = match &d.help {
                Some(h) => format!("{} (help: {h})", d.message),
                None => d.message.clone(),
            };
            json!({
                "ruleId": d.code.id,
                "ruleIndex": codes::ALL.iter().position(|c| c.id == d.code.id),
                "level": d.severity.as_str(),
                "message": {"text": text},
                "locations": locations,
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "dpc", "version": env!("CARGO_PKG_VERSION"), "rules": rules}},
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
