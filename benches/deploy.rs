//! Deploy benchmark (`cargo bench --bench deploy`), target: "Re-deploying 100 unchanged
//! pipelines: seconds, not minutes". Against a moto server, 100 pipelines in the caller's
//! account (EMR, GLUE and trigger-only; schedules, execution and data product triggers;
//! notifications) are deployed once by `dpc deploy`, then re-deployed unchanged several times.
//! Its median wall time is compared with the loop users write today, `aws cloudformation
//! deploy --no-fail-on-empty-changeset` (awscli v1) over the same `dpc synth` templates, one
//! stack after the other. Target: seconds, and dpc at least 10x faster than the awscli loop.
//! Also measured, for context: `dpc deploy --force`, a change set for every stack as awscli does
//! (without it, dpc skips stacks whose `dpc:hash` tag already matches, making no change set).
//!
//! moto differs from CloudFormation in two ways that matter here: pipelines name the caller's
//! account (see `main`), and awscli's unchanged deploys are refused by moto at
//! CreateChangeSet, exit 255, where AWS gives an empty change set, exit 0 (see `AwsOutcome`).
//!
//! Needs `moto_server` and `aws` on PATH (versions pinned in benches/requirements.txt):
//! `python3 -m venv target/py && target/py/bin/pip install -r benches/requirements.txt`, then
//! `PATH=$PWD/target/py/bin:$PATH cargo bench --bench deploy`.

// A benchmark is an edge: it reads files, runs processes and reads the clock.
#![allow(clippy::disallowed_methods)]

#[path = "../tests/it/common/moto.rs"]
mod moto;
#[path = "tree/mod.rs"]
mod tree;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use moto::Moto;
use serde_json::Value;

const PIPELINES: usize = 100;
/// Timed unchanged re-deploys by dpc.
const DPC_RUNS: usize = 5;
/// Timed `dpc deploy --force` runs.
const FORCE_RUNS: usize = 3;
/// Timed awscli loops (each runs `aws cloudformation deploy` once per pipeline).
const AWSCLI_RUNS: usize = 2;
const CONCURRENCY: &str = "8";
/// "Seconds, not minutes", read as under ten seconds.
const TARGET_SECONDS: f64 = 10.0;
const CENTRAL: &str = "999999999999";
/// moto's default account, the one the benchmark's credentials belong to.
const CALLER: &str = "123456789012";
const REGION: &str = "eu-west-1";
const INSTALL: &str = "python3 -m venv target/py && target/py/bin/pip install -r benches/requirements.txt && export PATH=\"$PWD/target/py/bin:$PATH\"";

/// The full path of `program` on PATH, or a panic telling how to install it.
fn require_on_path(program: &str) -> PathBuf {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!("`{program}` is not on PATH; the deploy benchmark needs it. Install with:\n  {INSTALL}")
        })
}

/// moto's version, from the Python interpreter of the `moto_server` entry point script.
fn moto_version(moto_server: &Path) -> String {
    let script = std::fs::read_to_string(moto_server).unwrap_or_default();
    let Some(python) = script
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("#!"))
        .filter(|l| l.contains("python"))
    else {
        return "unknown (moto_server is not a Python entry point script)".into();
    };
    Command::new(python.trim())
        .args(["-c", "import moto; print(moto.__version__)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| text(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn aws_version(aws: &Path) -> String {
    let mut c = Command::new(aws);
    c.arg("--version");
    text(&succeed("aws --version", c).stdout).trim().to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A command wired to the moto server only (never the developer's AWS config).
fn wired(moto: &Moto, program: impl AsRef<OsStr>) -> Command {
    let mut c = Command::new(program);
    c.envs(moto.env())
        .env("AWS_DEFAULT_REGION", REGION)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .stdin(Stdio::null());
    c
}

fn dpc(moto: &Moto, args: &[&str]) -> Command {
    let mut c = wired(moto, env!("CARGO_BIN_EXE_dpc"));
    c.args(args);
    c
}

fn succeed(what: &str, mut command: Command) -> Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not start ({e})"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

fn setup_account(moto: &Moto) {
    let setup = dpc(
        moto,
        &[
            "setup-user-account",
            "--yes",
            "--no-registration",
            "--central-account",
            CENTRAL,
            "--central-region",
            REGION,
        ],
    );
    succeed("dpc setup-user-account", setup);
}

/// `dpc deploy --yes --output json <tree> <extra>`: its wall time and result by stack.
fn dpc_deploy(moto: &Moto, tree: &Path, extra: &[&str]) -> (f64, BTreeMap<String, String>) {
    let mut command = dpc(moto, &["--output", "json", "deploy", "--yes"]);
    command.args(extra).arg(tree);
    let start = Instant::now();
    let out = succeed("dpc deploy", command);
    let elapsed = start.elapsed().as_secs_f64();
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "dpc deploy --output json printed no JSON ({e}):\n{}",
            text(&out.stdout)
        )
    });
    let results = reports
        .as_array()
        .expect("dpc deploy --output json prints an array")
        .iter()
        .map(|r| {
            let field = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (field("stack"), field("result"))
        })
        .collect();
    (elapsed, results)
}

/// Panics unless every pipeline stack was reported with one of `expected`.
fn assert_results(results: &BTreeMap<String, String>, expected: &[&str]) {
    assert_eq!(
        results.len(),
        PIPELINES,
        "one report per stack: {results:?}"
    );
    for i in 0..PIPELINES {
        let stack = format!("dpc-p{i}");
        let result = results.get(&stack).map(String::as_str);
        assert!(
            result.is_some_and(|r| expected.contains(&r)),
            "{stack}: expected one of {expected:?}, dpc reported {result:?}"
        );
    }
}

/// Timed `dpc deploy` runs of the unchanged tree, each asserted to have changed nothing.
fn dpc_runs(moto: &Moto, tree: &Path, label: &str, runs: usize, extra: &[&str]) -> Vec<f64> {
    (1..=runs)
        .map(|run| {
            let (elapsed, results) = dpc_deploy(moto, tree, extra);
            assert_results(&results, &["no-changes", "unchanged"]);
            eprintln!("{label}, run {run}: {elapsed:.2} s");
            elapsed
        })
        .collect()
}

/// How one `aws cloudformation deploy` of an existing stack ended.
#[derive(Clone, Copy)]
enum AwsOutcome {
    /// Exit 0 after a change set that held no changes.
    NoChanges,
    /// moto refuses CreateChangeSet itself when template and parameters are byte-identical
    /// (real CloudFormation creates a FAILED change set instead), so awscli exits 255 with
    /// `No updates are to be performed.`: the same "nothing to do", reached without the
    /// 5 s change-set polling delay awscli has against AWS.
    Refused,
    /// Exit 0 after executing a change set.
    Deployed,
}

fn aws_deploy(moto: &Moto, aws: &Path, templates: &Path, pipeline: &str) -> AwsOutcome {
    let out = wired(moto, aws)
        .args(["cloudformation", "deploy", "--template-file"])
        .arg(templates.join(pipeline).join("template.json"))
        .args(["--stack-name", &format!("dpc-{pipeline}")])
        .args(["--no-fail-on-empty-changeset", "--capabilities"])
        .args(["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"])
        .output()
        .unwrap_or_else(|e| panic!("aws could not be started ({e})"));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    match out.status.code() {
        Some(0) if stdout.contains("No changes to deploy") => AwsOutcome::NoChanges,
        Some(0) => AwsOutcome::Deployed,
        _ if stderr.contains("No updates are to be performed") => AwsOutcome::Refused,
        _ => panic!(
            "aws cloudformation deploy of dpc-{pipeline} failed ({}):\n{stdout}{stderr}",
            out.status
        ),
    }
}

/// One sequential awscli loop over every pipeline: wall time and the count of each outcome.
fn aws_loop(moto: &Moto, aws: &Path, templates: &Path) -> (f64, [usize; 3]) {
    let mut counts = [0; 3];
    let start = Instant::now();
    for i in 0..PIPELINES {
        counts[aws_deploy(moto, aws, templates, &format!("p{i}")) as usize] += 1;
    }
    (start.elapsed().as_secs_f64(), counts)
}

/// `AWSCLI_RUNS` timed loops that changed nothing; a first loop that did deploy changes (tags
/// or parameters awscli sees differently) is a warm-up and not counted.
fn aws_runs(moto: &Moto, aws: &Path, templates: &Path) -> Vec<f64> {
    let mut times = Vec::new();
    for pass in 1.. {
        let (elapsed, [no_changes, refused, deployed]) = aws_loop(moto, aws, templates);
        eprintln!(
            "awscli loop {pass}: {elapsed:.1} s ({no_changes} no changes, {refused} refused by moto as no updates, {deployed} deployed)"
        );
        if deployed == 0 {
            times.push(elapsed);
        } else {
            assert_eq!(
                pass, 1,
                "awscli still deployed changes after a warm-up loop"
            );
        }
        if times.len() == AWSCLI_RUNS {
            break;
        }
    }
    times
}

fn median(times: &[f64]) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

fn runs(times: &[f64]) -> String {
    let each: Vec<String> = times.iter().map(|t| format!("{t:.2}")).collect();
    each.join(", ")
}

fn row(tool: &str, times: &[f64]) {
    let m = median(times);
    println!(
        "| {tool} | {m:.2} | {:.1} | {} |",
        m * 1e3 / PIPELINES as f64,
        runs(times)
    );
}

fn main() {
    let moto_server = require_on_path("moto_server");
    let aws = require_on_path("aws");
    let moto = Moto::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(&tree).expect("create the tree folder");
    // Pipelines name the caller's account (moto's) rather than leaving it out: dpc then compiles
    // exact trigger patterns, where a left-out account gives `Fn::Sub` string patterns, which
    // moto cannot create (its AWS::Events::Rule json.dumps the EventPattern string again).
    tree::write(&tree, PIPELINES, |_| CALLER.to_string());
    let templates = tmp.path().join("dpc.out");
    let mut synth = dpc(&moto, &["--quiet", "synth"]);
    synth.arg(&tree).arg("--out").arg(&templates);
    succeed("dpc synth", synth);

    setup_account(&moto);
    let concurrency = ["--concurrency", CONCURRENCY];
    let (first, created) = dpc_deploy(&moto, &tree, &concurrency);
    assert_results(&created, &["deployed"]);
    eprintln!("first dpc deploy, creating {PIPELINES} stacks: {first:.1} s");

    let unchanged = dpc_runs(&moto, &tree, "dpc deploy", DPC_RUNS, &concurrency);
    let forced = [concurrency.as_slice(), &["--force"]].concat();
    let force = dpc_runs(&moto, &tree, "dpc deploy --force", FORCE_RUNS, &forced);
    let loops = aws_runs(&moto, &aws, &templates);

    println!(
        "Re-deploying {PIPELINES} unchanged pipelines, moto {} ({})",
        moto_version(&moto_server),
        aws_version(&aws)
    );
    println!("| command | median (s) | per stack (ms) | runs (s) |");
    println!("|---|---|---|---|");
    row(
        &format!("dpc deploy --concurrency {CONCURRENCY}"),
        &unchanged,
    );
    row(
        &format!("dpc deploy --concurrency {CONCURRENCY} --force"),
        &force,
    );
    row("aws cloudformation deploy, loop", &loops);
    let ratio = median(&loops) / median(&unchanged);
    let met = median(&unchanged) < TARGET_SECONDS && ratio >= 10.0;
    println!(
        "dpc deploy is {ratio:.0}x faster than the awscli loop ({:.1}x with --force); target under {TARGET_SECONDS} s and at least 10x: {}",
        median(&loops) / median(&force),
        if met { "met" } else { "NOT met" }
    );
}
