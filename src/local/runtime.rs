//! The local runtime: reads the local environment ([`LocalPipeline`]s) and plays it in
//! virtual time, producing a timeline and the runs. Schedules fire; each state machine runs
//! in the ASL interpreter with the local [`Services`]; its Step Functions status events go on
//! its account's default bus, whose forwarding rule (the `dpc-account` stack's) sends them
//! to the central bus; the trigger manager decides there; its triggers go to the consumer
//! account's `dpc-pipelines` bus, whose rules (the compiled trigger patterns) start
//! executions. Pure: the store, the step runner and the times are passed in.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::services::{RunContext, Services};
use super::world::LocalPipeline;
use crate::asl::{self, Options, Status};
use crate::compile::state_machine;
use crate::events::{self, RefreshEvent, StatusChangeEvent};
use crate::manager::registry::PipelineId;
use crate::manager::runlog::{StatusFact, execution_arn, state_machine_arn};
use crate::manager::sla;
use crate::manager::store::{Store, StoreError};
use crate::manager::time::{Millis, format_time};
use crate::manager::{Manager, Outcome};
use crate::notify::sla::{self as sla_notice, SlaAlert};
use crate::notify::{RunView, StartedBy, StepStatus, StepView, email, opsgenie, slack};
use crate::pattern::Pattern;
use crate::pipeline::model::{
    Central, Channel, NotificationType, Notifications, Status as RunStatus,
};

/// EventBridge and Step Functions take about a second to start a target.
const START_DELAY_MS: Millis = 1_000;

/// The claims table: a conditional write that succeeds once per claim id.
pub trait Claims {
    fn claim(
        &mut self,
        claim_id: &str,
        execution_arn: &str,
        at: Millis,
    ) -> Result<bool, StoreError>;
}

/// OpsGenie aliases raised and not closed yet, by pipeline key, kept across runs of the local
/// environment (as the central notifier keeps them in its table): a later success — of a
/// `dpc rerun`, say — closes them.
pub trait OpenAlerts {
    fn open_alerts(&self, pipeline: &str) -> Result<Vec<String>, StoreError>;
    fn set_open_alerts(&mut self, pipeline: &str, aliases: &[String]) -> Result<(), StoreError>;
}

/// When the next event may happen. Virtual time never waits; real time (`--live`) sleeps
/// until the event is due, and says when the user asked to stop.
pub trait Clock {
    /// Waits until `at`; false when the run must stop instead.
    fn wait_until(&mut self, at: Millis) -> bool;
}

/// The clock jumps to the next event.
pub struct Virtual;

impl Clock for Virtual {
    fn wait_until(&mut self, _at: Millis) -> bool {
        true
    }
}

/// Called for each probe with its id, the time and the manager.
pub type Probe<'p, S> = dyn FnMut(usize, Millis, &mut Manager<S>) -> Result<(), String> + 'p;

/// Runs a step's command: the edge where real processes live.
pub trait StepRunner {
    fn run(&mut self, step: &StepRun<'_>) -> StepResult;
}

/// One attempt of one step.
pub struct StepRun<'a> {
    pub pipeline: &'a PipelineId,
    pub execution: &'a str,
    pub step: &'a str,
    pub attempt: u32,
    pub command: &'a str,
    pub dir: &'a Path,
    pub env: Vec<(String, String)>,
    pub timeout_seconds: u64,
}

/// How it went.
pub struct StepResult {
    /// The exit code; `None` when it was stopped at its timeout.
    pub exit: Option<i32>,
    pub seconds: f64,
    /// Where its output went.
    pub log: String,
    /// The last lines of its output.
    pub tail: String,
    /// It could not be started.
    pub error: Option<String>,
}

/// `--fail PIPELINE[:STEP]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailSpec {
    pub pipeline: String,
    pub step: Option<String>,
}

/// One line of the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub at: String,
    #[serde(skip)]
    pub at_ms: Millis,
    pub account: String,
    pub pipeline: String,
    pub event: &'static str,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    #[serde(skip)]
    seq: u64,
}

impl Entry {
    pub fn new(
        at: Millis,
        account: &str,
        pipeline: &str,
        event: &'static str,
        detail: String,
    ) -> Entry {
        Entry {
            at: format_time(at),
            at_ms: at,
            account: account.to_string(),
            pipeline: pipeline.to_string(),
            event,
            detail,
            execution: None,
            step: None,
            seconds: None,
            seq: 0,
        }
    }

    pub fn execution(mut self, id: &str) -> Entry {
        self.execution = Some(id.to_string());
        self
    }

    pub fn step(mut self, name: &str) -> Entry {
        self.step = Some(name.to_string());
        self
    }

    pub fn seconds(mut self, s: f64) -> Entry {
        self.seconds = Some(s);
        self
    }
}

/// One execution of one pipeline.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    pub account: String,
    pub pipeline: String,
    pub execution: String,
    pub kind: String,
    pub trigger_id: String,
    pub started: String,
    pub stopped: String,
    #[serde(skip)]
    pub started_ms: Millis,
    #[serde(skip)]
    pub stopped_ms: Millis,
    pub status: String,
    pub duplicate: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// What to play.
pub struct Settings {
    pub from: Millis,
    pub until: Millis,
    pub fail: Vec<FailSpec>,
    pub central: Central,
    /// Deliver every event twice, as EventBridge may (at-least-once delivery).
    pub twice: bool,
}

/// Everything that happened.
#[derive(Default)]
pub struct Played {
    pub timeline: Vec<Entry>,
    pub runs: Vec<RunRecord>,
    pub events: usize,
    /// Events the trigger manager handled.
    pub handled: usize,
    /// Triggers decided: when, for whom, and the trigger id.
    pub triggers: Vec<(Millis, events::Target, String)>,
    /// The clock stopped the run before `until` (Ctrl-C in `--live`).
    pub stopped: bool,
    /// Every Slack message the notifications rendered to.
    pub slack: Vec<SlackMessage>,
    /// Each execution's input, by execution name (what its lineage events are made of).
    pub inputs: BTreeMap<String, Value>,
}

/// A Slack message a run's notification renders to, in the order it would be sent
/// (`dpc local run --slack-api-url` sends them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlackMessage {
    pub at_ms: Millis,
    pub channel: String,
    /// The run whose thread it belongs to (its execution ARN).
    pub thread: String,
    pub kind: SlackKind,
    /// `text` and `blocks`, as `notify::slack` renders them.
    pub body: Value,
}

/// What a Slack message does to its run's thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SlackKind {
    /// Starts the thread (`chat.postMessage`).
    Root,
    /// A reply in the thread.
    Reply,
    /// Replaces the root (`chat.update`).
    Update,
    /// A message of its own, in no thread (an SLA alert; `thread` is its alert key).
    Message,
}

/// Where an event is put.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Bus {
    /// An account's default bus (Step Functions status events).
    Default(String, String),
    /// An account's `dpc-pipelines` bus (triggers).
    Pipelines(String, String),
    Central,
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notice {
    Start,
    Step,
    Success,
    Failure,
    /// A missed SLA: sent on every notification type, as failures are.
    Sla,
}

enum Action {
    Fire(usize),
    Start {
        pipeline: usize,
        input: String,
    },
    Deliver {
        bus: Bus,
        event: Value,
    },
    /// The second delivery of an event (`twice`), not copied again.
    Again {
        bus: Bus,
        event: Value,
    },
    Probe(usize),
    /// A pipeline's SLA deadline.
    Sla(usize),
}

/// The runtime over a manager whose store also holds the claims table.
pub struct Runtime<'a, S: Store + Claims + OpenAlerts, R: StepRunner> {
    pipelines: &'a [LocalPipeline],
    manager: Manager<S>,
    runner: R,
    settings: Settings,
    forward: BTreeMap<(String, String), Pattern>,
    /// (time, class, seq): at one instant, deliveries and starts (class 0) before probes (1).
    queue: BTreeMap<(Millis, u8, u64), Action>,
    seq: u64,
    timeline: Vec<Entry>,
    slack: Vec<SlackMessage>,
    /// Sees each Slack message as it is rendered (`--live --slack-api-url`).
    slack_sink: Option<SlackSink<'a>>,
    /// Sees each run as it ends, with its input (`--live`'s lineage events).
    run_sink: Option<RunSink<'a>>,
    /// OpsGenie aliases raised and not closed yet, by pipeline key: a success closes them.
    open_alerts: BTreeMap<String, Vec<String>>,
    inputs: BTreeMap<String, Value>,
    runs: Vec<RunRecord>,
    counts: Vec<u32>,
    events: usize,
    handled: usize,
    triggers: Vec<(Millis, events::Target, String)>,
    stopped: bool,
    /// Arm no schedule nor SLA: play what is queued and what follows (see [`Runtime::idle`]).
    drain: bool,
}

impl<'a, S: Store + Claims + OpenAlerts, R: StepRunner> Runtime<'a, S, R> {
    pub fn new(
        pipelines: &'a [LocalPipeline],
        store: S,
        runner: R,
        settings: Settings,
    ) -> Result<Self, String> {
        let mut forward = BTreeMap::new();
        for p in pipelines {
            let id = p.id();
            let key = (id.account.clone(), id.region.clone());
            if let std::collections::btree_map::Entry::Vacant(slot) = forward.entry(key) {
                slot.insert(forwarding_pattern(
                    &settings.central,
                    &id.account,
                    &id.region,
                )?);
            }
        }
        Ok(Runtime {
            pipelines,
            manager: Manager::new(store),
            runner,
            forward,
            queue: BTreeMap::new(),
            seq: 0,
            timeline: Vec::new(),
            slack: Vec::new(),
            slack_sink: None,
            run_sink: None,
            open_alerts: BTreeMap::new(),
            inputs: BTreeMap::new(),
            runs: Vec::new(),
            counts: vec![0; pipelines.len()],
            events: 0,
            handled: 0,
            triggers: Vec::new(),
            stopped: false,
            drain: false,
            settings,
        })
    }

    /// Arms no schedule and no SLA deadline: the play ends when nothing more is pending, i.e.
    /// when what was queued ([`Runtime::start_run`], [`Runtime::inject`]) and every run it
    /// triggered have finished (`dpc rerun`, `dpc publish`).
    pub fn idle(mut self) -> Self {
        self.drain = true;
        self
    }

    /// Starts pipeline `name` at `at` with `input` (`dpc rerun`: a RERUN start).
    pub fn start_run(&mut self, at: Millis, name: &str, input: &Value) -> Result<(), String> {
        let pipeline = self
            .pipelines
            .iter()
            .position(|p| p.id().name == name)
            .ok_or_else(|| format!("no pipeline is named `{name}`"))?;
        let input = input.to_string();
        self.push(at, Action::Start { pipeline, input });
        Ok(())
    }

    /// Calls `sink` with each Slack message as soon as the action that rendered it is done
    /// (a run's thread when its execution ends, an SLA alert at its deadline).
    pub fn on_slack(&mut self, sink: SlackSink<'a>) {
        self.slack_sink = Some(sink);
    }

    /// Calls `sink` with each run as it ends (its input too), for `--live`.
    pub fn on_run(&mut self, sink: RunSink<'a>) {
        self.run_sink = Some(sink);
    }

    /// Registers every pipeline, plays until `until` and gives back what happened.
    pub fn play(self) -> Result<(Played, Manager<S>), String> {
        self.play_with(&mut Virtual, &mut |_| {})
    }

    /// As [`Runtime::play`], waiting for each event on `clock` (which may stop the run early:
    /// everything done so far is committed, nothing half-done is left).
    /// `watch` sees each timeline entry as it is made (an execution's entries when it ends).
    pub fn play_with(
        self,
        clock: &mut dyn Clock,
        watch: &mut dyn FnMut(&Entry),
    ) -> Result<(Played, Manager<S>), String> {
        self.play_probed(clock, watch, &mut |_, _, _| Ok(()))
    }

    /// As [`Runtime::play_with`]; `probe` is called for each [`Runtime::probe`] at its time,
    /// after everything else due then, with the manager (to check its states).
    pub fn play_probed(
        mut self,
        clock: &mut dyn Clock,
        watch: &mut dyn FnMut(&Entry),
        probe: &mut Probe<'_, S>,
    ) -> Result<(Played, Manager<S>), String> {
        let from = self.settings.from;
        for (i, p) in self.pipelines.iter().enumerate() {
            self.manager
                .register(&p.reg, from)
                .map_err(|e| e.to_string())?;
            let key = p.id().key();
            let open = self.manager.store_mut().open_alerts(&key);
            self.open_alerts
                .insert(key, open.map_err(|e| e.to_string())?);
            if self.drain {
                continue;
            }
            if let Some(at) = p
                .schedule
                .as_ref()
                .and_then(|s| s.period.next_fire(from - 1))
            {
                self.push(at, Action::Fire(i));
            }
            if let Some(at) = p.reg.sla.as_ref().and_then(|s| sla::next_deadline(from, s)) {
                self.push(at, Action::Sla(i));
            }
        }
        while let Some((&(now, class, seq), _)) = self.queue.first_key_value() {
            if now > self.settings.until {
                break;
            }
            if !clock.wait_until(now) {
                self.stopped = true;
                break;
            }
            let action = self
                .queue
                .remove(&(now, class, seq))
                .ok_or("internal error: the queue changed")?;
            let seen = self.timeline.len();
            let rendered = self.slack.len();
            let ended = self.runs.len();
            match action {
                Action::Probe(id) => probe(id, now, &mut self.manager)?,
                action => self.step(now, action)?,
            }
            for e in self.timeline.get(seen..).unwrap_or_default() {
                watch(e);
            }
            if let Some(sink) = &mut self.slack_sink {
                self.slack
                    .get(rendered..)
                    .unwrap_or_default()
                    .iter()
                    .for_each(sink);
            }
            if let Some(sink) = &mut self.run_sink {
                let runs = self.runs.get(ended..).unwrap_or_default();
                if !runs.is_empty() {
                    sink(runs, &self.inputs);
                }
            }
        }
        for (key, aliases) in &self.open_alerts {
            let store = self.manager.store_mut();
            store
                .set_open_alerts(key, aliases)
                .map_err(|e| e.to_string())?;
        }
        let mut timeline = self.timeline;
        timeline.sort_by_key(|e| (e.at_ms, e.seq));
        let played = Played {
            timeline,
            runs: self.runs,
            events: self.events,
            handled: self.handled,
            triggers: self.triggers,
            stopped: self.stopped,
            slack: self.slack,
            inputs: self.inputs,
        };
        Ok((played, self.manager))
    }

    fn push(&mut self, at: Millis, action: Action) {
        self.seq += 1;
        let class = u8::from(matches!(action, Action::Probe(_) | Action::Sla(_)));
        self.queue.insert((at, class, self.seq), action);
    }

    /// Puts `event` on the central bus at `at`, as if an upstream account had forwarded it
    /// (scripted events of `dpc test`).
    pub fn inject(&mut self, at: Millis, event: Value) {
        self.push(
            at,
            Action::Deliver {
                bus: Bus::Central,
                event,
            },
        );
    }

    /// Calls the probe of [`Runtime::play_probed`] with `id` at `at`.
    pub fn probe(&mut self, at: Millis, id: usize) {
        self.push(at, Action::Probe(id));
    }

    fn log(&mut self, mut entry: Entry) {
        self.seq += 1;
        entry.seq = self.seq;
        self.timeline.push(entry);
    }

    fn step(&mut self, now: Millis, action: Action) -> Result<(), String> {
        match action {
            Action::Fire(i) => {
                self.fire(i, now);
                Ok(())
            }
            Action::Start { pipeline, input } => self.start(pipeline, &input, now),
            Action::Deliver { bus, event } => {
                if self.settings.twice {
                    let copy = Action::Again {
                        bus: bus.clone(),
                        event: event.clone(),
                    };
                    self.push(now + 1, copy);
                }
                self.deliver(bus, &event, now)
            }
            Action::Again { bus, event } => self.deliver(bus, &event, now),
            Action::Probe(_) => Ok(()),
            Action::Sla(i) => self.sla(i, now),
        }
    }

    /// At a pipeline's SLA deadline: its alert when it missed it, on its channels; then the
    /// next day's deadline.
    fn sla(&mut self, i: usize, now: Millis) -> Result<(), String> {
        let pipelines = self.pipelines;
        let p = &pipelines[i];
        let id = p.id();
        if let Some(alert) = self.manager.check_sla(id, now).map_err(|e| e.to_string())? {
            let entry = Entry::new(
                now,
                &id.account,
                &id.name,
                "sla-missed",
                alert.message.clone(),
            );
            let text = format!("SLA missed: {}", entry.detail);
            self.log(entry);
            self.notify_with(p, now, &text, Notice::Sla, Some(About::Sla(&alert)));
        }
        // Its event for the central bus (the central notifier's): locally, shown above.
        for item in self.manager.outbox().map_err(|e| e.to_string())? {
            self.manager.sent(item.seq).map_err(|e| e.to_string())?;
        }
        if let Some(next) = p
            .reg
            .sla
            .as_ref()
            .and_then(|s| sla::next_deadline(now + 1, s))
        {
            self.push(next, Action::Sla(i));
        }
        Ok(())
    }

    fn fire(&mut self, i: usize, now: Millis) {
        let pipelines = self.pipelines;
        let p = &pipelines[i];
        let Some(schedule) = &p.schedule else {
            return;
        };
        let time = format_time(now);
        let event = serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event", "time": time});
        let input = schedule.input.apply(&event, Some(&time));
        let next = schedule.period.next_fire(now);
        let id = p.id().clone();
        self.log(Entry::new(
            now,
            &id.account,
            &id.name,
            "scheduled",
            "schedule fired".into(),
        ));
        self.push(now, Action::Start { pipeline: i, input });
        if let Some(next) = next {
            self.push(next, Action::Fire(i));
        }
    }

    /// One execution, run to its end in the interpreter; its status events and the events it
    /// put are queued at their virtual times.
    fn start(&mut self, i: usize, input: &str, now: Millis) -> Result<(), String> {
        let pipelines = self.pipelines;
        let p = &pipelines[i];
        let id = p.id().clone();
        self.counts[i] += 1;
        let stamp = chrono::DateTime::from_timestamp_millis(now).unwrap_or_default();
        let name = format!(
            "{}-{}-{}",
            id.name,
            stamp.format("%Y%m%dT%H%M%S"),
            self.counts[i]
        );
        let arn = execution_arn(&id, &name);
        let input_value: Value = serde_json::from_str(input).unwrap_or(Value::Null);
        let run = run_context(&input_value, &name, &arn, now);
        self.inputs.insert(name.clone(), input_value.clone());
        self.log(
            Entry::new(now, &id.account, &id.name, "started", started_text(&run)).execution(&name),
        );
        let running = status(&id, &name, "RUNNING", now, None, input);
        self.push(
            now,
            Action::Deliver {
                bus: Bus::Default(id.account.clone(), id.region.clone()),
                event: running,
            },
        );
        let mut view = RunView {
            pipeline: id.name.clone(),
            team: p.team.clone(),
            account: id.account.clone(),
            region: id.region.clone(),
            execution_arn: arn.clone(),
            execution_name: name.clone(),
            started_by: StartedBy::from_input(&input_value, now),
            status: RunStatus::Running,
            started_ms: now,
            stopped_ms: None,
            error: None,
            cause: None,
        };
        let mut thread = false;
        let options = Options {
            start_time: chrono::DateTime::from_timestamp_millis(now).unwrap_or_default(),
            execution_name: name.clone(),
            state_machine_arn: state_machine_arn(&id),
            execution_arn: Some(arn.clone()),
            region: id.region.clone(),
            record_trace: false,
            record_history: false,
            ..Options::default()
        };
        let (execution, services) = {
            let store = self.manager.store_mut();
            let mut services =
                Services::new(p, run.clone(), store, &mut self.runner, &self.settings.fail);
            let execution = asl::run(&p.definition, input_value, &options, &mut services);
            let (put, entries, duplicate) = (services.put, services.entries, services.duplicate);
            (execution, (put, entries, duplicate))
        };
        let (put, entries, duplicate) = services;
        self.notify_run(
            p,
            now,
            &format!("{} started ({})", id.name, run.kind),
            Notice::Start,
            (&view, None, &mut thread),
        );
        // The step status events the state machine put (FULL_EXECUTION), among the entries.
        let mut steps = put
            .iter()
            .filter_map(|(at, e)| Some((*at, step_notice(e)?)))
            .peekable();
        for e in entries {
            // A step's start is told before what it logged at that instant, its end after.
            let before = |(at, (_, step)): &(Millis, (String, Option<StepView>))| {
                let started = step
                    .as_ref()
                    .is_some_and(|s| s.status == StepStatus::Started);
                *at < e.at_ms || (started && *at == e.at_ms)
            };
            while let Some((at, (text, step))) = steps.next_if(before) {
                let text = format!("{}: {text}", id.name);
                let rendered = (&view, step.as_ref(), &mut thread);
                self.notify_run(p, at, &text, Notice::Step, rendered);
            }
            self.log(e);
        }
        for (at, (text, step)) in steps {
            let text = format!("{}: {text}", id.name);
            let rendered = (&view, step.as_ref(), &mut thread);
            self.notify_run(p, at, &text, Notice::Step, rendered);
        }
        let stopped = execution.stopped.timestamp_millis();
        let status_name = execution.status.as_str();
        for (at, event) in put {
            self.put_event(&id, at, event);
        }
        let done = status(&id, &name, status_name, now, Some(stopped), input);
        self.push(
            stopped,
            Action::Deliver {
                bus: Bus::Default(id.account.clone(), id.region.clone()),
                event: done,
            },
        );
        let ended = ended_text(&execution, now, duplicate);
        self.log(
            Entry::new(
                stopped,
                &id.account,
                &id.name,
                ended_event(execution.status, duplicate),
                ended.clone(),
            )
            .execution(&name),
        );
        let notice = match execution.status {
            Status::Succeeded => Notice::Success,
            _ => Notice::Failure,
        };
        view.status = RunStatus::parse(status_name).unwrap_or(RunStatus::Failed);
        view.stopped_ms = Some(stopped);
        view.error = execution.error.clone();
        view.cause = execution.cause.clone();
        self.notify_run(
            p,
            stopped,
            &format!("{} {ended}", id.name),
            notice,
            (&view, None, &mut thread),
        );
        self.runs.push(RunRecord {
            account: id.account.clone(),
            pipeline: id.name.clone(),
            execution: name,
            kind: run.kind,
            trigger_id: run.trigger_id,
            started: format_time(now),
            stopped: format_time(stopped),
            started_ms: now,
            stopped_ms: stopped,
            status: status_name.to_string(),
            duplicate,
            error: execution.error,
            cause: execution.cause,
        });
        Ok(())
    }

    /// A run's notification, with the messages it renders to (see [`rendered`]).
    fn notify_run(
        &mut self,
        p: &LocalPipeline,
        at: Millis,
        text: &str,
        notice: Notice,
        run: (&RunView, Option<&StepView>, &mut bool),
    ) {
        let (view, step, thread) = run;
        self.notify_with(p, at, text, notice, Some(About::Run(view, step, thread)));
    }

    fn notify_with(
        &mut self,
        p: &LocalPipeline,
        at: Millis,
        text: &str,
        notice: Notice,
        about: Option<About<'_>>,
    ) {
        let Some(n) = &p.notifications else {
            return;
        };
        let sent = match (n.kind, notice) {
            (_, Notice::Failure | Notice::Sla) | (NotificationType::FullExecution, _) => true,
            (NotificationType::PipelineStatus, notice) => notice != Notice::Step,
            (NotificationType::FailureOnly, _) => false,
        };
        let key = p.id().key();
        let mut open = self.open_alerts.remove(&key).unwrap_or_default();
        // A success closes the OpsGenie alerts left open, whatever the type sends.
        let closing = notice == Notice::Success && !open.is_empty();
        if !sent && !closing {
            self.open_alerts.insert(key, open);
            return;
        }
        let to: Vec<String> = n
            .targets
            .iter()
            .map(|t| match t.channel {
                Channel::Opsgenie => "OPSGENIE".to_string(),
                c => format!("{} {}", channel(c), t.addresses.join(" ")),
            })
            .collect();
        let id = p.id();
        let mut detail = format!("would notify {}: {text}", to.join(", "));
        let mut messages = Vec::new();
        let (lines, thread) = match about {
            Some(About::Run(view, step, thread)) if sent => (
                rendered(n, notice, view, step, thread, &mut open, &mut messages),
                view.execution_arn.clone(),
            ),
            Some(About::Sla(alert)) => (
                rendered_sla(n, alert, &p.team, &mut open, &mut messages),
                alert.key.clone(),
            ),
            Some(About::Run(view, ..)) => {
                detail = format!("would notify OPSGENIE: {text}");
                (closes(&mut open, view), view.execution_arn.clone())
            }
            None => (Vec::new(), String::new()),
        };
        self.open_alerts.insert(key, open);
        for line in lines {
            detail.push_str(&format!("\n    {line}"));
        }
        self.slack.extend(
            messages
                .into_iter()
                .map(|(channel, kind, body)| SlackMessage {
                    at_ms: at,
                    channel,
                    thread: thread.clone(),
                    kind,
                    body,
                }),
        );
        self.log(Entry::new(
            at,
            &id.account,
            &id.name,
            "notification",
            detail,
        ));
    }

    /// An event a state machine put: refresh events go to the bus its entry names.
    fn put_event(&mut self, id: &PipelineId, at: Millis, mut event: Value) {
        let bus = event
            .get("bus")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if let Some(m) = event.as_object_mut() {
            m.remove("bus");
        }
        let central = bus.ends_with(&format!(":event-bus/{}", self.settings.central.bus));
        // Step status events go to the account's default bus (and its forwarding rules).
        if bus == state_machine::STEP_BUS || bus.ends_with(":event-bus/default") {
            let to = Bus::Default(id.account.clone(), id.region.clone());
            self.push(at, Action::Deliver { bus: to, event });
            return;
        }
        if event["source"] == events::REFRESH_SOURCE {
            let d = &event["detail"];
            let text = format!(
                "published data product {}/{}",
                d["domain"].as_str().unwrap_or_default(),
                d["name"].as_str().unwrap_or_default()
            );
            self.log(Entry::new(at, &id.account, &id.name, "published", text));
        }
        let target = if central {
            Bus::Central
        } else {
            Bus::Pipelines(id.account.clone(), id.region.clone())
        };
        self.push(at, Action::Deliver { bus: target, event });
    }

    fn deliver(&mut self, bus: Bus, event: &Value, now: Millis) -> Result<(), String> {
        self.events += 1;
        match bus {
            Bus::Default(account, region) => {
                let forwarded = self
                    .forward
                    .get(&(account, region))
                    .is_some_and(|p| p.matches_json(&event.to_string()).unwrap_or(false));
                if forwarded {
                    self.push(
                        now,
                        Action::Deliver {
                            bus: Bus::Central,
                            event: event.clone(),
                        },
                    );
                }
                Ok(())
            }
            Bus::Central => self.central(event, now),
            Bus::Pipelines(account, region) => {
                self.consume(&account, &region, event, now);
                Ok(())
            }
        }
    }

    /// The central bus: status and refresh events go to the trigger manager.
    fn central(&mut self, event: &Value, now: Millis) -> Result<(), String> {
        let outcome = if event["source"] == events::STATUS_SOURCE {
            let e: StatusChangeEvent =
                serde_json::from_value(event.clone()).map_err(|e| e.to_string())?;
            self.manager.handle_status(&e, now)
        } else if event["source"] == events::REFRESH_SOURCE {
            let e: RefreshEvent =
                serde_json::from_value(event.clone()).map_err(|e| e.to_string())?;
            self.manager.handle_refresh(&e, now)
        } else {
            return Ok(());
        }
        .map_err(|e| e.to_string())?;
        self.handled += 1;
        self.follow(outcome, now)
    }

    /// The manager's triggers go to their consumer account's `dpc-pipelines` bus. Refresh
    /// events are published by the state machines themselves, so the manager's own are not
    /// sent again.
    fn follow(&mut self, outcome: Outcome, now: Millis) -> Result<(), String> {
        for t in &outcome.triggers {
            let target = &t.detail.target;
            self.triggers
                .push((now, target.clone(), t.detail.trigger_id.clone()));
            let from: Vec<String> = t
                .detail
                .upstreams
                .values()
                .flat_map(|regions| {
                    regions
                        .values()
                        .flat_map(|names| names.iter().map(|(n, u)| format!("{n} {}", u.status)))
                })
                .chain(
                    t.detail
                        .data_products
                        .iter()
                        .flat_map(|(d, names)| names.keys().map(move |n| format!("{d}/{n}"))),
                )
                .collect();
            let text = format!(
                "trigger {} decided: {}",
                short(&t.detail.trigger_id),
                from.join(", ")
            );
            self.log(Entry::new(
                now,
                &target.account,
                &target.pipeline,
                "triggered",
                text,
            ));
            let event = serde_json::to_value(t).map_err(|e| e.to_string())?;
            self.push(
                now,
                Action::Deliver {
                    bus: Bus::Pipelines(target.account.clone(), target.region.clone()),
                    event,
                },
            );
        }
        for item in self.manager.outbox().map_err(|e| e.to_string())? {
            self.manager.sent(item.seq).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// A consumer account's rules: each pipeline's compiled trigger pattern starts it.
    fn consume(&mut self, account: &str, region: &str, event: &Value, now: Millis) {
        let text = event.to_string();
        let starts: Vec<(usize, String)> = self
            .pipelines
            .iter()
            .enumerate()
            .filter(|(_, p)| p.id().account == account && p.id().region == region)
            .filter_map(|(i, p)| {
                let rule = p.trigger.as_ref()?;
                rule.pattern
                    .matches_json(&text)
                    .ok()?
                    .then(|| (i, rule.input.apply(event, None)))
            })
            .collect();
        for (pipeline, input) in starts {
            self.push(now + START_DELAY_MS, Action::Start { pipeline, input });
        }
    }
}

/// Sees each Slack message as it is rendered.
pub type SlackSink<'a> = Box<dyn FnMut(&SlackMessage) + 'a>;

/// What [`Runtime::on_run`] calls: the runs that just ended, and every input by execution name.
pub type RunSink<'a> = Box<dyn FnMut(&[RunRecord], &BTreeMap<String, Value>) + 'a>;

/// What a notification renders: a run (with its step, and whether its thread was started),
/// or a missed SLA.
enum About<'r> {
    Run(&'r RunView, Option<&'r StepView>, &'r mut bool),
    Sla(&'r SlaAlert),
}

/// The SLA alert's messages (`crate::notify::sla`), one line each: per Slack channel a
/// message of its own, per email address the subject, OpsGenie's alert (left open until the
/// pipeline succeeds).
fn rendered_sla(
    n: &Notifications,
    alert: &SlaAlert,
    team: &str,
    open: &mut Vec<String>,
    out: &mut Vec<(String, SlackKind, Value)>,
) -> Vec<String> {
    let mut lines = Vec::new();
    for t in &n.targets {
        for address in &t.addresses {
            match t.channel {
                Channel::Slack => {
                    let channel = address.trim_start_matches('#').to_string();
                    let body = sla_notice::slack(alert, team);
                    let text = body["text"].as_str().unwrap_or_default();
                    lines.push(format!("slack #{channel} new message: {text}"));
                    out.push((channel, SlackKind::Message, body));
                }
                Channel::Email => {
                    lines.push(format!(
                        "email {address}: {}",
                        sla_notice::email_subject(alert)
                    ));
                }
                Channel::Opsgenie => {
                    let body = sla_notice::opsgenie_alert(alert, team);
                    let alias = sla_notice::opsgenie_alias(alert);
                    lines.push(format!(
                        "opsgenie alert {alias} (P3): {}",
                        body["message"].as_str().unwrap_or_default()
                    ));
                    if !open.contains(&alias) {
                        open.push(alias);
                    }
                }
            }
        }
    }
    lines
}

/// The close lines of the OpsGenie alerts left open, closed by `run`'s success.
fn closes(open: &mut Vec<String>, run: &RunView) -> Vec<String> {
    open.drain(..)
        .map(|alias| {
            let note = sla_notice::close_alias(
                &alias,
                &format!("{} {}", run.execution_name, run.outcome()),
            );
            format!(
                "opsgenie close {alias}: {}",
                note["note"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// A step status event's notification text and whether it tells a start (`None` for other
/// events). Its `attempt` counts the execution's redrives, never more than 1 locally.
fn step_notice(event: &Value) -> Option<(String, Option<StepView>)> {
    if event["source"] != events::STEP_SOURCE || event["detail-type"] != events::STEP_DETAIL_TYPE {
        return None;
    }
    let d = &event["detail"];
    let text = |k: &str| d[k].as_str().unwrap_or_default().to_string();
    let status = text("status");
    let mut out = format!("step {} {status}", text("step"));
    if let Some(n) = d["attempt"].as_u64().filter(|n| *n > 1) {
        out.push_str(&format!(" (attempt {n})"));
    }
    if status == "FAILED" {
        out.push_str(&format!(": {}: {}", text("error"), text("cause")));
    }
    let view = serde_json::from_value::<events::StepStatusChange>(d.clone())
        .ok()
        .and_then(|c| StepView::from_event(&c));
    Some((out, view))
}

/// The messages a sent notice renders to (`crate::notify`), one line each: per Slack channel
/// the run's thread (its root with the first notice, then replies, the root updated at the
/// end); per email address the subject; OpsGenie's alert on a failure and its close on a
/// success. `thread` says whether the run's root was posted; the Slack messages go to `out`.
fn rendered(
    n: &Notifications,
    notice: Notice,
    run: &RunView,
    step: Option<&StepView>,
    thread: &mut bool,
    open: &mut Vec<String>,
    out: &mut Vec<(String, SlackKind, Value)>,
) -> Vec<String> {
    let text = |v: &Value| v["text"].as_str().unwrap_or_default().to_string();
    let root = !std::mem::replace(thread, true);
    let end = matches!(notice, Notice::Success | Notice::Failure);
    let mut lines = Vec::new();
    for t in &n.targets {
        for address in &t.addresses {
            match t.channel {
                Channel::Slack => {
                    let channel = address.trim_start_matches('#').to_string();
                    let mut send = |kind: SlackKind, body: Value| {
                        let what = match kind {
                            SlackKind::Root => "new thread",
                            SlackKind::Reply => "in thread",
                            SlackKind::Update => "root updated",
                            SlackKind::Message => "new message",
                        };
                        lines.push(format!("slack #{channel} {what}: {}", text(&body)));
                        out.push((channel.clone(), kind, body));
                    };
                    if root {
                        send(SlackKind::Root, slack::root(run));
                    }
                    if let Some(s) = step.filter(|_| notice == Notice::Step) {
                        send(SlackKind::Reply, slack::step(run, s));
                    }
                    if end {
                        send(SlackKind::Reply, slack::final_message(run));
                        send(SlackKind::Update, slack::root_update(run));
                    }
                }
                Channel::Email if notice != Notice::Step => {
                    lines.push(format!("email {address}: {}", email::subject(run)));
                }
                Channel::Opsgenie if notice == Notice::Failure => {
                    let alert = opsgenie::alert(run);
                    let message = alert["message"].as_str().unwrap_or_default();
                    let alias = opsgenie::alias(run);
                    lines.push(format!(
                        "opsgenie alert {alias} ({}): {message}",
                        opsgenie::priority(run.status)
                    ));
                    if !open.contains(&alias) {
                        open.push(alias);
                    }
                }
                Channel::Opsgenie if notice == Notice::Success => {
                    lines.extend(closes(open, run));
                }
                _ => {}
            }
        }
    }
    lines
}

/// The `dpc-account` stack's forwarding rule of one account, as deployed there.
fn forwarding_pattern(central: &Central, account: &str, region: &str) -> Result<Pattern, String> {
    let template = crate::deploy::account_stack::template(Some(central));
    let pattern = &template["Resources"]["ForwardStatusRule"]["Properties"]["EventPattern"];
    let text = resolve_sub(pattern, account, region).to_string();
    Pattern::parse(&text).map_err(|e| format!("internal error: the forwarding rule: {e}"))
}

/// `{"Fn::Sub": text}` resolved with the account's pseudo parameters.
fn resolve_sub(v: &Value, account: &str, region: &str) -> Value {
    match v {
        Value::Object(m) if m.len() == 1 && m.contains_key("Fn::Sub") => {
            let text = m["Fn::Sub"].as_str().unwrap_or_default();
            Value::String(
                text.replace("${AWS::Partition}", "aws")
                    .replace("${AWS::Region}", region)
                    .replace("${AWS::AccountId}", account),
            )
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), resolve_sub(x, account, region)))
                .collect(),
        ),
        Value::Array(a) => {
            Value::Array(a.iter().map(|x| resolve_sub(x, account, region)).collect())
        }
        other => other.clone(),
    }
}

fn status(
    id: &PipelineId,
    name: &str,
    status: &str,
    started: Millis,
    stopped: Option<Millis>,
    input: &str,
) -> Value {
    let event = StatusFact {
        pipeline: id,
        execution: name,
        status,
        started,
        stopped,
        input,
        redrive: 0,
    }
    .event();
    serde_json::to_value(event).unwrap_or_default()
}

fn run_context(input: &Value, name: &str, arn: &str, now: Millis) -> RunContext {
    let run = &input["run"];
    let text = |k: &str| run[k].as_str().map(str::to_string);
    RunContext {
        id: name.to_string(),
        arn: arn.to_string(),
        kind: text("type").unwrap_or_else(|| "MANUAL".into()),
        trigger_id: text("triggerId").unwrap_or_else(|| name.to_string()),
        time: text("time").unwrap_or_else(|| format_time(now)),
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn started_text(run: &RunContext) -> String {
    match run.kind.as_str() {
        "TRIGGERED" => format!("started by trigger {}", short(&run.trigger_id)),
        "SCHEDULED" => "started by its schedule".to_string(),
        other => format!("started ({other})"),
    }
}

fn ended_event(status: Status, duplicate: bool) -> &'static str {
    match (status, duplicate) {
        (Status::Succeeded, true) => "duplicate-ended",
        (Status::Succeeded, false) => "succeeded",
        (Status::Failed, _) => "failed",
        (Status::TimedOut, _) => "timed-out",
        (Status::Aborted, _) => "aborted",
    }
}

fn ended_text(ex: &asl::Execution, started: Millis, duplicate: bool) -> String {
    let secs = (ex.stopped.timestamp_millis() - started) as f64 / 1000.0;
    let status = ex.status.as_str();
    if duplicate {
        return format!("{status} at once as a duplicate: no step ran");
    }
    match (&ex.error, &ex.cause) {
        (Some(e), Some(c)) => format!("{status} after {secs:.1} s: {e}: {c}"),
        _ => format!("{status} after {secs:.1} s"),
    }
}

fn channel(c: Channel) -> &'static str {
    match c {
        Channel::Slack => "SLACK",
        Channel::Email => "EMAIL",
        Channel::Opsgenie => "OPSGENIE",
    }
}
