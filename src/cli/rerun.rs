//! `dpc rerun NAME [PATH...]`: starts a new run of a pipeline marked RERUN, which counts for
//! its dependents as scheduled and triggered runs do. Before starting, prints the plan: who
//! would follow on success, computed by the trigger manager on the current dependency states
//! (`manager::whatif`);
//! `--downstream` prints only that. Locally it plays the local environment from the store at
//! the virtual time it stopped, the rerun and everything it triggers, until nothing is
//! pending; with `--aws` it starts `dpc-NAME` in the pipeline's account (Step Functions
//! StartExecution), the plan read from the central account's tables.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Value, json};

use super::central::{CentralArgs, with_manager};
use super::status::{DEFAULT_STORE, open_local};
use super::term::{aws_options, require_terminal, runtime};
use super::validate::validated;
use super::{Error, ExitStatus, GlobalArgs, OutputFormat, out, outln};
use crate::local::process::Processes;
use crate::local::runtime::{Played, Runtime, Settings};
use crate::local::world::{self, LocalPipeline};
use crate::manager::registry::{LOCAL_ACCOUNT, LOCAL_REGION, PipelineId};
use crate::manager::runlog::state_machine_arn;
use crate::manager::time::{Millis, format_time};
use crate::manager::whatif::{Origin, Plan};
use crate::manager::{Manager, PipelineStatus};
use crate::pipeline::load::Validated;
use crate::pipeline::model::{Central, Config, Pipeline};

/// What to say when a prompt is needed and there is no terminal.
const PASS_YES: &str =
    "pass --yes to start it without asking (or --downstream to only see the plan)";

#[derive(Debug, Args)]
pub struct RerunArgs {
    /// The pipeline to run again (its name).
    pub name: String,
    /// Project folders, pipeline.yaml files, or trees of projects (default: locally, those
    /// `dpc local run` played with the store; else the current folder).
    pub paths: Vec<PathBuf>,
    /// Only print who would follow on success; start nothing.
    #[arg(long)]
    pub downstream: bool,
    /// Start without asking.
    #[arg(long)]
    pub yes: bool,
    /// On AWS: start the state machine `dpc-NAME` in the pipeline's account (credentials from
    /// dpc.yaml's `accounts`); the plan is read from the central account's tables.
    #[arg(long)]
    pub aws: bool,
    /// The run's logical time, which its steps see as `{{run.time}}` / `{{run.date}}` (RFC 3339
    /// or YYYY-MM-DD): e.g. the failed run's date, so the rerun processes that day's data
    /// (default: when it starts).
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
    /// The embedded store `dpc local run` left (local reruns).
    #[arg(long, env = "DPC_STORE", default_value = DEFAULT_STORE)]
    pub store: PathBuf,
    /// Where step logs go (local reruns).
    #[arg(long, value_name = "DIR", default_value = ".dpc/logs")]
    pub logs: PathBuf,
}

pub fn run(args: &RerunArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    let logical = args
        .time
        .as_deref()
        .map(|t| super::local_run::parse_time("--time", t))
        .transpose()?;
    if !args.yes && !args.downstream {
        require_terminal(PASS_YES)?;
    }
    if args.aws {
        return on_aws(args, logical, global);
    }
    let tree = validated(&projects(&args.store, &args.paths), global)?;
    let pipelines = world::build(&tree).map_err(Error::failed)?;
    let target = find(&pipelines, &args.name)?;
    let mut local = Local::open(&args.store, &pipelines)?;
    let origin = Origin::Success(target.clone());
    let plan = local.plan(&origin)?;
    print_plan(
        &plan,
        &format!("{} succeeds", target.name),
        local.at,
        global,
    )?;
    if args.downstream || !confirm(&format!("Rerun {} now?", target.name), args.yes)? {
        return Ok(ExitStatus::Success);
    }
    let input = rerun_input(local.at, logical);
    local.play(&tree, &pipelines, &args.logs, global, |runtime, at| {
        runtime.start_run(at, &target.name, &input)
    })
}

/// The execution input of a rerun started at `at`: marked RERUN, with a trigger id of its own
/// (so the state machine's claim lets it through once) and the time its steps see as
/// `{{run.time}}` (`logical`, else `at`).
pub(super) fn rerun_input(at: Millis, logical: Option<Millis>) -> Value {
    let stamp: String = format_time(at)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let time = format_time(logical.unwrap_or(at));
    json!({"run": {"type": "RERUN", "triggerId": format!("rerun-{stamp}"), "time": time}})
}

/// Where [`remember_paths`] keeps the projects a store was played with: beside it.
fn paths_file(store: &Path) -> PathBuf {
    store.with_extension("paths.json")
}

/// Keeps the projects `dpc local run` plays beside its store (absolute), so `dpc rerun NAME`
/// and `dpc publish` find them without PATH. Written to a temporary file and renamed.
pub(super) fn remember_paths(store: &Path, paths: &[PathBuf]) -> Result<(), Error> {
    let given = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let absolute: Vec<String> = given
        .iter()
        .map(|p| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        })
        .collect();
    let text = serde_json::to_string_pretty(&json!({ "paths": absolute })).unwrap_or_default();
    super::local_run::replace_file(&paths_file(store), text.as_bytes())
}

/// The projects to play: those given, else those the store was played with, else none (the
/// current folder).
pub(super) fn projects(store: &Path, paths: &[PathBuf]) -> Vec<PathBuf> {
    if !paths.is_empty() {
        return paths.to_vec();
    }
    let Ok(text) = std::fs::read_to_string(paths_file(store)) else {
        return Vec::new();
    };
    let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    doc["paths"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(PathBuf::from)
        .collect()
}

/// The pipeline named `name` among the local environment's.
fn find(pipelines: &[LocalPipeline], name: &str) -> Result<PipelineId, Error> {
    let found: Vec<&PipelineId> = pipelines
        .iter()
        .map(LocalPipeline::id)
        .filter(|id| id.name == name)
        .collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let known: Vec<&str> = pipelines.iter().map(|p| p.id().name.as_str()).collect();
            Err(Error::usage(format!("no pipeline is named `{name}`"))
                .hint(format!("pipelines: {}", known.join(", "))))
        }
        many => {
            let where_: Vec<String> = many.iter().map(|id| id.key()).collect();
            Err(Error::usage(format!(
                "`{name}` names {} pipelines: {}",
                many.len(),
                where_.join(", ")
            ))
            .hint("give the one project's folder as PATH"))
        }
    }
}

/// The central account of the tree (dpc.yaml), or the local stand-in.
fn central_of(tree: &Validated) -> Central {
    tree.pipelines()
        .find_map(|(_, c)| c.and_then(|c| c.central.clone()))
        .unwrap_or_else(|| Central {
            account: LOCAL_ACCOUNT.into(),
            region: LOCAL_REGION.into(),
            bus: "dpc-central".into(),
        })
}

/// The local environment's store, where `dpc local run` stopped.
pub(super) struct Local {
    store: PathBuf,
    /// The virtual time to go on from: the store's last event.
    pub at: Millis,
    manager: Manager<crate::manager::sqlite::SqliteStore>,
}

impl Local {
    /// Opens the store (which must exist) and registers the pipelines as they are now.
    pub fn open(path: &Path, pipelines: &[LocalPipeline]) -> Result<Local, Error> {
        let mut manager = Manager::new(open_local(path)?);
        let fault = |e: crate::manager::store::StoreError| Error::usage(e.to_string());
        let last = manager.last_event_at().map_err(fault)?.ok_or_else(|| {
            Error::usage(format!("nothing has run in {} yet", path.display()))
                .hint("play the projects first: `dpc local run PATH`")
        })?;
        // A second later: local execution names carry their start second, and a new run
        // named like one before it would be taken for that run by the manager.
        let at = last + 1_000;
        for p in pipelines {
            manager.register(&p.reg, at).map_err(fault)?;
        }
        Ok(Local {
            store: path.to_path_buf(),
            at,
            manager,
        })
    }

    pub fn plan(&mut self, origin: &Origin) -> Result<Plan, Error> {
        self.manager
            .what_if(origin, self.at)
            .map_err(|e| Error::failed(e.to_string()))
    }

    /// Plays from the store's time what `queue` puts in and everything that follows, then
    /// prints the timeline (stderr) and the runs (stdout) and adds the runs' OpenLineage
    /// events to the local run's, as `dpc local run --resume` does.
    pub fn play(
        self,
        tree: &Validated,
        pipelines: &[LocalPipeline],
        logs: &Path,
        global: &GlobalArgs,
        queue: impl FnOnce(
            &mut Runtime<'_, crate::manager::sqlite::SqliteStore, Processes>,
            Millis,
        ) -> Result<(), String>,
    ) -> Result<ExitStatus, Error> {
        let Local { store, at, manager } = self;
        drop(manager);
        let settings = Settings {
            from: at,
            until: Millis::MAX / 4,
            fail: Vec::new(),
            central: central_of(tree),
            twice: false,
        };
        let runner = Processes {
            logs: logs.to_path_buf(),
        };
        let mut runtime = Runtime::new(pipelines, open_local(&store)?, runner, settings)
            .map_err(Error::usage)?
            .idle();
        queue(&mut runtime, at).map_err(Error::usage)?;
        let (played, mut manager) = runtime.play().map_err(Error::usage)?;
        let lineage = tree
            .pipelines()
            .find_map(|(_, c)| c.and_then(|c| c.lineage.clone()));
        super::local_run::write_lineage(
            lineage.as_ref(),
            &store,
            true,
            pipelines,
            &played,
            global,
        )?;
        let states = manager
            .status(at)
            .map_err(|e| Error::usage(e.to_string()))?;
        report(&played, &states, global)?;
        let ok = played.runs.iter().all(|r| r.status == "SUCCEEDED");
        Ok(ExitStatus::check(ok))
    }
}

fn report(played: &Played, states: &[PipelineStatus], global: &GlobalArgs) -> Result<(), Error> {
    if global.output == OutputFormat::Json {
        for e in &played.timeline {
            outln(&serde_json::to_string(e).unwrap_or_default())?;
        }
        return Ok(());
    }
    if !global.quiet {
        eprint!("{}", super::local_run::timeline(&played.timeline));
    }
    let ran: Vec<PipelineStatus> = states
        .iter()
        .filter(|s| {
            played
                .runs
                .iter()
                .any(|r| r.pipeline == s.pipeline.name && r.account == s.pipeline.account)
        })
        .cloned()
        .collect();
    out(&super::local_run::summary(
        &played.runs,
        &ran,
        played.events,
    ))
}

/// Prints the plan: lines for people, or one JSON document.
pub(super) fn print_plan(
    plan: &Plan,
    what: &str,
    at: Millis,
    global: &GlobalArgs,
) -> Result<(), Error> {
    if global.output == OutputFormat::Json {
        let doc = json!({"if": what, "at": format_time(at), "plan": plan});
        return outln(&doc.to_string());
    }
    let mut text = format!("If {what} at {}:\n", format_time(at));
    let lines = plan.lines();
    if plan.follows.is_empty() {
        text.push_str("  nothing follows\n");
    }
    for line in lines {
        text.push_str(&format!("  {line}\n"));
    }
    out(&text)
}

/// True when the user said yes (or `--yes`); `require_terminal` was checked before.
pub(super) fn confirm(question: &str, yes: bool) -> Result<bool, Error> {
    use std::io::{BufRead, Write};
    if yes {
        return Ok(true);
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::usage(format!("cannot read the answer: {e}")))?;
    let yes = matches!(answer.trim(), "y" | "Y" | "yes");
    if !yes {
        eprintln!("not confirmed: nothing was started");
    }
    Ok(yes)
}

/// `--aws`: the plan from the central tables, then StartExecution in the pipeline's account.
fn on_aws(
    args: &RerunArgs,
    logical: Option<Millis>,
    global: &GlobalArgs,
) -> Result<ExitStatus, Error> {
    let tree = validated(&args.paths, global)?;
    let (pipeline, config) = tree
        .pipelines()
        .find(|(p, _)| p.name == args.name)
        .ok_or_else(|| {
            let known: Vec<&str> = tree.pipelines().map(|(p, _)| p.name.as_str()).collect();
            Error::usage(format!("no pipeline is named `{}`", args.name))
                .hint(format!("pipelines: {}", known.join(", ")))
        })?;
    let config = config.cloned().unwrap_or_default();
    let options = aws_options(global);
    let (id, access) = runtime()?.block_on(where_on_aws(pipeline, &config, global))?;
    let now = chrono::Utc::now().timestamp_millis();
    let central = CentralArgs {
        central: true,
        config_dir: pipeline.dir.clone(),
    };
    let origin = Origin::Success(id.clone());
    match with_manager(&central, global, |m| {
        m.what_if(&origin, now)
            .map_err(|e| Error::failed(e.to_string()))
    }) {
        Ok(plan) => print_plan(&plan, &format!("{} succeeds", id.name), now, global)?,
        Err(e) if args.downstream => return Err(e),
        Err(e) => {
            if !global.quiet {
                eprintln!("warning: cannot compute who follows: {}", e.message());
            }
        }
    }
    if args.downstream
        || !confirm(
            &format!("Rerun {} in account {} now?", id.name, id.account),
            args.yes,
        )?
    {
        return Ok(ExitStatus::Success);
    }
    let arn = runtime()?.block_on(async {
        let sdk = crate::aws::reach(&options, &id.account, Some(&id.region), &access)
            .await
            .map_err(Error::failed)?;
        start_execution(&sdk, &id, rerun_input(now, logical)).await
    })?;
    match global.output {
        OutputFormat::Json => outln(&json!({"executionArn": arn}).to_string())?,
        OutputFormat::Human => outln(&arn)?,
    }
    if !global.quiet {
        eprintln!(
            "started {} in account {} as RERUN; its dependents follow through the trigger manager",
            id.name, id.account
        );
    }
    Ok(ExitStatus::Success)
}

/// The pipeline's account and region on AWS, and how to reach the account.
async fn where_on_aws(
    pipeline: &Pipeline,
    config: &Config,
    global: &GlobalArgs,
) -> Result<(PipelineId, crate::deploy::target::Access), Error> {
    let region = pipeline
        .region
        .clone()
        .or_else(|| config.region.clone())
        .or_else(|| global.region.clone())
        .ok_or_else(|| {
            Error::usage(format!("{} names no region", pipeline.name))
                .hint("set `region` in pipeline.yaml or dpc.yaml, or pass --region")
        })?;
    let (account, access) = match &pipeline.account {
        Some(account) if config.accounts.contains_key(account) => {
            let access = crate::deploy::target::access(account, "", &config.accounts)
                .map_err(Error::usage)?;
            (account.clone(), access)
        }
        named => {
            let base = crate::aws::config(&aws_options(global)).await;
            let caller = crate::aws::caller_account(&base)
                .await
                .map_err(Error::failed)?;
            let account = named.clone().unwrap_or_else(|| caller.clone());
            let access = crate::deploy::target::access(&account, &caller, &config.accounts)
                .map_err(Error::failed)?;
            (account, access)
        }
    };
    let id = PipelineId {
        account,
        region,
        name: pipeline.name.clone(),
    };
    Ok((id, access))
}

async fn start_execution(
    sdk: &aws_config::SdkConfig,
    id: &PipelineId,
    input: Value,
) -> Result<String, Error> {
    let name = input["run"]["triggerId"]
        .as_str()
        .unwrap_or("rerun")
        .to_string();
    let arn = state_machine_arn(id);
    let sfn = aws_sdk_sfn::Client::new(sdk);
    let started = sfn
        .start_execution()
        .state_machine_arn(&arn)
        .name(&name)
        .input(input.to_string())
        .send()
        .await
        .map_err(|e| {
            Error::failed(format!("cannot start {arn}: {}", crate::aws::describe(&e)))
                .hint(format!("deploy it first: `dpc deploy` of {}", id.name))
        })?;
    Ok(started.execution_arn().to_string())
}
