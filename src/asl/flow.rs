//! Reads a state's data-flow fields and its input; produces the effective input and the state output (InputPath, ResultPath, OutputPath).

use super::context::Ctx;
use super::encode::compact;
use super::errors::{Fault, RESULT_PATH};
use super::jsonpath::{Path, Root};
use super::model::{IoPath, Num, ResultPath};
use serde_json::{Map, Value};
use std::borrow::Cow;

fn doc<'a>(p: &Path, data: &'a Value, cx: &'a Ctx) -> &'a Value {
    if p.root() == Root::Context {
        cx.value()
    } else {
        data
    }
}

fn no_results(p: &Path, field: &str, data: &Value) -> Fault {
    Fault::runtime(format!(
        "Invalid path '{}' for {field}: no results in the input '{}'",
        p.text(),
        compact(data)
    ))
}

/// Applies InputPath.
pub(crate) fn input_path<'a>(
    p: &IoPath,
    input: &'a Value,
    cx: &'a Ctx,
) -> Result<Cow<'a, Value>, Fault> {
    match p {
        IoPath::Root => Ok(Cow::Borrowed(input)),
        IoPath::Null => Ok(Cow::Owned(Value::Object(Map::new()))),
        IoPath::Path(path) => path
            .select(doc(path, input, cx))
            .ok_or_else(|| no_results(path, "InputPath", input)),
    }
}

/// Applies OutputPath.
pub(crate) fn output_path(p: &IoPath, out: Value, cx: &Ctx) -> Result<Value, Fault> {
    match p {
        IoPath::Root => Ok(out),
        IoPath::Null => Ok(Value::Object(Map::new())),
        IoPath::Path(path) => match path.select(doc(path, &out, cx)) {
            Some(v) => Ok(v.into_owned()),
            None => Err(no_results(path, "OutputPath", &out)),
        },
    }
}

/// Applies ResultPath: where `result` goes inside `input`.
pub(crate) fn result_path(p: &ResultPath, input: Value, result: Value) -> Result<Value, Fault> {
    match p {
        ResultPath::Root => Ok(result),
        ResultPath::Discard => Ok(input),
        ResultPath::Path(path) => {
            let mut out = input;
            match path.set(&mut out, result) {
                Ok(()) => Ok(out),
                Err(why) => Err(Fault::new(
                    RESULT_PATH,
                    format!(
                        "Unable to apply ResultPath '{}' to input '{}': {why}",
                        path.text(),
                        compact(&out)
                    ),
                )),
            }
        }
    }
}

/// A number from a literal or a reference path, checked against `[min, max]`.
pub(crate) fn number(n: &Num, what: &str, data: &Value, min: f64, max: f64) -> Result<f64, Fault> {
    let v = match n {
        Num::Lit(x) => return Ok(*x),
        Num::Path(p) => p.select(data).ok_or_else(|| no_results(p, what, data))?,
    };
    match v.as_f64() {
        Some(x) if x >= min && x <= max => Ok(x),
        _ => Err(Fault::runtime(format!(
            "{what} must be a number from {min} to {max}, got {}",
            compact(&v)
        ))),
    }
}

/// Applies InputPath, taking ownership (no copy when InputPath is `$`).
pub(crate) fn take_input(p: &IoPath, input: Value, cx: &Ctx) -> Result<Value, Fault> {
    match p {
        IoPath::Root => Ok(input),
        _ => input_path(p, &input, cx).map(Cow::into_owned),
    }
}
