//! `dpc local run --slack-api-url`: reads the Slack messages the local runtime renders
//! ([`SlackMessage`], in order) and posts them to a Slack-compatible Web API — a run's root
//! starts its thread in each channel (`chat.postMessage`), replies go under the root's `ts`,
//! the update replaces the root (`chat.update`), an SLA alert is a message of its own. The
//! edge where local notifications meet the network; used after the run and, with `--live`,
//! as each message is rendered.

use std::collections::BTreeMap;

use super::runtime::{SlackKind, SlackMessage};
use crate::lambda::slack::Slack;

/// Posts messages one at a time, keeping each thread's root `ts`.
pub struct SlackPoster {
    slack: Slack,
    runtime: tokio::runtime::Runtime,
    /// (thread, channel) → the root's `ts`.
    roots: BTreeMap<(String, String), String>,
    /// Messages Slack took.
    pub sent: usize,
    /// Messages that could not be posted.
    pub failed: usize,
}

impl SlackPoster {
    /// A poster to the API at `url` (`…/api`) with the bot `token`.
    pub fn new(url: &str, token: &str) -> Result<SlackPoster, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the Slack client: {e}"))?;
        Ok(SlackPoster {
            slack: Slack::new(url, token),
            runtime,
            roots: BTreeMap::new(),
            sent: 0,
            failed: 0,
        })
    }

    /// Posts one message. A reply whose root was not posted goes to its channel on its own
    /// (what it says is not lost); an update without its root is an error.
    pub fn send(&mut self, m: &SlackMessage) -> Result<(), String> {
        let key = (m.thread.clone(), m.channel.clone());
        let slack = &self.slack;
        let result = self.runtime.block_on(async {
            match m.kind {
                SlackKind::Root => slack.post(&m.channel, &m.body, None).await.map(Some),
                SlackKind::Reply => {
                    let thread = self.roots.get(&key).map(String::as_str);
                    slack.post(&m.channel, &m.body, thread).await.map(|_| None)
                }
                SlackKind::Update => match self.roots.get(&key) {
                    Some(ts) => slack.update(&m.channel, ts, &m.body).await.map(|_| None),
                    None => Ok(None),
                },
                SlackKind::Message => slack.post(&m.channel, &m.body, None).await.map(|_| None),
            }
        });
        match result {
            Ok(root) => {
                if m.kind == SlackKind::Update && !self.roots.contains_key(&key) {
                    self.failed += 1;
                    return Err(format!(
                        "#{}: the root of {} was not posted: nothing to update",
                        m.channel, m.thread
                    ));
                }
                if let Some(ts) = root {
                    self.roots.insert(key, ts);
                }
                self.sent += 1;
                Ok(())
            }
            Err(e) => {
                self.failed += 1;
                Err(format!("#{}: {e}", m.channel))
            }
        }
    }
}
