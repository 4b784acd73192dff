//! Reads machines whose tasks fail; checks error matching (States.ALL, States.TaskFailed, terminal errors), Retry timing, Catch, task timeouts and heartbeats, and execution limits.

use dpc::asl::{
    Definition, EventType, Execution, MockHandler, Options, Status, TaskCall, TaskOutcome, run,
};
use serde_json::{Value, json};

use super::{def, merged, opts, scheduled_at};

/// Task `T` with `extra` fields, and Passes `Z` and `Y` as catch targets (kept reachable by a Choice `S` first).
fn machine(extra: Value) -> Definition {
    let t = merged(
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}),
        extra,
    );
    let never = |n: &str| json!({"Variable": "$.never", "IsPresent": true, "Next": n});
    def(json!({"StartAt": "S", "States": {
        "S": {"Type": "Choice", "Choices": [never("Z"), never("Y")], "Default": "T"},
        "T": t, "Z": {"Type": "Pass", "End": true}, "Y": {"Type": "Pass", "End": true}}}))
}

/// Runs with a handler that returns `outcomes` in turn (the last repeats).
fn run_seq(d: &Definition, outcomes: Vec<TaskOutcome>, o: &Options) -> Execution {
    let mut i = 0;
    let mut h = move |_: &TaskCall<'_>| {
        let r = outcomes
            .get(i)
            .or(outcomes.last())
            .cloned()
            .unwrap_or_else(|| TaskOutcome::ok(json!(null)));
        i += 1;
        r
    };
    run(d, json!({"in": 1}), o, &mut h)
}

fn err(e: &str) -> TaskOutcome {
    TaskOutcome::err(e, format!("{e} happened"))
}

#[test]
fn retry_interval_and_backoff() {
    let d = machine(
        json!({"Retry": [{"ErrorEquals": ["States.Timeout", "Boom"], "IntervalSeconds": 3, "MaxAttempts": 3, "BackoffRate": 1.5}]}),
    );
    let ex = run_seq(
        &d,
        vec![
            err("Boom"),
            err("Boom"),
            err("Boom"),
            TaskOutcome::ok(json!("ok")),
        ],
        &opts(),
    );
    assert_eq!(ex.status, Status::Succeeded);
    assert_eq!(scheduled_at(&ex), vec![0.0, 3.0, 7.5, 14.25]);
    assert_eq!(ex.transitions, 5, "two states entered plus three retries");
}

#[test]
fn retry_defaults() {
    let d = machine(json!({"Retry": [{"ErrorEquals": ["Boom"]}]}));
    let ex = run_seq(&d, vec![err("Boom")], &opts());
    assert_eq!(ex.status, Status::Failed);
    assert_eq!(
        scheduled_at(&ex),
        vec![0.0, 1.0, 3.0, 7.0],
        "IntervalSeconds 1, BackoffRate 2, MaxAttempts 3"
    );
}

#[test]
fn max_delay_caps_backoff() {
    let d = machine(
        json!({"Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 10, "BackoffRate": 10, "MaxAttempts": 3, "MaxDelaySeconds": 50}]}),
    );
    let ex = run_seq(&d, vec![err("Boom")], &opts());
    assert_eq!(scheduled_at(&ex), vec![0.0, 10.0, 60.0, 110.0]);
}

#[test]
fn full_jitter_is_seeded_and_bounded() {
    let d = machine(
        json!({"Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 100, "BackoffRate": 1, "MaxAttempts": 5, "JitterStrategy": "FULL"}]}),
    );
    let a = scheduled_at(&run_seq(&d, vec![err("Boom")], &opts()));
    let b = scheduled_at(&run_seq(&d, vec![err("Boom")], &opts()));
    let c = scheduled_at(&run_seq(
        &d,
        vec![err("Boom")],
        &Options { seed: 7, ..opts() },
    ));
    assert_eq!(a, b, "same seed, same delays");
    assert_ne!(a, c, "another seed, other delays");
    for w in a.windows(2) {
        let gap = w.get(1).copied().unwrap_or(0.0) - w.first().copied().unwrap_or(0.0);
        assert!((0.0..=100.0).contains(&gap), "{gap}");
    }
    assert_eq!(a.len(), 6);
}

#[test]
fn max_attempts_zero_never_retries() {
    let d = machine(
        json!({"Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 0}], "Catch": [{"ErrorEquals": ["Boom"], "Next": "Z"}]}),
    );
    let ex = run_seq(&d, vec![err("Boom"), TaskOutcome::ok(json!(1))], &opts());
    assert_eq!(ex.status, Status::Succeeded);
    assert_eq!(scheduled_at(&ex), vec![0.0]);
    assert_eq!(
        ex.output,
        Some(json!({"Error": "Boom", "Cause": "Boom happened"})),
        "Catch ResultPath defaults to $"
    );
}

#[test]
fn complex_retry_scenario_from_the_guide() {
    let d = machine(json!({
        "Retry": [{"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 2},
                  {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}]
    }));
    let ex = run_seq(
        &d,
        vec![
            err("ErrorA"),
            err("ErrorB"),
            err("ErrorC"),
            err("ErrorB"),
            err("ErrorB"),
        ],
        &opts(),
    );
    assert_eq!(ex.status, Status::Succeeded);
    assert_eq!(
        scheduled_at(&ex),
        vec![0.0, 1.0, 3.0, 8.0],
        "waits of 1, 2, 5 then the first retrier is spent"
    );
    assert_eq!(ex.output.map(|o| o["Error"].clone()), Some(json!("ErrorB")));
}

#[test]
fn first_matching_retrier_wins() {
    let d = machine(
        json!({"Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}]}),
    );
    let ex = run_seq(&d, vec![err("Boom")], &opts());
    assert_eq!(
        scheduled_at(&ex).len(),
        1,
        "the spent first retrier does not fall through to States.ALL"
    );
}

#[test]
fn catch_with_result_path_keeps_input() {
    let d = machine(
        json!({"Catch": [{"ErrorEquals": ["Boom"], "ResultPath": "$.error", "Next": "Z"}]}),
    );
    let ex = run_seq(&d, vec![err("Boom")], &opts());
    assert_eq!(
        ex.output,
        Some(json!({"in": 1, "error": {"Error": "Boom", "Cause": "Boom happened"}}))
    );
}

#[test]
fn first_matching_catcher_wins() {
    let d = machine(
        json!({"Catch": [{"ErrorEquals": ["Other"], "Next": "Y"}, {"ErrorEquals": ["Boom"], "Next": "Z"}, {"ErrorEquals": ["States.ALL"], "Next": "Y"}]}),
    );
    let ex = run_seq(&d, vec![err("Boom")], &opts());
    assert_eq!(ex.trace.last().map(|s| s.state.as_str()), Some("Z"));
}

#[test]
fn task_failed_matches_task_errors_but_not_timeout() {
    let d = machine(
        json!({"TimeoutSeconds": 5, "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Y"}, {"ErrorEquals": ["States.ALL"], "Next": "Z"}]}),
    );
    let ex = run_seq(&d, vec![err("Lambda.Unknown")], &opts());
    assert_eq!(ex.trace.last().map(|s| s.state.as_str()), Some("Y"));
    let slow = TaskOutcome::Ok {
        output: json!(1),
        duration: 10.0,
        heartbeats: vec![],
    };
    let ex = run_seq(&d, vec![slow], &opts());
    assert_eq!(ex.trace.last().map(|s| s.state.as_str()), Some("Z"));
    assert_eq!(
        ex.output.map(|o| o["Error"].clone()),
        Some(json!("States.Timeout"))
    );
}

#[test]
fn runtime_errors_are_neither_retried_nor_caught() {
    let d = machine(json!({
        "Parameters": {"x.$": "$.missing"},
        "Retry": [{"ErrorEquals": ["States.ALL"]}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}]
    }));
    let ex = run_seq(&d, vec![TaskOutcome::ok(json!(1))], &opts());
    assert_eq!(ex.status, Status::Failed);
    assert_eq!(ex.error.as_deref(), Some("States.Runtime"));
    assert_eq!(ex.transitions, 2);
}

#[test]
fn task_timeout() {
    let d = machine(json!({"TimeoutSeconds": 60}));
    let ex = run_seq(
        &d,
        vec![TaskOutcome::Ok {
            output: json!(1),
            duration: 61.0,
            heartbeats: vec![],
        }],
        &opts(),
    );
    assert_eq!(
        (ex.status, ex.error.as_deref()),
        (Status::Failed, Some("States.Timeout"))
    );
    assert_eq!((ex.stopped - ex.started).num_seconds(), 60);
    assert!(ex.history.iter().any(|e| e.kind == EventType::TaskTimedOut));
    let ex = run_seq(
        &d,
        vec![TaskOutcome::Ok {
            output: json!(1),
            duration: 60.0,
            heartbeats: vec![],
        }],
        &opts(),
    );
    assert_eq!(
        ex.status,
        Status::Succeeded,
        "exactly TimeoutSeconds is in time"
    );
}

#[test]
fn task_timeout_path_and_failing_slow_task() {
    let d = machine(json!({"TimeoutSecondsPath": "$.t"}));
    let slow_fail = TaskOutcome::Err {
        error: "Boom".into(),
        cause: "late".into(),
        duration: 20.0,
    };
    let mut i = 0;
    let mut h = |c: &TaskCall<'_>| {
        i += 1;
        assert_eq!(c.timeout_seconds, 10);
        slow_fail.clone()
    };
    let ex = run(&d, json!({"t": 10}), &opts(), &mut h);
    assert_eq!(ex.error.as_deref(), Some("States.Timeout"));
    assert_eq!(i, 1);
}

#[test]
fn heartbeats() {
    let d = machine(json!({"TimeoutSeconds": 100, "HeartbeatSeconds": 10}));
    let ok = TaskOutcome::Ok {
        output: json!(1),
        duration: 30.0,
        heartbeats: vec![8.0, 16.0, 24.0],
    };
    assert_eq!(run_seq(&d, vec![ok], &opts()).status, Status::Succeeded);
    let late = TaskOutcome::Ok {
        output: json!(1),
        duration: 30.0,
        heartbeats: vec![5.0, 14.0],
    };
    let ex = run_seq(&d, vec![late], &opts());
    assert_eq!(ex.error.as_deref(), Some("States.HeartbeatTimeout"));
    assert_eq!((ex.stopped - ex.started).num_seconds(), 24);
    let d = machine(
        json!({"HeartbeatSeconds": 10, "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Z"}]}),
    );
    let none = TaskOutcome::Ok {
        output: json!(1),
        duration: 11.0,
        heartbeats: vec![],
    };
    let ex = run_seq(&d, vec![none], &opts());
    assert_eq!(
        ex.status,
        Status::Succeeded,
        "TaskFailed matches States.HeartbeatTimeout"
    );
}

#[test]
fn execution_timeout() {
    let d = def(
        json!({"TimeoutSeconds": 50, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "Next": "P"}, "P": {"Type": "Pass", "End": true}}}),
    );
    let ex = run(&d, json!({}), &opts(), &mut MockHandler::default());
    assert_eq!(ex.status, Status::TimedOut);
    assert_eq!((ex.stopped - ex.started).num_seconds(), 50);
    assert_eq!(
        ex.history.last().map(|e| e.kind),
        Some(EventType::ExecutionTimedOut)
    );
    assert!(ex.history.iter().all(|e| e.timestamp <= ex.stopped));
}

#[test]
fn infinite_loop_is_aborted() {
    let exit = |from: &str| json!({"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}], "Default": from});
    let d = def(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": exit("A"), "Done": {"Type": "Succeed"}}}),
    );
    let ex = run(
        &d,
        json!({}),
        &Options {
            max_transitions: 1000,
            ..opts()
        },
        &mut MockHandler::default(),
    );
    assert_eq!(ex.status, Status::Aborted);
    assert_eq!(ex.error.as_deref(), Some("dpc.TransitionLimit"));
    assert_eq!(
        ex.history.last().map(|e| e.kind),
        Some(EventType::ExecutionAborted)
    );
    let d = def(
        json!({"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 60, "Next": "B"}, "B": exit("A"), "Done": {"Type": "Succeed"}}}),
    );
    let ex = run(
        &d,
        json!({}),
        &Options {
            max_duration_seconds: Some(3600.0),
            ..opts()
        },
        &mut MockHandler::default(),
    );
    assert_eq!(
        (ex.status, ex.error.as_deref()),
        (Status::Aborted, Some("dpc.DurationLimit"))
    );
}

#[test]
fn no_handler_names_the_resource() {
    let d = machine(json!({}));
    let ex = run(&d, json!({}), &opts(), &mut MockHandler::default());
    assert_eq!(ex.error.as_deref(), Some("dpc.NoHandler"));
    assert_eq!(
        ex.cause.as_deref(),
        Some("no handler for arn:aws:states:::lambda:invoke (state 'T'); give one with --mock")
    );
}

#[test]
fn fail_in_branch_is_caught_by_parallel() {
    let d = def(json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "BranchBoom", "Cause": "c"}}}],
              "Catch": [{"ErrorEquals": ["BranchBoom"], "ResultPath": "$.e", "Next": "Z"}], "End": true},
        "Z": {"Type": "Pass", "End": true}}}));
    let ex = run(&d, json!({}), &opts(), &mut MockHandler::default());
    assert_eq!(
        ex.output,
        Some(json!({"e": {"Error": "BranchBoom", "Cause": "c"}}))
    );
}

#[test]
fn parallel_retry() {
    let d = def(json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Branches": [{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}],
              "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 2}], "End": true}}}));
    let ex = run_seq(&d, vec![err("Boom"), TaskOutcome::ok(json!("x"))], &opts());
    assert_eq!(ex.output, Some(json!(["x"])));
    assert_eq!(scheduled_at(&ex), vec![0.0, 2.0]);
}
