//! The `dpc-manager` function end to end on moto server: status events put on the central
//! bus reach the FIFO queue through the manager rule (moto's EventBridge and SQS), and the
//! REAL `dpc` binary, run as the function's `bootstrap`, decides on the DynamoDB table (moto)
//! and puts the triggers on the central bus, where a probe rule collects them.
//!
//! Played by the harness (`common::lambda`), because moto cannot: the Lambda Runtime API and
//! execution environment (the bootstrap process), and the SQS event source mapping (receive
//! up to 10, invoke, delete the successes, release the failures with visibility 0 so that
//! moto's redrive policy moves a message to the dead-letter queue after `maxReceiveCount`).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::lambda::{
    CASE_STUDY_CENTRAL, Central, Outcome, case_study_template, registration_request, status_event,
};
use dpc::manager::Manager;

/// Registers the case study's pipeline-x (allOf listings, searches) from its synthesized
/// template, the way the registration function reads it.
fn register_pipeline_x(central: &Central, dir: &std::path::Path) {
    let template = case_study_template(dir, "pipeline-x");
    let request = registration_request(&template, "Create", "333333333333", "http://127.0.0.1:1/");
    let home = dpc::lambda::registration::Home {
        account: CASE_STUDY_CENTRAL.into(),
        region: "eu-west-1".into(),
    };
    let reg = dpc::lambda::registration::registration(&request["ResourceProperties"], &home)
        .expect("registration");
    tokio::task::block_in_place(|| {
        Manager::new(central.store())
            .register(&reg, now())
            .expect("register");
    });
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn for_pipeline<'a>(triggers: &'a [Value], name: &str) -> Vec<&'a Value> {
    triggers
        .iter()
        .filter(|t| t["detail"]["target"]["pipeline"] == name)
        .collect()
}

fn dispositions(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l["disposition"].as_str().map(String::from))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_leaves_give_exactly_one_trigger_and_duplicates_none() {
    let central = Central::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    register_pipeline_x(&central, dir.path());
    let t = now();
    let listings = status_event(
        "111111111111",
        "listings",
        "l-1",
        "SUCCEEDED",
        t - 60_000,
        Some(t - 1_000),
    );
    let searches = status_event(
        "222222222222",
        "searches",
        "s-1",
        "SUCCEEDED",
        t - 50_000,
        Some(t - 500),
    );
    // listings delivered twice (EventBridge is at-least-once: two events, two messages).
    central
        .put(&[listings.clone(), listings, searches.clone()])
        .await;

    let mut function = central.function("dpc-manager");
    let init = function
        .init_duration(Duration::from_secs(60))
        .unwrap_or_else(|| {
            panic!(
                "the bootstrap did not ask for work:\n{}\n{}",
                function.stdout().join("\n"),
                function.stderr()
            )
        });
    let mapping = central.mapping().await;
    let first = Instant::now();
    let polls = mapping.drain(&mut function, 10).await;
    let first_invocation = first.elapsed();
    let received: usize = polls.iter().map(|p| p.received.len()).sum();
    assert_eq!(received, 3, "{polls:#?}");
    assert!(polls.iter().all(|p| p.released.is_empty()), "{polls:#?}");

    let triggers = central.triggers().await;
    let x = for_pipeline(&triggers, "pipeline-x");
    assert_eq!(
        x.len(),
        1,
        "{triggers:#?}\n{}",
        function.stdout().join("\n")
    );
    assert_eq!(x[0]["source"], "dpc.trigger-manager");
    assert_eq!(x[0]["detail"]["target"]["account"], "333333333333");
    let upstreams = &x[0]["detail"]["upstreams"];
    assert_eq!(
        upstreams["111111111111"]["eu-west-1"]["listings"]["status"],
        "SUCCEEDED"
    );
    assert_eq!(
        upstreams["222222222222"]["eu-west-1"]["searches"]["status"],
        "SUCCEEDED"
    );
    let lines = function.lines();
    assert_eq!(
        dispositions(&lines),
        ["RECORDED", "DUPLICATE", "RECORDED"],
        "{lines:#?}"
    );

    // Delivered again (a redrive of the whole queue): nothing new.
    central.put(&[searches]).await;
    mapping.drain(&mut function, 10).await;
    assert!(for_pipeline(&central.triggers().await, "pipeline-x").is_empty());
    assert_eq!(
        dispositions(&function.lines()).last().map(String::as_str),
        Some("DUPLICATE")
    );

    // What each event cost (the first record's figures include the batch's opening outbox
    // check): printed for README's cost figures.
    let per_event: Vec<String> = lines
        .iter()
        .filter(|l| l.get("disposition").is_some())
        .map(|l| {
            let c = &l["calls"];
            format!(
                "{} ({} trigger(s)): {} DynamoDB read(s), {} write(s) of {} item(s), {} PutEvents",
                l["disposition"].as_str().unwrap_or_default(),
                l["triggers"].as_array().map_or(0, Vec::len),
                c["dynamodbReads"],
                c["dynamodbWrites"],
                c["itemsWritten"],
                c["putEvents"],
            )
        })
        .collect();
    eprintln!(
        "dpc-manager: init {init:?} (spawn to the first /next), first batch of 3 events {first_invocation:?} (receive to settled)\n  {}",
        per_event.join("\n  ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_goes_to_the_dead_letter_queue_and_the_others_proceed() {
    let central = Central::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    register_pipeline_x(&central, dir.path());
    let t = now();
    // DynamoDB refuses a sort key over 1,024 bytes: this execution can never be recorded.
    let poison = status_event(
        "111111111111",
        "listings",
        &"p".repeat(1_100),
        "SUCCEEDED",
        t - 70_000,
        Some(t - 2_000),
    );
    let listings = status_event(
        "111111111111",
        "listings",
        "l-1",
        "SUCCEEDED",
        t - 60_000,
        Some(t - 1_000),
    );
    let searches = status_event(
        "222222222222",
        "searches",
        "s-1",
        "SUCCEEDED",
        t - 50_000,
        Some(t - 500),
    );
    central.put(&[poison, listings, searches]).await;

    let mut function = central.function("dpc-manager");
    let mapping = central.mapping().await;
    let polls = mapping.drain(&mut function, 20).await;
    let max = dpc::deploy::central_stack::MAX_RECEIVES as usize;
    assert_eq!(polls.len(), max, "{polls:#?}");
    // Held back behind the poison (FIFO order) until its last receive, then processed.
    for p in &polls[..max - 1] {
        assert_eq!(p.released.len(), 3, "{p:#?}");
    }
    assert_eq!(polls[max - 1].released.len(), 1);
    assert_eq!(polls[max - 1].deleted.len(), 2);

    let dead = central.take(&central.dlq_url).await;
    assert_eq!(dead.len(), 1, "{dead:#?}");
    assert!(
        dead[0]["detail"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("ppp"))
    );
    let triggers = central.triggers().await;
    assert_eq!(
        for_pipeline(&triggers, "pipeline-x").len(),
        1,
        "{triggers:#?}"
    );
    let failed: Vec<Value> = function
        .lines()
        .into_iter()
        .filter(|l| l["disposition"] == "FAILED")
        .collect();
    assert_eq!(failed.len(), max);
    assert_eq!(failed[max - 1]["givenUp"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bootstrap_killed_mid_batch_loses_and_doubles_nothing() {
    let central = Central::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    register_pipeline_x(&central, dir.path());
    let t = now();
    let events: Vec<Value> = [
        ("111111111111", "listings", "l-1"),
        ("222222222222", "searches", "s-1"),
        ("111111111111", "listings", "l-2"),
        ("222222222222", "searches", "s-2"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (a, p, e))| {
        status_event(
            a,
            p,
            e,
            "SUCCEEDED",
            t - 90_000 + i as i64 * 1_000,
            Some(t - 10_000 + i as i64 * 1_000),
        )
    })
    .collect();
    central.put(&events).await;

    let mut function = central.function("dpc-manager");
    let mapping = central.mapping().await;
    let messages = mapping.receive().await;
    assert_eq!(messages.len(), 4);
    let id = function.submit(&mapping.event(&messages));
    assert!(function.wait_delivered(&id, Duration::from_secs(30)));
    // Killed once the first record is done (its effects committed), the rest not yet.
    assert!(function.wait_line(|l| l["disposition"] == "RECORDED", Duration::from_secs(60)));
    function.kill();
    let outcome = function.wait(&id, Duration::from_secs(10));
    assert!(
        matches!(&outcome, Outcome::Error(e) if e["errorType"] == "Runtime.ExitError"),
        "{outcome:?}"
    );
    mapping.settle(&messages, &outcome).await;

    // A new execution environment gets the whole batch again.
    function.restart();
    mapping.drain(&mut function, 10).await;
    let triggers = central.triggers().await;
    let x = for_pipeline(&triggers, "pipeline-x");
    let mut ids: Vec<&str> = x
        .iter()
        .filter_map(|t| t["detail"]["triggerId"].as_str())
        .collect();
    ids.dedup();
    assert_eq!(
        ids.len(),
        1,
        "one decision: {triggers:#?}\n{}",
        function.stdout().join("\n")
    );
    // A kill between PutEvents and marking the outbox sent puts the same trigger (same id)
    // twice, which the consumer's claim de-duplicates; anywhere else it is put once.
    assert!(x.len() <= 2, "{triggers:#?}");
    let recorded = function
        .lines()
        .into_iter()
        .filter(|l| l["disposition"] == "RECORDED")
        .count();
    assert_eq!(
        recorded,
        4,
        "each event recorded once:\n{}",
        function.stdout().join("\n")
    );
    // Nothing left behind: no message, no unsent outbox.
    assert!(mapping.receive().await.is_empty());
    let outbox =
        tokio::task::block_in_place(|| Manager::new(central.store()).outbox().expect("outbox"));
    assert!(outbox.is_empty(), "{outbox:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_handler_is_an_init_error() {
    let central = Central::start().await;
    let mut function = central.function("dpc-nothing");
    let outcome = function.invoke(&json!({}));
    let Outcome::Error(e) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(e["errorType"], "Runtime.InitError");
    let message = e["init"]["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("unknown handler `dpc-nothing`"), "{e}");
    assert!(
        message.contains("dpc-manager, dpc-registration, dpc-reconciler"),
        "{e}"
    );
    let status = function.exited(Duration::from_secs(10)).expect("exits");
    assert!(!status.success());
}
