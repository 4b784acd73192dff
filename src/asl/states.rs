//! Reads the type-specific fields of one state (data flow, Retry, Catch, Choice, Wait, Fail, Parallel, Map); produces model parts, reporting problems.

use super::choice::parse_rule;
use super::errors::ALL;
use super::fields::{self, F};
use super::model::{
    Catcher, Fail, Io, IoPath, Kind, MapState, Parallel, Recovery, ResultPath, Retrier, Task, Text,
    Wait,
};
use super::parse::{Cx, Names};
use super::payload::{Dynamic, Template, parse_dynamic};
use super::problem::{Problems, field, index};
use super::time::parse_timestamp;
use serde_json::{Map, Value};

/// The data-flow fields a state has.
pub(crate) fn io(m: &Map<String, Value>, at: &str, allowed: &[F], pr: &mut Problems) -> Io {
    let mut io = Io::default();
    if allowed.contains(&F::InputPath) {
        io.input_path = io_path(m, "InputPath", at, pr);
        io.output_path = io_path(m, "OutputPath", at, pr);
    }
    if let Some(v) = m
        .get("ResultPath")
        .filter(|_| allowed.contains(&F::ResultPath))
    {
        io.result_path = result_path(v, &field(at, "ResultPath"), pr);
    }
    if let Some(v) = m
        .get("Parameters")
        .filter(|_| allowed.contains(&F::Parameters))
    {
        io.parameters = Some(Template::parse(v, &field(at, "Parameters"), pr));
    }
    if let Some(v) = m
        .get("ResultSelector")
        .filter(|_| allowed.contains(&F::ResultSelector))
    {
        io.result_selector = Some(Template::parse(v, &field(at, "ResultSelector"), pr));
    }
    io
}

fn io_path(m: &Map<String, Value>, k: &str, at: &str, pr: &mut Problems) -> IoPath {
    match m.get(k) {
        None => IoPath::Root,
        Some(Value::Null) => IoPath::Null,
        Some(v) => fields::path(v, &field(at, k), pr).map_or(IoPath::Root, IoPath::Path),
    }
}

fn result_path(v: &Value, at: &str, pr: &mut Problems) -> ResultPath {
    if v.is_null() {
        return ResultPath::Discard;
    }
    match fields::ref_path(v, at, pr) {
        Some(p) if p.root() == super::jsonpath::Root::Context => {
            pr.add(
                at,
                "BAD_PATH",
                "ResultPath cannot write into the context object",
            );
            ResultPath::Root
        }
        Some(p) if p.segs.is_empty() => ResultPath::Root,
        Some(p) => ResultPath::Path(p),
        None => ResultPath::Root,
    }
}

/// The type-specific part of a state.
pub(crate) fn kind(
    cx: &mut Cx,
    ty: &str,
    m: &Map<String, Value>,
    at: &str,
    names: &Names,
) -> Option<Kind> {
    let pr = &mut cx.pr;
    Some(match ty {
        "Pass" => Kind::Pass {
            result: m.get("Result").cloned(),
        },
        "Task" => Kind::Task(Box::new(task(m, at, names, pr)?)),
        "Choice" => choice(m, at, names, pr)?,
        "Wait" => Kind::Wait(wait(m, at, pr)?),
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail(Box::new(fail(m, at, pr)?)),
        "Parallel" => Kind::Parallel(Box::new(parallel(cx, m, at, names)?)),
        _ => Kind::Map(Box::new(map(cx, m, at, names)?)),
    })
}

fn task(m: &Map<String, Value>, at: &str, names: &Names, pr: &mut Problems) -> Option<Task> {
    let resource = fields::opt_string(m, "Resource", at, pr);
    if resource.is_none() && !m.contains_key("Resource") {
        pr.add(at, "MISSING_FIELD", "missing required field 'Resource'");
    }
    let timeout = fields::num_or_path(
        m,
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        at,
        1.0,
        99_999_999.0,
        true,
        pr,
    );
    let heartbeat = fields::num_or_path(
        m,
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        at,
        1.0,
        99_999_999.0,
        true,
        pr,
    );
    if let (Some(super::model::Num::Lit(t)), Some(super::model::Num::Lit(h))) =
        (&timeout, &heartbeat)
        && h >= t
    {
        pr.add(
            &field(at, "HeartbeatSeconds"),
            "BAD_VALUE",
            "HeartbeatSeconds must be smaller than TimeoutSeconds",
        );
    }
    let recovery = recovery(m, at, names, pr)?;
    Some(Task {
        resource: resource?.to_string(),
        timeout,
        heartbeat,
        recovery,
    })
}

fn recovery(
    m: &Map<String, Value>,
    at: &str,
    names: &Names,
    pr: &mut Problems,
) -> Option<Recovery> {
    let retry = list(m, "Retry", at, pr, retrier);
    let catch = list(m, "Catch", at, pr, |v, a, pr| catcher(v, a, names, pr));
    Some(Recovery {
        retry: retry?,
        catch: catch?,
    })
}

fn list<T>(
    m: &Map<String, Value>,
    k: &str,
    at: &str,
    pr: &mut Problems,
    f: impl Fn(&Value, &str, &mut Problems) -> Option<T>,
) -> Option<Vec<T>> {
    let Some(v) = m.get(k) else {
        return Some(Vec::new());
    };
    let kat = field(at, k);
    let Some(a) = v.as_array() else {
        pr.add(&kat, "BAD_TYPE", format!("{k} must be an array"));
        return None;
    };
    let items: Vec<Option<T>> = a
        .iter()
        .enumerate()
        .map(|(i, x)| f(x, &index(&kat, i), pr))
        .collect();
    check_all_last(a, &kat, pr);
    items.into_iter().collect()
}

/// `States.ALL` must stand alone, in the last retrier or catcher.
fn check_all_last(a: &[Value], at: &str, pr: &mut Problems) {
    for (i, x) in a.iter().enumerate() {
        let Some(errs) = x.get("ErrorEquals").and_then(Value::as_array) else {
            continue;
        };
        if !errs.iter().any(|e| e.as_str() == Some(ALL)) {
            continue;
        }
        let eat = field(&index(at, i), "ErrorEquals");
        if errs.len() > 1 {
            pr.add(
                &eat,
                "STATES_ALL_NOT_ALONE",
                "States.ALL must appear alone in ErrorEquals",
            );
        }
        if i + 1 != a.len() {
            pr.add(
                &eat,
                "STATES_ALL_NOT_LAST",
                "States.ALL must appear in the last retrier or catcher",
            );
        }
    }
}

fn error_equals(m: &Map<String, Value>, at: &str, pr: &mut Problems) -> Option<Vec<String>> {
    let Some(v) = m.get("ErrorEquals") else {
        pr.add(at, "MISSING_FIELD", "missing required field 'ErrorEquals'");
        return None;
    };
    let names: Option<Vec<String>> = v
        .as_array()
        .and_then(|a| a.iter().map(|e| e.as_str().map(str::to_string)).collect());
    match names {
        Some(n) if !n.is_empty() => Some(n),
        _ => {
            pr.add(
                &field(at, "ErrorEquals"),
                "BAD_VALUE",
                "ErrorEquals must be a non-empty array of error names",
            );
            None
        }
    }
}

fn retrier(v: &Value, at: &str, pr: &mut Problems) -> Option<Retrier> {
    let Some(m) = v.as_object() else {
        pr.add(at, "BAD_TYPE", "a retrier must be an object");
        return None;
    };
    for k in m.keys() {
        if !matches!(
            k.as_str(),
            "ErrorEquals"
                | "IntervalSeconds"
                | "MaxAttempts"
                | "BackoffRate"
                | "MaxDelaySeconds"
                | "JitterStrategy"
                | "Comment"
        ) {
            pr.add(
                &field(at, k),
                "UNKNOWN_FIELD",
                format!("unknown field '{k}'"),
            );
        }
    }
    let errors = error_equals(m, at, pr);
    let interval = fields::opt_uint(m, "IntervalSeconds", at, 1, 99_999_999, pr).unwrap_or(1);
    let max_attempts = fields::opt_uint(m, "MaxAttempts", at, 0, 99_999_999, pr).unwrap_or(3);
    let backoff = fields::opt_f64(m, "BackoffRate", at, 1.0, f64::MAX, pr).unwrap_or(2.0);
    let max_delay = fields::opt_uint(m, "MaxDelaySeconds", at, 1, 31_622_400, pr);
    let full_jitter = match m.get("JitterStrategy") {
        None => false,
        Some(j) if j == "FULL" => true,
        Some(j) if j == "NONE" => false,
        Some(j) => {
            pr.add(
                &field(at, "JitterStrategy"),
                "BAD_VALUE",
                format!("JitterStrategy must be \"FULL\" or \"NONE\", got {j}"),
            );
            false
        }
    };
    Some(Retrier {
        errors: errors?,
        interval: interval as f64,
        max_attempts,
        backoff,
        max_delay: max_delay.map(|d| d as f64),
        full_jitter,
    })
}

fn catcher(v: &Value, at: &str, names: &Names, pr: &mut Problems) -> Option<Catcher> {
    let Some(m) = v.as_object() else {
        pr.add(at, "BAD_TYPE", "a catcher must be an object");
        return None;
    };
    for k in m.keys() {
        if !matches!(
            k.as_str(),
            "ErrorEquals" | "Next" | "ResultPath" | "Comment"
        ) {
            let (code, msg) = fields::unknown_message(k);
            pr.add(&field(at, k), code, msg);
        }
    }
    let errors = error_equals(m, at, pr);
    let next = match m.get("Next") {
        None => {
            pr.add(at, "MISSING_FIELD", "missing required field 'Next'");
            None
        }
        n => names.target(n, &field(at, "Next"), pr),
    };
    let rp = m.get("ResultPath").map_or(ResultPath::Root, |v| {
        result_path(v, &field(at, "ResultPath"), pr)
    });
    Some(Catcher {
        errors: errors?,
        next: next?,
        result_path: rp,
    })
}

fn choice(m: &Map<String, Value>, at: &str, names: &Names, pr: &mut Problems) -> Option<Kind> {
    let cat = field(at, "Choices");
    let Some(list) = m
        .get("Choices")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    else {
        pr.add(
            &cat,
            "MISSING_FIELD",
            "a Choice state needs a non-empty 'Choices' array",
        );
        return None;
    };
    let mut choices = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let rat = index(&cat, i);
        let rule = parse_rule(r, &rat, true, 0, pr);
        let next = match r.get("Next") {
            None => {
                pr.add(&rat, "MISSING_FIELD", "a choice rule needs 'Next'");
                None
            }
            n => names.target(n, &field(&rat, "Next"), pr),
        };
        if let (Some(rule), Some(next)) = (rule, next) {
            choices.push((rule, next));
        }
    }
    let default = match m.get("Default") {
        None => None,
        d => Some(names.target(d, &field(at, "Default"), pr)?),
    };
    Some(Kind::Choice { choices, default })
}

fn wait(m: &Map<String, Value>, at: &str, pr: &mut Problems) -> Option<Wait> {
    let keys = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"];
    let given: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| m.contains_key(*k))
        .collect();
    if given.len() != 1 {
        pr.add(
            at,
            "WAIT_DURATION",
            "a Wait state needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath",
        );
        return None;
    }
    let k = given.first().copied().unwrap_or("");
    let v = m.get(k).unwrap_or(&Value::Null);
    let kat = field(at, k);
    match k {
        "Seconds" => fields::opt_uint(m, k, at, 0, 99_999_999, pr).map(|s| Wait::Seconds(s as f64)),
        "Timestamp" => match v.as_str().and_then(parse_timestamp) {
            Some(t) => Some(Wait::Timestamp(t)),
            None => {
                pr.add(
                    &kat,
                    "BAD_VALUE",
                    "Timestamp must be an RFC 3339 timestamp such as 2016-03-14T01:59:00Z",
                );
                None
            }
        },
        "SecondsPath" => fields::ref_path(v, &kat, pr).map(Wait::SecondsPath),
        _ => fields::ref_path(v, &kat, pr).map(Wait::TimestampPath),
    }
}

fn fail(m: &Map<String, Value>, at: &str, pr: &mut Problems) -> Option<Fail> {
    let error = text(m, "Error", "ErrorPath", at, pr);
    let cause = text(m, "Cause", "CausePath", at, pr);
    Some(Fail {
        error: error?,
        cause: cause?,
    })
}

/// `Some(None)` when neither field is given; `None` on a problem.
fn text(
    m: &Map<String, Value>,
    k: &str,
    kp: &str,
    at: &str,
    pr: &mut Problems,
) -> Option<Option<Text>> {
    if m.contains_key(k) && m.contains_key(kp) {
        pr.add(
            at,
            "EXCLUSIVE_FIELDS",
            format!("give {k} or {kp}, not both"),
        );
        return None;
    }
    if let Some(v) = m.get(kp) {
        let kat = field(at, kp);
        return match v.as_str().map(parse_dynamic) {
            Some(Ok(Dynamic::Path(p))) => Some(Some(Text::Path(p))),
            Some(Ok(Dynamic::Call(c))) => Some(Some(Text::Call(c))),
            Some(Err(e)) => {
                pr.add(&kat, "BAD_PATH", e);
                None
            }
            None => {
                pr.add(
                    &kat,
                    "BAD_TYPE",
                    format!("{kp} must be a path or an intrinsic function"),
                );
                None
            }
        };
    }
    if !m.contains_key(k) {
        return Some(None);
    }
    fields::opt_string(m, k, at, pr).map(|s| Some(Text::Lit(s.to_string())))
}

fn parallel(cx: &mut Cx, m: &Map<String, Value>, at: &str, names: &Names) -> Option<Parallel> {
    let bat = field(at, "Branches");
    let Some(list) = m
        .get("Branches")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    else {
        cx.pr.add(
            &bat,
            "MISSING_FIELD",
            "a Parallel state needs a non-empty 'Branches' array",
        );
        return None;
    };
    let branches: Vec<_> = list
        .iter()
        .enumerate()
        .map(|(i, b)| cx.nested(|cx| branch(cx, b, &index(&bat, i), false)))
        .collect();
    let recovery = recovery(m, at, names, &mut cx.pr);
    let branches: Option<Vec<_>> = branches.into_iter().collect();
    Some(Parallel {
        branches: branches?,
        recovery: recovery?,
    })
}

fn branch(cx: &mut Cx, v: &Value, at: &str, processor: bool) -> Option<super::model::Machine> {
    let m = cx.object(v, at)?;
    let allowed: &[F] = if processor {
        &[F::StartAt, F::States, F::Comment, F::ProcessorConfig]
    } else {
        &[F::StartAt, F::States, F::Comment]
    };
    cx.unknown(m, at, allowed);
    if let Some(pc) = m.get("ProcessorConfig") {
        processor_config(pc, &field(at, "ProcessorConfig"), &mut cx.pr);
    }
    cx.machine(m, at)
}

fn processor_config(v: &Value, at: &str, pr: &mut Problems) {
    let Some(m) = v.as_object() else {
        pr.add(at, "BAD_TYPE", "ProcessorConfig must be an object");
        return;
    };
    for (k, x) in m {
        let ok = match k.as_str() {
            "Mode" => x == "INLINE" || x == "DISTRIBUTED",
            "ExecutionType" => x == "STANDARD" || x == "EXPRESS",
            _ => {
                pr.add(
                    &field(at, k),
                    "UNKNOWN_FIELD",
                    format!("unknown field '{k}'"),
                );
                continue;
            }
        };
        if !ok {
            pr.add(&field(at, k), "BAD_VALUE", format!("bad {k} {x}"));
        }
    }
}

fn map(cx: &mut Cx, m: &Map<String, Value>, at: &str, names: &Names) -> Option<MapState> {
    let proc = match (m.get("ItemProcessor"), m.get("Iterator")) {
        (Some(_), Some(_)) => {
            cx.pr.add(
                at,
                "EXCLUSIVE_FIELDS",
                "give ItemProcessor or Iterator, not both",
            );
            None
        }
        (Some(p), None) => cx.nested(|cx| branch(cx, p, &field(at, "ItemProcessor"), true)),
        (None, Some(p)) => cx.nested(|cx| branch(cx, p, &field(at, "Iterator"), false)),
        (None, None) => {
            cx.pr.add(
                at,
                "MISSING_FIELD",
                "a Map state needs 'ItemProcessor' (or the older 'Iterator')",
            );
            None
        }
    };
    let pr = &mut cx.pr;
    if m.contains_key("ItemSelector") && m.contains_key("Parameters") {
        pr.add(
            at,
            "EXCLUSIVE_FIELDS",
            "give ItemSelector or Parameters, not both",
        );
    }
    let selector = m
        .get("ItemSelector")
        .map(|v| Template::parse(v, &field(at, "ItemSelector"), pr));
    let items_path = match m.get("ItemsPath") {
        None => None,
        Some(v) => Some(fields::ref_path(v, &field(at, "ItemsPath"), pr)?),
    };
    let max_concurrency = fields::num_or_path(
        m,
        "MaxConcurrency",
        "MaxConcurrencyPath",
        at,
        0.0,
        99_999_999.0,
        true,
        pr,
    );
    let pct = fields::num_or_path(
        m,
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        at,
        0.0,
        100.0,
        false,
        pr,
    );
    let count = fields::num_or_path(
        m,
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        at,
        0.0,
        99_999_999.0,
        true,
        pr,
    );
    let recovery = recovery(m, at, names, pr)?;
    Some(MapState {
        processor: proc?,
        items_path,
        item_selector: selector,
        max_concurrency,
        tolerated_percentage: pct,
        tolerated_count: count,
        recovery,
    })
}
