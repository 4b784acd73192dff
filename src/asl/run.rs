//! Reads a machine's states and the data flowing through them; produces state-by-state transitions (Pass, Choice, Wait, Succeed, Fail) and applies Retry and Catch.

use super::context::Ctx;
use super::encode::compact;
use super::errors::{Fault, NO_CHOICE, any_matches, is_terminal};
use super::exec::{Engine, Stop};
use super::flow::{input_path, output_path, result_path, take_input};
use super::history::{Details, EventType, StateEntered, StateExited, Truncated};
use super::model::{
    Fail, IoPath, Kind, Machine, Next, Recovery, ResultPath, Retrier, State, Text, Wait,
};
use super::time::{self, Millis, parse_timestamp};
use serde_json::{Value, json};
use std::borrow::Cow;

/// Where a state sends the execution.
pub(crate) enum Flow {
    To(usize),
    End,
}

fn flow_of(n: Next) -> Flow {
    match n {
        Next::To(i) => Flow::To(i),
        Next::End => Flow::End,
    }
}

impl Engine<'_> {
    /// Runs `m` from its start until an End, a Succeed or a failure.
    pub(crate) fn run_machine(
        &mut self,
        m: &Machine,
        input: Value,
        t: Millis,
    ) -> Result<(Value, Millis), Stop> {
        let (mut idx, mut data, mut now) = (m.start, input, t);
        loop {
            self.tick(now)?;
            let Some(st) = m.states.get(idx) else {
                return Err(Stop::Fail(
                    Fault::runtime(format!("no state at index {idx}")),
                    now,
                ));
            };
            let (flow, out, end) = self.run_state(st, data, now)?;
            match flow {
                Flow::To(i) => {
                    let caught = self.caught.take();
                    self.step(&st.name, end, || {
                        let next = m.states.get(i).map_or("", |s| s.name.as_str());
                        match caught {
                            Some(c) => format!("caught {c}, next '{next}'"),
                            None => format!("next '{next}'"),
                        }
                    });
                    (idx, data, now) = (i, out, end);
                }
                Flow::End => {
                    self.step(&st.name, end, || "end".into());
                    self.check_time(end)?;
                    return Ok((out, end));
                }
            }
        }
    }

    fn run_state(
        &mut self,
        st: &State,
        input: Value,
        now: Millis,
    ) -> Result<(Flow, Value, Millis), Stop> {
        let ty = st.kind.type_name();
        self.emit(now, EventType::entered(ty), || entered(&st.name, &input));
        let r = match &st.kind {
            Kind::Pass { result } => self
                .pass(st, result.as_ref(), input, now)
                .map(|v| (flow_of(st.next), v, now)),
            Kind::Choice { choices, default } => self.choice(st, choices, *default, input, now),
            Kind::Wait(w) => self.wait(st, w, input, now),
            Kind::Succeed => self.succeed(st, input, now).map(|v| (Flow::End, v, now)),
            Kind::Fail(f) => return Err(self.fail(st, f, &input, now)),
            Kind::Task(t) => return self.recover(st, &t.recovery, input, now),
            Kind::Parallel(p) => return self.recover(st, &p.recovery, input, now),
            Kind::Map(m) => return self.recover(st, &m.recovery, input, now),
        };
        let (flow, out, end) = r.map_err(|f| self.failed(st, f, now))?;
        self.emit(end, EventType::exited(ty), || exited(&st.name, &out));
        Ok((flow, out, end))
    }

    fn failed(&mut self, st: &State, f: Fault, now: Millis) -> Stop {
        self.step(&st.name, now, || format!("failed {}: {}", f.error, f.cause));
        Stop::Fail(f, now)
    }

    pub(crate) fn ctx<'a>(&'a self, name: &'a str, entered: Millis) -> Ctx<'a> {
        Ctx::new(&self.exec, name, entered)
    }

    fn pass(
        &mut self,
        st: &State,
        result: Option<&Value>,
        input: Value,
        now: Millis,
    ) -> Result<Value, Fault> {
        let io = &st.io;
        let plain = matches!(
            (&io.input_path, &io.result_path, &io.output_path),
            (IoPath::Root, ResultPath::Root, IoPath::Root)
        );
        if plain && result.is_none() && io.parameters.is_none() {
            return Ok(input);
        }
        let cx = Ctx::new(&self.exec, &st.name, now);
        let r = {
            let eff = input_path(&io.input_path, &input, &cx)?;
            match (result, &io.parameters) {
                (Some(r), _) => r.clone(),
                (None, Some(t)) => t.eval(&eff, &cx, &mut self.rng)?,
                (None, None) => eff.into_owned(),
            }
        };
        let out = result_path(&io.result_path, input, r)?;
        output_path(&io.output_path, out, &cx)
    }

    fn choice(
        &mut self,
        st: &State,
        choices: &[(super::choice::Rule, usize)],
        default: Option<usize>,
        input: Value,
        now: Millis,
    ) -> Result<(Flow, Value, Millis), Fault> {
        let cx = self.ctx(&st.name, now);
        let eff = take_input(&st.io.input_path, input, &cx)?;
        let mut target = default;
        for (rule, next) in choices {
            if rule.eval(&eff, &cx)? {
                target = Some(*next);
                break;
            }
        }
        let Some(t) = target else {
            return Err(Fault::new(
                NO_CHOICE,
                format!(
                    "No Choice Rule matched and no Default in state '{}'",
                    st.name
                ),
            ));
        };
        Ok((Flow::To(t), output_path(&st.io.output_path, eff, &cx)?, now))
    }

    fn wait(
        &mut self,
        st: &State,
        w: &Wait,
        input: Value,
        now: Millis,
    ) -> Result<(Flow, Value, Millis), Fault> {
        let cx = self.ctx(&st.name, now);
        let eff = take_input(&st.io.input_path, input, &cx)?;
        let end = match w {
            Wait::Seconds(s) => now.saturating_add(time::secs_to_millis(*s)),
            Wait::Timestamp(t) => (*t).max(now),
            Wait::SecondsPath(p) => {
                let v = p.select(&eff);
                let secs = v.as_deref().and_then(Value::as_u64).ok_or_else(|| {
                    Fault::runtime(format!(
                        "SecondsPath '{}' must select a non-negative integer in '{}'",
                        p.text(),
                        compact(&eff)
                    ))
                })?;
                now.saturating_add(time::secs_to_millis(secs as f64))
            }
            Wait::TimestampPath(p) => {
                let v = p.select(&eff);
                let t = v
                    .as_deref()
                    .and_then(Value::as_str)
                    .and_then(parse_timestamp)
                    .ok_or_else(|| {
                        Fault::runtime(format!(
                            "TimestampPath '{}' must select an RFC 3339 timestamp in '{}'",
                            p.text(),
                            compact(&eff)
                        ))
                    })?;
                t.max(now)
            }
        };
        Ok((
            flow_of(st.next),
            output_path(&st.io.output_path, eff, &cx)?,
            end,
        ))
    }

    fn succeed(&mut self, st: &State, input: Value, now: Millis) -> Result<Value, Fault> {
        let cx = self.ctx(&st.name, now);
        let data = take_input(&st.io.input_path, input, &cx)?;
        output_path(&st.io.output_path, data, &cx)
    }

    fn fail(&mut self, st: &State, f: &Fail, input: &Value, now: Millis) -> Stop {
        let r = (|| {
            let cx = Ctx::new(&self.exec, &st.name, now);
            let error = text(f.error.as_ref(), input, &cx, &mut self.rng, "ErrorPath")?;
            let cause = text(f.cause.as_ref(), input, &cx, &mut self.rng, "CausePath")?;
            Ok::<Fault, Fault>(Fault::new(error, cause))
        })();
        let fault = r.unwrap_or_else(|e| e);
        self.failed(st, fault, now)
    }

    /// Runs a Task, Parallel or Map state with its retriers and catchers.
    fn recover(
        &mut self,
        st: &State,
        rec: &Recovery,
        input: Value,
        entered: Millis,
    ) -> Result<(Flow, Value, Millis), Stop> {
        let mut counts = vec![0u64; rec.retry.len()];
        let (mut retries, mut now) = (0u32, entered);
        loop {
            let (f, t) = match self.attempt(st, &input, entered, now, retries) {
                Ok((out, t)) => {
                    self.emit(t, EventType::exited(st.kind.type_name()), || {
                        exited(&st.name, &out)
                    });
                    return Ok((flow_of(st.next), out, t));
                }
                Err(Stop::Fail(f, t)) if !is_terminal(&f.error) => (f, t),
                Err(Stop::Fail(f, t)) => return Err(self.failed(st, f, t)),
                Err(other) => return Err(other),
            };
            if let Some(delay) = self.retry_delay(&rec.retry, &mut counts, &f.error) {
                retries += 1;
                self.step(&st.name, t, || {
                    format!("retry {retries} after {}: {}", f.error, f.cause)
                });
                now = t.saturating_add(delay);
                self.tick(now)?;
                continue;
            }
            return self.catch(st, rec, input, f, t);
        }
    }

    /// The wait before the next attempt, if a retrier takes this error.
    fn retry_delay(
        &mut self,
        retriers: &[Retrier],
        counts: &mut [u64],
        error: &str,
    ) -> Option<Millis> {
        let i = retriers
            .iter()
            .position(|r| any_matches(&r.errors, error))?;
        let (r, n) = (retriers.get(i)?, counts.get_mut(i)?);
        if *n >= r.max_attempts {
            return None;
        }
        let mut secs = r.interval * r.backoff.powf(*n as f64);
        if let Some(cap) = r.max_delay {
            secs = secs.min(cap);
        }
        if r.full_jitter {
            secs *= self.rng.next_f64();
        }
        *n += 1;
        Some(time::secs_to_millis(secs))
    }

    fn catch(
        &mut self,
        st: &State,
        rec: &Recovery,
        input: Value,
        f: Fault,
        t: Millis,
    ) -> Result<(Flow, Value, Millis), Stop> {
        let Some(c) = rec.catch.iter().find(|c| any_matches(&c.errors, &f.error)) else {
            return Err(self.failed(st, f, t));
        };
        let err = json!({"Error": f.error, "Cause": f.cause});
        let out = match result_path(&c.result_path, input, err) {
            Ok(v) => v,
            Err(e) => return Err(self.failed(st, Fault::runtime(e.cause), t)),
        };
        if self.opts.record_trace {
            self.caught = Some(format!("{}: {}", f.error, f.cause));
        }
        self.emit(t, EventType::exited(st.kind.type_name()), || {
            exited(&st.name, &out)
        });
        Ok((Flow::To(c.next), out, t))
    }

    fn attempt(
        &mut self,
        st: &State,
        input: &Value,
        entered: Millis,
        now: Millis,
        retries: u32,
    ) -> Result<(Value, Millis), Stop> {
        match &st.kind {
            Kind::Task(t) => self.task(st, t, input, entered, now, retries),
            Kind::Parallel(p) => self.parallel(st, p, input, entered, now),
            Kind::Map(m) => self.map(st, m, input, entered, now),
            _ => Err(Stop::Fail(Fault::runtime("not a retryable state"), now)),
        }
    }
}

fn text(
    t: Option<&Text>,
    input: &Value,
    cx: &Ctx,
    rng: &mut super::rng::Rng,
    what: &str,
) -> Result<String, Fault> {
    let v = match t {
        None => return Ok(String::new()),
        Some(Text::Lit(s)) => return Ok(s.clone()),
        Some(Text::Call(c)) => c.eval(input, cx, rng)?,
        Some(Text::Path(p)) => {
            let doc = if p.root() == super::jsonpath::Root::Context {
                cx.value()
            } else {
                input
            };
            p.select(doc).map(Cow::into_owned).ok_or_else(|| {
                Fault::runtime(format!(
                    "{what} '{}' selects nothing in '{}'",
                    p.text(),
                    compact(input)
                ))
            })?
        }
    };
    match v {
        Value::String(s) => Ok(s),
        other => Err(Fault::runtime(format!(
            "{what} must select a string, got {}",
            compact(&other)
        ))),
    }
}

pub(crate) fn entered(name: &str, input: &Value) -> Option<Details> {
    Some(Details::StateEnteredEventDetails(StateEntered {
        name: name.into(),
        input: compact(input),
        input_details: Truncated::default(),
    }))
}

pub(crate) fn exited(name: &str, out: &Value) -> Option<Details> {
    Some(Details::StateExitedEventDetails(StateExited {
        name: name.into(),
        output: compact(out),
        output_details: Truncated::default(),
    }))
}
