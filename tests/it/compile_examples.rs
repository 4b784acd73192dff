//! The compiler on the shipped examples: snapshots of every artifact, byte-identical output on
//! a second run, `cfn-lint` on every template, and the acceptance checks of the case study's
//! trigger patterns (pipeline-x and its fallback).

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use dpc::compile::tree::envs;
use dpc::compile::{self, Compiled, Env};
use dpc::pattern::Pattern;
use dpc::pipeline::load::{Validated as Outcome, validate_tree as collect};
use serde_json::{Value, json};

/// A fixed version, so snapshots do not change with every release.
const VERSION: &str = "0.0.0-test";

fn examples() -> Outcome {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let now = NaiveDate::from_ymd_opt(2026, 11, 21)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("date");
    std::env::set_current_dir(root).expect("cd");
    let outcome = collect(&[PathBuf::from("examples")], now).expect("examples load");
    assert!(outcome.diagnostics.is_empty(), "examples must be valid");
    outcome
}

fn compiled(outcome: &Outcome) -> Vec<(Env<'_>, Compiled)> {
    envs(outcome, VERSION)
        .into_iter()
        .map(|env| {
            let c = compile::compile(&env).unwrap_or_else(|e| panic!("{}: {e}", env.name()));
            (env, c)
        })
        .collect()
}

fn artifacts(env: &Env, c: &Compiled) -> Vec<(&'static str, String)> {
    compile::artifacts(env, c, &|p: &Path| {
        Some(format!("sha256-of-{}", p.display()))
    })
    .files
}

#[test]
fn every_artifact_of_every_example_is_snapshotted() {
    let outcome = examples();
    let all = compiled(&outcome);
    assert_eq!(all.len(), 12);
    for (env, c) in &all {
        for (file, text) in artifacts(env, c) {
            insta::assert_snapshot!(format!("{}__{file}", env.name()), text);
        }
    }
}

#[test]
fn output_is_byte_identical_on_every_run() {
    let outcome = examples();
    let first: Vec<_> = compiled(&outcome)
        .iter()
        .flat_map(|(e, c)| artifacts(e, c))
        .collect();
    let second: Vec<_> = compiled(&outcome)
        .iter()
        .flat_map(|(e, c)| artifacts(e, c))
        .collect();
    assert_eq!(first, second);
}

#[test]
fn every_example_template_passes_cfn_lint() {
    let outcome = examples();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for (env, c) in compiled(&outcome) {
        let path = dir.path().join(format!("{}.json", env.name()));
        std::fs::write(&path, compile::to_pretty(&c.template)).expect("write");
        files.push(path);
    }
    let output = Command::new("cfn-lint")
        .args(&files)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cfn-lint could not be run ({e}): install it with `pip install cfn-lint` (CI does)"
            )
        });
    let report = String::from_utf8_lossy(&output.stdout);
    // cfn-lint exits with a bit mask: 2 = errors, 4 = warnings, 8 = informational.
    let code = output.status.code().unwrap_or(-1);
    assert!(
        code >= 0 && code & 2 == 0 && code & 1 == 0,
        "cfn-lint exit {code}:\n{report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(code, 0, "cfn-lint warnings:\n{report}");
}

fn pattern_of(outcome: &Outcome, name: &str) -> Pattern {
    let env = envs(outcome, VERSION)
        .into_iter()
        .find(|e| e.name() == name)
        .expect("pipeline");
    compile::trigger_pattern::compile(&env)
        .expect("compiles")
        .expect("has a pattern")
        .engine()
        .expect("parses")
}

fn trigger_event(pipeline: &str, upstreams: &[(&str, &str, &str)]) -> String {
    let mut ups = json!({});
    for (account, name, status) in upstreams {
        ups[account] = json!({"eu-west-1": {}});
        ups[account]["eu-west-1"][name] =
            json!({"status": status, "executionArn": "arn:x", "stopDate": 0});
    }
    let event = json!({
        "version": "0", "id": "1", "source": "dpc.trigger-manager", "detail-type": "dpc Pipeline Trigger",
        "account": "999999999999", "time": "2026-11-21T05:30:00Z", "region": "eu-west-1", "resources": [],
        "detail": {
            "target": {"account": "333333333333", "region": "eu-west-1", "pipeline": pipeline},
            "triggerId": "t-1", "upstreams": ups,
        },
    });
    event.to_string()
}

const LISTINGS: &str = "111111111111";
const SEARCHES: &str = "222222222222";

#[test]
fn pipeline_x_runs_only_after_both_upstreams_succeeded() {
    let outcome = examples();
    let p = pattern_of(&outcome, "pipeline-x");
    let matches = |e: String| p.matches_json(&e).expect("event parses");
    let both = [
        (LISTINGS, "listings", "SUCCEEDED"),
        (SEARCHES, "searches", "SUCCEEDED"),
    ];
    assert!(matches(trigger_event("pipeline-x", &both)));
    assert!(
        !matches(trigger_event("pipeline-x", &both[..1])),
        "searches missing"
    );
    assert!(
        !matches(trigger_event("pipeline-x", &both[1..])),
        "listings missing"
    );
    assert!(!matches(trigger_event(
        "pipeline-x",
        &[both[0], (SEARCHES, "searches", "FAILED")]
    )));
    assert!(!matches(trigger_event(
        "pipeline-x",
        &[(LISTINGS, "listings", "FAILED"), both[1]]
    )));
    assert!(
        !matches(trigger_event("pipeline-x-fallback", &both)),
        "another target"
    );
    let mut from_elsewhere: Value =
        serde_json::from_str(&trigger_event("pipeline-x", &both)).expect("json");
    from_elsewhere["account"] = json!("123456789012");
    assert!(
        !matches(from_elsewhere.to_string()),
        "not from the central account"
    );
}

#[test]
fn fallback_runs_when_either_upstream_failed_or_timed_out() {
    let outcome = examples();
    let p = pattern_of(&outcome, "pipeline-x-fallback");
    let matches = |ups: &[(&str, &str, &str)]| {
        p.matches_json(&trigger_event("pipeline-x-fallback", ups))
            .expect("event")
    };
    assert!(matches(&[(LISTINGS, "listings", "FAILED")]));
    assert!(matches(&[(SEARCHES, "searches", "TIMED_OUT")]));
    assert!(matches(&[
        (LISTINGS, "listings", "SUCCEEDED"),
        (SEARCHES, "searches", "FAILED")
    ]));
    assert!(!matches(&[
        (LISTINGS, "listings", "SUCCEEDED"),
        (SEARCHES, "searches", "SUCCEEDED")
    ]));
    assert!(!matches(&[(LISTINGS, "listings", "ABORTED")]));
    assert!(!matches(&[]));
    assert_eq!(p.combinations(), 2);
}

#[test]
fn every_example_pattern_is_within_the_limits() {
    let outcome = examples();
    for (env, c) in compiled(&outcome) {
        if let Some(p) = &c.pattern {
            assert!(
                p.length <= 2048 && p.combinations <= 1000,
                "{}: {} chars, {} combinations",
                env.name(),
                p.length,
                p.combinations
            );
        }
    }
}
