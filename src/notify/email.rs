//! Email: reads a [`RunView`] and its [`StepView`]s and produces the subject (SNS: at most
//! 100 characters, one line) and the plain-text body, why first when the run failed — of a
//! run, or of one step's event.

use super::{
    RunView, StartedBy, StepStatus, StepView, clip, clock, started_by, time, upstream_line,
};

/// SNS refuses longer subjects.
pub const SUBJECT_MAX: usize = 100;

/// `[dpc] pipeline-x FAILED after 12m 05s (333333333333)`.
pub fn subject(run: &RunView) -> String {
    fit_subject(&format!(
        "[dpc] {} {} ({})",
        run.pipeline,
        run.outcome(),
        run.account
    ))
}

/// `[dpc] pipeline-x step load FAILED, attempt 2 (333333333333)`.
pub fn step_subject(run: &RunView, step: &StepView) -> String {
    fit_subject(&format!(
        "[dpc] {} {} ({})",
        run.pipeline,
        step_outcome(step),
        run.account
    ))
}

/// `step load FAILED, attempt 2`.
fn step_outcome(step: &StepView) -> String {
    let attempt = if step.attempt > 1 {
        format!(", attempt {}", step.attempt)
    } else {
        String::new()
    };
    format!("step {} {}{attempt}", step.step, step.status.as_str())
}

/// The body of a step's email: the step, why it failed, the run's facts and links.
pub fn step_body(run: &RunView, step: &StepView) -> String {
    let mut out = format!(
        "{} {} at {}\n",
        run.pipeline,
        step_outcome(step),
        time(step.at_ms)
    );
    if step.status == StepStatus::Failed {
        let why = super::why(step.error.as_deref(), step.cause.as_deref());
        out.push_str(&format!(
            "\nWhy: {}\n",
            why.as_deref().unwrap_or("no error was reported")
        ));
    }
    out.push_str(&format!("\nTeam:        {}\n", run.team));
    out.push_str(&format!("Account:     {} ({})\n", run.account, run.region));
    out.push_str(&format!("Execution:   {}\n", run.execution_name));
    out.push_str(&format!("             {}\n", run.execution_url()));
    out.push_str(&format!("Logs:        {}\n", run.logs_url()));
    out
}

/// One line of printable ASCII, at most [`SUBJECT_MAX`] characters: what SNS accepts.
fn fit_subject(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                ' '
            }
        })
        .collect();
    let cut: String = clean.chars().take(SUBJECT_MAX).collect();
    cut.trim_end().to_string()
}

/// The body: the outcome, why (when it did not succeed), the run's facts, links, the steps
/// seen so far, and the full cause last.
pub fn body(run: &RunView, steps: &[StepView]) -> String {
    let mut out = String::new();
    let mut line = |text: &str| {
        out.push_str(text);
        out.push('\n');
    };
    line(&format!("{} {}", run.pipeline, run.outcome()));
    if run.is_failure() {
        line("");
        match run.why() {
            Some(why) => line(&format!("Why: {why}")),
            None => {
                line("Why: no error was reported; the execution's history shows the last state.")
            }
        }
    }
    line("");
    line(&format!("Team:        {}", run.team));
    line(&format!("Account:     {} ({})", run.account, run.region));
    line(&format!("Started by:  {}", started_by(run)));
    if let StartedBy::Trigger { upstreams, .. } = &run.started_by {
        for u in upstreams {
            line(&format!("             - {}", upstream_line(u)));
        }
    }
    line(&format!("Started:     {}", time(run.started_ms)));
    if let Some(stopped) = run.stopped_ms {
        line(&format!("Stopped:     {}", time(stopped)));
    }
    if let Some(ms) = run.duration_ms() {
        line(&format!("Duration:    {}", super::duration(ms)));
    }
    line(&format!("Execution:   {}", run.execution_name));
    line(&format!("             {}", run.execution_url()));
    line(&format!("Logs:        {}", run.logs_url()));
    if !steps.is_empty() {
        line("");
        line("Steps (UTC):");
        for s in steps {
            let attempt = if s.attempt > 1 {
                format!(" (attempt {})", s.attempt)
            } else {
                String::new()
            };
            let mut text = format!(
                "  {}  {} {}{attempt}",
                clock(s.at_ms),
                s.step,
                s.status.as_str().to_lowercase()
            );
            if s.status == StepStatus::Failed
                && let Some(why) = super::why(s.error.as_deref(), s.cause.as_deref())
            {
                text.push_str(&format!(": {why}"));
            }
            line(&text);
        }
    }
    // The cause in full when it says more than its message (a JSON cause).
    if run.is_failure()
        && let Some(cause) = &run.cause
        && super::cause_message(cause) != cause.trim()
    {
        line("");
        line("Cause, as Step Functions reported it:");
        line(&clip(cause.trim(), 10_000));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::Status;
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn failure_email() {
        let run = triggered(Status::Failed);
        let text = format!("Subject: {}\n\n{}", subject(&run), body(&run, &steps()));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn a_failed_step_says_which_attempt_and_why() {
        let run = triggered(Status::Running);
        let step = failed_step();
        assert_eq!(
            step_subject(&run, &step),
            "[dpc] pipeline-x step load FAILED, attempt 2 (333333333333)"
        );
        let body = step_body(&run, &step);
        assert!(
            body.starts_with("pipeline-x step load FAILED, attempt 2 at 2026-11-26 05:12:00 UTC\n"),
            "{body}"
        );
        assert!(
            body.contains("Why: States.TaskFailed: exit status 1: missing partition dt=2026-11-25"),
            "{body}"
        );
        assert!(body.contains(&run.execution_url()), "{body}");
    }

    #[test]
    fn subjects_fit_sns() {
        let mut run = triggered(Status::Failed);
        run.pipeline = format!("p{}\u{e9}\n", "x".repeat(200));
        let s = subject(&run);
        assert!(
            s.len() <= SUBJECT_MAX && s.is_ascii() && !s.contains('\n'),
            "{s}"
        );
    }
}
