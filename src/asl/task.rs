//! Reads a Task state and its input; produces one attempt: the handler call, its timeout and heartbeat checks, its events and its output.

use super::context::Ctx;
use super::encode::compact;
use super::errors::{Fault, HEARTBEAT, TIMEOUT};
use super::exec::{Engine, Stop};
use super::flow::{input_path, number, output_path, result_path};
use super::handler::{TaskCall, TaskOutcome};
use super::history::{
    Details, EventType, TaskError, TaskRef, TaskScheduled, TaskSucceeded, Truncated, region_of,
    split_resource,
};
use super::model::{State, Task};
use super::time::{self, Millis};
use serde_json::Value;

/// TimeoutSeconds when a Task gives none.
const DEFAULT_TIMEOUT: u64 = 99_999_999;

struct Limits {
    timeout: u64,
    heartbeat: Option<u64>,
    given_timeout: bool,
}

impl Engine<'_> {
    pub(crate) fn task(
        &mut self,
        st: &State,
        task: &Task,
        input: &Value,
        entered: Millis,
        now: Millis,
        retries: u32,
    ) -> Result<(Value, Millis), Stop> {
        let token = task
            .resource
            .ends_with(".waitForTaskToken")
            .then(|| self.token());
        let fail = |f: Fault| Stop::Fail(f, now);
        let mut cx = Ctx::new(&self.exec, &st.name, entered);
        cx.retry_count = retries;
        cx.token = token.as_deref();
        let eff = input_path(&st.io.input_path, input, &cx).map_err(fail)?;
        let params = match &st.io.parameters {
            Some(t) => t.eval(&eff, &cx, &mut self.rng).map_err(fail)?,
            None => eff.as_ref().clone(),
        };
        let limits = limits(task, &eff).map_err(fail)?;
        drop(cx);
        // Only history events name the resource's parts: skip the split in the hot path.
        let (rtype, res) = if self.opts.record_history {
            split_resource(&task.resource)
        } else {
            Default::default()
        };
        let region = region_of(&task.resource).unwrap_or(&self.opts.region);
        self.emit(now, EventType::TaskScheduled, || {
            Some(Details::TaskScheduledEventDetails(TaskScheduled {
                resource_type: rtype.clone(),
                resource: res.clone(),
                region: region.to_string(),
                parameters: compact(&params),
                timeout_in_seconds: limits.given_timeout.then_some(limits.timeout),
                heartbeat_in_seconds: limits.heartbeat,
            }))
        });
        self.emit(now, EventType::TaskStarted, || {
            Some(Details::TaskStartedEventDetails(TaskRef {
                resource_type: rtype.clone(),
                resource: res.clone(),
            }))
        });
        let call = TaskCall {
            state: &st.name,
            resource: &task.resource,
            parameters: &params,
            started: time::to_datetime(now),
            timeout_seconds: limits.timeout,
            heartbeat_seconds: limits.heartbeat,
            task_token: token.as_deref(),
            retry_count: retries,
        };
        let outcome = self.handler.call(&call);
        let r = (rtype, res);
        match outcome {
            TaskOutcome::Ok {
                output,
                duration,
                heartbeats,
            } => {
                if let Some((f, at)) = timed_out(now, duration, &heartbeats, &limits) {
                    return Err(self.task_error(&r, EventType::TaskTimedOut, f, at));
                }
                let end = now.saturating_add(time::secs_to_millis(duration));
                self.emit(end, EventType::TaskSucceeded, || {
                    Some(Details::TaskSucceededEventDetails(TaskSucceeded {
                        resource_type: r.0.clone(),
                        resource: r.1.clone(),
                        output: compact(&output),
                        output_details: Truncated::default(),
                    }))
                });
                self.task_output(st, input, output, entered, retries)
                    .map(|v| (v, end))
                    .map_err(|f| Stop::Fail(f, end))
            }
            TaskOutcome::Err {
                error,
                cause,
                duration,
            } => {
                if let Some((f, at)) = timed_out(now, duration, &[], &limits) {
                    return Err(self.task_error(&r, EventType::TaskTimedOut, f, at));
                }
                let end = now.saturating_add(time::secs_to_millis(duration));
                Err(self.task_error(&r, EventType::TaskFailed, Fault::new(error, cause), end))
            }
        }
    }

    fn task_error(&mut self, r: &(String, String), kind: EventType, f: Fault, at: Millis) -> Stop {
        self.emit(at, kind, || {
            let d = TaskError {
                resource_type: r.0.clone(),
                resource: r.1.clone(),
                error: f.error.clone(),
                cause: f.cause.clone(),
            };
            Some(if kind == EventType::TaskTimedOut {
                Details::TaskTimedOutEventDetails(d)
            } else {
                Details::TaskFailedEventDetails(d)
            })
        });
        Stop::Fail(f, at)
    }

    /// ResultSelector, ResultPath and OutputPath on a task result.
    pub(crate) fn task_output(
        &mut self,
        st: &State,
        input: &Value,
        result: Value,
        entered: Millis,
        retries: u32,
    ) -> Result<Value, Fault> {
        let mut cx = Ctx::new(&self.exec, &st.name, entered);
        cx.retry_count = retries;
        let result = match &st.io.result_selector {
            Some(t) => t.eval(&result, &cx, &mut self.rng)?,
            None => result,
        };
        let out = result_path(&st.io.result_path, input.clone(), result)?;
        output_path(&st.io.output_path, out, &cx)
    }
}

fn limits(task: &Task, eff: &Value) -> Result<Limits, Fault> {
    let max = DEFAULT_TIMEOUT as f64;
    let timeout = task
        .timeout
        .as_ref()
        .map(|n| number(n, "TimeoutSecondsPath", eff, 1.0, max))
        .transpose()?;
    let heartbeat = task
        .heartbeat
        .as_ref()
        .map(|n| number(n, "HeartbeatSecondsPath", eff, 1.0, max))
        .transpose()?;
    Ok(Limits {
        timeout: timeout.map_or(DEFAULT_TIMEOUT, |t| t as u64),
        heartbeat: heartbeat.map(|h| h as u64),
        given_timeout: timeout.is_some(),
    })
}

/// The first timeout a task of this duration and heartbeats hits, if any.
fn timed_out(
    start: Millis,
    duration: f64,
    heartbeats: &[f64],
    l: &Limits,
) -> Option<(Fault, Millis)> {
    let dur = time::secs_to_millis(duration);
    let limit = l.timeout as i64 * 1000;
    let mut first: Option<(Fault, Millis)> = None;
    if dur > limit {
        let cause = format!(
            "The task did not finish within TimeoutSeconds ({} s)",
            l.timeout
        );
        first = Some((Fault::new(TIMEOUT, cause), start.saturating_add(limit)));
    }
    if let Some(hb) = l.heartbeat {
        let gap = hb as i64 * 1000;
        let mut beats: Vec<Millis> = heartbeats
            .iter()
            .map(|h| time::secs_to_millis(*h))
            .filter(|h| *h <= dur)
            .collect();
        beats.sort_unstable();
        beats.push(dur);
        let mut prev = 0;
        for b in beats {
            if b - prev > gap {
                let at = start.saturating_add(prev + gap);
                if first.as_ref().is_none_or(|(_, t)| at < *t) {
                    let cause =
                        format!("The task sent no heartbeat within HeartbeatSeconds ({hb} s)");
                    first = Some((Fault::new(HEARTBEAT, cause), at));
                }
                break;
            }
            prev = b;
        }
    }
    first
}
