//! ASL interpreter benchmark (`cargo bench --bench asl`): dpc's Amazon States Language
//! interpreter (`dpc::asl`) side by side with the npm package `aws-local-stepfunctions` (the
//! peer, pinned in `benches/asl-peer/package.json`), in one run, on the same definitions:
//!
//! * the Pass/Choice counting loop `benches/asl-peer/defs/loop.asl.json` (2n + 1 transitions):
//!   dpc with n = 500,000, i.e. 1,000,001 transitions (target: one million transitions in under
//!   a second), and both engines with n = 20,000 (the peer runs about 60k transitions/s);
//! * the state machines the compiler produces for the `pipeline-x` and `listings` examples,
//!   compiled here from `examples/` (not read from snapshots) and written to a temporary
//!   directory for the peer, run on a triggered input with the same Task mocks on both engines
//!   (every Task returns `{}`, `Create cluster` returns `{"ClusterId":"j-1"}`).
//!
//! Both engines must end SUCCEEDED with the same number of transitions and the same output
//! (dpc gets the peer's fixed Context Object values through `Options`). dpc is timed in-process
//! with `Instant` (median of several runs, history and trace off), plus one run with history and
//! trace on; the peer is timed in-process by `benches/asl-peer/run.mjs` (`performance.now()`,
//! median after an untimed warm-up). Prints, per definition, the transitions per run, each
//! engine's transitions per second and their ratio, then the 1M-transition wall time; the
//! target is dpc ≥ 20× the peer's throughput, and the output says whether it is met.
//!
//! Needs Node.js and npm on PATH. When `benches/asl-peer/node_modules` lacks the peer, the bench
//! installs it with `npm ci --prefix benches/asl-peer` (from the committed package-lock.json, so
//! the first run needs the npm registry); `node_modules` is git-ignored, never committed.

// A benchmark is an edge: it reads and writes files, runs processes and reads the clock.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use dpc::asl::{self, Definition, MockHandler, Options, Status};
use serde_json::{Map, Value, json};

/// Loop size for dpc's 1M-transition run: 2n + 1 = 1,000,001 transitions.
const BIG_N: u64 = 500_000;
/// Loop size both engines run (the peer takes about 0.7 s per run).
const PEER_N: u64 = 20_000;
/// Timed runs of the big loop (dpc).
const BIG_RUNS: usize = 5;
/// Timed runs of the small loop (dpc and peer).
const LOOP_RUNS: usize = 5;
/// Timed runs of a compiled pipeline: the peer's JIT needs about 1000 to warm up.
const PIPE_RUNS: usize = 2_000;
/// The compiled examples compared.
const PIPELINES: [&str; 2] = ["pipeline-x", "listings"];
/// dpc's throughput must be at least this multiple of the peer's.
const TARGET_RATIO: f64 = 20.0;
/// A fixed tool version for the compiler.
const VERSION: &str = "0.0.0-bench";

/// The Context Object values `benches/asl-peer/run.mjs` fixes (its `CONTEXT`).
const EXECUTION_ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:bench:exec-1";
const EXECUTION_NAME: &str = "exec-1";
const STATE_MACHINE_ARN: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:bench";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/bench";
/// `$$.State.EnteredTime` on the peer; dpc's virtual clock stays at its start time because the
/// mocks take no time.
const ENTERED_TIME: &str = "2026-11-26T03:00:00Z";

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::set_current_dir(root).expect("cd to the package root");
    let peer = Peer::install(&root.join("benches/asl-peer"));
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut rows = Vec::new();

    // 1. The counting loop.
    let loop_path = peer.dir.join("defs/loop.asl.json");
    let loop_def = parse(&read_json(&loop_path), "loop.asl.json");
    let mocks = MockHandler::default();
    let loop_input = |n: u64| json!({"i": 0, "n": n});
    eprintln!("asl bench: dpc, loop n = {BIG_N} ...");
    let big = Dpc::measure(&loop_def, &loop_input(BIG_N), &mocks, BIG_RUNS);
    assert_eq!(big.transitions, 2 * BIG_N + 1, "loop transitions");
    assert_eq!(big.output, json!({"i": BIG_N, "n": BIG_N}), "loop output");
    eprintln!("asl bench: dpc, loop n = {PEER_N} ...");
    let small = Dpc::measure(&loop_def, &loop_input(PEER_N), &mocks, LOOP_RUNS);
    eprintln!("asl bench: peer, loop n = {PEER_N} ...");
    let peer_loop = peer.run(&loop_path, &loop_input(PEER_N), None, LOOP_RUNS);
    agree("loop", &small, &peer_loop);
    rows.push(Row {
        name: format!(
            "loop, dpc n={} / peer n={}",
            thousands(BIG_N),
            thousands(PEER_N)
        ),
        transitions: format!(
            "{} / {}",
            thousands(big.transitions),
            thousands(peer_loop.transitions)
        ),
        dpc: big.clone(),
        peer: peer_loop.clone(),
    });
    rows.push(Row {
        name: format!("loop, n={} on both", thousands(PEER_N)),
        transitions: thousands(small.transitions),
        dpc: small,
        peer: peer_loop,
    });

    // 2. The compiled examples.
    let now = NaiveDate::from_ymd_opt(2026, 11, 21)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("date");
    let tree = dpc::pipeline::load::validate_tree(&[PathBuf::from("examples")], now)
        .expect("examples load");
    assert!(tree.diagnostics.is_empty(), "examples must be valid");
    let built = dpc::compile::tree::compile_tree(&tree, VERSION, &|_, _| None).expect("compile");
    let triggered =
        json!({"run": {"type": "TRIGGERED", "triggerId": "t-1", "time": "2026-11-26T03:00:00Z"}});
    for name in PIPELINES {
        let b = built
            .iter()
            .find(|b| b.env.name() == name)
            .unwrap_or_else(|| panic!("example pipeline {name} not compiled"));
        let definition = &b.compiled.state_machine.definition;
        let mock = mocks_for(definition);
        assert!(
            mock.get("Create cluster").is_some(),
            "{name}: no `Create cluster` Task"
        );
        let def_path = tmp.path().join(format!("{name}.asl.json"));
        let mock_path = tmp.path().join(format!("{name}.mock.json"));
        write_json(&def_path, definition);
        write_json(&mock_path, &mock);
        let def = parse(definition, name);
        let mocks =
            MockHandler::parse(&mock).unwrap_or_else(|p| panic!("{name}: bad mocks: {}", list(&p)));
        eprintln!("asl bench: dpc, {name} ...");
        let d = Dpc::measure(&def, &triggered, &mocks, PIPE_RUNS);
        eprintln!("asl bench: peer, {name} ...");
        let p = peer.run(&def_path, &triggered, Some(&mock_path), PIPE_RUNS);
        agree(name, &d, &p);
        rows.push(Row {
            name: name.to_string(),
            transitions: thousands(d.transitions),
            dpc: d,
            peer: p,
        });
    }

    report(&rows, &big, &peer);
}

/// One line of the table.
struct Row {
    name: String,
    transitions: String,
    dpc: Dpc,
    peer: PeerRun,
}

/// dpc's figures for one definition and input.
#[derive(Clone)]
struct Dpc {
    transitions: u64,
    output: Value,
    runs: usize,
    /// Median and best wall time of one run, history and trace off.
    median: f64,
    best: f64,
    /// One run with history and trace on: wall time and events recorded.
    history_secs: f64,
    history_events: usize,
}

impl Dpc {
    /// One untimed warm-up run (its status, transitions and output are kept), then `runs`
    /// timed runs with history and trace off, then one timed run with both on. A run is timed
    /// from the call to `asl::run` to the drop of its `Execution`; cloning the input and the
    /// mocks (fresh cursors, as the peer resets its own) is left out.
    fn measure(def: &Definition, input: &Value, mocks: &MockHandler, runs: usize) -> Dpc {
        let off = options(false);
        let warm = asl::run(def, input.clone(), &off, &mut mocks.clone());
        assert_eq!(
            warm.status,
            Status::Succeeded,
            "dpc: {:?}: {:?}",
            warm.error,
            warm.cause
        );
        let transitions = warm.transitions;
        let output = warm.output.expect("output of a SUCCEEDED run");
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let (input, mut mocks) = (input.clone(), mocks.clone());
                let start = Instant::now();
                let ex = asl::run(def, input, &off, &mut mocks);
                let seen = (ex.status, ex.transitions);
                drop(ex);
                let secs = start.elapsed().as_secs_f64();
                assert_eq!(seen, (Status::Succeeded, transitions), "dpc runs disagree");
                secs
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let on = options(true);
        let (input, mut mocks) = (input.clone(), mocks.clone());
        let start = Instant::now();
        let ex = asl::run(def, input, &on, &mut mocks);
        let seen = (ex.status, ex.transitions, ex.output.clone());
        let history_events = ex.history.len();
        drop(ex);
        let history_secs = start.elapsed().as_secs_f64();
        assert_eq!(
            seen,
            (Status::Succeeded, transitions, Some(output.clone())),
            "dpc with history on disagrees"
        );
        Dpc {
            transitions,
            output,
            runs,
            median: median(&times),
            best: times[0],
            history_secs,
            history_events,
        }
    }

    fn rate(&self) -> f64 {
        self.transitions as f64 / self.median
    }
}

/// The execution options: the peer's fixed context values, no transition limit in the way.
fn options(history: bool) -> Options {
    Options {
        start_time: DateTime::parse_from_rfc3339(ENTERED_TIME)
            .expect("time")
            .with_timezone(&Utc),
        execution_name: EXECUTION_NAME.into(),
        state_machine_arn: STATE_MACHINE_ARN.into(),
        execution_arn: Some(EXECUTION_ARN.into()),
        role_arn: ROLE_ARN.into(),
        region: "eu-west-1".into(),
        max_transitions: 10 * (2 * BIG_N + 1),
        record_history: history,
        record_trace: history,
        ..Options::default()
    }
}

/// The peer harness in `benches/asl-peer`.
struct Peer {
    dir: PathBuf,
    version: String,
    node: String,
}

/// What `run.mjs` prints for one definition and input.
#[derive(Clone)]
struct PeerRun {
    runs: usize,
    transitions: u64,
    seconds: f64,
    rate: f64,
    output: Value,
}

impl Peer {
    /// Installs the pinned peer with `npm ci` when it is missing, then checks that Node runs.
    fn install(dir: &Path) -> Peer {
        let pinned =
            read_json(&dir.join("package.json"))["dependencies"]["aws-local-stepfunctions"]
                .as_str()
                .expect("package.json pins aws-local-stepfunctions")
                .to_string();
        let installed = dir.join("node_modules/aws-local-stepfunctions/package.json");
        if !installed.is_file() {
            eprintln!(
                "asl bench: installing aws-local-stepfunctions {pinned}: npm ci --prefix {}",
                dir.display()
            );
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                .arg(dir)
                .status()
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot run npm ({e}): the asl bench needs Node.js and npm on PATH to \
                         install its peer (npm ci --prefix benches/asl-peer)"
                    )
                });
            assert!(
                status.success(),
                "npm ci --prefix {} failed ({status})",
                dir.display()
            );
        }
        let version = read_json(&installed)["version"]
            .as_str()
            .expect("installed version")
            .to_string();
        assert_eq!(
            version,
            pinned,
            "installed aws-local-stepfunctions is not the pinned one: delete {}/node_modules",
            dir.display()
        );
        let node = Command::new("node")
            .arg("--version")
            .output()
            .unwrap_or_else(|e| panic!("cannot run node ({e}): the asl bench needs Node.js"));
        Peer {
            dir: dir.to_path_buf(),
            version,
            node: String::from_utf8_lossy(&node.stdout).trim().to_string(),
        }
    }

    /// Runs `run.mjs` and reads its JSON line; the execution must succeed.
    fn run(&self, def: &Path, input: &Value, mock: Option<&Path>, runs: usize) -> PeerRun {
        let mut cmd = Command::new("node");
        cmd.arg(self.dir.join("run.mjs"))
            .arg("--definition")
            .arg(def)
            .arg("--input")
            .arg(input.to_string())
            .arg("--runs")
            .arg(runs.to_string());
        if let Some(mock) = mock {
            cmd.arg("--mock").arg(mock);
        }
        let out = cmd.output().expect("node runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "peer failed on {} ({}):\n{stdout}{stderr}",
            def.display(),
            out.status
        );
        let line: Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("peer printed no JSON line ({e}):\n{stdout}{stderr}"));
        assert_eq!(line["status"], "SUCCEEDED", "peer: {line}");
        assert_eq!(line["version"], self.version.as_str(), "peer version");
        let number = |k: &str| {
            line[k]
                .as_f64()
                .unwrap_or_else(|| panic!("peer: no {k}: {line}"))
        };
        PeerRun {
            runs,
            transitions: number("transitions") as u64,
            seconds: number("seconds"),
            rate: number("transitionsPerSecond"),
            output: line["output"].clone(),
        }
    }
}

/// Both engines ended SUCCEEDED (checked when measuring) with the same transitions and output.
/// The outputs compared here do not read `$$.Execution.StartTime` (the peer's is the real
/// clock): the triggered path only puts it in `Claim trigger`'s parameters, whose result is
/// dropped (`ResultPath: null`).
fn agree(name: &str, d: &Dpc, p: &PeerRun) {
    assert_eq!(
        d.transitions, p.transitions,
        "{name}: dpc and the peer count different transitions"
    );
    assert_eq!(
        d.output, p.output,
        "{name}: dpc and the peer give different outputs"
    );
}

/// Task mocks for every Task state, nested ones included: `{}`, or the cluster for
/// `Create cluster`; in the per-state form both engines read.
fn mocks_for(definition: &Value) -> Value {
    fn walk(machine: &Value, out: &mut Map<String, Value>) {
        let Some(states) = machine["States"].as_object() else {
            return;
        };
        for (name, state) in states {
            if state["Type"] == "Task" {
                let result = if name == "Create cluster" {
                    json!({"ClusterId": "j-1"})
                } else {
                    json!({})
                };
                out.insert(name.clone(), json!([{ "Return": result }]));
            }
            for branch in state["Branches"].as_array().into_iter().flatten() {
                walk(branch, out);
            }
            walk(&state["Iterator"], out);
            walk(&state["ItemProcessor"], out);
        }
    }
    let mut out = Map::new();
    walk(definition, &mut out);
    Value::Object(out)
}

fn report(rows: &[Row], big: &Dpc, peer: &Peer) {
    println!(
        "\nASL interpreters: dpc::asl vs aws-local-stepfunctions {} (Node {}), {} cores",
        peer.version,
        peer.node,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "dpc: median of N in-process runs, history and trace off (`history on`: one run with both on);"
    );
    println!("peer: median of N in-process runs after a warm-up, as run.mjs reports.\n");
    let header = [
        "definition",
        "transitions/run",
        "dpc tr/s",
        "dpc tr/s, history on",
        "peer tr/s",
        "runs dpc/peer",
        "dpc/peer",
        "≥ 20×",
    ];
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            let ratio = r.dpc.rate() / r.peer.rate;
            [
                r.name.clone(),
                r.transitions.clone(),
                thousands(r.dpc.rate().round() as u64),
                thousands((r.dpc.transitions as f64 / r.dpc.history_secs).round() as u64),
                thousands(r.peer.rate.round() as u64),
                format!("{}/{}", r.dpc.runs, r.peer.runs),
                format!("{ratio:.1}×"),
                (if ratio >= TARGET_RATIO { "yes" } else { "NO" }).to_string(),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |c: &[String]| {
        let parts: Vec<String> = c
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let pad = " ".repeat(widths[i] - s.chars().count());
                if i == 0 {
                    format!("{s}{pad}")
                } else {
                    format!("{pad}{s}")
                }
            })
            .collect();
        println!("| {} |", parts.join(" | "));
    };
    line(&header.map(String::from));
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    println!("|-{}-|", rule.join("-|-"));
    for c in &cells {
        line(c);
    }
    for r in rows {
        println!(
            "  {}: dpc median {} per run (best {}); peer median {} per run",
            r.name,
            duration(r.dpc.median),
            duration(r.dpc.best),
            duration(r.peer.seconds)
        );
    }

    println!(
        "\n1M transitions (loop n={}, {} transitions): dpc median {} over {} runs (best {}); \
         with history and trace on: {} ({} history events). Target < 1 s: {}.",
        thousands(BIG_N),
        thousands(big.transitions),
        duration(big.median),
        big.runs,
        duration(big.best),
        duration(big.history_secs),
        thousands(big.history_events as u64),
        if big.median < 1.0 { "met" } else { "NOT met" }
    );
    let missed: Vec<&str> = rows
        .iter()
        .filter(|r| r.dpc.rate() / r.peer.rate < TARGET_RATIO)
        .map(|r| r.name.as_str())
        .collect();
    let worst = rows
        .iter()
        .map(|r| r.dpc.rate() / r.peer.rate)
        .fold(f64::INFINITY, f64::min);
    if missed.is_empty() {
        println!(
            "Target dpc ≥ {TARGET_RATIO}× the peer's throughput: met on every definition (lowest {worst:.1}×)."
        );
    } else {
        println!(
            "Target dpc ≥ {TARGET_RATIO}× the peer's throughput: NOT met on {} (lowest {worst:.1}×).",
            missed.join(", ")
        );
    }
}

fn parse(v: &Value, what: &str) -> Definition {
    Definition::parse(v).unwrap_or_else(|p| panic!("{what}: invalid definition: {}", list(&p)))
}

fn list(problems: &[asl::Problem]) -> String {
    problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write_json(path: &Path, v: &Value) {
    let text = serde_json::to_string_pretty(v).expect("json");
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

fn median(sorted: &[f64]) -> f64 {
    let m = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[m]
    } else {
        (sorted[m - 1] + sorted[m]) / 2.0
    }
}

fn duration(secs: f64) -> String {
    if secs >= 1.0 {
        format!("{secs:.2} s")
    } else if secs >= 1e-3 {
        format!("{:.1} ms", secs * 1e3)
    } else {
        format!("{:.1} µs", secs * 1e6)
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
