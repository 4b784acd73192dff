//! Reads Parallel and Map states and their input; produces branch and iteration runs that share the state's start in virtual time, and the combined output.

use super::context::Ctx;
use super::encode::compact;
use super::errors::{Fault, TOLERATED};
use super::exec::{Engine, Stop};
use super::flow::{input_path, number};
use super::history::{Details, EventType, MapIteration, MapStarted};
use super::model::{MapState, Parallel, State};
use super::time::Millis;
use serde_json::{Value, json};
use std::ops::Range;

/// One finished branch or iteration.
struct Run {
    events: Range<usize>,
    result: Result<(Value, Millis), (Fault, Millis)>,
}

impl Engine<'_> {
    pub(crate) fn parallel(
        &mut self,
        st: &State,
        p: &Parallel,
        input: &Value,
        entered: Millis,
        now: Millis,
    ) -> Result<(Value, Millis), Stop> {
        let fail = |f: Fault| Stop::Fail(f, now);
        let cx = Ctx::new(&self.exec, &st.name, entered);
        let eff = input_path(&st.io.input_path, input, &cx).map_err(fail)?;
        let branch_input = match &st.io.parameters {
            Some(t) => t.eval(&eff, &cx, &mut self.rng).map_err(fail)?,
            None => eff.into_owned(),
        };
        drop(cx);
        self.emit(now, EventType::ParallelStateStarted, || None);
        let origin = self.last;
        let mut runs = Vec::new();
        for b in &p.branches {
            self.last = origin;
            runs.push(self.one_run(now, |e| e.run_machine(b, branch_input.clone(), now))?);
        }
        match self.settle(&runs, now) {
            Err((f, t)) => {
                self.emit(t, EventType::ParallelStateFailed, || None);
                Err(Stop::Fail(f, t))
            }
            Ok(end) => {
                self.emit(end, EventType::ParallelStateSucceeded, || None);
                let out = Value::Array(
                    runs.into_iter()
                        .filter_map(|r| r.result.ok().map(|(v, _)| v))
                        .collect(),
                );
                self.task_output(st, input, out, entered, 0)
                    .map(|v| (v, end))
                    .map_err(|f| Stop::Fail(f, end))
            }
        }
    }

    /// Runs one branch or iteration, keeping catchable failures as data.
    fn one_run(
        &mut self,
        start: Millis,
        f: impl FnOnce(&mut Self) -> Result<(Value, Millis), Stop>,
    ) -> Result<Run, Stop> {
        let first = self.events.len();
        let result = match f(self) {
            Ok(x) => Ok(x),
            Err(Stop::Fail(fault, t)) => Err((fault, t.max(start))),
            Err(other) => return Err(other),
        };
        Ok(Run {
            events: first..self.events.len(),
            result,
        })
    }

    /// The latest end when every run succeeded; otherwise the earliest failure, cutting off what the others did after it.
    fn settle(&mut self, runs: &[Run], start: Millis) -> Result<Millis, (Fault, Millis)> {
        let failure = runs
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.result.as_ref().err().map(|(f, t)| (*t, i, f)))
            .min_by_key(|(t, i, _)| (*t, *i));
        let Some((t, i, f)) = failure else {
            let end = runs
                .iter()
                .filter_map(|r| r.result.as_ref().ok().map(|(_, t)| *t))
                .max();
            self.last_of(runs);
            return Ok(end.unwrap_or(start).max(start));
        };
        for (j, r) in runs.iter().enumerate().filter(|(j, _)| *j != i) {
            let _ = j;
            for e in self.events.get_mut(r.events.clone()).unwrap_or_default() {
                if e.t > t {
                    e.dropped = true;
                }
            }
        }
        self.last = runs
            .get(i)
            .and_then(|r| r.events.clone().last())
            .or(self.last);
        Err((f.clone(), t))
    }

    /// Points the event chain at the run that finished last.
    fn last_of(&mut self, runs: &[Run]) {
        let latest = runs
            .iter()
            .filter_map(|r| Some((r.result.as_ref().ok()?.1, r.events.clone().last()?)))
            .max_by_key(|(t, i)| (*t, *i));
        if let Some((_, i)) = latest {
            self.last = Some(i);
        }
    }

    pub(crate) fn map(
        &mut self,
        st: &State,
        m: &MapState,
        input: &Value,
        entered: Millis,
        now: Millis,
    ) -> Result<(Value, Millis), Stop> {
        let fail = |f: Fault| Stop::Fail(f, now);
        let (items, eff) = {
            let cx = Ctx::new(&self.exec, &st.name, entered);
            let eff = input_path(&st.io.input_path, input, &cx)
                .map_err(fail)?
                .into_owned();
            let items = match &m.items_path {
                None => Some(eff.clone()),
                Some(p) => p.select(&eff).map(|v| v.into_owned()),
            };
            match items {
                Some(Value::Array(a)) => (a, eff),
                _ => {
                    return Err(fail(Fault::runtime(format!(
                        "ItemsPath must select an array in '{}'",
                        compact(&eff)
                    ))));
                }
            }
        };
        let conc = m
            .max_concurrency
            .as_ref()
            .map(|n| number(n, "MaxConcurrencyPath", &eff, 0.0, 99_999_999.0))
            .transpose()
            .map_err(fail)?;
        let tol = Tolerance::read(m, &eff).map_err(fail)?;
        self.emit(now, EventType::MapStateStarted, || {
            Some(Details::MapStateStartedEventDetails(MapStarted {
                length: items.len(),
            }))
        });
        let runs = self.iterations(
            st,
            m,
            &items,
            &eff,
            entered,
            now,
            conc.map_or(0, |c| c as usize),
            tol.given(),
        )?;
        let failed = runs.iter().filter(|r| r.result.is_err()).count();
        let end = if tol.given() {
            self.last_of(&runs);
            let end = runs
                .iter()
                .map(|r| r.result.as_ref().map_or_else(|e| e.1, |o| o.1))
                .max()
                .unwrap_or(now)
                .max(now);
            if tol.exceeded(failed, items.len()) {
                self.emit(end, EventType::MapStateFailed, || None);
                let cause = format!(
                    "{failed} of {} iterations failed, more than the tolerated failure threshold",
                    items.len()
                );
                return Err(Stop::Fail(Fault::new(TOLERATED, cause), end));
            }
            end
        } else {
            match self.settle(&runs, now) {
                Ok(end) => end,
                Err((f, t)) => {
                    self.emit(t, EventType::MapStateFailed, || None);
                    return Err(Stop::Fail(f, t));
                }
            }
        };
        self.emit(end, EventType::MapStateSucceeded, || None);
        let out: Vec<Value> = runs
            .into_iter()
            .map(|r| match r.result {
                Ok((v, _)) => v,
                Err((f, _)) => json!({"Error": f.error, "Cause": f.cause}),
            })
            .collect();
        self.task_output(st, input, Value::Array(out), entered, 0)
            .map(|v| (v, end))
            .map_err(|f| Stop::Fail(f, end))
    }

    #[allow(clippy::too_many_arguments)]
    fn iterations(
        &mut self,
        st: &State,
        m: &MapState,
        items: &[Value],
        eff: &Value,
        entered: Millis,
        now: Millis,
        conc: usize,
        tolerate: bool,
    ) -> Result<Vec<Run>, Stop> {
        let selector = m.item_selector.as_ref().or(st.io.parameters.as_ref());
        let origin = self.last;
        let mut slots: Vec<Millis> = Vec::new();
        let mut runs: Vec<Run> = Vec::new();
        let mut first_fail: Option<Millis> = None;
        for (i, item) in items.iter().enumerate() {
            let start = next_slot(&mut slots, conc, now);
            if first_fail.is_some_and(|f| start >= f && !tolerate) {
                break;
            }
            let item_input = {
                let mut cx = Ctx::new(&self.exec, &st.name, entered);
                cx.item = Some((i, item));
                match selector {
                    Some(t) => t
                        .eval(eff, &cx, &mut self.rng)
                        .map_err(|f| Stop::Fail(f, start))?,
                    None => item.clone(),
                }
            };
            self.last = origin;
            let name = st.name.clone();
            self.emit(start, EventType::MapIterationStarted, || {
                Some(Details::MapIterationStartedEventDetails(MapIteration {
                    name: name.clone(),
                    index: i,
                }))
            });
            let run = self.one_run(start, |e| e.run_machine(&m.processor, item_input, start))?;
            let (kind, end) = match &run.result {
                Ok((_, t)) => (EventType::MapIterationSucceeded, *t),
                Err((_, t)) => (EventType::MapIterationFailed, *t),
            };
            if run.result.is_err() {
                first_fail = Some(first_fail.map_or(end, |f| f.min(end)));
            }
            let d = MapIteration { name, index: i };
            self.emit(end, kind, || {
                Some(if kind == EventType::MapIterationSucceeded {
                    Details::MapIterationSucceededEventDetails(d)
                } else {
                    Details::MapIterationFailedEventDetails(d)
                })
            });
            let events = run.events.start..self.events.len();
            slots.push(end);
            runs.push(Run {
                events,
                result: run.result,
            });
        }
        Ok(runs)
    }
}

/// When the next iteration may start: at once while a slot is free, else when the earliest running one ends.
fn next_slot(slots: &mut Vec<Millis>, conc: usize, now: Millis) -> Millis {
    if conc == 0 || slots.len() < conc {
        return now;
    }
    let Some((i, t)) = slots.iter().copied().enumerate().min_by_key(|(_, t)| *t) else {
        return now;
    };
    slots.swap_remove(i);
    t.max(now)
}

struct Tolerance {
    percentage: Option<f64>,
    count: Option<f64>,
}

impl Tolerance {
    fn read(m: &MapState, eff: &Value) -> Result<Tolerance, Fault> {
        let percentage = m
            .tolerated_percentage
            .as_ref()
            .map(|n| number(n, "ToleratedFailurePercentagePath", eff, 0.0, 100.0))
            .transpose()?;
        let count = m
            .tolerated_count
            .as_ref()
            .map(|n| number(n, "ToleratedFailureCountPath", eff, 0.0, 99_999_999.0))
            .transpose()?;
        Ok(Tolerance { percentage, count })
    }

    fn given(&self) -> bool {
        self.percentage.is_some() || self.count.is_some()
    }

    fn exceeded(&self, failed: usize, total: usize) -> bool {
        let by_count = self.count.is_some_and(|c| failed as f64 > c);
        let by_pct = self
            .percentage
            .is_some_and(|p| total > 0 && failed as f64 * 100.0 > p * total as f64);
        by_count || by_pct
    }
}
