//! The `dpc-reconciler` function end to end on moto server: executions run by moto's Step
//! Functions (its interpreter, `execute_state_machine`) in the upstream accounts, reached
//! through STS AssumeRole of `dpc-reconciler-read`; a status whose event was never delivered
//! is found, sent to the manager's FIFO queue and turns into the trigger; one that was
//! delivered is not sent again; a second pass sends nothing; an upstream that cannot be read
//! is reported without stopping the others. And a trigger the bus refused beyond its
//! message's retries goes out after the reconciler's reminder. A missed SLA is raised by a
//! pass once, and the manager puts its `dpc SLA Missed` event on the central bus.
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
    // The SLA (09:00 Europe/Berlin) is checked against the real clock: left out here, so these
    // passes do not depend on the time of day (tested in `sla_missed_…` below).
    let mut properties = properties.clone();
    if let Some(p) = properties.as_object_mut() {
        p.remove("Sla");
        p.remove("SlaTimezone");
    }
    let properties = &properties;
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

/// An SLA a few minutes past (UTC, from the real clock, as the function reads it): the pass
/// claims it once and reminds the manager, whose invocation puts the `dpc SLA Missed` event,
/// naming both upstreams as what pipeline-x waits for, on the central bus; the next pass
/// raises nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_missed_is_raised_once_and_put_on_the_central_bus() {
    use chrono::Timelike;
    let now = chrono::Utc::now();
    let minute = now.hour() * 60 + now.minute();
    if !(5..23 * 60 + 55).contains(&minute) {
        eprintln!("skipped: too close to midnight UTC for a deadline earlier today");
        return;
    }
    let central = Central::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let template = case_study_template(dir.path(), "pipeline-x");
    let mut properties =
        registration_request(&template, "Create", "333333333333", "")["ResourceProperties"].clone();
    let due = minute - 3;
    properties["Sla"] = json!(format!("{:02}:{:02}", due / 60, due % 60));
    if let Some(p) = properties.as_object_mut() {
        p.remove("SlaTimezone");
    }
    let home = dpc::lambda::registration::Home {
        account: CASE_STUDY_CENTRAL.into(),
        region: "eu-west-1".into(),
    };
    let reg = dpc::lambda::registration::registration(&properties, &home).expect("registration");
    tokio::task::block_in_place(|| {
        Manager::new(central.store())
            .register(&reg, 0)
            .expect("register");
    });
    // A probe of SLA events on the central bus.
    let sqs = aws_sdk_sqs::Client::new(&central.sdk);
    let url = sqs
        .create_queue()
        .queue_name("sla-probe")
        .send()
        .await
        .expect("queue")
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let arn = format!("arn:aws:sqs:eu-west-1:{CASE_STUDY_CENTRAL}:sla-probe");
    let events = aws_sdk_eventbridge::Client::new(&central.sdk);
    let bus = dpc::deploy::central_stack::BUS;
    let pattern =
        json!({"source": [dpc::events::SLA_SOURCE], "detail-type": [dpc::events::SLA_DETAIL_TYPE]});
    events
        .put_rule()
        .name("sla-probe")
        .event_bus_name(bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .expect("rule");
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("probe")
        .arn(arn)
        .build()
        .expect("target");
    events
        .put_targets()
        .rule("sla-probe")
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .expect("targets");

    let mut reconciler = central.function("dpc-reconciler");
    let first = pass(&mut reconciler);
    let today = now.format("%Y-%m-%d").to_string();
    assert_eq!(
        first["slaMissed"],
        json!([format!("sla:333333333333/eu-west-1/pipeline-x:{today}")]),
        "{first:#}"
    );
    let mut manager = central.function("dpc-manager");
    let mapping = central.mapping().await;
    let polls = mapping.drain(&mut manager, 10).await;
    assert_eq!(polls.len(), 1, "the reminder: {polls:#?}");
    let alerts = central.take(&url).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let detail = &alerts[0]["detail"];
    let message = detail["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!(
            "pipeline-x has not succeeded by {:02}:{:02} UTC: waiting on listings (111111111111), which has not run since",
            due / 60,
            due % 60
        )) && message.contains("searches (222222222222)"),
        "{message}"
    );
    assert!(central.triggers().await.is_empty());

    let second = pass(&mut reconciler);
    assert_eq!(second["slaMissed"], json!([]), "{second:#}");
    assert!(mapping.receive().await.is_empty());
}
