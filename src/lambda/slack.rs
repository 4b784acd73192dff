//! The Slack Web API client of the notifier: sends the bodies `notify::slack` renders with
//! `chat.postMessage` (produces the message's `ts`) and `chat.update`, as the bot (token as
//! `Bearer`), to a configurable base URL (Slack's, or a Slack-compatible server in tests).
//! A 429 is waited out (its `Retry-After`, bounded); `{"ok": false, "error": …}` is an error
//! carrying Slack's code.

use std::time::Duration;

use serde_json::{Value, json};

use super::http;

/// Slack's Web API.
pub const DEFAULT_BASE: &str = "https://slack.com/api";
/// Tries per call when Slack answers 429 (the first included).
const TRIES: u32 = 4;
/// The longest `Retry-After` waited out; a longer one fails the call (the queue retries).
const MAX_WAIT_SECS: u64 = 30;

/// Why a call did not deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackError {
    /// Slack's error code (`channel_not_found`, `ratelimited`, …) or `http`/`transport`.
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for SlackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// A bot's access to one Slack workspace.
#[derive(Clone)]
pub struct Slack {
    base: String,
    token: String,
    calls: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Slack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("Slack").field("base", &self.base).finish()
    }
}

impl Slack {
    pub fn new(base: impl Into<String>, token: impl Into<String>) -> Slack {
        Slack {
            base: base.into().trim_end_matches('/').to_string(),
            token: token.into(),
            calls: Default::default(),
        }
    }

    /// HTTP requests made (retries included).
    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Posts `body` (`text`, `blocks`) to `channel`, in the thread of `thread_ts` when given;
    /// the new message's `ts`.
    pub async fn post(
        &self,
        channel: &str,
        body: &Value,
        thread_ts: Option<&str>,
    ) -> Result<String, SlackError> {
        let mut payload =
            json!({"channel": channel, "text": body["text"], "blocks": body["blocks"]});
        if let Some(ts) = thread_ts {
            payload["thread_ts"] = json!(ts);
        }
        let answer = self.call("chat.postMessage", &payload).await?;
        answer["ts"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| SlackError {
                code: "no_ts".into(),
                message: "chat.postMessage answered ok without a ts".into(),
            })
    }

    /// Replaces the message `ts` in `channel` with `body`.
    pub async fn update(&self, channel: &str, ts: &str, body: &Value) -> Result<(), SlackError> {
        let payload =
            json!({"channel": channel, "ts": ts, "text": body["text"], "blocks": body["blocks"]});
        self.call("chat.update", &payload).await.map(|_| ())
    }

    /// One Web API method, 429s waited out; Slack's answer when `ok`.
    async fn call(&self, method: &str, payload: &Value) -> Result<Value, SlackError> {
        let url = format!("{}/{method}", self.base);
        let bearer = format!("Bearer {}", self.token);
        let headers = [
            ("authorization", bearer.as_str()),
            ("content-type", "application/json; charset=utf-8"),
        ];
        let body = payload.to_string().into_bytes();
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.calls
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let answer = http::exchange("POST", &url, &headers, body.clone())
                .await
                .map_err(|e| SlackError {
                    code: "transport".into(),
                    message: e,
                })?;
            if answer.status == 429 {
                let wait = answer.retry_after.unwrap_or(1);
                if attempt == TRIES || wait > MAX_WAIT_SECS {
                    return Err(SlackError {
                        code: "ratelimited".into(),
                        message: format!(
                            "{method}: still rate limited after {attempt} tries (Retry-After {wait} s)"
                        ),
                    });
                }
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            if !(200..300).contains(&answer.status) {
                return Err(SlackError {
                    code: "http".into(),
                    message: format!(
                        "{method} answered {}: {}",
                        answer.status,
                        answer.text.chars().take(300).collect::<String>()
                    ),
                });
            }
            let value: Value = serde_json::from_str(&answer.text).map_err(|e| SlackError {
                code: "bad_answer".into(),
                message: format!("{method}: not JSON: {e}"),
            })?;
            if value["ok"] != json!(true) {
                return Err(SlackError {
                    code: value["error"].as_str().unwrap_or("unknown").to_string(),
                    message: format!("{method} refused: {value}"),
                });
            }
            return Ok(value);
        }
    }
}
