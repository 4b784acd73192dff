//! The `dpc-reconciler` function end to end on moto server: executions run by moto's Step
//! Functions (its interpreter, `execute_state_machine`) in the upstream accounts, reached
//! through STS AssumeRole of `dpc-reconciler-read`; a status whose event was never delivered
//! is found, sent to the manager's FIFO queue and turns into the trigger; one that was
//! delivered is not sent again; a second pass sends nothing; an upstream that cannot be read
//! is reported without stopping the others. And a trigger the bus refused beyond its
//! message's retries goes out after the reconciler's reminder.
//!
//! Played by the harness (`common::lambda`), because moto cannot: the schedule that invokes
//! the reconciler (moto fires no schedules), the Lambda Runtime API and execution environment
//! (the REAL `dpc` binary as bootstrap), and the SQS event source mapping of the manager.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::lambda::{
    CASE_STUDY_CENTRAL, Central, Outcome, case_study_template, registration_request,
};
use dpc::manager::Manager;

/// Runs one execution of `dpc-<pipeline>` in `account` to its end in moto's interpreter; its
/// description.
async fn run_execution(
    central: &Central,
    account: &str,
    pipeline: &str,
    name: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let sfn = aws_sdk_sfn::Client::new(&central.moto.sdk_as(account).await);
    let machine = format!("arn:aws:states:eu-west-1:{account}:stateMachine:dpc-{pipeline}");
    if sfn
        .describe_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .is_err()
    {
        sfn.create_state_machine()
            .name(format!("dpc-{pipeline}"))
            .role_arn(format!("arn:aws:iam::{account}:role/dpc-{pipeline}"))
            .definition(r#"{"StartAt": "Work", "States": {"Work": {"Type": "Pass", "End": true}}}"#)
            .send()
            .await
            .expect("state machine");
    }
    let started = sfn
        .start_execution()
        .state_machine_arn(&machine)
        .name(name)
        .input(r#"{"run": {"type": "SCHEDULED"}}"#)
        .send()
        .await
        .expect("execution");
    let waited = Instant::now();
    loop {
        let d = sfn
            .describe_execution()
            .execution_arn(started.execution_arn())
            .send()
            .await
            .expect("describe");
        if d.status().as_str() != "RUNNING" {
            assert_eq!(d.status().as_str(), "SUCCEEDED");
            return d;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "{name} still running"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The status event Step Functions emits for a finished execution.
fn event_of(
    account: &str,
    d: &aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput,
) -> Value {
    json!({
        "source": "aws.states", "detail-type": "Step Functions Execution Status Change",
        "account": account, "region": "eu-west-1", "resources": [d.execution_arn()],
        "detail": {
            "executionArn": d.execution_arn(), "stateMachineArn": d.state_machine_arn(),
            "name": d.name(), "status": d.status().as_str(),
            "startDate": d.start_date().to_millis().expect("ms"),
            "stopDate": d.stop_date().map(|t| t.to_millis().expect("ms")),
            "input": d.input(), "redriveCount": 0,
        }
    })
}

fn register(central: &Central, properties: &Value) {
    let home = dpc::lambda::registration::Home {
        account: CASE_STUDY_CENTRAL.into(),
        region: "eu-west-1".into(),
    };
    let reg = dpc::lambda::registration::registration(properties, &home).expect("registration");
    tokio::task::block_in_place(|| {
        Manager::new(central.store())
            .register(&reg, 0)
            .expect("register");
    });
}

fn pass(function: &mut crate::common::lambda::Function) -> Value {
    let scheduled = json!({
        "version": "0", "id": "tick", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": CASE_STUDY_CENTRAL, "region": "eu-west-1", "resources": [], "detail": {},
    });
    match function.invoke(&scheduled) {
        Outcome::Response(v) => v,
        other => panic!("{other:?}\n{}", function.stderr()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciler_finds_a_status_never_delivered() {
    let central = Central::start().await;
    let config = json!({"stepfunctions": {"execute_state_machine": true}}).to_string();
    let url = format!("{}/moto-api/config", central.moto.url);
    let (status, _) = dpc::lambda::http::send("POST", &url, &[], config.into_bytes())
        .await
        .expect("moto config");
    assert!((200..300).contains(&status), "moto-api/config: {status}");

    let dir = tempfile::tempdir().expect("tempdir");
    let template = case_study_template(dir.path(), "pipeline-x");
    register(
        &central,
        &registration_request(&template, "Create", "333333333333", "")["ResourceProperties"],
    );
    // A pipeline waiting on a state machine that does not exist in its account.
    let ghost = json!({"account": [CASE_STUDY_CENTRAL], "detail": {
        "target": {"account": ["555555555555"], "region": ["eu-west-1"], "pipeline": ["watcher"]},
        "upstreams": {"444444444444": {"eu-west-1": {"ghost": {"status": ["SUCCEEDED"]}}}},
    }});
    register(
        &central,
        &json!({
            "Pipeline": "watcher", "Account": "555555555555", "Region": "eu-west-1",
            "TriggerPattern": ghost.to_string(),
        }),
    );

    let listings = run_execution(&central, "111111111111", "listings", "l-1").await;
    let searches = run_execution(&central, "222222222222", "searches", "s-1").await;
    // Only searches' event is delivered; listings' is lost on the way.
    central.put(&[event_of("222222222222", &searches)]).await;
    let mut manager = central.function("dpc-manager");
    let mapping = central.mapping().await;
    mapping.drain(&mut manager, 10).await;
    assert!(central.triggers().await.is_empty());

    let mut reconciler = central.function("dpc-reconciler");
    let first = pass(&mut reconciler);
    assert_eq!(first["sent"], 1, "{first:#}");
    let sent = first["stateMachines"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["executions"].as_array().cloned().unwrap_or_default())
        .collect::<Vec<_>>();
    assert_eq!(
        sent,
        [json!(format!("{} SUCCEEDED", listings.execution_arn()))]
    );
    let failures = first["failures"].as_array().cloned().unwrap_or_default();
    assert_eq!(failures.len(), 1, "{first:#}");
    assert_eq!(failures[0]["account"], "444444444444");
    assert!(
        failures[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("ListExecutions")),
        "{first:#}"
    );

    let polls = mapping.drain(&mut manager, 10).await;
    assert_eq!(polls.iter().map(|p| p.received.len()).sum::<usize>(), 1);
    let triggers = central.triggers().await;
    assert_eq!(triggers.len(), 1, "{triggers:#?}");
    let upstreams = &triggers[0]["detail"]["upstreams"];
    assert_eq!(
        upstreams["111111111111"]["eu-west-1"]["listings"]["executionArn"],
        listings.execution_arn()
    );

    // The next pass finds nothing new (watermark and run log).
    let second = pass(&mut reconciler);
    assert_eq!(second["sent"], 0, "{second:#}");
    assert!(mapping.receive().await.is_empty());
}

/// A trigger the bus refused for longer than its message was retried stays in the outbox
/// (its message, already recorded, went to the dead-letter queue); the reconciler's next pass
/// reminds the manager, which sends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_the_bus_refused_is_sent_after_the_reconcilers_reminder() {
    let central = Central::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let template = case_study_template(dir.path(), "pipeline-x");
    register(
        &central,
        &registration_request(&template, "Create", "333333333333", "")["ResourceProperties"],
    );
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let status = crate::common::lambda::status_event;
    central
        .put(&[
            status(
                "111111111111",
                "listings",
                "l-1",
                "SUCCEEDED",
                t - 60_000,
                Some(t - 1_000),
            ),
            status(
                "222222222222",
                "searches",
                "s-1",
                "SUCCEEDED",
                t - 50_000,
                Some(t - 500),
            ),
        ])
        .await;
    // The bus is not there (a broken deployment): every PutEvents fails.
    let mut env = central.env();
    for (k, v) in &mut env {
        if k == "DPC_CENTRAL_BUS_ARN" {
            *v = format!("arn:aws:events:eu-west-1:{CASE_STUDY_CENTRAL}:event-bus/gone");
        }
    }
    let mut manager =
        crate::common::lambda::Function::start_in("dpc-manager", env, CASE_STUDY_CENTRAL);
    let mapping = central.mapping().await;
    mapping.drain(&mut manager, 10).await;
    let dead = central.take(&central.dlq_url).await;
    assert_eq!(
        dead.len(),
        1,
        "searches' message, recorded but its trigger unsent: {dead:#?}"
    );
    let waiting =
        tokio::task::block_in_place(|| Manager::new(central.store()).outbox().expect("outbox"));
    assert_eq!(waiting.len(), 1);
    assert!(central.triggers().await.is_empty());

    // Repaired; nothing else arrives, but the reconciler's pass reminds the manager.
    drop(manager);
    let mut manager = central.function("dpc-manager");
    let mut reconciler = central.function("dpc-reconciler");
    let summary = pass(&mut reconciler);
    let polls = mapping.drain(&mut manager, 10).await;
    assert_eq!(polls.len(), 1, "{summary:#}\n{polls:#?}");
    let triggers = central.triggers().await;
    assert_eq!(triggers.len(), 1, "{triggers:#?}");
    assert_eq!(triggers[0]["detail"]["triggerId"], waiting[0].id.as_str());
    let waiting =
        tokio::task::block_in_place(|| Manager::new(central.store()).outbox().expect("outbox"));
    assert!(waiting.is_empty());
}
