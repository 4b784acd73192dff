//! `dpc local run`'s notifications beyond one run's thread: the poster `--slack-api-url` uses
//! (`dpc::local::slack_post`) against the tests' Slack-compatible server (threads, a message
//! of its own, a refused channel that stops nothing); OpsGenie alerts left open — a failed
//! run's and a missed SLA's — closed by the pipeline's next success; and `--live` posting each
//! message while the runtime is still running.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::dpc;
use crate::common::slack::SlackServer;
use dpc::local::runtime::{SlackKind, SlackMessage};
use dpc::local::slack_post::SlackPoster;

fn message(channel: &str, thread: &str, kind: SlackKind, text: &str) -> SlackMessage {
    SlackMessage {
        at_ms: 0,
        channel: channel.into(),
        thread: thread.into(),
        kind,
        body: json!({"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}),
    }
}

#[test]
fn the_poster_keeps_threads_and_a_refused_channel_stops_nothing() {
    let slack = SlackServer::start();
    slack.missing("gone");
    let mut poster = SlackPoster::new(&slack.url, "xoxb-local").expect("poster");
    let messages = [
        message("runs", "run-1", SlackKind::Root, "root 1"),
        message("gone", "run-1", SlackKind::Root, "root 1 in gone"),
        message("runs", "run-2", SlackKind::Root, "root 2"),
        message("runs", "run-1", SlackKind::Reply, "reply 1"),
        message("gone", "run-1", SlackKind::Reply, "reply 1 in gone"),
        message("runs", "run-2", SlackKind::Reply, "reply 2"),
        message("runs", "run-1", SlackKind::Update, "update 1"),
        message("gone", "run-1", SlackKind::Update, "update 1 in gone"),
        message("runs", "sla:x:2026-11-26", SlackKind::Message, "sla"),
    ];
    let results: Vec<bool> = messages.iter().map(|m| poster.send(m).is_ok()).collect();
    assert_eq!(
        results,
        [true, false, true, true, false, true, true, false, true]
    );
    assert_eq!((poster.sent, poster.failed), (6, 3));
    let err = poster
        .send(&message("gone", "run-3", SlackKind::Root, "x"))
        .expect_err("refused");
    assert!(
        err.contains("#gone") && err.contains("channel_not_found"),
        "{err}"
    );
    let calls: Vec<_> = slack
        .calls()
        .into_iter()
        .filter(|c| c.channel == "runs")
        .collect();
    let ts = |text: &str| {
        calls
            .iter()
            .find(|c| c.text == text)
            .and_then(|c| c.ts.clone())
            .expect(text)
    };
    let (root1, root2) = (ts("root 1"), ts("root 2"));
    let seen: Vec<(&str, &str, Option<&str>)> = calls
        .iter()
        .map(|c| (c.method.as_str(), c.text.as_str(), c.thread_ts.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("chat.postMessage", "root 1", None),
            ("chat.postMessage", "root 2", None),
            ("chat.postMessage", "reply 1", Some(root1.as_str())),
            ("chat.postMessage", "reply 2", Some(root2.as_str())),
            ("chat.update", "update 1", None),
            ("chat.postMessage", "sla", None),
        ]
    );
    // The update replaces run-1's root, not run-2's.
    assert_eq!(calls[4].ts.as_deref(), Some(root1.as_str()));
    // In the refused channel: the reply went on its own (its root was never posted), and the
    // update was not even tried.
    let gone: Vec<_> = slack
        .calls()
        .into_iter()
        .filter(|c| c.channel == "gone")
        .map(|c| (c.method, c.thread_ts))
        .collect();
    assert_eq!(
        gone,
        [
            ("chat.postMessage".to_string(), None),
            ("chat.postMessage".to_string(), None),
            ("chat.postMessage".to_string(), None),
        ]
    );
}

/// The timeline's notification entries of `flaky` (`tests/fixtures/local/flaky`).
fn notifications(events: &[Value]) -> Vec<(&str, &str)> {
    events
        .iter()
        .filter(|e| e["event"] == "notification")
        .map(|e| {
            (
                e["at"].as_str().unwrap_or_default(),
                e["detail"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn a_later_success_closes_the_opsgenie_alerts_left_open() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = dpc(["local", "run", "--output", "json", "--from", "2026-11-26"])
        .args(["--until", "2026-11-28T00:00:00Z"])
        .arg(Path::new(crate::common::ROOT).join("tests/fixtures/local/flaky"))
        .current_dir(dir.path())
        .run();
    run.assert_code(1);
    let events: Vec<Value> = run
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let sent = notifications(&events);
    assert_eq!(sent.len(), 3, "{sent:#?}");
    let run_alias = "dpc-123456789012-flaky-flaky-20261126T020000-1";
    let sla_alias = "dpc-sla-123456789012-flaky-2026-11-26";
    // 02:00 the run fails: its alert, with the run's alias.
    assert!(
        sent[0]
            .1
            .contains(&format!("opsgenie alert {run_alias} (P2): flaky FAILED")),
        "{}",
        sent[0].1
    );
    // 03:00 the SLA is missed: its own message on Slack and an alert per pipeline and day.
    assert_eq!(sent[1].0, "2026-11-26T03:00:00Z");
    assert!(
        sent[1].1.contains(
            "slack #flaky-alerts new message: flaky has not succeeded by 03:00 UTC: \
             its last run FAILED at 02:00 UTC"
        ),
        "{}",
        sent[1].1
    );
    assert!(
        sent[1]
            .1
            .contains(&format!("opsgenie alert {sla_alias} (P3)")),
        "{}",
        sent[1].1
    );
    // The next day's success closes both (FAILURE_ONLY sends nothing else for it).
    let closed: Vec<&str> = sent[2].1.lines().skip(1).map(str::trim).collect();
    assert_eq!(
        closed,
        [
            format!("opsgenie close {run_alias}: flaky-20261127T020000-2 SUCCEEDED after 0s"),
            format!("opsgenie close {sla_alias}: flaky-20261127T020000-2 SUCCEEDED after 0s"),
        ],
        "{}",
        sent[2].1
    );
    assert!(
        sent[2].1.starts_with("would notify OPSGENIE:"),
        "{}",
        sent[2].1
    );
    // And in notifications.log.
    let log = std::fs::read_to_string(dir.path().join(".dpc/logs/notifications.log"))
        .expect("notifications log");
    assert!(
        log.contains(&format!("opsgenie close {sla_alias}")),
        "{log}"
    );
    assert!(log.contains("slack #flaky-alerts new message"), "{log}");
}

/// `--live --slack-api-url`: the run of the next minute is posted as one thread, and its
/// OpenLineage events written, while the runtime still runs (then stopped with Ctrl-C); the
/// channel the server refuses is told on stderr and stops nothing. Waits for the next minute boundary (at most a minute): the
/// schedule is real time.
#[test]
fn live_posts_each_message_while_it_runs() {
    let slack = SlackServer::start();
    slack.missing("gone-channel");
    let dir = tempfile::tempdir().expect("tmp");
    let until = chrono::Utc::now() + chrono::Duration::minutes(5);
    let running = dpc(["local", "run", "--live", "--until"])
        .arg(until.to_rfc3339())
        .args(["--slack-api-url", &slack.url])
        .arg(Path::new(crate::common::ROOT).join("tests/fixtures/local/every-minute"))
        .env("SLACK_BOT_TOKEN", "xoxb-live")
        .current_dir(dir.path())
        .spawn();
    let started = Instant::now();
    let updated = loop {
        let calls = slack.calls();
        if let Some(i) = calls
            .iter()
            .position(|c| c.method == "chat.update" && c.channel == "live-alerts")
        {
            break calls[..=i].to_vec();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no thread posted in 2 minutes: {calls:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // The run's OpenLineage events are written as it ends, while dpc still runs.
    let lineage = dir.path().join(".dpc/lineage.jsonl");
    let written = loop {
        let text = std::fs::read_to_string(&lineage).unwrap_or_default();
        if text.contains("\"COMPLETE\"") {
            break text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no lineage written while running: {text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let types: Vec<String> = written
        .lines()
        .take(2)
        .map(|l| {
            let e: serde_json::Value = serde_json::from_str(l).expect("JSON line");
            format!("{} {}", e["job"]["name"], e["eventType"])
        })
        .collect();
    assert_eq!(
        types,
        [
            "\"every-minute\" \"START\"",
            "\"every-minute\" \"COMPLETE\""
        ]
    );
    // Posted while running: stop it now, before its --until.
    let killed = std::process::Command::new("kill")
        .args(["-INT", &running.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let run = running.wait();
    run.assert_stderr_contains("stopped: the store keeps the state")
        .assert_stderr_contains("--slack-api-url: #gone-channel: ")
        .assert_stderr_contains("channel_not_found");
    // The refused channel makes the exit code 1; the run itself succeeded.
    run.assert_code(1);
    let thread: Vec<_> = updated
        .iter()
        .filter(|c| c.channel == "live-alerts")
        .collect();
    let root = thread[0].ts.clone();
    assert!(
        root.is_some() && thread[0].thread_ts.is_none(),
        "{thread:#?}"
    );
    assert!(
        thread[0].text.starts_with("every-minute RUNNING"),
        "{thread:#?}"
    );
    let last = thread.len() - 1;
    assert!(
        thread[1..last].iter().all(|c| c.thread_ts == root),
        "{thread:#?}"
    );
    assert!(last >= 3, "step replies and the final reply: {thread:#?}");
    assert_eq!(thread[last].ts, root);
    assert!(thread.iter().all(|c| c.token == "xoxb-live"));
}
