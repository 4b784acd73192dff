//! Reads field names and scalar field values of definition objects; produces the per-type allowed-field lists and typed values, reporting problems.

use super::jsonpath::Path;
use super::model::Num;
use super::problem::{Problems, field};
use serde_json::{Map, Value};

macro_rules! fields {
    ($($v:ident),* $(,)?) => {
        /// A field name of the States Language.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum F { $($v,)* }
        impl F {
            pub fn name(self) -> &'static str {
                match self { $(F::$v => stringify!($v),)* }
            }
        }
    };
}

fields!(
    Type,
    Comment,
    QueryLanguage,
    StartAt,
    States,
    Version,
    TimeoutSeconds,
    Next,
    End,
    InputPath,
    OutputPath,
    ResultPath,
    Parameters,
    ResultSelector,
    Result,
    Resource,
    Retry,
    Catch,
    TimeoutSecondsPath,
    HeartbeatSeconds,
    HeartbeatSecondsPath,
    Credentials,
    Choices,
    Default,
    Seconds,
    Timestamp,
    SecondsPath,
    TimestampPath,
    Error,
    Cause,
    ErrorPath,
    CausePath,
    Branches,
    ItemsPath,
    ItemProcessor,
    Iterator,
    ItemSelector,
    MaxConcurrency,
    MaxConcurrencyPath,
    ToleratedFailurePercentage,
    ToleratedFailurePercentagePath,
    ToleratedFailureCount,
    ToleratedFailureCountPath,
    Label,
    ProcessorConfig,
);

use F::*;

const PASS: &[F] = &[
    Type,
    Comment,
    QueryLanguage,
    Next,
    End,
    InputPath,
    OutputPath,
    ResultPath,
    Parameters,
    Result,
];
const TASK: &[F] = &[
    Type,
    Comment,
    QueryLanguage,
    Next,
    End,
    InputPath,
    OutputPath,
    ResultPath,
    Parameters,
    ResultSelector,
    Retry,
    Catch,
    Resource,
    TimeoutSeconds,
    TimeoutSecondsPath,
    HeartbeatSeconds,
    HeartbeatSecondsPath,
    Credentials,
];
const CHOICE: &[F] = &[
    Type,
    Comment,
    QueryLanguage,
    Choices,
    Default,
    InputPath,
    OutputPath,
];
const WAIT: &[F] = &[
    Type,
    Comment,
    QueryLanguage,
    Next,
    End,
    InputPath,
    OutputPath,
    Seconds,
    Timestamp,
    SecondsPath,
    TimestampPath,
];
const SUCCEED: &[F] = &[Type, Comment, QueryLanguage, InputPath, OutputPath];
const FAIL: &[F] = &[
    Type,
    Comment,
    QueryLanguage,
    Error,
    Cause,
    ErrorPath,
    CausePath,
];
const PARALLEL: &[F] = &[
    Type,
    Comment,
    QueryLanguage,
    Next,
    End,
    InputPath,
    OutputPath,
    ResultPath,
    Parameters,
    ResultSelector,
    Retry,
    Catch,
    Branches,
];
const MAP: &[F] = &[
    Type,
    Comment,
    QueryLanguage,
    Next,
    End,
    InputPath,
    OutputPath,
    ResultPath,
    Parameters,
    ResultSelector,
    Retry,
    Catch,
    ItemsPath,
    ItemProcessor,
    Iterator,
    ItemSelector,
    MaxConcurrency,
    MaxConcurrencyPath,
    ToleratedFailurePercentage,
    ToleratedFailurePercentagePath,
    ToleratedFailureCount,
    ToleratedFailureCountPath,
    Label,
];

/// Fields a state of type `ty` may have.
pub(crate) fn allowed(ty: &str) -> Option<&'static [F]> {
    Some(match ty {
        "Pass" => PASS,
        "Task" => TASK,
        "Choice" => CHOICE,
        "Wait" => WAIT,
        "Succeed" => SUCCEED,
        "Fail" => FAIL,
        "Parallel" => PARALLEL,
        "Map" => MAP,
        _ => return None,
    })
}

/// Code and message for a field that is not allowed where it stands.
pub(crate) fn unknown_message(k: &str) -> (&'static str, String) {
    match k {
        "Assign" => (
            "UNSUPPORTED",
            "variables ('Assign') are not supported".into(),
        ),
        "Arguments" | "Output" | "Items" => (
            "JSONATA_UNSUPPORTED",
            format!("'{k}' is a JSONata field; JSONata is not supported; use JSONPath"),
        ),
        "ItemReader" | "ResultWriter" | "ItemBatcher" => (
            "UNSUPPORTED",
            format!("'{k}' (distributed Map) is not supported"),
        ),
        _ => ("UNKNOWN_FIELD", format!("unknown field '{k}'")),
    }
}

/// An optional string field.
pub(crate) fn opt_string<'v>(
    m: &'v Map<String, Value>,
    k: &str,
    at: &str,
    pr: &mut Problems,
) -> Option<&'v str> {
    let v = m.get(k)?;
    let s = v.as_str();
    if s.is_none() {
        pr.add(&field(at, k), "BAD_TYPE", format!("{k} must be a string"));
    }
    s
}

/// An optional integer field within `[min, max]`.
pub(crate) fn opt_uint(
    m: &Map<String, Value>,
    k: &str,
    at: &str,
    min: u64,
    max: u64,
    pr: &mut Problems,
) -> Option<u64> {
    let v = m.get(k)?;
    let n = v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0)
            .map(|f| f as u64)
    });
    match n {
        Some(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            pr.add(
                &field(at, k),
                "BAD_VALUE",
                format!("{k} must be an integer from {min} to {max}, got {v}"),
            );
            None
        }
    }
}

/// An optional number field within `[min, max]`.
pub(crate) fn opt_f64(
    m: &Map<String, Value>,
    k: &str,
    at: &str,
    min: f64,
    max: f64,
    pr: &mut Problems,
) -> Option<f64> {
    let v = m.get(k)?;
    match v.as_f64() {
        Some(n) if n >= min && n <= max => Some(n),
        _ => {
            pr.add(
                &field(at, k),
                "BAD_VALUE",
                format!("{k} must be a number from {min} to {max}, got {v}"),
            );
            None
        }
    }
}

/// A reference path field (names and indexes only).
pub(crate) fn ref_path(v: &Value, at: &str, pr: &mut Problems) -> Option<Path> {
    let p = path(v, at, pr)?;
    if !p.is_reference() {
        pr.add(
            at,
            "BAD_PATH",
            format!(
                "'{}' must be a reference path (names and indexes only)",
                p.text()
            ),
        );
        return None;
    }
    Some(p)
}

/// Any path field.
pub(crate) fn path(v: &Value, at: &str, pr: &mut Problems) -> Option<Path> {
    let Some(s) = v.as_str() else {
        pr.add(at, "BAD_TYPE", "expected a path string");
        return None;
    };
    match Path::parse(s) {
        Ok(p) if p.root() != super::jsonpath::Root::Current => Some(p),
        Ok(_) => {
            pr.add(at, "BAD_PATH", "a path must start with '$'");
            None
        }
        Err(e) => {
            pr.add(at, "BAD_PATH", e);
            None
        }
    }
}

/// A number given by `k` or by a reference path in `k_path`, not both.
#[allow(clippy::too_many_arguments)]
pub(crate) fn num_or_path(
    m: &Map<String, Value>,
    k: &str,
    kp: &str,
    at: &str,
    min: f64,
    max: f64,
    int: bool,
    pr: &mut Problems,
) -> Option<Num> {
    if m.contains_key(k) && m.contains_key(kp) {
        pr.add(
            at,
            "EXCLUSIVE_FIELDS",
            format!("give {k} or {kp}, not both"),
        );
        return None;
    }
    if let Some(v) = m.get(kp) {
        return ref_path(v, &field(at, kp), pr).map(Num::Path);
    }
    let n = if int {
        opt_uint(m, k, at, min as u64, max as u64, pr).map(|x| x as f64)
    } else {
        opt_f64(m, k, at, min, max, pr)
    };
    n.map(Num::Lit)
}
