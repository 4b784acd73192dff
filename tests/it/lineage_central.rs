//! The central account's OpenLineage emitter: the `dpc setup-central-account` template has
//! the `dpc-lineage` function and its queue and rule, fed only when the `LineageUrl`
//! parameter (dpc.yaml's http endpoint or `--lineage-url`) is set, and passes cfn-lint (its
//! value kept by later runs: `aws_setup_central_account`); the function end to end on moto: status
//! changes put on the central bus reach its queue through a rule (moto's EventBridge and SQS),
//! and the REAL `dpc` binary, run as the function's `bootstrap`, reads the pipeline's
//! registration from the manager's table (moto) and posts each run's events to an endpoint on
//! 127.0.0.1, which fails some posts; every event it accepted validates against the schemas.
//!
//! Played by the harness (`common::lambda`), because moto cannot: the Lambda Runtime API and
//! the bootstrap process, and the SQS event source mapping.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::lambda::{CASE_STUDY_CENTRAL, Central, EventSourceMapping, Function, new_queue};
use crate::common::{Run, dpc};
use crate::lineage_openlineage::{Endpoint, validate_all};
use dpc::deploy::central_stack as cs;
use dpc::lineage::openlineage::run_id;

const ACCOUNT: &str = "333333333333";
const T0: i64 = 1_767_261_600_000; // 2026-01-01T10:00:00Z

fn print_template(dir: &Path, extra: &[&str]) -> Run {
    dpc([
        "setup-central-account",
        "--print-template",
        "--account",
        "111111111111",
        "--config-dir",
    ])
    .arg(dir)
    .args(extra)
    .env_remove("AWS_ENDPOINT_URL")
    .run()
}

fn lineage_resources(template: &Value) -> Vec<String> {
    template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .filter(|k| k.starts_with("Lineage"))
        .collect()
}

#[test]
fn the_lineage_endpoint_is_a_stack_parameter_feeding_the_function() {
    let dir = tempfile::tempdir().expect("tmp");
    let plain = print_template(dir.path(), &[]);
    plain.assert_code(0);
    let template = plain.json();
    assert_eq!(
        lineage_resources(&template),
        [
            "LineageDeadLetterAlarm",
            "LineageDeadLetterQueue",
            "LineageEventSource",
            "LineageFunction",
            "LineageFunctionLogGroup",
            "LineageFunctionRole",
            "LineageQueue",
            "LineageQueuePolicy",
            "LineageRule",
        ]
    );
    let parameter = &template["Parameters"][cs::LINEAGE_URL_PARAMETER];
    assert_eq!(parameter["Default"], "");
    assert!(
        parameter["Description"]
            .as_str()
            .is_some_and(|d| d.contains("OpenLineage")),
        "{parameter}"
    );
    let r = &template["Resources"];
    // The feed needs the code and an endpoint; the function comes with the code.
    for id in [
        "LineageDeadLetterAlarm",
        "LineageDeadLetterQueue",
        "LineageEventSource",
        "LineageQueue",
        "LineageQueuePolicy",
        "LineageRule",
    ] {
        assert_eq!(r[id]["Condition"], cs::HAS_LINEAGE, "{id}");
    }
    assert_eq!(r["LineageFunction"]["Condition"], cs::HAS_CODE);
    assert_eq!(r["LineageFunction"]["Properties"]["Handler"], "dpc-lineage");
    assert_eq!(
        r["LineageFunction"]["Properties"]["Environment"]["Variables"]["DPC_LINEAGE_URL"],
        json!({"Ref": cs::LINEAGE_URL_PARAMETER})
    );
    assert_eq!(
        r["LineageRule"]["Properties"]["EventPattern"],
        cs::lineage_pattern()
    );
    // The manager's table is read, never written.
    let statements =
        &r["LineageFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
    let table: Vec<&Value> = statements
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["Action"].to_string().contains("dynamodb"))
        .collect();
    assert_eq!(table.len(), 1);
    assert_eq!(table[0]["Action"], json!(["dynamodb:GetItem"]));
    lint(&template);

    // The endpoint is the parameter's value, given when deploying: --lineage-url and
    // dpc.yaml's http transport print the same template.
    let url = "https://marquez.example.com/api/v1/lineage";
    let with = print_template(dir.path(), &["--lineage-url", url]);
    with.assert_code(0);
    assert_eq!(with.json(), template);
    assert!(!with.stdout().contains(url));
    std::fs::write(
        dir.path().join("dpc.yaml"),
        format!("lineage: {{transport: http, url: \"{url}\"}}\n"),
    )
    .expect("write");
    assert_eq!(print_template(dir.path(), &[]).json(), template);

    let bad = print_template(dir.path(), &["--lineage-url", "marquez:5000"]);
    bad.assert_code(2);
    bad.assert_stderr_contains("--lineage-url marquez:5000: not an http or https URL");
    let both = print_template(dir.path(), &["--lineage-url", url, "--no-lineage"]);
    both.assert_code(2);
    both.assert_stderr_contains("cannot be used with");
}

fn lint(template: &Value) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("central.json");
    std::fs::write(&path, serde_json::to_string_pretty(template).expect("json")).expect("write");
    let output = Command::new("cfn-lint").arg(&path).output().unwrap_or_else(|e| {
        panic!("cfn-lint could not be run ({e}): install it with `pip install cfn-lint` (.ci/run does)")
    });
    assert_eq!(
        output.status.code(),
        Some(0),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A status change of a pipeline-x execution, with the input a trigger gives it.
fn status(execution: &str, status: &str, stopped: Option<i64>) -> Value {
    let arn = format!("arn:aws:states:eu-west-1:{ACCOUNT}:execution:dpc-pipeline-x:{execution}");
    let input = json!({
        "run": {"type": "TRIGGERED", "triggerId": "t-1", "time": "2026-01-01T10:00:00Z"},
        "upstreams": {
            "111111111111": {"eu-west-1": {"listings": {"status": "SUCCEEDED", "executionArn": "arn:aws:states:eu-west-1:111111111111:execution:dpc-listings:l-1", "stopDate": T0 - 1000}}},
            "222222222222": {"eu-west-1": {"searches": {"status": "SUCCEEDED", "executionArn": "arn:aws:states:eu-west-1:222222222222:execution:dpc-searches:s-1", "stopDate": T0 - 500}}},
        },
    });
    json!({
        "version": "0",
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "account": ACCOUNT,
        "region": "eu-west-1",
        "resources": [arn],
        "detail": {
            "executionArn": arn,
            "stateMachineArn": format!("arn:aws:states:eu-west-1:{ACCOUNT}:stateMachine:dpc-pipeline-x"),
            "name": execution,
            "status": status,
            "startDate": T0,
            "stopDate": stopped,
            "input": input.to_string(),
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lineage_function_posts_each_run_event_and_the_queue_retries_what_failed() {
    let central = Central::start().await;
    let sqs = aws_sdk_sqs::Client::new(&central.sdk);
    let (queue_url, queue_arn) = new_queue(&sqs, cs::LINEAGE_QUEUE).await;
    // The deployed rule's pattern also pins `dpc-*` state machines with a wildcard, which
    // moto's EventBridge does not evaluate; the function ignores other state machines itself.
    let events = aws_sdk_eventbridge::Client::new(&central.sdk);
    events
        .put_rule()
        .name(cs::LINEAGE_RULE)
        .event_bus_name(cs::BUS)
        .event_pattern(json!({"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"]}).to_string())
        .send()
        .await
        .expect("rule");
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("lineage-queue")
        .arn(&queue_arn)
        .build()
        .expect("target");
    events
        .put_targets()
        .rule(cs::LINEAGE_RULE)
        .event_bus_name(cs::BUS)
        .targets(target)
        .send()
        .await
        .expect("targets");
    let mut reg = crate::common::manager::registration(
        "name: pipeline-x\nteam: t\naccount: \"333333333333\"\ncompute: {type: NONE}\n\
         trigger:\n  executions:\n    allOf:\n      - {name: listings, account: \"111111111111\", status: [SUCCEEDED]}\n      - {name: searches, account: \"222222222222\", status: [SUCCEEDED]}\n\
         publish:\n  dataProducts:\n    - {domain: rent-journey, name: metric-x}\n",
    );
    reg.id.region = "eu-west-1".into();
    let store = central.store();
    tokio::task::block_in_place(|| {
        dpc::manager::Manager::new(store)
            .register(&reg, T0)
            .expect("register")
    });

    let endpoint = Endpoint::start(1);
    let mut env = central.env();
    env.push((
        dpc::lambda::lineage::URL_VAR.to_string(),
        endpoint.url.clone(),
    ));
    let mut function = Function::start_in(cs::LINEAGE_FUNCTION, env, CASE_STUDY_CENTRAL);
    let mapping = EventSourceMapping::new(sqs, &queue_url).await;

    // One status change at a time, as they happen; the first post fails once and is retried
    // by the function itself.
    let mut failed = status("x-1", "FAILED", Some(T0 + 60_000));
    failed["detail"]["error"] = json!("States.TaskFailed");
    failed["detail"]["cause"] = json!("step measure-x exited with 1");
    for event in [status("x-1", "RUNNING", None), failed] {
        central.put(std::slice::from_ref(&event)).await;
        let polls = mapping.drain(&mut function, 5).await;
        assert_eq!(polls.len(), 1, "{polls:#?}");
        assert!(
            polls[0].released.is_empty(),
            "{polls:#?}\n{:#?}",
            function.lines()
        );
    }
    let (calls, posted) = endpoint.posts();
    assert_eq!((calls, posted.len()), (3, 2));
    validate_all(&posted);
    let x1 = run_id(&format!(
        "arn:aws:states:eu-west-1:{ACCOUNT}:execution:dpc-pipeline-x:x-1"
    ));
    assert_eq!(posted[0]["eventType"], "START");
    assert_eq!(posted[1]["eventType"], "FAIL");
    assert!(posted.iter().all(|e| e["run"]["runId"] == json!(x1)));
    assert_eq!(
        posted[0]["job"],
        json!({"namespace": "dpc://333333333333/eu-west-1", "name": "pipeline-x", "facets": posted[0]["job"]["facets"]})
    );
    let deps = &posted[0]["run"]["facets"]["jobDependencies"];
    assert_eq!(deps["trigger_rule"], "ALL_SUCCESS");
    let upstream: Vec<&Value> = deps["upstream"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| &u["run"]["runId"])
        .collect();
    assert_eq!(
        upstream,
        [
            &json!(run_id(
                "arn:aws:states:eu-west-1:111111111111:execution:dpc-listings:l-1"
            )),
            &json!(run_id(
                "arn:aws:states:eu-west-1:222222222222:execution:dpc-searches:s-1"
            )),
        ]
    );
    assert_eq!(
        posted[1]["run"]["facets"]["errorMessage"]["message"],
        "FAILED: States.TaskFailed: step measure-x exited with 1"
    );
    assert_eq!(
        posted[0]["outputs"],
        json!([{"namespace": "dpc://data-product/rent-journey", "name": "metric-x"}])
    );

    // A pipeline the manager does not know is no lineage of dpc's: taken off the queue.
    let mut ghost = status("g-1", "RUNNING", None);
    ghost["detail"]["stateMachineArn"] = json!(format!(
        "arn:aws:states:eu-west-1:{ACCOUNT}:stateMachine:dpc-ghost"
    ));
    central.put(&[ghost]).await;
    let polls = mapping.drain(&mut function, 5).await;
    assert_eq!(polls[0].deleted.len(), 1, "{polls:#?}");
    assert!(function.lines().iter().any(|l| l["result"] == "IGNORED"));

    // An endpoint down for all four tries: the record goes back to the queue, and is posted
    // when the queue delivers it again.
    endpoint.fail_next(4);
    central
        .put(&[status("x-2", "SUCCEEDED", Some(T0 + 90_000))])
        .await;
    let first = mapping.poll(&mut function).await;
    assert_eq!(first.released.len(), 1, "{first:#?}");
    let again = mapping.drain(&mut function, 5).await;
    assert_eq!(again.len(), 1, "{again:#?}");
    assert_eq!(again[0].deleted.len(), 1, "{again:#?}");
    let (_, posted) = endpoint.posts();
    assert_eq!(posted.len(), 3);
    assert_eq!(posted[2]["eventType"], "COMPLETE");
    validate_all(&posted);
}
