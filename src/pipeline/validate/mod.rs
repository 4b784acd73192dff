//! Validation: the only bridge from raw types to model types. Reads a source file, parses it
//! with spans, checks its structure against the schema and every semantic rule, and returns
//! the model (when there are no errors) with all diagnostics found, each at an exact span.

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::diag::codes;
use crate::diag::diagnostic::{Code, Diagnostic};
use crate::diag::source::{SourceFile, Span};
use crate::pipeline::model;
use crate::pipeline::schema::{self, SchemaName, Target};
use crate::pipeline::yaml::{self, Document, YamlErrorKind};

mod config;
mod notify;
mod schedule;
mod steps;
mod trigger;
pub mod values;

pub use config::config;

/// What validation needs from the outside world, injected so the core stays pure.
pub struct Context<'a> {
    /// Today's date: DST checks look at this year and the next.
    pub today: NaiveDate,
    /// Whether a file exists (local step scripts).
    pub file_exists: &'a (dyn Fn(&Path) -> bool + Sync),
}

/// A model value (present only when there were no errors) and every diagnostic.
#[derive(Debug, Clone)]
pub struct Checked<T> {
    pub value: Option<T>,
    pub diagnostics: Vec<Diagnostic>,
    /// The parsed document, for later checks that point into it (absent when not YAML, and
    /// in the units of `load::validate_tree`, which keeps `Unit::anchors` instead).
    pub document: Option<Document>,
}

impl<T> Checked<T> {
    /// Nothing usable: the file is not YAML (or not readable as a document).
    fn failed(diagnostics: Vec<Diagnostic>) -> Self {
        Self {
            value: None,
            diagnostics,
            document: None,
        }
    }

    /// The result of a parsed file: a model only when no diagnostic is an error.
    fn done(value: Option<T>, diagnostics: Vec<Diagnostic>, document: Document) -> Self {
        let value = value.filter(|_| !diagnostics.iter().any(Diagnostic::is_error));
        Self {
            value,
            diagnostics,
            document: Some(document),
        }
    }
}

/// Collects diagnostics for one file, resolving JSON pointers to spans.
pub struct Checker<'a> {
    pub file: &'a Arc<SourceFile>,
    pub doc: &'a Document,
    pub ctx: &'a Context<'a>,
    pub diags: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    fn new(file: &'a Arc<SourceFile>, doc: &'a Document, ctx: &'a Context<'a>) -> Self {
        Self {
            file,
            doc,
            ctx,
            diags: Vec::new(),
        }
    }

    /// The span of a pointer's key or value, never the whole file for a non-root pointer.
    pub fn span(&self, pointer: &str, target: Target) -> Span {
        let spans = &self.doc.spans;
        if pointer.is_empty() {
            return self.first_key_span();
        }
        let found = match target {
            Target::Key => spans.key_or_value(pointer),
            Target::Value => spans.value(pointer),
        };
        found.unwrap_or_else(|| self.first_key_span())
    }

    /// Root-level findings (a missing top-level key) point at the document's first key.
    fn first_key_span(&self) -> Span {
        self.doc
            .spans
            .iter()
            .filter(|(p, _)| p.matches('/').count() == 1)
            .filter_map(|(_, e)| e.key)
            .min()
            .unwrap_or(Span::new(0, 0))
    }

    pub fn emit(
        &mut self,
        code: &'static Code,
        pointer: &str,
        target: Target,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let span = self.span(pointer, target);
        let diag = Diagnostic::new(code, message)
            .maybe_help(help)
            .label(self.file, span, None);
        self.diags.push(diag);
    }

    /// Points inside a string value (`offset..offset+len` of the string's content) when the
    /// source spells it without escapes; otherwise at the whole value.
    pub fn emit_within(
        &mut self,
        code: &'static Code,
        pointer: &str,
        sub: (usize, usize),
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let whole = self.span(pointer, Target::Value);
        let content = self
            .doc
            .value
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default();
        let source = self.file.slice(whole);
        let start = if source == content {
            Some(whole.offset)
        } else if source.len() == content.len() + 2 && source[1..source.len() - 1] == *content {
            Some(whole.offset + 1)
        } else {
            None
        };
        let span = match start {
            Some(s) if sub.0 + sub.1 <= content.len() => Span::new(s + sub.0, sub.1.max(1)),
            _ => whole,
        };
        let diag = Diagnostic::new(code, message)
            .maybe_help(help)
            .label(self.file, span, None);
        self.diags.push(diag);
    }

    pub fn has_errors(&self) -> bool {
        self.diags.iter().any(Diagnostic::is_error)
    }
}

/// Reads the value at `key` of `obj` as `T`, or `None` when absent or malformed (the schema
/// check has reported malformed values already).
pub(crate) fn section<T: DeserializeOwned>(obj: &Map<String, Value>, key: &str) -> Option<T> {
    obj.get(key).and_then(|v| T::deserialize(v).ok())
}

/// Parses and checks the structure of a file; returns the document when it is YAML.
pub(crate) fn parse_and_check_schema(
    file: &Arc<SourceFile>,
    name: SchemaName,
    ctx: &Context,
    diags: &mut Vec<Diagnostic>,
) -> Option<Document> {
    let doc = match yaml::parse(&file.text) {
        Ok(doc) => doc,
        Err(err) => {
            let code = match err.kind {
                YamlErrorKind::Syntax => &codes::YAML_SYNTAX,
                YamlErrorKind::DuplicateKey => &codes::YAML_DUPLICATE_KEY,
                YamlErrorKind::Budget | YamlErrorKind::TooLarge => &codes::YAML_BUDGET,
            };
            let help = match err.kind {
                YamlErrorKind::DuplicateKey => "remove one of the two keys",
                YamlErrorKind::Syntax => "check the indentation and quoting around this place",
                _ => {
                    "pipeline files are small: at most 1 MiB, 32 levels deep, 256 anchors and aliases"
                }
            };
            diags.push(Diagnostic::new(code, err.message).help(help).label(
                file,
                file.widen(err.span),
                None,
            ));
            return None;
        }
    };
    let findings = schema::check(name, &doc.value);
    let mut checker = Checker::new(file, &doc, ctx);
    for f in findings {
        checker.emit(f.code, &f.pointer, f.target, f.message, f.help);
    }
    diags.append(&mut checker.diags);
    Some(doc)
}

/// Validates one `pipeline.yaml` whose project directory is `dir`.
pub fn pipeline(file: &Arc<SourceFile>, dir: &Path, ctx: &Context) -> Checked<model::Pipeline> {
    let mut diags = Vec::new();
    let Some(doc) = parse_and_check_schema(file, SchemaName::Pipeline, ctx, &mut diags) else {
        return Checked::failed(diags);
    };
    let mut c = Checker::new(file, &doc, ctx);
    c.diags = diags;
    let value = match doc.value.as_object() {
        Some(obj) => build(&mut c, obj, file.path(), dir),
        None => None,
    };
    let diagnostics = c.diags;
    Checked::done(value, diagnostics, doc)
}

fn build(
    c: &mut Checker,
    obj: &Map<String, Value>,
    file: &Path,
    dir: &Path,
) -> Option<model::Pipeline> {
    let name: Option<String> = section(obj, "name");
    if let Some(n) = &name {
        values::pipeline_name(c, "/name", n);
    }
    let team: Option<String> = section(obj, "team");
    if let Some(t) = &team {
        values::team(c, "/team", t);
    }
    let description: Option<String> = section(obj, "description");
    if let Some(d) = &description {
        values::max_len(c, "/description", d, 1024);
    }
    let account: Option<String> = section(obj, "account");
    if let Some(a) = &account {
        values::account(c, "/account", a);
    }
    let region: Option<String> = section(obj, "region");
    if let Some(r) = &region {
        values::region(c, "/region", r);
    }
    let tags = section(obj, "tags").unwrap_or_default();
    values::tags(c, "/tags", &tags);
    let self_id = trigger::SelfId {
        name: name.as_deref(),
        account: account.as_deref(),
        region: region.as_deref(),
    };
    // Every section is checked before any result is used, so all errors are reported at once.
    let trigger = optional(obj, "trigger", |raw| trigger::trigger(c, &raw, &self_id));
    let compute_and_steps = steps::compute_and_steps(c, obj, dir);
    let notifications = optional(obj, "notifications", |raw| notify::notifications(c, &raw));
    let publish = optional(obj, "publish", |raw| notify::publish(c, &raw));
    let sla = optional(obj, "sla", |raw| notify::sla(c, &raw));
    let (trigger, (compute, steps)) = (trigger?, compute_and_steps?);
    let (notifications, publish, sla) = (notifications?, publish?.unwrap_or_default(), sla?);
    Some(model::Pipeline {
        name: name?,
        description,
        team: team?,
        account,
        region,
        tags,
        trigger,
        compute,
        steps,
        notifications,
        publish,
        sla,
        file: file.to_path_buf(),
        dir: dir.to_path_buf(),
    })
}

/// `Some(None)` when the key is absent, `Some(Some(v))` when present and valid, `None` when
/// present but unusable (malformed or invalid).
fn optional<R: DeserializeOwned, T>(
    obj: &Map<String, Value>,
    key: &str,
    check: impl FnOnce(R) -> Option<T>,
) -> Option<Option<T>> {
    match obj.get(key) {
        None => Some(None),
        Some(v) => R::deserialize(v).ok().and_then(check).map(Some),
    }
}
