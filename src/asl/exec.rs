//! Reads a checked definition, an input, options and a task handler; produces the finished `Execution` (status, output, history, trace).

use super::context::ExecInfo;
use super::errors::Fault;
use super::handler::TaskHandler;
use super::history::{
    Details, ErrorCause, EventType, ExecutionStarted, HistoryEvent, Output, Truncated,
};
use super::model::Definition;
use super::rng::Rng;
use super::time::{self, Millis, ser_time};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// How to run an execution. Time and randomness come only from here.
#[derive(Debug, Clone)]
pub struct Options {
    /// Virtual start time.
    pub start_time: DateTime<Utc>,
    /// `$$.Execution.Name`.
    pub execution_name: String,
    /// `$$.StateMachine.Id`; its last `:` segment is the machine's name.
    pub state_machine_arn: String,
    /// `$$.Execution.Id`; derived from the machine ARN and the name when `None`.
    pub execution_arn: Option<String>,
    /// `$$.Execution.RoleArn`.
    pub role_arn: String,
    /// Region reported in TaskScheduled events for ARNs without one.
    pub region: String,
    /// Seed of the PRNG behind MathRandom, UUID, task tokens and jitter.
    pub seed: u64,
    /// State transitions after which the execution is aborted.
    pub max_transitions: u64,
    /// Virtual seconds after which the execution is aborted, if set.
    pub max_duration_seconds: Option<f64>,
    /// Whether to record the history events.
    pub record_history: bool,
    /// Whether to record the compact trace.
    pub record_trace: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            start_time: DateTime::<Utc>::UNIX_EPOCH,
            execution_name: "execution".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:StateMachine"
                .into(),
            execution_arn: None,
            role_arn: "arn:aws:iam::123456789012:role/StepFunctionsRole".into(),
            region: "us-east-1".into(),
            seed: 0,
            max_transitions: 1_000_000,
            max_duration_seconds: None,
            record_history: true,
            record_trace: true,
        }
    }
}

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Reached a Succeed state or an End.
    Succeeded,
    /// A state failed and nothing caught it.
    Failed,
    /// The definition's `TimeoutSeconds` passed.
    TimedOut,
    /// Stopped by a limit of `Options`.
    Aborted,
}

impl Status {
    /// The name Step Functions gives the status, e.g. `TIMED_OUT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

/// One visited state, for a human-readable trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceStep {
    /// State name.
    pub state: String,
    /// Virtual time of the step: when the state was left, or when an attempt failed (retry).
    #[serde(serialize_with = "ser_time")]
    pub at: DateTime<Utc>,
    /// What happened: `next 'X'`, `end`, `retry 1 after E`, `caught E -> 'X'`, `failed E`.
    pub outcome: String,
}

/// A finished execution.
#[derive(Debug, Clone, Serialize)]
pub struct Execution {
    /// Final status.
    pub status: Status,
    /// Output, when SUCCEEDED.
    pub output: Option<Value>,
    /// Error name, otherwise.
    pub error: Option<String>,
    /// Cause, otherwise.
    pub cause: Option<String>,
    /// Virtual start time.
    #[serde(serialize_with = "ser_time")]
    pub started: DateTime<Utc>,
    /// Virtual stop time.
    #[serde(serialize_with = "ser_time")]
    pub stopped: DateTime<Utc>,
    /// State transitions made (states entered plus retries).
    pub transitions: u64,
    /// History events, when recorded.
    pub history: Vec<HistoryEvent>,
    /// Visited states, when recorded.
    pub trace: Vec<TraceStep>,
}

/// Why the interpreter stops running a machine.
#[derive(Debug)]
pub(crate) enum Stop {
    /// A state failed at the given time (catchable unless terminal).
    Fail(Fault, Millis),
    /// The execution's TimeoutSeconds passed.
    TimedOut(Millis),
    /// A limit of `Options` was hit.
    Aborted(Fault, Millis),
}

pub(crate) struct Raw {
    pub t: Millis,
    pub prev: Option<usize>,
    pub kind: EventType,
    pub details: Option<Details>,
    /// Cut off: after the execution stopped, or in a branch that was cancelled.
    pub dropped: bool,
}

/// Interpreter state for one execution.
pub(crate) struct Engine<'h> {
    pub opts: &'h Options,
    pub handler: &'h mut dyn TaskHandler,
    pub rng: Rng,
    pub exec: ExecInfo,
    pub transitions: u64,
    pub events: Vec<Raw>,
    pub last: Option<usize>,
    pub trace: Vec<TraceStep>,
    /// The error a Catch just took, told in the state's next trace line.
    pub caught: Option<String>,
    timeout_at: Option<Millis>,
    abort_at: Option<Millis>,
}

/// Runs `def` on `input`.
pub fn run(
    def: &Definition,
    input: Value,
    opts: &Options,
    handler: &mut dyn TaskHandler,
) -> Execution {
    let start = opts.start_time.timestamp_millis();
    let mut e = Engine::new(def, &input, opts, handler);
    e.emit(start, EventType::ExecutionStarted, || {
        Some(Details::ExecutionStartedEventDetails(ExecutionStarted {
            input: super::encode::compact(&input),
            input_details: Truncated::default(),
            role_arn: opts.role_arn.clone(),
        }))
    });
    let result = e
        .run_machine(&def.machine, input, start)
        .and_then(|(out, t)| e.check_time(t).map(|()| (out, t)));
    e.finish(result, start)
}

impl<'h> Engine<'h> {
    fn new(
        def: &Definition,
        input: &Value,
        opts: &'h Options,
        handler: &'h mut dyn TaskHandler,
    ) -> Engine<'h> {
        let start = opts.start_time.timestamp_millis();
        let machine_name = opts
            .state_machine_arn
            .rsplit(':')
            .next()
            .unwrap_or("")
            .to_string();
        let id = opts
            .execution_arn
            .clone()
            .unwrap_or_else(|| execution_arn(opts, &machine_name));
        Engine {
            opts,
            handler,
            rng: Rng::new(opts.seed),
            exec: ExecInfo {
                id,
                name: opts.execution_name.clone(),
                start,
                input: input.clone(),
                role_arn: opts.role_arn.clone(),
                machine_id: opts.state_machine_arn.clone(),
                machine_name,
            },
            transitions: 0,
            events: Vec::new(),
            last: None,
            trace: Vec::new(),
            caught: None,
            timeout_at: def
                .timeout_seconds
                .map(|s| start.saturating_add(s as i64 * 1000)),
            abort_at: opts
                .max_duration_seconds
                .map(|s| start.saturating_add(time::secs_to_millis(s))),
        }
    }

    /// Records an event; `details` runs only when history is on.
    pub fn emit(&mut self, t: Millis, kind: EventType, details: impl FnOnce() -> Option<Details>) {
        if !self.opts.record_history {
            return;
        }
        self.events.push(Raw {
            t,
            prev: self.last,
            kind,
            details: details(),
            dropped: false,
        });
        self.last = Some(self.events.len() - 1);
    }

    /// Records a trace step when the trace is on.
    pub fn step(&mut self, state: &str, at: Millis, outcome: impl FnOnce() -> String) {
        if self.opts.record_trace {
            self.trace.push(TraceStep {
                state: state.to_string(),
                at: time::to_datetime(at),
                outcome: outcome(),
            });
        }
    }

    /// Counts one transition and checks every limit.
    pub fn tick(&mut self, now: Millis) -> Result<(), Stop> {
        self.transitions += 1;
        if self.transitions > self.opts.max_transitions {
            let cause = format!(
                "aborted after {} state transitions (max_transitions); the state machine may loop forever",
                self.opts.max_transitions
            );
            return Err(Stop::Aborted(Fault::new("dpc.TransitionLimit", cause), now));
        }
        self.check_time(now)
    }

    /// Checks the execution timeout and the virtual duration limit.
    pub fn check_time(&self, now: Millis) -> Result<(), Stop> {
        if let Some(d) = self.timeout_at.filter(|d| now > *d) {
            return Err(Stop::TimedOut(d));
        }
        if let Some(d) = self.abort_at.filter(|d| now > *d) {
            let cause = "aborted: the virtual duration limit (max_duration_seconds) was reached";
            return Err(Stop::Aborted(Fault::new("dpc.DurationLimit", cause), d));
        }
        Ok(())
    }

    /// A fresh task token.
    pub fn token(&mut self) -> String {
        let a = self.rng.next_u64();
        let b = self.rng.next_u64();
        super::encode::base64_encode(format!("{a:016x}{b:016x}").as_bytes())
    }

    fn finish(mut self, result: Result<(Value, Millis), Stop>, start: Millis) -> Execution {
        let (status, output, fault, stop) = match result {
            Ok((out, t)) => (Status::Succeeded, Some(out), None, t),
            Err(Stop::Fail(f, t)) => (Status::Failed, None, Some(f), t),
            Err(Stop::TimedOut(t)) => {
                let f = Fault::new(
                    super::errors::TIMEOUT,
                    "The execution ran longer than the state machine's TimeoutSeconds",
                );
                (Status::TimedOut, None, Some(f), t)
            }
            Err(Stop::Aborted(f, t)) => (Status::Aborted, None, Some(f), t),
        };
        self.close(status, output.as_ref(), fault.as_ref(), stop);
        Execution {
            status,
            output,
            error: fault.as_ref().map(|f| f.error.clone()),
            cause: fault.map(|f| f.cause),
            started: time::to_datetime(start),
            stopped: time::to_datetime(stop),
            transitions: self.transitions,
            history: number(std::mem::take(&mut self.events)),
            trace: self.trace,
        }
    }

    fn close(
        &mut self,
        status: Status,
        output: Option<&Value>,
        fault: Option<&Fault>,
        stop: Millis,
    ) {
        if !self.opts.record_history {
            return;
        }
        for e in self.events.iter_mut().filter(|e| e.t > stop) {
            e.dropped = true;
        }
        self.last = self
            .events
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.dropped)
            .max_by_key(|(i, e)| (e.t, *i))
            .map(|(i, _)| i);
        let ec = || {
            fault.map(|f| ErrorCause {
                error: f.error.clone(),
                cause: f.cause.clone(),
            })
        };
        let (kind, details) = match status {
            Status::Succeeded => (
                EventType::ExecutionSucceeded,
                output.map(|o| {
                    Details::ExecutionSucceededEventDetails(Output {
                        output: super::encode::compact(o),
                        output_details: Truncated::default(),
                    })
                }),
            ),
            Status::Failed => (
                EventType::ExecutionFailed,
                ec().map(Details::ExecutionFailedEventDetails),
            ),
            Status::TimedOut => (
                EventType::ExecutionTimedOut,
                ec().map(Details::ExecutionTimedOutEventDetails),
            ),
            Status::Aborted => (
                EventType::ExecutionAborted,
                ec().map(Details::ExecutionAbortedEventDetails),
            ),
        };
        self.emit(stop, kind, || details);
    }
}

fn execution_arn(opts: &Options, machine_name: &str) -> String {
    let parts: Vec<&str> = opts.state_machine_arn.split(':').collect();
    let region = parts
        .get(3)
        .copied()
        .filter(|r| !r.is_empty())
        .unwrap_or(&opts.region);
    let account = parts.get(4).copied().unwrap_or("123456789012");
    format!(
        "arn:aws:states:{region}:{account}:execution:{machine_name}:{}",
        opts.execution_name
    )
}

/// Orders events by time (stably) and numbers them from 1.
fn number(raw: Vec<Raw>) -> Vec<HistoryEvent> {
    let mut order: Vec<usize> = (0..raw.len())
        .filter(|&i| raw.get(i).is_some_and(|e| !e.dropped))
        .collect();
    order.sort_by_key(|&i| raw.get(i).map_or(0, |e| e.t));
    let mut id_of = vec![0u64; raw.len()];
    for (pos, &i) in order.iter().enumerate() {
        if let Some(slot) = id_of.get_mut(i) {
            *slot = pos as u64 + 1;
        }
    }
    let mut slots: Vec<Option<Raw>> = raw.into_iter().map(Some).collect();
    order
        .iter()
        .filter_map(|&i| {
            let e = slots.get_mut(i)?.take()?;
            Some(HistoryEvent {
                id: id_of.get(i).copied().unwrap_or(0),
                previous_event_id: e.prev.and_then(|p| id_of.get(p).copied()).unwrap_or(0),
                timestamp: time::to_datetime(e.t),
                kind: e.kind,
                details: e.details,
            })
        })
        .collect()
}
