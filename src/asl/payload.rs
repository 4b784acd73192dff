//! Reads payload templates (Parameters, ResultSelector, ItemSelector) with their `.$` keys; produces compiled templates and the JSON they build.

use super::context::Ctx;
use super::encode;
use super::errors::Fault;
use super::intrinsic::Call;
use super::jsonpath::{Path, Root};
use super::problem::{Problems, field, index};
use super::rng::Rng;
use serde_json::{Map, Value};

/// A compiled payload template.
#[derive(Debug, Clone)]
pub(crate) enum Template {
    /// A subtree without `.$` keys: copied as is.
    Lit(Value),
    Obj(Vec<Entry>),
    Arr(Vec<Template>),
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    name: String,
    key: String,
    value: Source,
}

#[derive(Debug, Clone)]
enum Source {
    Tpl(Template),
    Path(Path),
    Call(Call),
}

/// A `.$` value: a path, a context path or an intrinsic call.
pub(crate) enum Dynamic {
    Path(Path),
    Call(Call),
}

/// Parses the text of a `.$` value.
pub(crate) fn parse_dynamic(text: &str) -> Result<Dynamic, String> {
    if text.starts_with('$') {
        Path::parse(text).map(Dynamic::Path)
    } else if text.starts_with("States.") {
        Call::parse(text).map(Dynamic::Call)
    } else {
        Err(format!(
            "'{text}' is neither a path (starting with '$') nor an intrinsic function (starting with 'States.')"
        ))
    }
}

impl Template {
    /// Compiles `v`, reporting bad `.$` values under `at`.
    pub fn parse(v: &Value, at: &str, pr: &mut Problems) -> Template {
        if !has_dynamic(v) {
            return Template::Lit(v.clone());
        }
        match v {
            Value::Array(a) => Template::Arr(
                a.iter()
                    .enumerate()
                    .map(|(i, x)| Template::parse(x, &index(at, i), pr))
                    .collect(),
            ),
            Value::Object(m) => Template::Obj(
                m.iter()
                    .map(|(k, x)| entry(k, x, &field(at, k), pr))
                    .collect(),
            ),
            _ => Template::Lit(v.clone()),
        }
    }

    /// Builds the payload from `input`.
    pub fn eval(&self, input: &Value, cx: &Ctx, rng: &mut Rng) -> Result<Value, Fault> {
        match self {
            Template::Lit(v) => Ok(v.clone()),
            Template::Arr(a) => a
                .iter()
                .map(|t| t.eval(input, cx, rng))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Template::Obj(es) => {
                let mut m = Map::new();
                for e in es {
                    m.insert(e.name.clone(), e.eval(input, cx, rng)?);
                }
                Ok(Value::Object(m))
            }
        }
    }
}

fn has_dynamic(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| k.ends_with(".$") || has_dynamic(x)),
        Value::Array(a) => a.iter().any(has_dynamic),
        _ => false,
    }
}

fn entry(k: &str, x: &Value, at: &str, pr: &mut Problems) -> Entry {
    let Some(name) = k.strip_suffix(".$") else {
        return Entry {
            name: k.into(),
            key: k.into(),
            value: Source::Tpl(Template::parse(x, at, pr)),
        };
    };
    let value = match x.as_str().map(parse_dynamic) {
        Some(Ok(Dynamic::Path(p))) => Source::Path(p),
        Some(Ok(Dynamic::Call(c))) => Source::Call(c),
        Some(Err(m)) => {
            pr.add(at, "BAD_PATH", m);
            Source::Tpl(Template::Lit(Value::Null))
        }
        None => {
            pr.add(
                at,
                "BAD_TYPE",
                format!("the value of '{k}' must be a string (a path or an intrinsic function)"),
            );
            Source::Tpl(Template::Lit(Value::Null))
        }
    };
    Entry {
        name: name.into(),
        key: k.into(),
        value,
    }
}

impl Entry {
    fn eval(&self, input: &Value, cx: &Ctx, rng: &mut Rng) -> Result<Value, Fault> {
        match &self.value {
            Source::Tpl(t) => t.eval(input, cx, rng),
            Source::Call(c) => c.eval(input, cx, rng),
            Source::Path(p) => {
                let found = super::context::select(p, input, cx).map(|v| v.into_owned());
                found.ok_or_else(|| {
                    let doc = if p.root() == Root::Context {
                        cx.value()
                    } else {
                        input
                    };
                    Fault::runtime(format!(
                        "The JSONPath '{}' specified for the field '{}' could not be found in the input '{}'",
                        p.text(),
                        self.key,
                        encode::compact(doc)
                    ))
                })
            }
        }
    }
}
