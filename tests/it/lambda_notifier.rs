//! The `dpc-notifier` function end to end on moto server and the Slack test server
//! (`common::slack`): status and step events put on the central bus reach the notifier's
//! queue through a rule (moto's EventBridge and SQS), and the REAL `dpc` binary, run as the
//! function's `bootstrap`, reads its bot token from Secrets Manager (moto), keeps each run's
//! thread in the manager's table (moto) and posts to the Slack server.
//!
//! Played by the harness (`common::lambda`), because moto cannot: the Lambda Runtime API and
//! execution environment (the bootstrap process), and the SQS event source mapping (receive
//! up to 10, invoke, delete the successes, release the failures with visibility 0, so that
//! moto's redrive policy moves a message to the dead-letter queue after `maxReceiveCount`).

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::lambda::{
    Central, EventSourceMapping, Function, Outcome, queue_arn, status_event,
};
use crate::common::slack::SlackServer;

const ACCOUNT: &str = "333333333333";
const TOKEN: &str = "xoxb-test-token";
/// Receives before the notifier queue's redrive policy moves a message to its DLQ.
const MAX_RECEIVES: i32 = 3;

/// The notifier's queue and DLQ, the rule sending status and step events to it, the token's
/// secret, the Slack server; the function running.
struct Notifier {
    central: Central,
    slack: SlackServer,
    function: Function,
    mapping: EventSourceMapping,
    dlq_url: String,
}

async fn start() -> Notifier {
    let central = Central::start().await;
    let sqs = aws_sdk_sqs::Client::new(&central.sdk);
    let dlq_url = sqs
        .create_queue()
        .queue_name("dpc-notifier-dlq")
        .send()
        .await
        .expect("dlq")
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let redrive = json!({"deadLetterTargetArn": queue_arn(&sqs, &dlq_url).await, "maxReceiveCount": MAX_RECEIVES});
    let queue_url = sqs
        .create_queue()
        .queue_name("dpc-notifier")
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            redrive.to_string(),
        )
        .send()
        .await
        .expect("queue")
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let events = aws_sdk_eventbridge::Client::new(&central.sdk);
    let bus = dpc::deploy::central_stack::BUS;
    let pattern = json!({"source": [dpc::events::STATUS_SOURCE, dpc::events::STEP_SOURCE, dpc::events::SLA_SOURCE]});
    events
        .put_rule()
        .name("dpc-notifier")
        .event_bus_name(bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .expect("rule");
    events
        .put_targets()
        .rule("dpc-notifier")
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("notifier-queue")
                .arn(queue_arn(&sqs, &queue_url).await)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("target");
    let secret = aws_sdk_secretsmanager::Client::new(&central.sdk)
        .create_secret()
        .name("dpc/slack-bot")
        .secret_string(TOKEN)
        .send()
        .await
        .expect("secret")
        .arn()
        .unwrap_or_default()
        .to_string();
    let slack = SlackServer::start();
    let mut env = central.env();
    env.extend([
        ("DPC_SLACK_TOKEN_SECRET_ARN".to_string(), secret),
        ("DPC_SLACK_API_URL".to_string(), slack.url.clone()),
        (
            "DPC_SLACK_CHANNELS_JSON".to_string(),
            json!({"pipeline-x": ["C-RUNS"]}).to_string(),
        ),
    ]);
    let function = Function::start_in(
        "dpc-notifier",
        env,
        crate::common::lambda::CASE_STUDY_CENTRAL,
    );
    let mapping = EventSourceMapping::new(sqs, &queue_url).await;
    Notifier {
        central,
        slack,
        function,
        mapping,
        dlq_url,
    }
}

fn step_event(execution: &str, step: &str, status: &str, time: &str) -> Value {
    let arn = format!("arn:aws:states:eu-west-1:{ACCOUNT}:execution:dpc-pipeline-x:{execution}");
    json!({
        "source": dpc::events::STEP_SOURCE,
        "detail-type": dpc::events::STEP_DETAIL_TYPE,
        "resources": [arn],
        "detail": {
            "pipeline": "pipeline-x", "account": ACCOUNT, "region": "eu-west-1",
            "executionArn": arn, "step": step, "status": status, "attempt": 1, "time": time,
        }
    })
}

const T0: i64 = 1_767_261_600_000; // 2026-01-01T10:00:00Z

/// The calls made since `from`, as (method, channel, thread_ts, ts).
fn calls_since(
    slack: &SlackServer,
    from: usize,
) -> Vec<(String, String, Option<String>, Option<String>)> {
    slack.calls()[from..]
        .iter()
        .map(|c| {
            (
                c.method.clone(),
                c.channel.clone(),
                c.thread_ts.clone(),
                c.ts.clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_one_thread_posted_once_and_429_is_waited_out() {
    let mut n = start().await;
    let running = status_event(ACCOUNT, "pipeline-x", "run-1", "RUNNING", T0, None);
    let steps = [
        step_event("run-1", "extract", "STARTED", "2026-01-01T10:00:01Z"),
        step_event("run-1", "extract", "SUCCEEDED", "2026-01-01T10:02:00Z"),
    ];
    let succeeded = status_event(
        ACCOUNT,
        "pipeline-x",
        "run-1",
        "SUCCEEDED",
        T0,
        Some(T0 + 180_000),
    );
    // One event at a time, as they happen.
    for event in [&running, &steps[0], &steps[1], &succeeded] {
        n.central.put(std::slice::from_ref(event)).await;
        let polls = n.mapping.drain(&mut n.function, 5).await;
        assert_eq!(polls.len(), 1, "{polls:#?}");
        assert!(
            polls[0].released.is_empty(),
            "{polls:#?}\n{:#?}",
            n.function.lines()
        );
    }
    let calls = calls_since(&n.slack, 0);
    let root = calls[0].3.clone().expect("the root's ts");
    assert_eq!(
        calls,
        vec![
            (
                "chat.postMessage".into(),
                "C-RUNS".into(),
                None,
                Some(root.clone())
            ),
            (
                "chat.postMessage".into(),
                "C-RUNS".into(),
                Some(root.clone()),
                calls[1].3.clone()
            ),
            (
                "chat.postMessage".into(),
                "C-RUNS".into(),
                Some(root.clone()),
                calls[2].3.clone()
            ),
            (
                "chat.postMessage".into(),
                "C-RUNS".into(),
                Some(root.clone()),
                calls[3].3.clone()
            ),
            (
                "chat.update".into(),
                "C-RUNS".into(),
                None,
                Some(root.clone())
            ),
        ]
    );
    let all = n.slack.calls();
    assert!(all.iter().all(|c| c.token == TOKEN), "the secret's token");
    assert!(
        all[0].text.contains("pipeline-x RUNNING"),
        "{}",
        all[0].text
    );
    assert!(
        all[1].text.contains("step extract started"),
        "{}",
        all[1].text
    );
    assert!(
        all[2].text.contains("step extract succeeded"),
        "{}",
        all[2].text
    );
    assert!(
        all[3].text.contains("SUCCEEDED after 3m"),
        "{}",
        all[3].text
    );
    assert!(
        all[4].text.contains("pipeline-x SUCCEEDED"),
        "{}",
        all[4].text
    );
    assert!(all.iter().all(|c| c.blocks.is_array()));

    // Redelivered (all four at once): nothing is posted again.
    let before = n.function.lines().len();
    n.central
        .put(&[
            running.clone(),
            steps[0].clone(),
            steps[1].clone(),
            succeeded.clone(),
        ])
        .await;
    let polls = n.mapping.drain(&mut n.function, 5).await;
    let received: usize = polls.iter().map(|p| p.received.len()).sum();
    assert_eq!(received, 4);
    assert!(polls.iter().all(|p| p.released.is_empty()), "{polls:#?}");
    assert_eq!(n.slack.calls().len(), 5, "{:#?}", calls_since(&n.slack, 5));
    let skipped: u64 = n.function.lines()[before..]
        .iter()
        .filter(|l| l["result"] == "DELIVERED")
        .filter_map(|l| l["skipped"].as_u64())
        .sum();
    // The root twice (RUNNING, SUCCEEDED), the two steps, the final reply, the update.
    assert_eq!(skipped, 6);

    // A 429 is waited out: the call is made again after Retry-After.
    n.slack.throttle(1);
    let running = status_event(
        ACCOUNT,
        "pipeline-x",
        "run-2",
        "RUNNING",
        T0 + 3_600_000,
        None,
    );
    n.central.put(&[running]).await;
    let polls = n.mapping.drain(&mut n.function, 5).await;
    assert!(polls.iter().all(|p| p.released.is_empty()), "{polls:#?}");
    let calls = &n.slack.calls()[5..];
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!((calls[0].status, calls[1].status), (429, 200));
    assert!(calls[1].at - calls[0].at >= Duration::from_secs(1));
    assert_eq!(calls[1].method, "chat.postMessage");
    assert_eq!(calls[1].thread_ts, None);

    // FAILURE_ONLY (from the registration, with its team): a run that succeeds posts nothing;
    // one that fails starts its thread at the end.
    let mut reg = crate::common::manager::registration(
        "name: quiet\nteam: t\naccount: \"333333333333\"\ncompute: {type: NONE}\n",
    );
    reg.id.region = "eu-west-1".into();
    reg.slack_channels = vec!["C-QUIET".into()];
    reg.team = "quiet-team".into();
    reg.notification_type = Some(dpc::pipeline::raw::NotificationType::FailureOnly);
    let store = n.central.store();
    tokio::task::block_in_place(|| {
        dpc::manager::Manager::new(store)
            .register(&reg, T0)
            .expect("register")
    });
    let before = n.slack.calls().len();
    n.central
        .put(&[
            status_event(ACCOUNT, "quiet", "ok", "RUNNING", T0, None),
            status_event(ACCOUNT, "quiet", "ok", "SUCCEEDED", T0, Some(T0 + 1000)),
        ])
        .await;
    n.mapping.drain(&mut n.function, 5).await;
    assert_eq!(n.slack.calls().len(), before);
    let mut failed = status_event(ACCOUNT, "quiet", "bad", "FAILED", T0, Some(T0 + 1000));
    failed["detail"]["error"] = json!("States.TaskFailed");
    n.central
        .put(&[
            status_event(ACCOUNT, "quiet", "bad", "RUNNING", T0, None),
            failed,
        ])
        .await;
    n.mapping.drain(&mut n.function, 5).await;
    let calls = &n.slack.calls()[before..];
    let methods: Vec<(&str, &str, bool)> = calls
        .iter()
        .map(|c| (c.method.as_str(), c.channel.as_str(), c.thread_ts.is_some()))
        .collect();
    assert_eq!(
        methods,
        [
            ("chat.postMessage", "C-QUIET", false),
            ("chat.postMessage", "C-QUIET", true),
            ("chat.update", "C-QUIET", false),
        ]
    );
    assert!(
        calls[0].text.contains("team quiet-team"),
        "{}",
        calls[0].text
    );
    assert!(calls[0].text.contains("quiet FAILED"), "{}", calls[0].text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_channel_is_a_batch_item_failure_and_ends_in_the_dlq() {
    let mut n = start().await;
    // Its channel comes from its registration (`SlackChannels`), not the environment.
    let mut reg = crate::common::manager::registration(
        "name: gone\nteam: t\naccount: \"333333333333\"\ncompute: {type: NONE}\n",
    );
    reg.id.region = "eu-west-1".into();
    reg.slack_channels = vec!["C-GONE".into()];
    let store = n.central.store();
    tokio::task::block_in_place(|| {
        dpc::manager::Manager::new(store)
            .register(&reg, T0)
            .expect("register")
    });
    n.slack.missing("C-GONE");
    let running = status_event(ACCOUNT, "gone", "run-1", "RUNNING", T0, None);
    n.central.put(&[running]).await;
    let mut failures = 0;
    for _ in 0..MAX_RECEIVES {
        let polled = n.mapping.poll(&mut n.function).await;
        assert_eq!(polled.received.len(), 1, "{polled:#?}");
        let Some(Outcome::Response(answer)) = &polled.outcome else {
            panic!("{polled:#?}");
        };
        assert_eq!(
            answer["batchItemFailures"][0]["itemIdentifier"],
            json!(polled.received[0].0),
            "{:#?}",
            n.function.lines()
        );
        failures += 1;
    }
    assert_eq!(failures, MAX_RECEIVES);
    let line = n
        .function
        .lines()
        .into_iter()
        .find(|l| l["result"] == "FAILED")
        .expect("a failure logged");
    assert!(
        line["error"]
            .as_str()
            .unwrap_or_default()
            .contains("channel_not_found"),
        "{line}"
    );
    // The next receive finds it over maxReceiveCount: moto moves it to the DLQ.
    assert!(n.mapping.poll(&mut n.function).await.received.is_empty());
    let dead = n.central.take(&n.dlq_url).await;
    assert_eq!(dead.len(), 1, "{dead:#?}");
    assert_eq!(dead[0]["detail"]["name"], "run-1");
    // Nothing was posted anywhere: the root was never recorded, so it is tried again.
    assert!(n.slack.calls().iter().all(|c| c.ts.is_none()));
}

/// `late`, waiting on searches (222222222222), due at 09:00 Europe/Berlin.
fn late() -> dpc::manager::registry::Registration {
    let mut reg = crate::common::manager::registration(
        "name: late\nteam: late-team\naccount: \"333333333333\"\nregion: eu-west-1\n\
         compute: {type: NONE}\ntrigger:\n  executions:\n    allOf:\n\
         \x20     - {name: searches, account: \"222222222222\", region: eu-west-1}\n\
         sla: {expectedBy: \"09:00\", timezone: Europe/Berlin}\n",
    );
    reg.id.region = "eu-west-1".into();
    reg
}

/// `reg` registered in the manager's table, searches FAILED at 06:01 UTC on 2026-01-01, and
/// the SLA checked at 09:00 Berlin: the `dpc SLA Missed` event the reconciler's pass sends
/// (taken from the outbox).
fn missed_sla(n: &Notifier, reg: &dpc::manager::registry::Registration) -> Value {
    let store = n.central.store();
    // 2026-01-01: searches fails at 06:00 UTC; 09:00 Berlin is 08:00 UTC.
    let failed: dpc::events::StatusChangeEvent = serde_json::from_value(status_event(
        "222222222222",
        "searches",
        "s-1",
        "FAILED",
        T0 - 4 * 3_600_000,
        Some(T0 - 4 * 3_600_000 + 60_000),
    ))
    .expect("a status event");
    let deadline = T0 - 2 * 3_600_000;
    let event = tokio::task::block_in_place(|| {
        let mut m = dpc::manager::Manager::new(store);
        m.register(reg, T0 - 10 * 3_600_000).expect("register");
        m.handle_status(&failed, T0 - 4 * 3_600_000 + 60_000)
            .expect("status");
        let alerts = m.check_slas(deadline).expect("check");
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let item = m
            .outbox()
            .expect("outbox")
            .into_iter()
            .find(|i| i.id == alerts[0].key)
            .expect("the SLA event in the outbox");
        serde_json::from_str::<Value>(&item.body).expect("JSON")
    });
    assert_eq!(event["detail-type"], dpc::events::SLA_DETAIL_TYPE);
    event
}

/// A missed SLA as the manager raises it (its `dpc SLA Missed` event, taken from the outbox
/// the reconciler's pass sends) is posted through `notify::sla`: a message of its own on the
/// pipeline's channel, naming the upstream it waits for with its FAILED run, with the team;
/// redelivered, it posts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_sla_is_its_own_message_naming_what_it_waits_for() {
    let mut n = start().await;
    let mut reg = late();
    reg.slack_channels = vec!["C-SLA".into()];
    let event = missed_sla(&n, &reg);
    n.central.put(std::slice::from_ref(&event)).await;
    let polls = n.mapping.drain(&mut n.function, 5).await;
    assert!(
        polls.iter().all(|p| p.released.is_empty()),
        "{polls:#?}\n{:#?}",
        n.function.lines()
    );
    let calls = n.slack.calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let call = &calls[0];
    assert_eq!(
        (call.method.as_str(), call.channel.as_str(), &call.thread_ts),
        ("chat.postMessage", "C-SLA", &None),
        "a message of its own"
    );
    assert_eq!(
        call.text,
        "late has not succeeded by 09:00 Europe/Berlin: waiting on searches (222222222222), \
         whose last run FAILED at 06:01 UTC"
    );
    let blocks = call.blocks.to_string();
    assert!(
        blocks.contains("late missed its SLA (09:00 Europe/Berlin)"),
        "{blocks}"
    );
    assert!(
        blocks.contains("searches (222222222222): last run FAILED at 2026-01-01 06:01:00 UTC"),
        "{blocks}"
    );
    assert!(
        blocks.contains(
            "executions/details/arn:aws:states:eu-west-1:222222222222:execution:dpc-searches:s-1"
        ),
        "{blocks}"
    );
    assert!(
        blocks.contains("late-team"),
        "the registration's team: {blocks}"
    );
    // Redelivered: nothing is posted again.
    n.central.put(&[event]).await;
    let polls = n.mapping.drain(&mut n.function, 5).await;
    assert!(polls.iter().all(|p| p.released.is_empty()), "{polls:#?}");
    assert_eq!(n.slack.calls().len(), 1);
    let line = n
        .function
        .lines()
        .into_iter()
        .rfind(|l| l["event"] == "SLA")
        .expect("a log line");
    assert_eq!(
        (line["result"].as_str(), line["skipped"].as_u64()),
        (Some("DELIVERED"), Some(1))
    );
}

/// A topic of `late`'s account with an SQS probe subscribed to it: its ARN and the probe's URL.
/// Played by the harness: the topic's subscribers (moto delivers email nowhere and would POST
/// OpsGenie's https subscription to the internet), replaced by the probe.
async fn probed_topic(sdk: &aws_config::SdkConfig, name: &str) -> (String, String) {
    let sns = aws_sdk_sns::Client::new(sdk);
    let topic = sns
        .create_topic()
        .name(name)
        .send()
        .await
        .expect("topic")
        .topic_arn()
        .unwrap_or_default()
        .to_string();
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = sqs
        .create_queue()
        .queue_name(format!("{name}-probe"))
        .send()
        .await
        .expect("probe queue")
        .queue_url()
        .unwrap_or_default()
        .to_string();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn(&sqs, &url).await)
        .send()
        .await
        .expect("probe subscription");
    (topic, url)
}

/// The aliases of `late`'s OpsGenie alerts left open, as the notifier keeps them.
async fn open_aliases(n: &Notifier) -> Vec<String> {
    let item = aws_sdk_dynamodb::Client::new(&n.central.sdk)
        .get_item()
        .table_name(&n.central.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("NOTIFY#{ACCOUNT}/eu-west-1/late")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("OPSGENIE#OPEN".into()),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem");
    item.item()
        .and_then(|i| i.get("aliases"))
        .and_then(|a| a.as_ss().ok())
        .cloned()
        .unwrap_or_default()
}

/// A missed SLA goes to the pipeline's email and OpsGenie topics too (rendered by
/// `notify::sla`), under every notification type — here FAILURE_ONLY, which sends no run email
/// of a success: the email names what the pipeline waits for, the OpsGenie alert is created
/// under the alias of the pipeline's SLA day and left open; redelivered, nothing is published
/// again; the pipeline's next success closes the SLA's alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_sla_is_published_to_email_and_opsgenie_and_closed_by_a_success() {
    let mut n = start().await;
    let owner = n.central.moto.sdk_as(ACCOUNT).await;
    let (email_topic, email_probe) = probed_topic(&owner, "dpc-late-email").await;
    let (genie_topic, genie_probe) = probed_topic(&owner, "dpc-late-opsgenie").await;
    let mut reg = late();
    reg.notification_type = Some(dpc::pipeline::raw::NotificationType::FailureOnly);
    reg.topics = dpc::manager::registry::Topics {
        email: Some(email_topic),
        opsgenie: Some(genie_topic),
    };
    let event = missed_sla(&n, &reg);
    n.central.put(std::slice::from_ref(&event)).await;
    let polls = n.mapping.drain(&mut n.function, 5).await;
    assert!(
        polls.iter().all(|p| p.released.is_empty()),
        "{polls:#?}\n{:#?}",
        n.function.lines()
    );
    assert!(n.slack.calls().is_empty(), "no Slack channel for late");

    let mails = crate::common::lambda::take_all(&owner, &email_probe).await;
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert_eq!(
        mails[0]["Subject"],
        "[dpc] SLA missed: late by 09:00 Europe/Berlin (333333333333)"
    );
    let body = mails[0]["Message"].as_str().unwrap_or_default();
    for want in [
        "late has not succeeded by 09:00 Europe/Berlin.",
        "Why: waiting on searches (222222222222), whose last run FAILED at 06:01 UTC",
        "  - searches (222222222222): last run FAILED at 2026-01-01 06:01:00 UTC",
        "executions/details/arn:aws:states:eu-west-1:222222222222:execution:dpc-searches:s-1",
        "Team:        late-team",
    ] {
        assert!(body.contains(want), "{want:?} missing from:\n{body}");
    }
    let alias = format!("dpc-sla-{ACCOUNT}-late-2026-01-01");
    let genie = |messages: Vec<Value>| -> Vec<Value> {
        messages
            .iter()
            .map(|m| serde_json::from_str(m["Message"].as_str().unwrap_or_default()).expect("JSON"))
            .collect()
    };
    let alerts = genie(crate::common::lambda::take_all(&owner, &genie_probe).await);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(
        (
            alerts[0]["action"].as_str(),
            alerts[0]["alias"].as_str(),
            alerts[0]["priority"].as_str()
        ),
        (Some("create"), Some(alias.as_str()), Some("P3"))
    );
    assert_eq!(alerts[0]["details"]["waitingOn"], "searches");
    assert_eq!(open_aliases(&n).await, std::slice::from_ref(&alias));
    let line = n
        .function
        .lines()
        .into_iter()
        .rfind(|l| l["event"] == "SLA")
        .expect("a log line");
    assert_eq!(
        (line["result"].as_str(), &line["topics"]),
        (
            Some("DELIVERED"),
            &json!({"emails": 1, "alerts": 1, "closes": 0, "skipped": 0})
        )
    );

    // Redelivered: nothing is published again.
    n.central.put(std::slice::from_ref(&event)).await;
    let polls = n.mapping.drain(&mut n.function, 5).await;
    assert!(polls.iter().all(|p| p.released.is_empty()), "{polls:#?}");
    assert!(
        crate::common::lambda::take_all(&owner, &email_probe)
            .await
            .is_empty()
    );
    assert!(
        crate::common::lambda::take_all(&owner, &genie_probe)
            .await
            .is_empty()
    );
    let line = n
        .function
        .lines()
        .into_iter()
        .rfind(|l| l["event"] == "SLA")
        .expect("a log line");
    assert_eq!(line["topics"]["skipped"], 2, "{line}");

    // late succeeds later that day: its close covers the SLA's alert (and, FAILURE_ONLY, no
    // email of the success).
    n.central
        .put(&[status_event(
            ACCOUNT,
            "late",
            "l-1",
            "SUCCEEDED",
            T0,
            Some(T0 + 60_000),
        )])
        .await;
    let polls = n.mapping.drain(&mut n.function, 5).await;
    assert!(
        polls.iter().all(|p| p.released.is_empty()),
        "{polls:#?}\n{:#?}",
        n.function.lines()
    );
    let closes = genie(crate::common::lambda::take_all(&owner, &genie_probe).await);
    assert_eq!(closes.len(), 1, "{closes:#?}");
    assert_eq!(
        (closes[0]["action"].as_str(), closes[0]["alias"].as_str()),
        (Some("close"), Some(alias.as_str()))
    );
    assert!(
        crate::common::lambda::take_all(&owner, &email_probe)
            .await
            .is_empty()
    );
    assert!(open_aliases(&n).await.is_empty());
}

/// `--slack-token-secret` is checked before anything else (and excludes `--no-slack`), and the
/// template names the secret as a parameter the notifier's Slack access depends on.
#[test]
fn setup_central_account_takes_the_slack_token_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    crate::common::dpc(["setup-central-account", "--account", "111111111111"])
        .args([
            "--slack-token-secret",
            "xoxb-not-an-arn",
            "--print-template",
        ])
        .arg("--config-dir")
        .arg(dir.path())
        .run()
        .assert_code(2)
        .assert_stderr_contains("not a Secrets Manager secret ARN");
    crate::common::dpc(["setup-central-account", "--account", "111111111111"])
        .args([
            "--no-slack",
            "--slack-token-secret",
            "arn:aws:secretsmanager:eu-west-1:1:secret:x",
        ])
        .arg("--config-dir")
        .arg(dir.path())
        .run()
        .assert_code(2);
    let printed = crate::common::dpc(["setup-central-account", "--account", "111111111111"])
        .args(["--print-template", "--config-dir"])
        .arg(dir.path())
        .run();
    printed.assert_code(0);
    let template: Value = printed.json();
    use dpc::deploy::central_stack as cs;
    assert_eq!(
        template["Parameters"][cs::SLACK_SECRET_PARAMETER]["Default"],
        ""
    );
    // The notifier comes with the code (email and OpsGenie); the secret gates Slack only.
    assert_eq!(
        template["Resources"]["NotifierFunction"]["Condition"],
        cs::HAS_CODE
    );
    let statements = template["Resources"]["NotifierFunctionRole"]["Properties"]["Policies"][0]
        ["PolicyDocument"]["Statement"]
        .to_string();
    assert!(
        statements.contains(&format!(r#"{{"Fn::If":["{}""#, cs::HAS_SLACK)),
        "{statements}"
    );
    assert_eq!(
        template["Resources"]["NotifierRule"]["Properties"]["EventPattern"],
        cs::notifier_pattern()
    );
}
