//! `dpc local run` benchmark (`cargo bench --bench local`), two measurements side by side:
//!
//! 1. **The case study end to end**: `dpc local run examples/case-study --from 2026-11-26`
//!    as a whole process (three real `python3` steps: listings and searches on their schedules,
//!    pipeline-x once both succeeded), median of several runs; against the same dependency as
//!    a Prefect 3 flow running the same three scripts as subprocesses
//!    (benches/local-peer/flow.py), run as a new user would: `python flow.py` on Prefect's
//!    ephemeral server, default settings (only `PREFECT_HOME` points into a temporary folder,
//!    so its first run is a new user's first run, reported apart). Targets: dpc under 1 s,
//!    and at least 20x faster than Prefect. Where `python3` on PATH is a shim rather than the
//!    interpreter (pyenv's is a shell script that costs more than Python's own start-up), both
//!    are measured again with the interpreter's folder first on PATH.
//! 2. **A generated tree** of 700 pipelines in 100 accounts over one virtual day (schedules,
//!    execution and data-product dependencies, published products; steps simulated, as they
//!    have no `local.command`; benches/tree/local.rs), checked by `dpc validate` first: wall
//!    time (target under 10 s), runs, events delivered per second, and peak memory (maximum
//!    resident set size from `/usr/bin/time -v` when present, else `VmHWM` of
//!    /proc/PID/status polled while the process runs; the table says which).
//!
//! Run: `cargo bench --bench local` (all), or name parts: `cargo bench --bench local -- case`,
//! `-- prefect`, `-- tree`. `DPC_BENCH_DIR=/dev/shm` puts the temporary files on a tmpfs.
//!
//! Installs: Prefect (the version pinned in benches/local-peer/requirements.txt) into the
//! project venv `target/py` when it is missing or another version (`python3 -m venv target/py`
//! first when there is no venv); the bench fails loudly if it cannot. Nothing else.

// A benchmark is an edge: it reads files, runs processes and reads the clock.
#![allow(clippy::disallowed_methods)]

#[path = "tree/local.rs"]
mod tree;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DAY: &str = "2026-11-26";
/// Timed `dpc local run` runs of the case study (after one warm-up).
const DPC_RUNS: usize = 7;
/// Timed Prefect runs (after the first run, which creates Prefect's database).
const PREFECT_RUNS: usize = 3;
/// Timed `dpc local run` runs of the generated tree.
const TREE_RUNS: usize = 3;
const PIPELINES: usize = 700;
const ACCOUNTS: usize = 100;
const CASE_TARGET_S: f64 = 1.0;
const RATIO_TARGET: f64 = 20.0;
const TREE_TARGET_S: f64 = 10.0;
const TIME: &str = "/usr/bin/time";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One finished process: wall time, peak memory, exit status and output.
struct Measured {
    wall: f64,
    peak_kb: Option<u64>,
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `command` to the end with its output in files under `dir` (no pipe to drain while
/// timing), measuring its wall time and peak memory.
fn measure(command: &Command, dir: &Path) -> Measured {
    let out_path = dir.join("stdout.txt");
    let err_path = dir.join("stderr.txt");
    let time = Path::new(TIME).is_file();
    let mut run = if time {
        let mut c = Command::new(TIME);
        c.arg("-v").arg(command.get_program());
        c
    } else {
        Command::new(command.get_program())
    };
    run.args(command.get_args());
    if let Some(cwd) = command.get_current_dir() {
        run.current_dir(cwd);
    }
    for (key, value) in command.get_envs() {
        match value {
            Some(v) => run.env(key, v),
            None => run.env_remove(key),
        };
    }
    run.stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"));
    let start = Instant::now();
    let mut child = run
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", command.get_program()));
    let mut polled = None;
    let status = if time {
        child.wait().expect("wait")
    } else {
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if let Some(kb) = vm_hwm(child.id()) {
                polled = Some(kb);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    let wall = start.elapsed().as_secs_f64();
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let mut stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let peak_kb = if time {
        // GNU time's report is the last lines of stderr.
        let at = stderr
            .rfind("\tCommand being timed:")
            .unwrap_or(stderr.len());
        let report = stderr.split_off(at);
        report
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Maximum resident set size (kbytes): ")
            })
            .and_then(|n| n.trim().parse().ok())
    } else {
        polled
    };
    // GNU time exits as the command did.
    let ok = status.success();
    Measured {
        wall,
        peak_kb,
        ok,
        stdout,
        stderr,
    }
}

fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn memory_source() -> &'static str {
    if Path::new(TIME).is_file() {
        "max RSS from /usr/bin/time -v"
    } else {
        "VmHWM of /proc/PID/status, polled every 2 ms"
    }
}

/// Runs `command` `runs` times (after `warmups` untimed runs), panicking on a failure.
fn repeat(what: &str, command: &Command, dir: &Path, warmups: usize, runs: usize) -> Vec<Measured> {
    (0..warmups + runs)
        .map(|_| {
            let m = measure(command, dir);
            assert!(
                m.ok,
                "{what} failed:\n{}\n{}",
                m.stdout,
                tail(&m.stderr, 40)
            );
            m
        })
        .skip(warmups)
        .collect()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn median(runs: &[Measured]) -> f64 {
    let mut walls: Vec<f64> = runs.iter().map(|m| m.wall).collect();
    walls.sort_by(f64::total_cmp);
    walls[walls.len() / 2]
}

fn spread(runs: &[Measured]) -> String {
    let min = runs.iter().map(|m| m.wall).fold(f64::INFINITY, f64::min);
    let max = runs.iter().map(|m| m.wall).fold(0.0, f64::max);
    format!("{}–{}", seconds(min), seconds(max))
}

fn peak(runs: &[Measured]) -> String {
    runs.iter()
        .filter_map(|m| m.peak_kb)
        .max()
        .map_or("n/a".into(), |kb| format!("{:.1} MB", kb as f64 / 1024.0))
}

fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "yes" } else { "**no**" }
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// `N run(s)` and `M event(s) delivered` of the summary's last line.
fn counts(stdout: &str) -> (usize, usize) {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.contains("run(s)") && l.contains("event(s) delivered"))
        .unwrap_or_else(|| panic!("no summary line in:\n{stdout}"));
    let number_before = |marker: &str| -> usize {
        let at = line.find(marker).expect("marker");
        line[..at]
            .split_whitespace()
            .last()
            .and_then(|n| n.replace(',', "").parse().ok())
            .unwrap_or_else(|| panic!("no number before `{marker}` in `{line}`"))
    };
    (number_before("run(s)"), number_before("event(s) delivered"))
}

fn dpc_local_run(tree: &Path, work: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dpc"));
    c.args(["local", "run"])
        .arg(tree)
        .args(["--from", DAY, "--store"])
        .arg(work.join("state.db"))
        .arg("--logs")
        .arg(work.join("logs"))
        .current_dir(work);
    c
}

/// The version pinned for `package` in a requirements file.
fn pinned(requirements: &Path, package: &str) -> String {
    let text = std::fs::read_to_string(requirements)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", requirements.display()));
    text.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{package}==")))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("{} pins no {package}", requirements.display()))
}

fn run_loudly(what: &str, command: &mut Command) {
    eprintln!("local bench: {what}");
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(status.success(), "{what}: failed ({status})");
}

/// The venv's python with the pinned Prefect, installed when missing.
fn prefect_python() -> (PathBuf, String) {
    let venv = root().join("target/py");
    let python = venv.join("bin/python");
    let requirements = root().join("benches/local-peer/requirements.txt");
    let want = pinned(&requirements, "prefect");
    let installed = || {
        Command::new(&python)
            .args(["-c", "import prefect; print(prefect.__version__)"])
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if installed().as_deref() != Some(want.as_str()) {
        if !python.is_file() {
            run_loudly(
                "creating the venv target/py",
                Command::new("python3").arg("-m").arg("venv").arg(&venv),
            );
        }
        run_loudly(
            &format!("installing prefect {want} into target/py"),
            Command::new(&python)
                .args(["-m", "pip", "install", "-q", "-r"])
                .arg(&requirements),
        );
        let now = installed();
        assert_eq!(
            now.as_deref(),
            Some(want.as_str()),
            "prefect {want} is still not importable from {} after installing",
            python.display()
        );
    }
    (python, want)
}

/// How the steps' `python3` is found: PATH as the bench got it, or with the interpreter's own
/// folder first (where `python3` on PATH is a version manager's shim, e.g. pyenv's shell
/// script, which costs more than the interpreter's start-up itself).
struct Python3 {
    label: String,
    path: Option<std::ffi::OsString>,
}

/// The `python3` variants to measure: PATH as is, and PATH resolving `python3` directly when
/// the one on PATH is not the interpreter itself.
fn python3_variants() -> Vec<Python3> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let on_path = std::env::split_paths(&path)
        .map(|dir| dir.join("python3"))
        .find(|candidate| candidate.is_file())
        .expect("python3 on PATH (the case study's steps run it)");
    let real = Command::new(&on_path)
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .expect("python3 runs");
    let mut variants = vec![Python3 {
        label: format!("python3 = {}", on_path.display()),
        path: None,
    }];
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    if canonical(&on_path) != canonical(&real)
        && let Some(dir) = real.parent()
    {
        let mut dirs = vec![dir.to_path_buf()];
        dirs.extend(std::env::split_paths(&path));
        variants[0].label.push_str(" (a shim)");
        variants.push(Python3 {
            label: format!("python3 = {}", real.display()),
            path: Some(std::env::join_paths(dirs).expect("PATH")),
        });
    }
    variants
}

fn with_path(mut command: Command, python3: &Python3) -> Command {
    if let Some(path) = &python3.path {
        command.env("PATH", path);
    }
    command
}

fn case_study(tmp: &Path, python3: &Python3) -> Vec<Measured> {
    let work = tmp.join("case-study");
    std::fs::create_dir_all(&work).expect("mkdir");
    let command = with_path(
        dpc_local_run(&root().join("examples/case-study"), &work),
        python3,
    );
    let runs = repeat("dpc local run (case study)", &command, &work, 1, DPC_RUNS);
    let (n, _) = counts(&runs[0].stdout);
    assert_eq!(
        n, 3,
        "the case study runs listings, searches and pipeline-x"
    );
    runs
}

/// Prefect's first run in a new `PREFECT_HOME` (it creates its database), then the timed runs.
fn prefect(
    tmp: &Path,
    python: &Path,
    python3: &Python3,
    first: bool,
) -> (Option<f64>, Vec<Measured>) {
    let work = tmp.join("prefect");
    std::fs::create_dir_all(&work).expect("mkdir");
    let mut command = Command::new(python);
    command
        .args(["flow.py", "--date", DAY])
        .current_dir(root().join("benches/local-peer"))
        .env("PREFECT_HOME", work.join("prefect-home"))
        .env_remove("PREFECT_API_URL");
    let command = with_path(command, python3);
    let check = |m: &Measured| {
        assert!(
            m.ok && m.stderr.contains("pipeline-x: measured metric X"),
            "the Prefect flow failed:\n{}\n{}",
            m.stdout,
            tail(&m.stderr, 40)
        );
    };
    let first = first.then(|| {
        let m = measure(&command, &work);
        check(&m);
        m.wall
    });
    let runs = repeat("the Prefect flow", &command, &work, 0, PREFECT_RUNS);
    runs.iter().for_each(check);
    (first, runs)
}

struct TreeRun {
    validate: f64,
    runs: Vec<Measured>,
    count: (usize, usize),
}

fn tree_run(tmp: &Path) -> TreeRun {
    let dir = tmp.join("tree");
    std::fs::create_dir_all(&dir).expect("mkdir");
    tree::generate_local(&dir, PIPELINES, ACCOUNTS);
    let work = tmp.join("tree-run");
    std::fs::create_dir_all(&work).expect("mkdir");
    let mut validate = Command::new(env!("CARGO_BIN_EXE_dpc"));
    validate.arg("validate").arg(&dir);
    let v = measure(&validate, &work);
    assert!(
        v.ok,
        "the generated tree does not validate:\n{}\n{}",
        v.stdout,
        tail(&v.stderr, 60)
    );
    let command = dpc_local_run(&dir, &work);
    let runs = repeat("dpc local run (tree)", &command, &work, 0, TREE_RUNS);
    let count = counts(&runs[0].stdout);
    for m in &runs[1..] {
        assert_eq!(counts(&m.stdout), count, "every run plays the same day");
    }
    TreeRun {
        validate: v.wall,
        runs,
        count,
    }
}

fn main() {
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |part: &str| parts.is_empty() || parts.iter().any(|p| p == part);
    let tmp = match std::env::var_os("DPC_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .expect("tempdir");
    let load_before = load();
    let variants = if want("case") || want("prefect") {
        python3_variants()
    } else {
        Vec::new()
    };
    let prefect_python = want("prefect").then(prefect_python);
    let mut first_prefect = None;
    let mut cases = Vec::new();
    for (i, python3) in variants.iter().enumerate() {
        let dpc = want("case").then(|| case_study(tmp.path(), python3));
        let peer = prefect_python.as_ref().map(|(python, _)| {
            let (first, runs) = prefect(tmp.path(), python, python3, i == 0);
            first_prefect = first_prefect.or(first);
            runs
        });
        cases.push((python3, dpc, peer));
    }
    let tree = want("tree").then(|| tree_run(tmp.path()));
    let load_after = load();

    println!();
    println!(
        "dpc local run benchmark, {} cores, load average {load_before} before, {load_after} after; peak memory: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory_source()
    );
    println!();
    println!("| measurement | result | target | met |");
    println!("|---|---:|---|---|");
    for (python3, dpc, peer) in &cases {
        println!("| **case study**, steps' {} | | | |", python3.label);
        if let Some(runs) = dpc {
            let m = median(runs);
            println!(
                "| `dpc local run` (3 python3 steps), median of {DPC_RUNS} | **{}** ({}), {} | < 1 s | {} |",
                seconds(m),
                spread(runs),
                peak(runs),
                met(m < CASE_TARGET_S)
            );
        }
        if let (Some(runs), Some((_, version))) = (peer, &prefect_python) {
            println!(
                "| Prefect {version} `python flow.py`, ephemeral server, median of {PREFECT_RUNS} | **{}** ({}), {} | | |",
                seconds(median(runs)),
                spread(runs),
                peak(runs)
            );
        }
        if let (Some(dpc), Some(peer)) = (dpc, peer) {
            let ratio = median(peer) / median(dpc);
            println!(
                "| ratio, Prefect / dpc | **{ratio:.1}×** | ≥ 20× | {} |",
                met(ratio >= RATIO_TARGET)
            );
        }
    }
    if let Some(first) = first_prefect {
        println!(
            "| Prefect's first run (new PREFECT_HOME: creates its database) | {} | | |",
            seconds(first)
        );
    }
    if let Some(t) = &tree {
        let m = median(&t.runs);
        let (runs, events) = t.count;
        println!(
            "| **{PIPELINES} pipelines in {ACCOUNTS} accounts, one day** (steps simulated), `dpc local run`, median of {TREE_RUNS} | **{}** ({}) | < 10 s | {} |",
            seconds(m),
            spread(&t.runs),
            met(m < TREE_TARGET_S)
        );
        println!(
            "| runs, events delivered, events/s | {runs} runs, {events} events, **{:.0} events/s** | | |",
            events as f64 / m
        );
        println!("| peak memory | **{}** | | |", peak(&t.runs));
        println!(
            "| `dpc validate` of the same tree (one run) | {} | | |",
            seconds(t.validate)
        );
    }
}
