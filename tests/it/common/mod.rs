//! Support shared by the integration tests: [`Dpc`], the one way to run the built `dpc`
//! binary, and the modules below. `manager.rs`, `moto.rs` and `shared.rs` depend on nothing
//! here, so the benches include them with `#[path]`.

pub mod dynamo;
pub mod lambda;
pub mod manager;
pub mod moto;
pub mod shared;
pub mod slack;

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

/// The repository root: where `dpc` runs unless told otherwise, and what relative fixture
/// paths (`tests/fixtures/…`, `examples/…`) are relative to.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Copies the folder `from` to `to`, recursively.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The case study copied into `dir`, its dpc.yaml reaching the central account `central`
/// through the role `dpc-deploy` there.
pub fn case_study_with_central(dir: &Path, central: &str) -> std::path::PathBuf {
    let tree = dir.join("case-study");
    copy_tree(&Path::new(ROOT).join("examples/case-study"), &tree);
    let config = std::fs::read_to_string(tree.join("dpc.yaml")).expect("dpc.yaml");
    let config = config.replace(
        "accounts:\n",
        &format!("accounts:\n  \"{central}\": {{ roleArn: \"arn:aws:iam::{central}:role/dpc-deploy\" }}\n"),
    );
    std::fs::write(tree.join("dpc.yaml"), config).expect("dpc.yaml");
    tree
}

/// `dpc ARGS…`, to be configured further and [`run`](Dpc::run).
pub fn dpc<I, S>(args: I) -> Dpc
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Dpc::new().args(args)
}

/// A run of the built `dpc` binary being prepared. Defaults: the repository root as current
/// folder, no stdin (reads see end of file), `NO_COLOR=1`, the rest of the environment
/// inherited. Output is always captured, so stdout and stderr are not terminals.
#[must_use = "a Dpc does nothing until .run() or .spawn()"]
pub struct Dpc {
    command: Command,
    stdin: Option<Vec<u8>>,
    args: Vec<String>,
}

impl Dpc {
    pub fn new() -> Dpc {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dpc"));
        command.current_dir(ROOT).env("NO_COLOR", "1");
        Dpc {
            command,
            stdin: None,
            args: Vec::new(),
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Dpc {
        self.args.push(arg.as_ref().to_string_lossy().into_owned());
        self.command.arg(arg);
        self
    }

    pub fn args<I, S>(self, args: I) -> Dpc
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        args.into_iter().fold(self, |dpc, arg| dpc.arg(arg))
    }

    /// Runs in `dir` instead of the repository root.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Dpc {
        self.command.current_dir(dir);
        self
    }

    /// Gives `text` on stdin (dpc may exit before reading it all).
    pub fn stdin(mut self, text: impl Into<Vec<u8>>) -> Dpc {
        self.stdin = Some(text.into());
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Dpc {
        self.command.env(key, value);
        self
    }

    pub fn envs<I, K, V>(mut self, vars: I) -> Dpc
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.command.envs(vars);
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Dpc {
        self.command.env_remove(key);
        self
    }

    /// Starts dpc (stdout and stderr captured) and waits for it to finish.
    #[track_caller]
    pub fn run(self) -> Run {
        self.spawn().wait()
    }

    /// Starts dpc (stdout and stderr captured) without waiting, e.g. to signal it.
    #[track_caller]
    pub fn spawn(mut self) -> Running {
        let shown = format!("dpc {}", self.args.join(" "));
        let piped = self.stdin.is_some();
        self.command
            .stdin(if piped { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self
            .command
            .spawn()
            .unwrap_or_else(|e| panic!("`{shown}` could not be started: {e}"));
        if let Some(text) = self.stdin
            && let Some(mut input) = child.stdin.take()
        {
            // dpc may rightly exit before reading stdin (e.g. when refusing `-` twice).
            if let Err(e) = input.write_all(&text) {
                assert_eq!(
                    e.kind(),
                    std::io::ErrorKind::BrokenPipe,
                    "`{shown}`: writing stdin: {e}"
                );
            }
        }
        Running { child, shown }
    }
}

/// A started dpc.
pub struct Running {
    child: Child,
    shown: String,
}

impl Running {
    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    #[track_caller]
    pub fn wait(self) -> Run {
        let Running { child, shown } = self;
        let output = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("`{shown}` did not finish: {e}"));
        Run { output, shown }
    }
}

/// A finished dpc: its exit code and output, with assertions that show both streams when
/// they fail.
pub struct Run {
    pub output: Output,
    shown: String,
}

impl Run {
    /// The exit code (`None` when ended by a signal).
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// stdout as text (lossy).
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// stderr as text (lossy).
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// stdout as bytes.
    pub fn stdout_bytes(&self) -> &[u8] {
        &self.output.stdout
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.output.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.report()))
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            Some(code),
            "unexpected exit code\n{}",
            self.report()
        );
        self
    }

    /// Asserts stdout, exactly.
    #[track_caller]
    pub fn assert_stdout(&self, expected: &str) -> &Run {
        assert_eq!(self.stdout(), expected, "stdout\n{}", self.report());
        self
    }

    /// Asserts that stdout contains `needle`.
    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Run {
        assert!(
            self.stdout().contains(needle),
            "stdout lacks {needle:?}\n{}",
            self.report()
        );
        self
    }

    /// Asserts that stderr contains `needle`.
    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Run {
        assert!(
            self.stderr().contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.report()
        );
        self
    }

    /// The command, its exit status and both streams, for failure messages.
    pub fn report(&self) -> String {
        let mut out = format!("command: {}\nstatus: {}\n", self.shown, self.output.status);
        for (name, text) in [("stdout", self.stdout()), ("stderr", self.stderr())] {
            let _ = writeln!(out, "--- {name} ---\n{text}");
        }
        out
    }
}

impl moto::Moto {
    /// `dpc ARGS…` wired to this server only: its credentials, region, endpoint and a fresh
    /// HOME, never the developer's AWS profile.
    pub fn dpc<I, S>(&self, args: I) -> Dpc
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        dpc(args).envs(self.env()).env_remove("AWS_PROFILE")
    }
}
