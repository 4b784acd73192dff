//! A Slack Web API-compatible server for the tests, on 127.0.0.1 (a free port): answers
//! `chat.postMessage` (a new, increasing `ts`) and `chat.update` as Slack does, records every
//! call (method, token, channel, thread_ts, ts, text, blocks), can be told to answer the next
//! calls with 429 and `Retry-After: 1`, and refuses channels it was told do not exist with
//! `{"ok": false, "error": "channel_not_found"}`.

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Value, json};

use super::lambda::{Request, free_listener, serve, write_response};

/// One call as the server received it.
#[derive(Debug, Clone)]
pub struct Call {
    /// `chat.postMessage`, `chat.update`, …
    pub method: String,
    /// The bearer token.
    pub token: String,
    pub channel: String,
    pub thread_ts: Option<String>,
    /// The message's `ts`: the one handed out (post) or the one updated (update); none
    /// when answered with an error.
    pub ts: Option<String>,
    pub text: String,
    pub blocks: Value,
    /// The answer's HTTP status.
    pub status: u16,
    pub at: Instant,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    next_ts: u64,
    throttle: u32,
    missing: BTreeSet<String>,
}

/// The server; it stops with the test process.
pub struct SlackServer {
    /// The base URL (`http://127.0.0.1:PORT/api`), as `DPC_SLACK_API_URL`.
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl SlackServer {
    pub fn start() -> SlackServer {
        let (listener, port) = free_listener();
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = Arc::clone(&state);
        let handle = move |req: &Request, stream: &mut TcpStream| -> bool {
            let method = req.path.trim_start_matches("/api/").to_string();
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let token = req
                .headers
                .iter()
                .find(|(k, _)| k == "authorization")
                .map(|(_, v)| v.trim_start_matches("Bearer ").to_string())
                .unwrap_or_default();
            let text = |k: &str| body[k].as_str().map(String::from);
            let mut state = shared.lock().expect("lock");
            let channel = text("channel").unwrap_or_default();
            let mut call = Call {
                method: method.clone(),
                token,
                channel: channel.clone(),
                thread_ts: text("thread_ts"),
                ts: None,
                text: text("text").unwrap_or_default(),
                blocks: body["blocks"].clone(),
                status: 200,
                at: Instant::now(),
            };
            let (status, headers, answer) = if state.throttle > 0 {
                state.throttle -= 1;
                call.status = 429;
                (
                    "429 Too Many Requests",
                    vec![("retry-after", "1".to_string())],
                    json!({"ok": false, "error": "ratelimited"}),
                )
            } else if state.missing.contains(&channel) {
                (
                    "200 OK",
                    vec![],
                    json!({"ok": false, "error": "channel_not_found"}),
                )
            } else {
                match method.as_str() {
                    "chat.postMessage" => {
                        state.next_ts += 1;
                        let ts = format!("1700000000.{:06}", state.next_ts);
                        call.ts = Some(ts.clone());
                        (
                            "200 OK",
                            vec![],
                            json!({"ok": true, "channel": channel, "ts": ts}),
                        )
                    }
                    "chat.update" => {
                        call.ts = text("ts");
                        (
                            "200 OK",
                            vec![],
                            json!({"ok": true, "channel": channel, "ts": text("ts")}),
                        )
                    }
                    _ => (
                        "200 OK",
                        vec![],
                        json!({"ok": false, "error": "unknown_method"}),
                    ),
                }
            };
            state.calls.push(call);
            drop(state);
            let mut headers = headers;
            headers.push(("content-type", "application/json".to_string()));
            write_response(stream, status, &headers, answer.to_string().as_bytes())
        };
        serve(listener, Arc::new(handle));
        SlackServer {
            url: format!("http://127.0.0.1:{port}/api"),
            state,
        }
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().expect("lock").calls.clone()
    }

    /// Answers the next `n` calls with 429 and `Retry-After: 1`.
    pub fn throttle(&self, n: u32) {
        self.state.lock().expect("lock").throttle = n;
    }

    /// Answers calls to `channel` with `channel_not_found`.
    pub fn missing(&self, channel: &str) {
        self.state
            .lock()
            .expect("lock")
            .missing
            .insert(channel.to_string());
    }
}
