//! Reads the state machines dpc compiles from `examples/` (by the real compiler); checks that each parses and runs every path with mocks: trigger, schedule, by hand, duplicate claim, retried step, failed step, timed-out step.

use std::path::PathBuf;

use chrono::NaiveDate;
use dpc::asl::{Definition, EventType, Execution, MockHandler, Options, Status, run};
use dpc::compile::tree::compile_tree;
use dpc::pipeline::load::validate_tree;
use serde_json::{Map, Value, json};

struct Machine {
    name: String,
    json: Value,
    def: Definition,
}

/// The state machine of every pipeline in `examples/`, compiled by dpc.
fn machines() -> Vec<Machine> {
    let now = NaiveDate::from_ymd_opt(2026, 11, 21)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("date");
    let examples = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"));
    let tree = validate_tree(&[examples], now).expect("examples load");
    assert!(tree.diagnostics.is_empty(), "examples must be valid");
    let built = compile_tree(&tree, "0.0.0-test", &|_, _| None).expect("examples compile");
    assert_eq!(built.len(), 12);
    built
        .iter()
        .map(|b| {
            let name = b.env.name().to_string();
            let json = b.compiled.state_machine.definition.clone();
            let def = Definition::parse(&json).unwrap_or_else(|p| panic!("{name}: {p:?}"));
            Machine { name, json, def }
        })
        .collect()
}

impl Machine {
    fn tasks(&self) -> Vec<String> {
        let states = self.json.get("States").and_then(Value::as_object);
        states
            .into_iter()
            .flatten()
            .filter(|(_, s)| s["Type"] == "Task")
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The step states, without the step status events around them (FULL_EXECUTION).
    fn steps(&self) -> Vec<String> {
        self.tasks()
            .into_iter()
            .filter(|n| n.starts_with("Step ") && !self.step_event(n))
            .collect()
    }

    fn step_event(&self, state: &str) -> bool {
        self.json["States"][state]["Resource"] == "arn:aws:states:::events:putEvents"
    }

    fn has_cluster(&self) -> bool {
        self.tasks().iter().any(|t| t == "Create cluster")
    }

    fn step_timeout(&self, step: &str) -> f64 {
        self.json["States"][step]["TimeoutSeconds"]
            .as_f64()
            .unwrap_or(99_999_999.0)
    }

    /// Mocks where every task succeeds, with `overrides` per state.
    fn mocks(&self, overrides: Value) -> MockHandler {
        let mut m = Map::new();
        for t in self.tasks() {
            let r = if t == "Create cluster" {
                json!({"Return": {"ClusterId": "j-ABC", "Noise": 1}, "Duration": 420})
            } else {
                json!({"Return": {}, "Duration": 30})
            };
            m.insert(t, r);
        }
        if let Some(o) = overrides.as_object() {
            m.extend(o.clone());
        }
        MockHandler::parse(&Value::Object(m)).unwrap_or_else(|p| panic!("{}: {p:?}", self.name))
    }

    fn run(&self, input: Value, mocks: &mut MockHandler) -> Execution {
        let opts = Options {
            start_time: "2026-11-26T03:00:00Z".parse().unwrap_or_default(),
            execution_name: "manual-42".into(),
            state_machine_arn: format!(
                "arn:aws:states:eu-west-1:333333333333:stateMachine:dpc-{}",
                self.name
            ),
            ..Options::default()
        };
        run(&self.def, input, &opts, mocks)
    }
}

fn visited(ex: &Execution) -> Vec<&str> {
    ex.trace.iter().map(|s| s.state.as_str()).collect()
}

fn triggered() -> Value {
    json!({"run": {"type": "TRIGGERED", "triggerId": "t-1", "time": "2026-11-26T03:00:00Z"}})
}

fn claim_params(ex: &Execution) -> Value {
    let e = ex
        .history
        .iter()
        .find(|e| e.kind == EventType::TaskScheduled);
    let details = e
        .and_then(|e| serde_json::to_value(e).ok())
        .unwrap_or_default();
    serde_json::from_str(
        details["taskScheduledEventDetails"]["parameters"]
            .as_str()
            .unwrap_or("null"),
    )
    .unwrap_or_default()
}

#[test]
fn started_by_a_trigger() {
    for m in machines() {
        let mut mocks = m.mocks(json!({}));
        let ex = m.run(triggered(), &mut mocks);
        assert_eq!(
            ex.status,
            Status::Succeeded,
            "{}: {:?} {:?}",
            m.name,
            ex.error,
            ex.cause
        );
        assert_eq!(visited(&ex).first(), Some(&"Start"));
        assert!(!visited(&ex).contains(&"Manual start"));
        assert_eq!(visited(&ex).last(), Some(&"Succeeded"), "{}", m.name);
        let params = claim_params(&ex);
        assert_eq!(
            params["Item"]["claimId"]["S"],
            json!(format!("{}#t-1", m.name))
        );
        assert_eq!(
            params["Item"]["claimedAt"]["S"],
            json!("2026-11-26T03:00:00.000Z")
        );
        assert_eq!(
            params["Item"]["executionArn"]["S"],
            json!(format!(
                "arn:aws:states:eu-west-1:333333333333:execution:dpc-{}:manual-42",
                m.name
            ))
        );
        let out = ex.output.clone().unwrap_or_default();
        assert_eq!(
            out["ctx"],
            json!({"date": "2026-11-26", "id": "manual-42", "time": "2026-11-26T03:00:00Z", "triggerId": "t-1", "type": "TRIGGERED"})
        );
        for s in m.steps() {
            assert_eq!(mocks.calls(&s), 1, "{}: {s}", m.name);
        }
        if m.has_cluster() {
            assert_eq!(
                out["cluster"],
                json!({"ClusterId": "j-ABC"}),
                "ResultSelector keeps ClusterId only"
            );
            assert_eq!(mocks.calls("Terminate cluster"), 1);
        }
    }
}

#[test]
fn started_by_a_schedule() {
    for m in machines() {
        let input = json!({"run": {"type": "SCHEDULED", "triggerId": "sched-2026-11-26", "time": "2026-11-26T02:00:00Z"}});
        let ex = m.run(input, &mut m.mocks(json!({})));
        assert_eq!(ex.status, Status::Succeeded, "{}", m.name);
        let out = ex.output.unwrap_or_default();
        assert_eq!(out["ctx"]["type"], json!("SCHEDULED"));
        assert_eq!(out["ctx"]["date"], json!("2026-11-26"));
    }
}

#[test]
fn started_by_hand() {
    for m in machines() {
        let ex = m.run(json!({}), &mut m.mocks(json!({})));
        assert_eq!(ex.status, Status::Succeeded, "{}: {:?}", m.name, ex.cause);
        assert_eq!(visited(&ex).get(1), Some(&"Manual start"));
        let out = ex.output.clone().unwrap_or_default();
        assert_eq!(
            out["run"],
            json!({"time": "2026-11-26T03:00:00.000Z", "triggerId": "manual-42", "type": "MANUAL"})
        );
        assert_eq!(out["ctx"]["date"], json!("2026-11-26"));
        assert_eq!(
            claim_params(&ex)["Item"]["claimId"]["S"],
            json!(format!("{}#manual-42", m.name))
        );
    }
}

#[test]
fn duplicate_claim_runs_nothing() {
    for m in machines() {
        let throw = json!({"Claim trigger": {"Throw": {"Error": "DynamoDB.ConditionalCheckFailedException", "Cause": "The conditional request failed"}}});
        let mut mocks = m.mocks(throw);
        let ex = m.run(triggered(), &mut mocks);
        assert_eq!(ex.status, Status::Succeeded, "{}", m.name);
        assert_eq!(visited(&ex).last(), Some(&"Duplicate"));
        assert_eq!(
            mocks.calls("Claim trigger"),
            1,
            "a condition failure is not retried"
        );
        for t in m.tasks().iter().filter(|t| *t != "Claim trigger") {
            assert_eq!(mocks.calls(t), 0, "{}: {t} ran", m.name);
        }
    }
}

#[test]
fn claim_throttled_then_retried() {
    for m in machines() {
        let throttled = json!({"Claim trigger": [{"Throw": {"Error": "DynamoDB.ProvisionedThroughputExceededException", "Cause": "slow down"}}, {"Return": {}}]});
        let mut mocks = m.mocks(throttled);
        let ex = m.run(triggered(), &mut mocks);
        assert_eq!(ex.status, Status::Succeeded, "{}", m.name);
        assert_eq!(mocks.calls("Claim trigger"), 2);
    }
}

#[test]
fn step_fails_then_succeeds_on_retry() {
    for m in machines() {
        let Some(step) = m.steps().into_iter().next() else {
            continue;
        };
        let flaky = json!({&step: [{"Throw": {"Error": "States.TaskFailed", "Cause": "exit 1"}, "Duration": 100}, {"Return": {}, "Duration": 200}]});
        let mut mocks = m.mocks(flaky);
        let ex = m.run(triggered(), &mut mocks);
        assert_eq!(ex.status, Status::Succeeded, "{}: {:?}", m.name, ex.cause);
        assert_eq!(mocks.calls(&step), 2);
        assert!(
            ex.trace
                .iter()
                .any(|s| s.state == step && s.outcome.starts_with("retry 1"))
        );
        let failed = ex
            .history
            .iter()
            .filter(|e| e.kind == EventType::TaskFailed)
            .count();
        assert_eq!(failed, 1);
    }
}

#[test]
fn step_fails_for_good() {
    for m in machines() {
        let Some(step) = m.steps().into_iter().next() else {
            continue;
        };
        let broken = json!({&step: {"Throw": {"Error": "States.TaskFailed", "Cause": "Step failed: exit code 1"}, "Duration": 50}});
        let mut mocks = m.mocks(broken);
        let ex = m.run(triggered(), &mut mocks);
        assert_eq!(ex.status, Status::Failed, "{}", m.name);
        assert_eq!(ex.error.as_deref(), Some("States.TaskFailed"));
        assert_eq!(ex.cause.as_deref(), Some("Step failed: exit code 1"));
        assert_eq!(visited(&ex).last(), Some(&"Failed"));
        let attempts = 1 + m.json["States"][&step]["Retry"][0]["MaxAttempts"]
            .as_u64()
            .unwrap_or(3) as usize;
        assert_eq!(mocks.calls(&step), attempts, "{}", m.name);
        if m.has_cluster() {
            assert_eq!(
                mocks.calls("Terminate cluster after failure"),
                1,
                "{}: cluster terminated",
                m.name
            );
            assert_eq!(mocks.calls("Terminate cluster"), 0);
        }
        assert_eq!(mocks.calls("Publish"), 0);
        assert_eq!(
            ex.history.last().map(|e| e.kind),
            Some(EventType::ExecutionFailed)
        );
        // FULL_EXECUTION (pipeline-x) tells the step's start and failure, and nothing else.
        let events: Vec<&str> = visited(&ex)
            .into_iter()
            .filter(|s| m.step_event(s) && s.starts_with("Step "))
            .collect();
        let wanted = if m.name == "pipeline-x" {
            vec![format!("{step} started"), format!("{step} failed")]
        } else {
            vec![]
        };
        assert_eq!(events, wanted, "{}", m.name);
    }
}

#[test]
fn step_times_out() {
    for m in machines() {
        let Some(step) = m.steps().into_iter().next() else {
            continue;
        };
        let limit = m.step_timeout(&step);
        let slow = json!({&step: {"Return": {}, "Duration": limit + 1.0}});
        let mut mocks = m.mocks(slow);
        let ex = m.run(triggered(), &mut mocks);
        assert_eq!(ex.status, Status::Failed, "{}", m.name);
        assert_eq!(ex.error.as_deref(), Some("States.Timeout"));
        assert_eq!(
            mocks.calls(&step),
            1,
            "States.TaskFailed retriers do not retry a timeout"
        );
        assert!(ex.history.iter().any(|e| e.kind == EventType::TaskTimedOut));
        if m.has_cluster() {
            assert_eq!(mocks.calls("Terminate cluster after failure"), 1);
        }
    }
}

#[test]
fn terminate_failure_after_step_failure_keeps_step_error() {
    for m in machines().into_iter().filter(Machine::has_cluster) {
        let Some(step) = m.steps().into_iter().next() else {
            continue;
        };
        let o = json!({
            &step: {"Throw": {"Error": "States.TaskFailed", "Cause": "step broke"}},
            "Terminate cluster after failure": {"Throw": {"Error": "EMR.AmazonElasticMapReduceException", "Cause": "gone"}}
        });
        let mut mocks = m.mocks(o);
        let ex = m.run(triggered(), &mut mocks);
        assert_eq!(
            (ex.error.as_deref(), ex.cause.as_deref()),
            (Some("States.TaskFailed"), Some("step broke")),
            "{}",
            m.name
        );
        assert_eq!(
            mocks.calls("Terminate cluster after failure"),
            4,
            "3 retries on States.ALL"
        );
    }
}

#[test]
fn history_is_in_time_order_and_linked() {
    for m in machines() {
        let ex = m.run(triggered(), &mut m.mocks(json!({})));
        for (i, e) in ex.history.iter().enumerate() {
            assert_eq!(e.id, i as u64 + 1);
            assert!(e.previous_event_id < e.id);
        }
        assert!(
            ex.history
                .windows(2)
                .all(|w| w.first().map(|a| a.timestamp) <= w.get(1).map(|b| b.timestamp))
        );
        assert_eq!(
            ex.history.first().map(|e| e.kind),
            Some(EventType::ExecutionStarted)
        );
        assert_eq!(ex.history.last().map(|e| e.timestamp), Some(ex.stopped));
    }
}
