//! `dpc local run`: validates the projects, builds the local environment from the compiled
//! artifacts, plays it in virtual time over the real trigger manager on the embedded store,
//! and prints the timeline (stderr) and a summary per pipeline (stdout), or the timeline as
//! JSON lines (`--output json`). Exit 1 when a run did not succeed.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::local::RunArgs;
use super::validate::validated;
use super::{Error, ExitStatus, GlobalArgs, OutputFormat, out, outln};
use crate::local::process::Processes;
use crate::local::slack_post::SlackPoster;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::local::runtime::{
    Clock, Entry, FailSpec, Played, RunRecord, Runtime, Settings, SlackMessage,
};
use crate::local::world;
use crate::manager::sqlite::SqliteStore;
use crate::manager::time::Millis;
use crate::manager::{Manager, PipelineStatus};
use crate::pipeline::model::Lineage;

/// The OpenLineage events' file beside the store, unless dpc.yaml's `lineage` says otherwise.
pub const LINEAGE_FILE: &str = "lineage.jsonl";

pub fn run(args: &RunArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    let tree = validated(&args.paths, global)?;
    let pipelines = world::build(&tree).map_err(Error::failed)?;
    let central = tree
        .pipelines()
        .find_map(|(_, c)| c.and_then(|c| c.central.clone()))
        .unwrap_or_else(|| crate::pipeline::model::Central {
            account: crate::manager::registry::LOCAL_ACCOUNT.into(),
            region: crate::manager::registry::LOCAL_REGION.into(),
            bus: "dpc-central".into(),
        });
    let (from, until) = if args.live {
        let now = Utc::now().timestamp_millis();
        let until = match &args.until {
            Some(text) => parse_time("--until", text)?,
            None => i64::MAX / 4,
        };
        (now, until)
    } else {
        window(args)?
    };
    let settings = Settings {
        from,
        until,
        fail: fails(&args.fail, &pipelines)?,
        central,
        twice: args.at_least_once,
    };
    let store = if args.resume || args.live {
        open_store(&args.store)?
    } else {
        fresh_store(&args.store)?
    };
    super::rerun::remember_paths(&args.store, &args.paths)?;
    let runner = Processes {
        logs: args.logs.clone(),
    };
    let lineage = tree
        .pipelines()
        .find_map(|(_, c)| c.and_then(|c| c.lineage.clone()));
    let mut runtime = Runtime::new(&pipelines, store, runner, settings).map_err(Error::usage)?;
    let poster = match &args.slack_api_url {
        Some(url) => {
            let token = args.slack_token.as_deref().unwrap_or_default();
            let poster = SlackPoster::new(url, token).map_err(Error::usage)?;
            Some((url, Rc::new(RefCell::new(poster))))
        }
        None => None,
    };
    // --live: each message is posted as soon as it is rendered; a failure is told and the
    // runtime goes on.
    if let Some((_, poster)) = poster.as_ref().filter(|_| args.live) {
        let poster = Rc::clone(poster);
        runtime.on_slack(Box::new(move |m| {
            if let Err(e) = poster.borrow_mut().send(m) {
                eprintln!("--slack-api-url: {e}");
            }
        }));
    }
    // --live: each run's events go out as it ends; a failure is told and the runtime goes on.
    let lineage_failed = Rc::new(RefCell::new(false));
    if args.live {
        let (config, store, failed) = (lineage.as_ref(), &args.store, Rc::clone(&lineage_failed));
        let pipelines = &pipelines;
        runtime.on_run(Box::new(move |runs, inputs| {
            let events = crate::local::lineage::of_runs(pipelines, runs, inputs);
            if let Err(e) = emit_lineage(config, store, true, &events, global) {
                eprintln!("{}", e.message());
                *failed.borrow_mut() = true;
            }
        }));
    }
    let (played, mut manager) = if args.live {
        live(runtime, global)?
    } else {
        runtime.play().map_err(Error::usage)?
    };
    write_notifications(&args.logs, &played.timeline)?;
    if !args.live {
        write_lineage(
            lineage.as_ref(),
            &args.store,
            args.resume,
            &pipelines,
            &played,
            global,
        )?;
    }
    let mut posted = true;
    if let Some((url, poster)) = &poster {
        let mut poster = poster.borrow_mut();
        if !args.live {
            post_slack(&mut poster, &played.slack);
        }
        if !global.quiet {
            eprintln!("posted {} Slack message(s) to {url}", poster.sent);
        }
        if poster.failed > 0 {
            eprintln!(
                "--slack-api-url {url}: {} message(s) could not be posted",
                poster.failed
            );
            posted = false;
        }
    }
    let now = until.min(Utc::now().timestamp_millis().max(from));
    if let Some(path) = &args.report {
        let end = if args.live { now } else { until };
        write_report(path, &pipelines, &played, &mut manager, (from, end), global)?;
    }
    report(&played, &mut manager, now, args.live, global)?;
    let ok =
        posted && !*lineage_failed.borrow() && played.runs.iter().all(|r| r.status == "SUCCEEDED");
    Ok(ExitStatus::check(ok))
}

/// Sends the rendered Slack messages in order, after the run: a run's root starts its thread
/// in each channel, replies go under it, the update replaces the root; a message that cannot
/// be posted is told and the others are still sent.
fn post_slack(poster: &mut SlackPoster, messages: &[SlackMessage]) {
    for m in messages {
        if let Err(e) = poster.send(m) {
            eprintln!("--slack-api-url: {e}");
        }
    }
}

/// `--from`/`--until` in milliseconds; `--from` defaults to today 00:00 UTC.
fn window(args: &RunArgs) -> Result<(Millis, Millis), Error> {
    let today = Utc::now().date_naive();
    let from = match &args.from {
        Some(text) => parse_time("--from", text)?,
        None => midnight(today),
    };
    let until = match &args.until {
        Some(text) => parse_time("--until", text)?,
        None => from + 24 * 3600 * 1000,
    };
    if until <= from {
        return Err(Error::usage("--until must be later than --from"));
    }
    Ok((from, until))
}

fn midnight(day: NaiveDate) -> Millis {
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or_default()
}

pub(super) fn parse_time(flag: &str, text: &str) -> Result<Millis, Error> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(midnight)
        .map_err(|_| {
            Error::usage(format!(
                "{flag}: `{text}` is neither RFC 3339 nor YYYY-MM-DD"
            ))
            .hint("e.g. 2026-11-26 or 2026-11-26T03:00:00Z")
        })
}

/// `--fail PIPELINE[:STEP]`, checked against the pipelines and their steps.
fn fails(specs: &[String], pipelines: &[world::LocalPipeline]) -> Result<Vec<FailSpec>, Error> {
    specs
        .iter()
        .map(|spec| {
            let (name, step) = match spec.split_once(':') {
                Some((n, s)) => (n, Some(s.to_string())),
                None => (spec.as_str(), None),
            };
            let Some(p) = pipelines.iter().find(|p| p.id().name == name) else {
                let known: Vec<&str> = pipelines.iter().map(|p| p.id().name.as_str()).collect();
                return Err(
                    Error::usage(format!("--fail: no pipeline is named `{name}`"))
                        .hint(format!("pipelines: {}", known.join(", "))),
                );
            };
            if let Some(s) = &step
                && !p.steps.iter().any(|x| x.name == *s)
            {
                let known: Vec<&str> = p.steps.iter().map(|x| x.name.as_str()).collect();
                return Err(Error::usage(format!("--fail: `{name}` has no step `{s}`"))
                    .hint(format!("its steps: {}", known.join(", "))));
            }
            Ok(FailSpec {
                pipeline: name.to_string(),
                step,
            })
        })
        .collect()
}

/// Plays in real time, printing each timeline entry as it happens, until Ctrl-C.
fn live(
    runtime: Runtime<'_, SqliteStore, Processes>,
    global: &GlobalArgs,
) -> Result<(Played, Manager<SqliteStore>), Error> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        let signal = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| rt.block_on(tokio::signal::ctrl_c()));
        if matches!(signal, Ok(Ok(()))) {
            flag.store(true, Ordering::SeqCst);
        }
    });
    if !global.quiet {
        eprintln!(
            "dpc local run --live: schedules fire at their real times; Ctrl-C stops (the store keeps the state)"
        );
    }
    let json = global.output == OutputFormat::Json;
    let mut print = |e: &Entry| {
        if json {
            let _ = outln(&serde_json::to_string(e).unwrap_or_default());
        } else if !global.quiet {
            eprint!("{}", timeline(std::slice::from_ref(e)));
        }
    };
    let mut clock = Wall { stop };
    let played = runtime
        .play_with(&mut clock, &mut print)
        .map_err(Error::usage)?;
    if played.0.stopped && !global.quiet {
        eprintln!("stopped: the store keeps the state; `dpc local run --live` resumes it");
    }
    Ok(played)
}

/// Real time, interrupted by Ctrl-C.
struct Wall {
    stop: Arc<AtomicBool>,
}

impl Clock for Wall {
    fn wait_until(&mut self, at: Millis) -> bool {
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return false;
            }
            let now = Utc::now().timestamp_millis();
            if now >= at {
                return true;
            }
            let nap = u64::try_from((at - now).min(200)).unwrap_or(200);
            std::thread::sleep(std::time::Duration::from_millis(nap));
        }
    }
}

/// The store file as it is (created when missing): `--resume` and `--live` go on from it.
fn open_store(path: &Path) -> Result<SqliteStore, Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::usage(format!("cannot create {}: {e}", dir.display())))?;
    }
    SqliteStore::open(path).map_err(|e| Error::usage(format!("{}: {e}", path.display())))
}

/// The store file, emptied: each run starts from nothing (its WAL files too).
fn fresh_store(path: &Path) -> Result<SqliteStore, Error> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::usage(format!(
                    "cannot replace {}: {e}",
                    path.display()
                )));
            }
            _ => {}
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::usage(format!("cannot create {}: {e}", dir.display())))?;
    }
    SqliteStore::open(path).map_err(|e| Error::usage(format!("{}: {e}", path.display())))
}

/// The notifications that would have been sent, one per line, in `<logs>/notifications.log`.
fn write_notifications(logs: &Path, timeline: &[Entry]) -> Result<(), Error> {
    let text: String = timeline
        .iter()
        .filter(|e| e.event == "notification")
        .map(|e| format!("{} {} {}: {}\n", e.at, e.account, e.pipeline, e.detail))
        .collect();
    let path = logs.join("notifications.log");
    std::fs::create_dir_all(logs)
        .and_then(|()| std::fs::write(&path, text))
        .map_err(|e| Error::usage(format!("cannot write {}: {e}", path.display())))
}

/// The runs' OpenLineage events: POSTed to dpc.yaml's `lineage.url` (`transport: http`), else
/// written as JSON lines to its `path` or `lineage.jsonl` beside the store — replaced, or
/// added to with `--resume`/`--live` — through a temporary file renamed over it. Other
/// commands that play the local runtime (`dpc rerun`, `dpc publish`) can call it (`append`).
pub(crate) fn write_lineage(
    config: Option<&Lineage>,
    store: &Path,
    append: bool,
    pipelines: &[world::LocalPipeline],
    played: &Played,
    global: &GlobalArgs,
) -> Result<(), Error> {
    let events = crate::local::lineage::events(pipelines, played);
    emit_lineage(config, store, append, &events, global)
}

/// Sends `events` where [`write_lineage`] says.
fn emit_lineage(
    config: Option<&Lineage>,
    store: &Path,
    append: bool,
    events: &[Value],
    global: &GlobalArgs,
) -> Result<(), Error> {
    let path = match config {
        Some(Lineage::Http(url)) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::usage(format!("cannot start the HTTP client: {e}")))?;
            runtime
                .block_on(crate::lambda::lineage::post_all(url, events))
                .map_err(|e| Error::failed(format!("lineage: {e}")))?;
            if !global.quiet {
                eprintln!("posted {} OpenLineage event(s) to {url}", events.len());
            }
            return Ok(());
        }
        Some(Lineage::File(Some(path))) => path.clone(),
        _ => store.with_file_name(LINEAGE_FILE),
    };
    let mut text = String::new();
    if append {
        match std::fs::read_to_string(&path) {
            Ok(old) => text = old,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::usage(format!("cannot read {}: {e}", path.display()))),
        }
    }
    for e in events {
        text.push_str(&e.to_string());
        text.push('\n');
    }
    replace_file(&path, text.as_bytes())?;
    if !global.quiet {
        eprintln!(
            "wrote {} OpenLineage event(s) to {}",
            events.len(),
            path.display()
        );
    }
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path` and renames it over `path`.
pub(super) fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let cannot = |e: std::io::Error| Error::usage(format!("cannot write {}: {e}", path.display()));
    let name = path
        .file_name()
        .ok_or_else(|| Error::usage(format!("{} is not a file", path.display())))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(cannot)?;
    }
    let tmp = dir.unwrap_or(Path::new(".")).join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    if let Err(e) = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(cannot(e));
    }
    Ok(())
}

/// `--report FILE`: the HTML report, written to a temporary file beside FILE and renamed
/// over it (never half-written).
fn write_report(
    path: &Path,
    pipelines: &[world::LocalPipeline],
    played: &Played,
    manager: &mut Manager<SqliteStore>,
    (from, until): (Millis, Millis),
    global: &GlobalArgs,
) -> Result<(), Error> {
    let states = manager
        .status(until)
        .map_err(|e| Error::usage(e.to_string()))?;
    let html = crate::local::report::render(pipelines, played, &states, from, until);
    replace_file(path, html.as_bytes())?;
    if !global.quiet {
        eprintln!("wrote report {}", path.display());
    }
    Ok(())
}

fn report(
    played: &Played,
    manager: &mut Manager<SqliteStore>,
    until: Millis,
    live: bool,
    global: &GlobalArgs,
) -> Result<(), Error> {
    if global.output == OutputFormat::Json {
        if live {
            return Ok(());
        }
        for e in &played.timeline {
            outln(&serde_json::to_string(e).unwrap_or_default())?;
        }
        return Ok(());
    }
    if !global.quiet && !live {
        eprint!("{}", timeline(&played.timeline));
    }
    let states = manager
        .status(until)
        .map_err(|e| Error::usage(e.to_string()))?;
    out(&summary(&played.runs, &states, played.events))
}

pub(super) fn timeline(entries: &[Entry]) -> String {
    let width = entries.iter().map(|e| e.pipeline.len()).max().unwrap_or(0);
    let mut text = String::new();
    for e in entries {
        let at = e.at.replace('T', " ").trim_end_matches('Z').to_string();
        text.push_str(&format!(
            "{at:<23}  {}  {:width$}  {}\n",
            e.account, e.pipeline, e.detail
        ));
    }
    text
}

pub(super) fn summary(runs: &[RunRecord], states: &[PipelineStatus], events: usize) -> String {
    let mut per: BTreeMap<(&str, &str), Vec<&RunRecord>> = BTreeMap::new();
    for r in runs.iter().filter(|r| !r.duplicate) {
        per.entry((&r.account, &r.pipeline)).or_default().push(r);
    }
    let width = states
        .iter()
        .map(|s| s.pipeline.name.len())
        .max()
        .unwrap_or(0)
        .max("PIPELINE".len());
    let mut text = format!(
        "{:width$}  {:12}  {:>4}  {:>9}  {:>6}  {:9}  LAST RUN\n",
        "PIPELINE", "ACCOUNT", "RUNS", "SUCCEEDED", "FAILED", "STATE"
    );
    for s in states {
        let id = &s.pipeline;
        let list = per.get(&(id.account.as_str(), id.name.as_str()));
        let all = list.map_or(0, Vec::len);
        let ok = list.map_or(0, |l| l.iter().filter(|r| r.status == "SUCCEEDED").count());
        let last = list
            .and_then(|l| l.last())
            .map(|r| format!("{} {} ({})", r.status, r.started, r.kind))
            .unwrap_or_else(|| "-".into());
        text.push_str(&format!(
            "{:width$}  {:12}  {all:>4}  {ok:>9}  {:>6}  {:9}  {last}\n",
            id.name,
            id.account,
            all - ok,
            s.phase.as_str()
        ));
    }
    let duplicates = runs.iter().filter(|r| r.duplicate).count();
    text.push_str(&format!(
        "{} run(s), {duplicates} duplicate start(s) that ran nothing, {events} event(s) delivered\n",
        runs.len() - duplicates,
    ));
    text
}
