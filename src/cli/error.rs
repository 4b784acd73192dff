//! The CLI's one error path: what a command returns when it cannot do its job, and the one
//! place that prints it (`error: …`, then `hint: …` lines) and maps it to an exit code.

use std::process::ExitCode;

/// How a command ended, as documented in README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done (a deploy with no changes, a closed stdout).
    Success,
    /// 1: the command's check or operation failed (invalid pipeline, no match, failed deploy).
    Failure,
    /// 2: usage error, unreadable input or internal fault.
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
        })
    }
}

impl ExitStatus {
    /// Success when `ok`, else failure.
    pub fn check(ok: bool) -> Self {
        if ok { Self::Success } else { Self::Failure }
    }
}

/// A command that could not do its job: the message, hints, and the exit status.
#[derive(Debug)]
pub struct Error {
    status: ExitStatus,
    message: String,
    hints: Vec<String>,
}

impl Error {
    /// Bad usage or input, unreadable files, internal faults: exit 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            status: ExitStatus::Error,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// The operation was tried and failed: exit 1.
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            status: ExitStatus::Failure,
            ..Self::usage(message)
        }
    }

    /// Ends quietly with a status already explained on stderr (e.g. diagnostics printed).
    pub fn silent(status: ExitStatus) -> Self {
        Self {
            status,
            ..Self::usage("")
        }
    }

    /// Adds a `hint:` line: what to do about it.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// A failed write to stdout: a closed pipe is a normal end (exit 0, nothing printed).
    pub fn from_stdout(err: std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            Self::silent(ExitStatus::Success)
        } else {
            Self::usage(format!("cannot write to stdout: {err}"))
        }
    }

    pub fn status(&self) -> ExitStatus {
        self.status
    }

    /// The message (for a command that goes on after it, as a warning).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prints the error to stderr and gives the exit code.
    pub fn report(self) -> ExitCode {
        if !self.message.is_empty() {
            let mut text = format!("error: {}\n", self.message);
            for hint in &self.hints {
                text.push_str(&format!("hint: {hint}\n"));
            }
            // Nothing more can be done when stderr itself is closed.
            let _ = std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes());
        }
        self.status.into()
    }
}

impl From<crate::pipeline::load::TreeError> for Error {
    fn from(err: crate::pipeline::load::TreeError) -> Self {
        let hint = matches!(err, crate::pipeline::load::TreeError::Empty(_))
            .then_some("pass a project folder, a pipeline.yaml or a tree of projects");
        let error = Self::usage(err.to_string());
        match hint {
            Some(h) => error.hint(h),
            None => error,
        }
    }
}
