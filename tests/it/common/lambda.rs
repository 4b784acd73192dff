//! The parts of AWS Lambda that moto cannot play, played by the test harness with the REAL
//! `dpc` binary as the function's `bootstrap`:
//! - [`Function`]: the Lambda Runtime API (`/2018-06-01/runtime/invocation/next`, `…/{id}/response`,
//!   `…/{id}/error`, `/runtime/init/error`) on 127.0.0.1 with a free port, and the execution
//!   environment: it starts `dpc` with the function's environment (`AWS_LAMBDA_RUNTIME_API`,
//!   `_HANDLER`, `DPC_*`, moto's endpoint and credentials) and hands it invocations. moto's
//!   Lambda would run the code in Docker, which is neither available nor the binary under test.
//! - [`EventSourceMapping`]: Lambda's SQS event source mapping, which moto does not run (it
//!   invokes no function from a queue): it receives up to 10 messages from the FIFO queue,
//!   invokes the function with the SQS event, deletes the records not reported in
//!   `batchItemFailures` and makes the failed ones visible again at once (visibility 0), so
//!   moto's own redrive policy moves a message to the dead-letter queue after
//!   `maxReceiveCount` receives, as SQS does. A function that dies or answers an error fails
//!   the whole batch, as Lambda does.
//! - [`ResponseUrl`]: the pre-signed S3 URL CloudFormation gives a custom resource, on
//!   127.0.0.1, recording every response PUT to it (moto's CloudFormation does not call a
//!   custom resource's service token).
//!
//! What moto does play: SQS (FIFO, de-duplication, redrive), EventBridge (buses, rules, SQS
//! targets), DynamoDB, Step Functions, STS.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// moto's default account: the central account in these tests.
pub const CENTRAL: &str = "123456789012";

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(Value),
    /// The function's error document, or `Runtime.ExitError` when the process died.
    Error(Value),
}

#[derive(Default)]
struct State {
    pending: VecDeque<(String, Vec<u8>)>,
    delivered: Vec<String>,
    results: HashMap<String, Outcome>,
    init_error: Option<Value>,
    /// When the current process asked for its first invocation.
    first_next: Option<Instant>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

/// One HTTP/1.1 request as the runtime client sends it.
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    /// Lower-case names.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

/// Reads one request; `None` at the end of the connection.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut length = 0usize;
    let mut chunked = false;
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            if name == "content-length" {
                length = value.parse().ok()?;
            } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
            headers.push((name, value.to_string()));
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

pub(crate) fn write_response(
    stream: &mut TcpStream,
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> bool {
    let mut head = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(body))
        .is_ok()
}

/// True while the peer has not closed the connection (a killed bootstrap has).
fn alive(stream: &TcpStream) -> bool {
    let _ = stream.set_nonblocking(true);
    let mut probe = [0u8; 1];
    let open = match stream.peek(&mut probe) {
        Ok(0) => false,
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
    };
    let _ = stream.set_nonblocking(false);
    open
}

/// Answers one request; false closes the connection.
pub(crate) type Handle = Arc<dyn Fn(&Request, &mut TcpStream) -> bool + Send + Sync>;

/// Serves a listener with `handle` per request, one thread per connection.
pub(crate) fn serve(listener: TcpListener, handle: Handle) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let handle = Arc::clone(&handle);
            std::thread::spawn(move || {
                let Ok(read_half) = stream.try_clone() else {
                    return;
                };
                let mut reader = BufReader::new(read_half);
                let mut stream = stream;
                while let Some(request) = read_request(&mut reader) {
                    if !handle(&request, &mut stream) {
                        return;
                    }
                }
            });
        }
    });
}

pub(crate) fn free_listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("address").port();
    (listener, port)
}

const PREFIX: &str = "/2018-06-01/runtime";

/// The executable run as bootstrap: `$DPC_BOOTSTRAP` (e.g. a release or `cargo zigbuild`
/// build, as packaged), else the `dpc` built with these tests.
pub fn bootstrap() -> std::path::PathBuf {
    match std::env::var_os("DPC_BOOTSTRAP") {
        Some(path) if !path.is_empty() => path.into(),
        _ => env!("CARGO_BIN_EXE_dpc").into(),
    }
}

fn runtime_api(shared: Arc<Shared>, function_arn: String) -> u16 {
    let (listener, port) = free_listener();
    let handle = move |req: &Request, stream: &mut TcpStream| -> bool {
        let path = req.path.strip_prefix(PREFIX).unwrap_or("");
        if req.method == "GET" && path == "/invocation/next" {
            let mut state = shared.state.lock().expect("lock");
            if state.first_next.is_none() {
                state.first_next = Some(Instant::now());
            }
            let (id, body) = loop {
                if let Some(next) = state.pending.pop_front() {
                    if alive(stream) {
                        break next;
                    }
                    state.pending.push_front(next);
                    return false;
                }
                let (s, _) = shared
                    .changed
                    .wait_timeout(state, Duration::from_millis(100))
                    .expect("lock");
                state = s;
                if !alive(stream) {
                    return false;
                }
            };
            state.delivered.push(id.clone());
            shared.changed.notify_all();
            drop(state);
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() + 300_000)
                .unwrap_or(0);
            let headers = [
                ("lambda-runtime-aws-request-id", id.clone()),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                ("lambda-runtime-invoked-function-arn", function_arn.clone()),
                ("lambda-runtime-trace-id", format!("Root=1-00000000-{id}")),
                ("content-type", "application/json".to_string()),
            ];
            return write_response(stream, "200 OK", &headers, &body);
        }
        let value: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let mut state = shared.state.lock().expect("lock");
        let accepted = if let Some(rest) = path.strip_prefix("/invocation/") {
            match rest.rsplit_once('/') {
                Some((id, "response")) => state
                    .results
                    .insert(id.to_string(), Outcome::Response(value))
                    .is_none(),
                Some((id, "error")) => state
                    .results
                    .insert(id.to_string(), Outcome::Error(value))
                    .is_none(),
                _ => false,
            }
        } else if path == "/init/error" {
            state.init_error = Some(value);
            true
        } else {
            false
        };
        shared.changed.notify_all();
        drop(state);
        if accepted {
            write_response(stream, "202 Accepted", &[], br#"{"status":"OK"}"#)
        } else {
            write_response(
                stream,
                "404 Not Found",
                &[],
                br#"{"errorMessage":"unknown path"}"#,
            )
        }
    };
    serve(listener, Arc::new(handle));
    port
}

/// A function: the Runtime API and its bootstrap process (the real `dpc`).
pub struct Function {
    pub name: String,
    pub arn: String,
    port: u16,
    shared: Arc<Shared>,
    env: Vec<(String, String)>,
    child: Option<Child>,
    /// How the last process ended (a killed one included).
    ended: Option<std::process::ExitStatus>,
    spawned: Instant,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    next_id: u64,
    /// The executable started as `bootstrap`.
    binary: std::path::PathBuf,
}

impl Function {
    /// Starts `dpc` as the bootstrap of the function `handler` with `env` (the function's
    /// variables, moto's endpoint and credentials included).
    pub fn start(handler: &str, env: Vec<(String, String)>) -> Function {
        Function::start_in(handler, env, CENTRAL)
    }

    /// [`Function::start`] for a function of `account`.
    pub fn start_in(handler: &str, env: Vec<(String, String)>, account: &str) -> Function {
        Function::start_binary(bootstrap(), handler, env, account)
    }

    /// [`Function::start_in`] with another executable as `bootstrap` (the one a deployed
    /// function's zip holds).
    pub fn start_binary(
        binary: std::path::PathBuf,
        handler: &str,
        env: Vec<(String, String)>,
        account: &str,
    ) -> Function {
        let shared = Arc::new(Shared::default());
        let arn = format!("arn:aws:lambda:eu-west-1:{account}:function:{handler}");
        let port = runtime_api(Arc::clone(&shared), arn.clone());
        let mut f = Function {
            name: handler.to_string(),
            arn,
            port,
            shared,
            env,
            child: None,
            ended: None,
            spawned: Instant::now(),
            stdout: Arc::default(),
            stderr: Arc::default(),
            next_id: 0,
            binary,
        };
        f.spawn();
        f
    }

    fn spawn(&mut self) {
        let mut command = Command::new(&self.binary);
        command
            .env_remove("AWS_PROFILE")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{}", self.port))
            .env("_HANDLER", &self.name)
            .env("AWS_LAMBDA_FUNCTION_NAME", &self.name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "harness")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.shared.state.lock().expect("lock").first_next = None;
        self.ended = None;
        self.spawned = Instant::now();
        let mut child = command.spawn().expect("the dpc bootstrap starts");
        let out = child.stdout.take().expect("stdout");
        let lines = Arc::clone(&self.stdout);
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                lines.lock().expect("lock").push(line);
            }
        });
        let err = child.stderr.take().expect("stderr");
        let text = Arc::clone(&self.stderr);
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = BufReader::new(err).read_to_string(&mut s);
            text.lock().expect("lock").push_str(&s);
        });
        self.child = Some(child);
    }

    /// Queues an invocation; its request id.
    pub fn submit(&mut self, payload: &Value) -> String {
        self.next_id += 1;
        let id = format!("req-{:04}", self.next_id);
        let mut state = self.shared.state.lock().expect("lock");
        state
            .pending
            .push_back((id.clone(), payload.to_string().into_bytes()));
        self.shared.changed.notify_all();
        id
    }

    /// Waits for the outcome of `id` (an exit of the process is `Runtime.ExitError`).
    #[track_caller]
    pub fn wait(&mut self, id: &str, timeout: Duration) -> Outcome {
        let started = Instant::now();
        loop {
            {
                let state = self.shared.state.lock().expect("lock");
                if let Some(o) = state.results.get(id) {
                    return o.clone();
                }
                if let Some(e) = &state.init_error {
                    return Outcome::Error(json!({"errorType": "Runtime.InitError", "init": e}));
                }
                let _ = self
                    .shared
                    .changed
                    .wait_timeout(state, Duration::from_millis(50));
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
                .or(self.ended)
            {
                // The last words of a dying process may still be on their way.
                std::thread::sleep(Duration::from_millis(100));
                if let Some(o) = self.shared.state.lock().expect("lock").results.get(id) {
                    return o.clone();
                }
                return Outcome::Error(
                    json!({"errorType": "Runtime.ExitError", "status": status.to_string(), "stderr": self.stderr()}),
                );
            }
            assert!(
                started.elapsed() < timeout,
                "{}: no answer to {id} in {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                self.name,
                self.stdout().join("\n"),
                self.stderr()
            );
        }
    }

    /// Invokes the function and waits for its answer.
    #[track_caller]
    pub fn invoke(&mut self, payload: &Value) -> Outcome {
        let id = self.submit(payload);
        self.wait(&id, Duration::from_secs(120))
    }

    /// Waits until the bootstrap took invocation `id`.
    pub fn wait_delivered(&self, id: &str, timeout: Duration) -> bool {
        let started = Instant::now();
        let mut state = self.shared.state.lock().expect("lock");
        while !state.delivered.iter().any(|d| d == id) {
            if started.elapsed() > timeout {
                return false;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, Duration::from_millis(50))
                .expect("lock")
                .0;
        }
        true
    }

    /// Waits until a stdout line satisfies `test`.
    pub fn wait_line(&self, test: impl Fn(&Value) -> bool, timeout: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if self.lines().iter().any(&test) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    /// Kills the bootstrap (SIGKILL), as a crashed or timed-out execution environment.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            self.ended = c.wait().ok();
        }
    }

    /// A fresh execution environment: a new bootstrap process.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Time from the process start to its first `/next` (the init duration), once it asked.
    pub fn init_duration(&self, timeout: Duration) -> Option<Duration> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Some(t) = self.shared.state.lock().expect("lock").first_next {
                return Some(t - self.spawned);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        None
    }

    /// The init error the bootstrap reported, if any.
    pub fn init_error(&self) -> Option<Value> {
        self.shared.state.lock().expect("lock").init_error.clone()
    }

    /// The process's exit status once it ended.
    pub fn exited(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Some(s) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().expect("lock").clone()
    }

    /// stdout's JSON lines (the function's log).
    pub fn lines(&self) -> Vec<Value> {
        self.stdout()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What one poll of the event source mapping did.
#[derive(Debug, Default, Clone)]
pub struct Polled {
    /// Message bodies received, in order, with their message ids.
    pub received: Vec<(String, String)>,
    pub deleted: Vec<String>,
    pub released: Vec<String>,
    pub outcome: Option<Outcome>,
}

/// Lambda's SQS event source mapping for one FIFO queue (see the module comment).
pub struct EventSourceMapping {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub queue_arn: String,
}

/// The ARN of the queue at `url`.
pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .expect("queue arn")
}

/// A new standard queue named `name`: its URL and ARN.
pub async fn new_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("queue")
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let arn = queue_arn(sqs, &url).await;
    (url, arn)
}

impl EventSourceMapping {
    pub async fn new(sqs: aws_sdk_sqs::Client, queue_url: &str) -> EventSourceMapping {
        let queue_arn = queue_arn(&sqs, queue_url).await;
        EventSourceMapping {
            sqs,
            queue_url: queue_url.to_string(),
            queue_arn,
        }
    }

    /// Receives up to 10 messages; none received: an empty [`Polled`] (nothing invoked).
    pub async fn receive(&self) -> Vec<aws_sdk_sqs::types::Message> {
        self.sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("ReceiveMessage")
            .messages()
            .to_vec()
    }

    /// The SQS event Lambda builds from received messages.
    pub fn event(&self, messages: &[aws_sdk_sqs::types::Message]) -> Value {
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let attributes: serde_json::Map<String, Value> = m
                    .attributes()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str().to_string(), json!(v)))
                    .collect();
                json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "attributes": attributes,
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": "eu-west-1",
                })
            })
            .collect();
        json!({"Records": records})
    }

    /// Settles a batch after the function answered: deletes the successes, releases the
    /// failures (all of them when the invocation failed).
    pub async fn settle(
        &self,
        messages: &[aws_sdk_sqs::types::Message],
        outcome: &Outcome,
    ) -> (Vec<String>, Vec<String>) {
        let failed: Vec<String> = match outcome {
            Outcome::Response(v) => v["batchItemFailures"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["itemIdentifier"].as_str().map(String::from))
                .collect(),
            Outcome::Error(_) => messages
                .iter()
                .filter_map(|m| m.message_id().map(String::from))
                .collect(),
        };
        let (mut deleted, mut released) = (Vec::new(), Vec::new());
        for m in messages {
            let id = m.message_id().unwrap_or_default().to_string();
            let handle = m.receipt_handle().unwrap_or_default();
            if failed.contains(&id) {
                self.sqs
                    .change_message_visibility()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .expect("ChangeMessageVisibility");
                released.push(id);
            } else {
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("DeleteMessage");
                deleted.push(id);
            }
        }
        (deleted, released)
    }

    /// One poll: receive, invoke, settle.
    pub async fn poll(&self, function: &mut Function) -> Polled {
        let messages = self.receive().await;
        let mut polled = Polled {
            received: messages
                .iter()
                .map(|m| {
                    (
                        m.message_id().unwrap_or_default().to_string(),
                        m.body().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
            ..Polled::default()
        };
        if messages.is_empty() {
            return polled;
        }
        let event = self.event(&messages);
        let outcome = tokio::task::block_in_place(|| function.invoke(&event));
        let (deleted, released) = self.settle(&messages, &outcome).await;
        polled.deleted = deleted;
        polled.released = released;
        polled.outcome = Some(outcome);
        polled
    }

    /// Polls until a receive finds nothing (at most `max` polls); every poll that invoked.
    pub async fn drain(&self, function: &mut Function, max: usize) -> Vec<Polled> {
        let mut out = Vec::new();
        for _ in 0..max {
            let p = self.poll(function).await;
            if p.received.is_empty() {
                return out;
            }
            out.push(p);
        }
        panic!("the queue was not empty after {max} polls: {out:#?}");
    }
}

/// A CloudFormation `ResponseURL` on 127.0.0.1 recording each PUT body (see the module comment).
pub struct ResponseUrl {
    pub url: String,
    received: Arc<Mutex<Vec<Value>>>,
}

impl ResponseUrl {
    pub fn start() -> ResponseUrl {
        let (listener, port) = free_listener();
        let received: Arc<Mutex<Vec<Value>>> = Arc::default();
        let store = Arc::clone(&received);
        let handle = move |req: &Request, stream: &mut TcpStream| -> bool {
            if req.method == "PUT" {
                let value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                store.lock().expect("lock").push(value);
                write_response(stream, "200 OK", &[], b"")
            } else {
                write_response(stream, "405 Method Not Allowed", &[], b"")
            }
        };
        serve(listener, Arc::new(handle));
        ResponseUrl {
            // With a query, as S3's pre-signed URLs have (never logged by dpc).
            url: format!("http://127.0.0.1:{port}/cloudformation-response?X-Amz-Signature=secret"),
            received,
        }
    }

    /// The responses received so far.
    pub fn responses(&self) -> Vec<Value> {
        self.received.lock().expect("lock").clone()
    }
}

/// The central account on moto, built by the test as the `dpc-central` stack builds it: the
/// manager's table, the central bus, the manager rule (`central_stack::manager_pattern`) to
/// the FIFO queue (one message group, content-based de-duplication) with its dead-letter
/// queue after `MAX_RECEIVES`, and a probe: a rule on the bus sending every trigger event to a
/// standard queue the test reads. The functions get credentials of a role in the central
/// account, as Lambda gives its execution role's.
pub struct Central {
    pub moto: crate::common::moto::Moto,
    pub sdk: aws_config::SdkConfig,
    pub table: String,
    pub bus_arn: String,
    pub queue_url: String,
    pub dlq_url: String,
    pub probe_url: String,
    credentials: Vec<(String, String)>,
}

/// The central account of the case study (`examples/case-study/dpc.yaml`).
pub const CASE_STUDY_CENTRAL: &str = "999999999999";

impl Central {
    pub async fn start() -> Central {
        use dpc::deploy::central_stack as cs;
        let moto = crate::common::moto::Moto::start();
        let sdk = moto.sdk_as(CASE_STUDY_CENTRAL).await;
        let table = "dpc-central-manager".to_string();
        dpc::manager::dynamo::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table)
            .await
            .expect("table");
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue = |name: &str, fifo: bool, redrive: Option<String>| {
            let sqs = sqs.clone();
            let name = name.to_string();
            async move {
                let mut create = sqs.create_queue().queue_name(&name);
                if fifo {
                    create = create
                        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
                        .attributes(
                            aws_sdk_sqs::types::QueueAttributeName::ContentBasedDeduplication,
                            "true",
                        )
                        .attributes(
                            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                            (6 * cs::MANAGER_TIMEOUT).to_string(),
                        );
                }
                if let Some(policy) = redrive {
                    create = create.attributes(
                        aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
                        policy,
                    );
                }
                let url = create
                    .send()
                    .await
                    .expect("queue")
                    .queue_url()
                    .unwrap_or_default()
                    .to_string();
                let arn = queue_arn(&sqs, &url).await;
                (url, arn)
            }
        };
        let (dlq_url, dlq_arn) = queue(cs::DEAD_LETTER_QUEUE, true, None).await;
        let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": cs::MAX_RECEIVES})
            .to_string();
        let (queue_url, queue_arn) = queue(cs::QUEUE, true, Some(redrive)).await;
        let (probe_url, probe_arn) = queue("trigger-probe", false, None).await;
        let events = aws_sdk_eventbridge::Client::new(&sdk);
        let bus_arn = events
            .create_event_bus()
            .name(cs::BUS)
            .send()
            .await
            .expect("bus")
            .event_bus_arn()
            .unwrap_or_default()
            .to_string();
        let rule = |name: &str, pattern: Value, target: aws_sdk_eventbridge::types::Target| {
            let events = events.clone();
            let name = name.to_string();
            async move {
                events
                    .put_rule()
                    .name(&name)
                    .event_bus_name(cs::BUS)
                    .event_pattern(pattern.to_string())
                    .send()
                    .await
                    .expect("rule");
                events
                    .put_targets()
                    .rule(&name)
                    .event_bus_name(cs::BUS)
                    .targets(target)
                    .send()
                    .await
                    .expect("target");
            }
        };
        let manager_target = aws_sdk_eventbridge::types::Target::builder()
            .id("manager-queue")
            .arn(&queue_arn)
            .sqs_parameters(
                aws_sdk_eventbridge::types::SqsParameters::builder()
                    .message_group_id(cs::MESSAGE_GROUP)
                    .build(),
            )
            .build()
            .expect("target");
        rule(cs::MANAGER_RULE, cs::manager_pattern(), manager_target).await;
        let probe_target = aws_sdk_eventbridge::types::Target::builder()
            .id("probe")
            .arn(&probe_arn)
            .build()
            .expect("target");
        let triggers = json!({"source": [dpc::events::TRIGGER_SOURCE], "detail-type": [dpc::events::TRIGGER_DETAIL_TYPE]});
        rule("trigger-probe", triggers, probe_target).await;
        // The execution role's credentials, as Lambda puts them in the environment.
        let creds = aws_sdk_sts::Client::new(&moto.sdk().await)
            .assume_role()
            .role_arn(format!(
                "arn:aws:iam::{CASE_STUDY_CENTRAL}:role/dpc-central-functions"
            ))
            .role_session_name("dpc-lambda")
            .send()
            .await
            .expect("assume role");
        let c = creds.credentials().expect("credentials");
        let credentials = vec![
            (
                "AWS_ACCESS_KEY_ID".to_string(),
                c.access_key_id().to_string(),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".to_string(),
                c.secret_access_key().to_string(),
            ),
            (
                "AWS_SESSION_TOKEN".to_string(),
                c.session_token().to_string(),
            ),
        ];
        Central {
            moto,
            sdk,
            table,
            bus_arn,
            queue_url,
            dlq_url,
            probe_url,
            credentials,
        }
    }

    /// The environment of the functions (as the `dpc-central` stack sets it) and Lambda's.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .moto
            .env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY_ID") && !k.starts_with("AWS_SECRET"))
            .collect();
        env.extend(self.credentials.iter().cloned());
        env.extend([
            ("DPC_TABLE".to_string(), self.table.clone()),
            ("DPC_CENTRAL_BUS_ARN".to_string(), self.bus_arn.clone()),
            ("DPC_MANAGER_QUEUE_URL".to_string(), self.queue_url.clone()),
        ]);
        env
    }

    pub fn function(&self, handler: &str) -> Function {
        Function::start_in(handler, self.env(), CASE_STUDY_CENTRAL)
    }

    pub async fn mapping(&self) -> EventSourceMapping {
        EventSourceMapping::new(aws_sdk_sqs::Client::new(&self.sdk), &self.queue_url).await
    }

    /// A store on the manager's table, for the test's own reads and writes.
    pub fn store(&self) -> dpc::manager::dynamo::DynamoStore {
        dpc::manager::dynamo::DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&self.sdk),
            &self.table,
        )
    }

    /// Puts events on the central bus (as the upstream accounts' forwarding rules do).
    pub async fn put(&self, events: &[Value]) {
        for e in events {
            put_on(&self.sdk, &self.bus_arn, e).await;
        }
    }

    /// Messages waiting in a queue (received and left in flight: read once, at the end).
    pub async fn take(&self, url: &str) -> Vec<Value> {
        take_all(&self.sdk, url).await
    }

    /// The trigger events put on the central bus so far (read from the probe queue).
    pub async fn triggers(&self) -> Vec<Value> {
        self.take(&self.probe_url).await
    }
}

/// The `Custom::DpcRegistration` request CloudFormation sends for a synthesized pipeline
/// stack (`template.json`), its references resolved as CloudFormation resolves them.
pub fn registration_request(
    template: &Value,
    kind: &str,
    account: &str,
    response_url: &str,
) -> Value {
    let (_, resource) = template["Resources"]
        .as_object()
        .and_then(|r| {
            r.iter()
                .find(|(_, v)| v["Type"] == "Custom::DpcRegistration")
        })
        .expect("a registration resource");
    let token = format!("arn:aws:lambda:eu-west-1:{CASE_STUDY_CENTRAL}:function:dpc-registration");
    let pipeline = resource["Properties"]["Pipeline"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let resolve = |v: &Value| -> Value {
        let sub = |s: &str| {
            s.replace("${AWS::AccountId}", account)
                .replace("${AWS::Region}", "eu-west-1")
                .replace("${CentralAccountId}", CASE_STUDY_CENTRAL)
        };
        match (
            v.get("Ref").and_then(Value::as_str),
            v.get("Fn::Sub").and_then(Value::as_str),
            v.as_str(),
        ) {
            (Some("AWS::AccountId"), _, _) => json!(account),
            (Some("AWS::Region"), _, _) => json!("eu-west-1"),
            (Some("StateMachine"), _, _) => json!(format!(
                "arn:aws:states:eu-west-1:{account}:stateMachine:dpc-{pipeline}"
            )),
            (Some("RegistrationServiceToken"), _, _) => json!(token),
            (Some(topic @ ("EmailTopic" | "OpsgenieTopic")), _, _) => json!(format!(
                "arn:aws:sns:eu-west-1:{account}:dpc-{pipeline}-{}",
                topic.trim_end_matches("Topic").to_lowercase()
            )),
            (_, Some(s), _) | (_, _, Some(s)) => json!(sub(s)),
            _ => v.clone(),
        }
    };
    let properties: serde_json::Map<String, Value> = resource["Properties"]
        .as_object()
        .expect("properties")
        .iter()
        .map(|(k, v)| (k.clone(), resolve(v)))
        .collect();
    json!({
        "RequestType": kind,
        "ServiceToken": token,
        "ResponseURL": response_url,
        "StackId": format!("arn:aws:cloudformation:eu-west-1:{account}:stack/dpc-{pipeline}/0"),
        "RequestId": format!("{kind}-{pipeline}"),
        "LogicalResourceId": "Registration",
        "ResourceType": "Custom::DpcRegistration",
        "ResourceProperties": properties,
    })
}

/// The case study synthesized once into `dir`; a pipeline's `template.json`.
pub fn case_study_template(dir: &std::path::Path, pipeline: &str) -> Value {
    let out = dir.join("synth");
    if !out.join(pipeline).is_dir() {
        crate::common::dpc(["synth", "examples/case-study", "--out"])
            .arg(&out)
            .run()
            .assert_code(0);
    }
    let text = std::fs::read_to_string(out.join(pipeline).join("template.json")).expect("template");
    serde_json::from_str(&text).expect("template JSON")
}

/// A status event as Step Functions emits it through EventBridge.
pub fn status_event(
    account: &str,
    pipeline: &str,
    execution: &str,
    status: &str,
    started: i64,
    stopped: Option<i64>,
) -> Value {
    let arn = format!("arn:aws:states:eu-west-1:{account}:execution:dpc-{pipeline}:{execution}");
    json!({
        "version": "0",
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "account": account,
        "region": "eu-west-1",
        "resources": [arn],
        "detail": {
            "executionArn": arn,
            "stateMachineArn": format!("arn:aws:states:eu-west-1:{account}:stateMachine:dpc-{pipeline}"),
            "name": execution,
            "status": status,
            "startDate": started,
            "stopDate": stopped,
            "input": "{\"run\":{\"type\":\"SCHEDULED\"}}",
            "redriveCount": 0,
        }
    })
}

/// Every message waiting in a queue, deleted as read.
pub async fn take_all(sdk: &aws_config::SdkConfig, url: &str) -> Vec<Value> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("ReceiveMessage");
        if got.messages().is_empty() {
            return out;
        }
        for m in got.messages() {
            out.push(serde_json::from_str(m.body().unwrap_or_default()).unwrap_or(Value::Null));
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("DeleteMessage");
        }
    }
}

/// Puts `e` (an EventBridge event as JSON) on `bus` (a name or an ARN).
pub async fn put_on(sdk: &aws_config::SdkConfig, bus: &str, e: &Value) {
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(e["source"].as_str().unwrap_or_default())
        .detail_type(e["detail-type"].as_str().unwrap_or_default())
        .detail(e["detail"].to_string())
        .set_resources(e["resources"].as_array().map(|r| {
            r.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        }))
        .build();
    let out = aws_sdk_eventbridge::Client::new(sdk)
        .put_events()
        .entries(entry)
        .send()
        .await
        .expect("PutEvents");
    assert_eq!(out.failed_entry_count(), 0, "{out:?}");
}
