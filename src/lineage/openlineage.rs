//! OpenLineage 2-0-2 RunEvents of pipeline runs: reads a pipeline's [`Registration`] and one
//! run's facts (its execution ARN, input, start, end, error) and produces the run's events as
//! JSON (START, then COMPLETE, FAIL or ABORT). Pure: the transports (a JSON-lines file, an
//! HTTP endpoint) are at the edges that call it.
//!
//! Names: a pipeline is the job `dpc://<account>/<region>` / `<pipeline>`; a data product the
//! dataset `dpc://data-product/<domain>` / `<name>`; the run id is the UUID (version 5, URL
//! namespace) of the execution ARN, so every emitter names a run the same way.

use serde_json::{Map, Value, json};
use sha1::{Digest, Sha1};

use crate::manager::registry::{PipelineId, Registration, Upstream};
use crate::manager::time::{Millis, format_time, parse_time};
use crate::manager::window::Period;

/// The schema every event names (`schemaURL`).
pub const EVENT_SCHEMA: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
const JOB_DEPENDENCIES_SCHEMA: &str = "https://openlineage.io/spec/facets/1-0-1/JobDependenciesRunFacet.json#/$defs/JobDependenciesRunFacet";
const NOMINAL_TIME_SCHEMA: &str =
    "https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet";
const ERROR_MESSAGE_SCHEMA: &str = "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet";
const PROCESSING_ENGINE_SCHEMA: &str = "https://openlineage.io/spec/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet";
const JOB_TYPE_SCHEMA: &str =
    "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet";

/// The producer every event and facet names: dpc and its version.
pub const PRODUCER: &str = concat!("urn:dpc:", env!("CARGO_PKG_VERSION"));

/// The RFC 4122 URL namespace of version 5 UUIDs.
const URL_NAMESPACE: [u8; 16] = [
    0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
];

/// One run as the emitters know it.
#[derive(Debug, Clone)]
pub struct RunFacts<'a> {
    pub execution_arn: &'a str,
    /// The execution input: `run` (type, triggerId, time), `upstreams`, `dataProducts`.
    pub input: &'a Value,
    pub started: Millis,
    /// The next schedule time after a scheduled run's own (its nominal end), when known.
    pub nominal_end: Option<Millis>,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunEnd<'a> {
    /// The Step Functions status: SUCCEEDED, FAILED, TIMED_OUT, ABORTED.
    pub status: &'a str,
    pub stopped: Millis,
    pub error: Option<&'a str>,
    pub cause: Option<&'a str>,
}

/// The run id of an execution: a version 5 UUID of its ARN (URL namespace).
pub fn run_id(execution_arn: &str) -> String {
    let mut hash = Sha1::new();
    hash.update(URL_NAMESPACE);
    hash.update(execution_arn.as_bytes());
    let digest = hash.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A pipeline's job namespace: its account and region.
pub fn job_namespace(id: &PipelineId) -> String {
    format!("dpc://{}/{}", id.account, id.region)
}

/// A data product's dataset `{namespace, name}`.
pub fn dataset(domain: &str, name: &str) -> Value {
    json!({"namespace": format!("dpc://data-product/{domain}"), "name": name})
}

/// The event type of a Step Functions status at the end of a run.
pub fn event_type(status: &str) -> &'static str {
    match status {
        "SUCCEEDED" => "COMPLETE",
        "ABORTED" => "ABORT",
        _ => "FAIL",
    }
}

/// The run's START event.
pub fn start(reg: &Registration, run: &RunFacts<'_>) -> Value {
    let outputs = outputs(reg);
    event(
        "START",
        run.started,
        reg,
        run,
        run_facets(reg, run, None),
        outputs,
    )
}

/// The run's last event: COMPLETE, FAIL or ABORT (with its error).
pub fn end(reg: &Registration, run: &RunFacts<'_>, end: &RunEnd<'_>) -> Value {
    let kind = event_type(end.status);
    let outputs = if kind == "COMPLETE" {
        outputs(reg)
    } else {
        Vec::new()
    };
    let facets = run_facets(reg, run, Some(end));
    event(kind, end.stopped, reg, run, facets, outputs)
}

/// The run's events: START, then its end when it ended.
pub fn events(reg: &Registration, run: &RunFacts<'_>, ended: Option<&RunEnd<'_>>) -> Vec<Value> {
    let mut out = vec![start(reg, run)];
    out.extend(ended.map(|e| end(reg, run, e)));
    out
}

/// The event a Step Functions status change of a pipeline's execution stands for (the
/// central account's): RUNNING → START, SUCCEEDED → COMPLETE, FAILED and TIMED_OUT → FAIL,
/// ABORTED → ABORT; `None` for another status or an event without an execution ARN. The
/// execution input (a JSON string in the event) gives the trigger and the nominal time.
pub fn of_status_change(reg: &Registration, detail: &Value) -> Option<Value> {
    let arn = detail["executionArn"].as_str()?;
    let status = detail["status"].as_str()?;
    let input: Value = detail["input"]
        .as_str()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(Value::Null);
    let started = detail["startDate"].as_i64().unwrap_or_default();
    let run = RunFacts {
        execution_arn: arn,
        input: &input,
        started,
        nominal_end: nominal_end(reg, &input),
    };
    match status {
        "RUNNING" => Some(start(reg, &run)),
        "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED" => {
            let ended = RunEnd {
                status,
                stopped: detail["stopDate"].as_i64().unwrap_or(started),
                error: detail["error"].as_str(),
                cause: detail["cause"].as_str(),
            };
            Some(end(reg, &run, &ended))
        }
        _ => None,
    }
}

fn event(
    kind: &str,
    at: Millis,
    reg: &Registration,
    run: &RunFacts<'_>,
    facets: Map<String, Value>,
    outputs: Vec<Value>,
) -> Value {
    let job_type = json!({
        "_producer": PRODUCER,
        "_schemaURL": JOB_TYPE_SCHEMA,
        "processingType": "BATCH",
        "integration": "DPC",
        "jobType": "PIPELINE",
    });
    let mut e = json!({
        "eventType": kind,
        "eventTime": format_time(at),
        "producer": PRODUCER,
        "schemaURL": EVENT_SCHEMA,
        "run": {"runId": run_id(run.execution_arn), "facets": facets},
        "job": {
            "namespace": job_namespace(&reg.id),
            "name": reg.id.name,
            "facets": {"jobType": job_type},
        },
        "inputs": inputs(reg, run.input),
    });
    e["outputs"] = Value::Array(outputs);
    e
}

fn run_facets(
    reg: &Registration,
    run: &RunFacts<'_>,
    end: Option<&RunEnd<'_>>,
) -> Map<String, Value> {
    let mut facets = Map::new();
    facets.insert(
        "processing_engine".into(),
        json!({
            "_producer": PRODUCER,
            "_schemaURL": PROCESSING_ENGINE_SCHEMA,
            "name": "dpc",
            "version": env!("CARGO_PKG_VERSION"),
        }),
    );
    if let Some(f) = job_dependencies(reg, run.input) {
        facets.insert("jobDependencies".into(), f);
    }
    if let Some(f) = nominal_time(run) {
        facets.insert("nominalTime".into(), f);
    }
    if let Some(end) = end.filter(|e| e.status != "SUCCEEDED") {
        facets.insert("errorMessage".into(), error_message(end));
    }
    facets
}

/// The upstream runs that triggered the run (the input's `upstreams`) and the rule that fired.
fn job_dependencies(reg: &Registration, input: &Value) -> Option<Value> {
    let upstream: Vec<Value> = upstream_runs(input)
        .map(|(id, status, arn)| {
            let statuses = reg
                .leaves
                .iter()
                .find(|l| matches!(&l.upstream, Upstream::Execution(u) if *u == id))
                .map(|l| l.statuses.clone())
                .unwrap_or_else(|| vec![status.to_string()]);
            json!({
                "job": {"namespace": job_namespace(&id), "name": id.name},
                "run": {"runId": run_id(arn)},
                "dependency_type": "DIRECT_INVOCATION",
                "sequence_trigger_rule": if statuses.iter().any(|s| s == "RUNNING") { "START_TO_START" } else { "FINISH_TO_START" },
                "status_trigger_rule": status_rule(&statuses),
                "status": status,
            })
        })
        .collect();
    let rule = reg.pattern.as_deref().and_then(trigger_rule);
    if upstream.is_empty() && (rule.is_none() || input["run"]["type"] != "TRIGGERED") {
        return None;
    }
    let mut facet = json!({
        "_producer": PRODUCER,
        "_schemaURL": JOB_DEPENDENCIES_SCHEMA,
        "upstream": upstream,
    });
    if let Some(rule) = rule {
        facet["trigger_rule"] = json!(rule);
    }
    Some(facet)
}

/// `(pipeline, status, execution ARN)` of each upstream run in an execution input.
fn upstream_runs(input: &Value) -> impl Iterator<Item = (PipelineId, &str, &str)> {
    fn objects(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
        v.as_object().into_iter().flatten()
    }
    objects(&input["upstreams"]).flat_map(move |(account, regions)| {
        objects(regions).flat_map(move |(region, names)| {
            objects(names).filter_map(move |(name, run)| {
                let id = PipelineId {
                    account: account.clone(),
                    region: region.clone(),
                    name: name.clone(),
                };
                Some((id, run["status"].as_str()?, run["executionArn"].as_str()?))
            })
        })
    })
}

/// The schedule time after the run's own (the input's `run.time`): its nominal end.
pub fn nominal_end(reg: &Registration, input: &Value) -> Option<Millis> {
    let at = input["run"]["time"].as_str().and_then(parse_time)?;
    Period::parse(reg.schedule.as_ref()?)?.next_fire(at)
}

/// A scheduled run's schedule time (the input's `run.time`).
fn nominal_time(run: &RunFacts<'_>) -> Option<Value> {
    if run.input["run"]["type"] != "SCHEDULED" {
        return None;
    }
    let at = run.input["run"]["time"]
        .as_str()
        .and_then(parse_time)
        .unwrap_or(run.started);
    let mut facet = json!({
        "_producer": PRODUCER,
        "_schemaURL": NOMINAL_TIME_SCHEMA,
        "nominalStartTime": format_time(at),
    });
    if let Some(next) = run.nominal_end.filter(|n| *n > at) {
        facet["nominalEndTime"] = json!(format_time(next));
    }
    Some(facet)
}

fn error_message(end: &RunEnd<'_>) -> Value {
    let message = match (end.error, end.cause) {
        (Some(e), Some(c)) => format!("{}: {e}: {c}", end.status),
        (Some(e), None) => format!("{}: {e}", end.status),
        (None, Some(c)) => format!("{}: {c}", end.status),
        (None, None) => end.status.to_string(),
    };
    json!({
        "_producer": PRODUCER,
        "_schemaURL": ERROR_MESSAGE_SCHEMA,
        "message": message,
        "programmingLanguage": "Amazon States Language",
    })
}

/// The data products the run consumed: those of its trigger (the input's `dataProducts`),
/// else the ones its trigger waits on.
fn inputs(reg: &Registration, input: &Value) -> Vec<Value> {
    let arrived: Vec<Value> = input["dataProducts"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(domain, names)| {
            names
                .as_object()
                .into_iter()
                .flatten()
                .map(move |(name, _)| dataset(domain, name))
        })
        .collect();
    if !arrived.is_empty() || input["run"]["type"] == "TRIGGERED" {
        return arrived;
    }
    reg.leaves
        .iter()
        .filter_map(|l| match &l.upstream {
            Upstream::Product { domain, name, .. } => Some(dataset(domain, name)),
            Upstream::Execution(_) => None,
        })
        .collect()
}

fn outputs(reg: &Registration) -> Vec<Value> {
    reg.publishes.iter().map(|(d, n)| dataset(d, n)).collect()
}

/// `EXECUTE_ON_SUCCESS`, `EXECUTE_ON_FAILURE` or `EXECUTE_EVERY_TIME` for a leaf's statuses.
fn status_rule(statuses: &[String]) -> &'static str {
    match outcome(statuses.iter().map(String::as_str)) {
        "SUCCESS" => "EXECUTE_ON_SUCCESS",
        "FAILED" => "EXECUTE_ON_FAILURE",
        _ => "EXECUTE_EVERY_TIME",
    }
}

/// What a set of statuses waits for: `SUCCESS`, `FAILED` or `DONE` (both, or RUNNING).
fn outcome<'s>(mut statuses: impl Iterator<Item = &'s str> + Clone) -> &'static str {
    let failure = |s: &str| matches!(s, "FAILED" | "TIMED_OUT" | "ABORTED");
    if statuses
        .clone()
        .all(|s| matches!(s, "SUCCEEDED" | "ARRIVED"))
    {
        "SUCCESS"
    } else if statuses.all(failure) {
        "FAILED"
    } else {
        "DONE"
    }
}

/// The trigger rule of a compiled trigger pattern, in the words of the facet's examples:
/// `allOf` → `ALL_<outcome>`, `anyOf` → `ONE_<outcome>` (outcome `SUCCESS`, `FAILED` or
/// `DONE`), joined by the operator when both are given (`ALL_SUCCESS AND ONE_SUCCESS`), and
/// by `AND` across executions and data products. `None` for a pattern without leaves.
pub fn trigger_rule(pattern: &str) -> Option<String> {
    let pattern: Value = serde_json::from_str(pattern).ok()?;
    let rules: Vec<String> = ["upstreams", "dataProducts"]
        .iter()
        .filter_map(|k| block_rule(pattern["detail"].get(*k)?))
        .collect();
    (!rules.is_empty()).then(|| rules.join(" AND "))
}

/// The leaves of a block: the tests outside any `$or`, and each `$or` branch's.
#[derive(Default)]
struct Shape {
    all: Vec<Vec<String>>,
    any: Vec<Shape>,
}

fn shape(v: &Value, into: &mut Shape) {
    let Some(m) = v.as_object() else {
        return;
    };
    for (k, x) in m {
        match (k.as_str(), x) {
            ("$or", Value::Array(branches)) => {
                for b in branches {
                    let mut s = Shape::default();
                    shape(b, &mut s);
                    into.any.push(s);
                }
            }
            ("status", Value::Array(values)) => into.all.push(
                values
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            ),
            _ => shape(x, into),
        }
    }
}

fn block_rule(block: &Value) -> Option<String> {
    let mut s = Shape::default();
    shape(block, &mut s);
    let named = |prefix: &str, leaves: &[&Vec<String>]| {
        format!(
            "{prefix}_{}",
            outcome(leaves.iter().flat_map(|l| l.iter().map(String::as_str)))
        )
    };
    // `operator: OR` makes the whole allOf one more branch of the `$or`.
    let (grouped, single): (Vec<&Shape>, Vec<&Shape>) = s
        .any
        .iter()
        .partition(|b| b.all.len() > 1 || !b.any.is_empty());
    let one: Vec<&Vec<String>> = single.iter().flat_map(|b| &b.all).collect();
    let all: Vec<&Vec<String>> = s.all.iter().collect();
    match (all.is_empty(), one.is_empty(), grouped.first()) {
        (_, _, Some(g)) => {
            let group: Vec<&Vec<String>> = g.all.iter().collect();
            let mut rule = named("ALL", &group);
            if !one.is_empty() {
                rule = format!("{rule} OR {}", named("ONE", &one));
            }
            Some(rule)
        }
        (false, false, None) => Some(format!("{} AND {}", named("ALL", &all), named("ONE", &one))),
        (false, true, None) => Some(named("ALL", &all)),
        (true, false, None) => Some(named("ONE", &one)),
        (true, true, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::registry::{Leaf, ScheduleSpec, WindowSpec};

    fn reg(pattern: Option<&str>, leaves: Vec<Leaf>, publishes: &[(&str, &str)]) -> Registration {
        Registration {
            id: PipelineId {
                account: "333333333333".into(),
                region: "eu-west-1".into(),
                name: "pipeline-x".into(),
            },
            central_account: "999999999999".into(),
            central_region: "eu-west-1".into(),
            pattern: pattern.map(str::to_string),
            leaves,
            schedule: None,
            window: WindowSpec::SinceLastTrigger,
            propagate_manual: false,
            publishes: publishes
                .iter()
                .map(|(d, n)| (d.to_string(), n.to_string()))
                .collect(),
            sla: None,
            slack_channels: Vec::new(),
            team: String::new(),
            notification_type: None,
            topics: Default::default(),
        }
    }

    #[test]
    fn run_ids_are_version_5_uuids_of_the_arn() {
        // Python: uuid.uuid5(uuid.NAMESPACE_URL, "https://example.com")
        assert_eq!(
            run_id("https://example.com"),
            "4fd35a71-71ef-5a55-a9d9-aa75c889a6d0"
        );
        let a = run_id("arn:aws:states:eu-west-1:1:execution:dpc-a:x");
        assert_eq!(a, run_id("arn:aws:states:eu-west-1:1:execution:dpc-a:x"));
        assert_ne!(a, run_id("arn:aws:states:eu-west-1:1:execution:dpc-a:y"));
        assert_eq!(&a[14..15], "5");
    }

    #[test]
    fn trigger_rules_name_all_and_one() {
        let all = r#"{"detail":{"upstreams":{"1":{"r":{"a":{"status":["SUCCEEDED"]},"b":{"status":["SUCCEEDED"]}}}}}}"#;
        assert_eq!(trigger_rule(all).as_deref(), Some("ALL_SUCCESS"));
        let any = r#"{"detail":{"upstreams":{"$or":[{"1":{"r":{"a":{"status":["FAILED","TIMED_OUT"]}}}},{"2":{"r":{"b":{"status":["FAILED"]}}}}]}}}"#;
        assert_eq!(trigger_rule(any).as_deref(), Some("ONE_FAILED"));
        let both = r#"{"detail":{"upstreams":{"1":{"r":{"a":{"status":["SUCCEEDED","FAILED"]}}},"$or":[{"2":{"r":{"b":{"status":["SUCCEEDED"]}}}},{"3":{"r":{"c":{"status":["SUCCEEDED"]}}}}]},"dataProducts":{"d":{"n":{"status":["ARRIVED"]}}}}}"#;
        assert_eq!(
            trigger_rule(both).as_deref(),
            Some("ALL_DONE AND ONE_SUCCESS AND ALL_SUCCESS")
        );
        let or = r#"{"detail":{"upstreams":{"$or":[{"1":{"r":{"a":{"status":["SUCCEEDED"]},"b":{"status":["SUCCEEDED"]}}}},{"3":{"r":{"c":{"status":["FAILED"]}}}}]}}}"#;
        assert_eq!(
            trigger_rule(or).as_deref(),
            Some("ALL_SUCCESS OR ONE_FAILED")
        );
        assert_eq!(trigger_rule(r#"{"detail":{}}"#), None);
    }

    #[test]
    fn a_triggered_failed_run_names_its_upstreams_and_error() {
        let pattern = r#"{"detail":{"upstreams":{"1":{"r":{"a":{"status":["SUCCEEDED"]}}}}}}"#;
        let a = PipelineId {
            account: "1".into(),
            region: "r".into(),
            name: "a".into(),
        };
        let leaves = vec![Leaf {
            upstream: Upstream::Execution(a),
            statuses: vec!["SUCCEEDED".into()],
        }];
        let r = reg(Some(pattern), leaves, &[("rent-journey", "metric-x")]);
        let input = json!({
            "run": {"type": "TRIGGERED", "triggerId": "t1", "time": "2026-11-26T05:00:00Z"},
            "upstreams": {"1": {"r": {"a": {"status": "SUCCEEDED", "executionArn": "arn:a", "stopDate": 1}}}},
            "dataProducts": {"raw": {"RD1": {"status": "ARRIVED", "refreshedAt": "2026-11-26T04:00:00Z"}}},
        });
        let run = RunFacts {
            execution_arn: "arn:x",
            input: &input,
            started: 1_000,
            nominal_end: None,
        };
        let ended = RunEnd {
            status: "FAILED",
            stopped: 2_000,
            error: Some("States.TaskFailed"),
            cause: Some("exit 1"),
        };
        let e = events(&r, &run, Some(&ended));
        assert_eq!(e.len(), 2);
        assert_eq!(e[0]["eventType"], "START");
        assert_eq!(e[1]["eventType"], "FAIL");
        assert_eq!(e[0]["run"]["runId"], e[1]["run"]["runId"]);
        let deps = &e[0]["run"]["facets"]["jobDependencies"];
        assert_eq!(deps["trigger_rule"], "ALL_SUCCESS");
        assert_eq!(deps["upstream"][0]["job"]["name"], "a");
        assert_eq!(deps["upstream"][0]["run"]["runId"], run_id("arn:a"));
        assert_eq!(
            e[1]["run"]["facets"]["errorMessage"]["message"],
            "FAILED: States.TaskFailed: exit 1"
        );
        assert_eq!(e[0]["inputs"][0]["name"], "RD1");
        assert_eq!(e[0]["outputs"][0]["name"], "metric-x");
        assert_eq!(e[1]["outputs"], json!([]));
        assert!(e[0]["run"]["facets"].get("nominalTime").is_none());
    }

    #[test]
    fn status_changes_map_to_start_and_end_events() {
        let r = reg(None, Vec::new(), &[("d", "n")]);
        let input =
            json!({"run": {"type": "SCHEDULED", "triggerId": "s", "time": "2026-11-26T03:00:00Z"}})
                .to_string();
        let mut detail =
            json!({"executionArn": "arn:e", "status": "RUNNING", "startDate": 10, "input": input});
        let s = of_status_change(&r, &detail).expect("START");
        assert_eq!(s["eventType"], "START");
        assert_eq!(s["eventTime"], "1970-01-01T00:00:00.010Z");
        assert_eq!(
            s["run"]["facets"]["nominalTime"]["nominalStartTime"],
            "2026-11-26T03:00:00Z"
        );
        detail["status"] = json!("TIMED_OUT");
        detail["stopDate"] = json!(20);
        let e = of_status_change(&r, &detail).expect("FAIL");
        assert_eq!(e["eventType"], "FAIL");
        assert_eq!(e["run"]["runId"], s["run"]["runId"]);
        assert_eq!(e["run"]["facets"]["errorMessage"]["message"], "TIMED_OUT");
        detail["status"] = json!("PENDING_REDRIVE");
        assert!(of_status_change(&r, &detail).is_none());
    }

    /// The central account's events: the nominal end is the registration's next fire time.
    #[test]
    fn a_scheduled_status_change_has_its_nominal_end_from_the_schedule() {
        let mut r = reg(None, Vec::new(), &[]);
        r.schedule = Some(ScheduleSpec {
            expression: "cron(0 9 * * ? *)".into(),
            timezone: Some("Europe/Berlin".into()),
        });
        let input = json!({"run": {"type": "SCHEDULED", "time": "2026-11-26T08:00:00Z"}});
        let detail = json!({
            "executionArn": "arn:aws:states:eu-west-1:333333333333:execution:dpc-pipeline-x:r1",
            "status": "RUNNING",
            "startDate": 1_795_248_000_000_i64,
            "input": input.to_string(),
        });
        let e = of_status_change(&r, &detail).expect("START");
        let nominal = &e["run"]["facets"]["nominalTime"];
        assert_eq!(nominal["nominalStartTime"], "2026-11-26T08:00:00Z");
        assert_eq!(nominal["nominalEndTime"], "2026-11-27T08:00:00Z");
        r.schedule = None;
        let e = of_status_change(&r, &detail).expect("START");
        assert!(
            e["run"]["facets"]["nominalTime"]
                .get("nominalEndTime")
                .is_none()
        );
    }

    #[test]
    fn a_scheduled_run_has_its_nominal_time() {
        let r = reg(None, Vec::new(), &[]);
        let input = json!({"run": {"type": "SCHEDULED", "triggerId": "schedule-x", "time": "2026-11-26T03:00:00Z"}});
        let run = RunFacts {
            execution_arn: "arn:s",
            input: &input,
            started: 0,
            nominal_end: parse_time("2026-11-27T03:00:00Z"),
        };
        let ended = RunEnd {
            status: "SUCCEEDED",
            stopped: 5,
            error: None,
            cause: None,
        };
        let e = end(&r, &run, &ended);
        assert_eq!(e["eventType"], "COMPLETE");
        let nominal = &e["run"]["facets"]["nominalTime"];
        assert_eq!(nominal["nominalStartTime"], "2026-11-26T03:00:00Z");
        assert_eq!(nominal["nominalEndTime"], "2026-11-27T03:00:00Z");
        assert!(e["run"]["facets"].get("jobDependencies").is_none());
        assert!(e["run"]["facets"].get("errorMessage").is_none());
        assert_eq!(e["job"]["namespace"], "dpc://333333333333/eu-west-1");
    }
}
