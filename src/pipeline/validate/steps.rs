//! Compute and step checks: the compute type and its settings, step types against the
//! compute, unique step names, scripts (local files inside the project, or s3:// URIs),
//! `{{placeholders}}`, timeouts and retries.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Checker, section, values};
use crate::diag::codes;
use crate::diag::diagnostic::did_you_mean;
use crate::pipeline::model::{self, Compute, Script};
use crate::pipeline::raw::{self, ComputeType, StepType};
use crate::pipeline::schema::Target;

/// Placeholders that steps' `args` and `local.command` may use.
pub const PLACEHOLDERS: &[&str] = &[
    "run.date",
    "run.time",
    "run.id",
    "run.type",
    "run.triggerId",
    "pipeline.name",
    "pipeline.account",
    "pipeline.region",
];

const DEFAULT_TIMEOUT: u64 = 3600;

pub fn compute_and_steps(
    c: &mut Checker,
    obj: &Map<String, Value>,
    dir: &Path,
) -> Option<(Compute, Vec<model::Step>)> {
    let compute = match obj.get("compute") {
        None => Some(Compute::None),
        Some(_) => section::<raw::Compute>(obj, "compute").and_then(|raw| compute(c, &raw)),
    };
    // Step by step, so one malformed step does not hide the others' errors.
    let steps: Vec<Option<raw::Step>> = match obj.get("steps") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| raw::Step::deserialize(v).ok())
            .collect(),
        Some(_) => return None,
    };
    let kind = compute.as_ref().map(|c| match c {
        Compute::Emr(_) => ComputeType::Emr,
        Compute::Glue(_) => ComputeType::Glue,
        Compute::None => ComputeType::None,
    });
    if steps.is_empty() && matches!(kind, Some(ComputeType::Emr | ComputeType::Glue)) {
        c.emit(
            &codes::STEPS_EMPTY,
            "/compute/type",
            Target::Value,
            "the pipeline has compute but no steps",
            Some(
                "add `steps:`, or use `compute: {type: NONE}` for a pipeline that only notifies"
                    .into(),
            ),
        );
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::with_capacity(steps.len());
    for (i, raw) in steps.iter().enumerate() {
        let Some(raw) = raw else { continue };
        let p = format!("/steps/{i}");
        if let Some(first) = names.insert(raw.name.as_str(), i) {
            c.emit(
                &codes::STEPS_DUPLICATE_NAME,
                &format!("{p}/name"),
                Target::Value,
                format!("step name `{}` is used twice", raw.name),
                Some(format!(
                    "step names must be unique; the first is steps[{first}]"
                )),
            );
        }
        if let Some(step) = step(c, &p, raw, kind, dir) {
            out.push(step);
        }
    }
    (out.len() == steps.len()).then_some(())?;
    Some((compute?, out))
}

fn compute(c: &mut Checker, raw: &raw::Compute) -> Option<Compute> {
    let mismatch = |c: &mut Checker, key: &str, kind: &str| {
        c.emit(
            &codes::COMPUTE_SETTINGS_MISMATCH,
            &format!("/compute/{key}"),
            Target::Key,
            format!("`{key}` settings do not apply to compute type {kind}"),
            Some("remove them, or change `type`".into()),
        );
    };
    match raw.kind {
        ComputeType::Emr => {
            if raw.glue.is_some() {
                mismatch(c, "glue", "EMR");
            }
            let Some(emr) = &raw.emr else {
                c.emit(&codes::COMPUTE_MISSING_SETTINGS, "/compute", Target::Key, "compute type EMR needs an `emr` block",
                    Some("add `emr: {releaseLabel: emr-7.5.0, instanceType: m5.xlarge, instanceCount: 3}`".into()));
                return None;
            };
            let emr = emr_settings(c, emr)?;
            raw.glue.is_none().then_some(Compute::Emr(emr))
        }
        ComputeType::Glue => {
            if raw.emr.is_some() {
                mismatch(c, "emr", "GLUE");
            }
            let glue = glue_settings(c, raw.glue.as_ref())?;
            raw.emr.is_none().then_some(Compute::Glue(glue))
        }
        ComputeType::None => {
            for (key, present) in [("emr", raw.emr.is_some()), ("glue", raw.glue.is_some())] {
                if present {
                    mismatch(c, key, "NONE");
                }
            }
            (raw.emr.is_none() && raw.glue.is_none()).then_some(Compute::None)
        }
    }
}

fn invalid(c: &mut Checker, pointer: &str, message: String, help: &str) {
    c.emit(
        &codes::COMPUTE_INVALID,
        pointer,
        Target::Value,
        message,
        Some(help.into()),
    );
}

fn emr_settings(c: &mut Checker, raw: &raw::EmrSettings) -> Option<model::EmrSettings> {
    let mut ok = true;
    let label_ok = raw.release_label.strip_prefix("emr-").is_some_and(|v| {
        let parts: Vec<&str> = v.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    });
    if !label_ok {
        invalid(
            c,
            "/compute/emr/releaseLabel",
            format!("`{}` is not an EMR release label", raw.release_label),
            "e.g. `emr-7.5.0`",
        );
        ok = false;
    }
    let type_ok = raw
        .instance_type
        .split_once('.')
        .is_some_and(|(family, size)| {
            family
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase())
                && family.chars().any(|c| c.is_ascii_digit())
                && family
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !size.is_empty()
                && size
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if !type_ok {
        invalid(
            c,
            "/compute/emr/instanceType",
            format!("`{}` is not an EC2 instance type", raw.instance_type),
            "e.g. `m5.xlarge`",
        );
        ok = false;
    }
    let count = raw.instance_count.unwrap_or(3);
    if !(1..=100).contains(&count) {
        invalid(
            c,
            "/compute/emr/instanceCount",
            format!("instanceCount {count} is out of range"),
            "use 1-100 instances",
        );
        ok = false;
    }
    if let Some(subnet) = &raw.subnet_id {
        let hex = subnet.strip_prefix("subnet-").unwrap_or_default();
        if !(8..=17).contains(&hex.len()) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            invalid(
                c,
                "/compute/emr/subnetId",
                format!("`{subnet}` is not a subnet id"),
                "e.g. `subnet-0a1b2c3d4e5f67890`",
            );
            ok = false;
        }
    }
    ok.then(|| model::EmrSettings {
        release_label: raw.release_label.clone(),
        instance_type: raw.instance_type.clone(),
        instance_count: count as u32,
        subnet_id: raw.subnet_id.clone(),
    })
}

fn glue_settings(c: &mut Checker, raw: Option<&raw::GlueSettings>) -> Option<model::GlueSettings> {
    const VERSIONS: &[&str] = &["2.0", "3.0", "4.0", "5.0"];
    const WORKERS: &[&str] = &["G.025X", "G.1X", "G.2X", "G.4X", "G.8X", "Z.2X"];
    let version = raw
        .and_then(|g| g.version.clone())
        .unwrap_or_else(|| "5.0".into());
    let worker_type = raw
        .and_then(|g| g.worker_type.clone())
        .unwrap_or_else(|| "G.1X".into());
    let workers = raw.and_then(|g| g.number_of_workers).unwrap_or(2);
    let mut ok = true;
    if !VERSIONS.contains(&version.as_str()) {
        invalid(
            c,
            "/compute/glue/version",
            format!("Glue version `{version}` is not supported"),
            "use 2.0, 3.0, 4.0 or 5.0",
        );
        ok = false;
    }
    if !WORKERS.contains(&worker_type.as_str()) {
        let help = did_you_mean(&worker_type, WORKERS.iter().copied()).map_or_else(
            || "use G.025X, G.1X, G.2X, G.4X, G.8X or Z.2X".to_string(),
            |s| format!("did you mean `{s}`?"),
        );
        invalid(
            c,
            "/compute/glue/workerType",
            format!("`{worker_type}` is not a Glue worker type"),
            &help,
        );
        ok = false;
    }
    if !(2..=299).contains(&workers) {
        invalid(
            c,
            "/compute/glue/numberOfWorkers",
            format!("numberOfWorkers {workers} is out of range"),
            "use 2-299 workers",
        );
        ok = false;
    }
    ok.then_some(model::GlueSettings {
        version,
        worker_type,
        number_of_workers: workers as u32,
    })
}

fn step(
    c: &mut Checker,
    p: &str,
    raw: &raw::Step,
    compute: Option<ComputeType>,
    dir: &Path,
) -> Option<model::Step> {
    let mut ok = step_name(c, &format!("{p}/name"), &raw.name);
    let fits = matches!(
        (raw.kind, compute),
        (_, None)
            | (StepType::Spark | StepType::Shell, Some(ComputeType::Emr))
            | (StepType::Glue, Some(ComputeType::Glue))
    );
    if !fits {
        let needs = if raw.kind == StepType::Glue {
            "GLUE"
        } else {
            "EMR"
        };
        c.emit(
            &codes::STEPS_COMPUTE_MISMATCH,
            &format!("{p}/type"),
            Target::Value,
            format!(
                "a {:?} step cannot run on compute {:?}",
                raw.kind,
                compute.unwrap_or(ComputeType::None)
            )
            .to_uppercase(),
            Some(format!(
                "set `compute.type: {needs}`, or change the step type"
            )),
        );
        ok = false;
    }
    let script = script(c, &format!("{p}/script"), &raw.script, dir);
    for (i, arg) in raw.args.iter().enumerate() {
        ok &= placeholders(c, &format!("{p}/args/{i}"), arg);
    }
    if let Some(local) = &raw.local {
        ok &= placeholders(c, &format!("{p}/local/command"), &local.command);
        if local.command.trim().is_empty() {
            c.emit(
                &codes::STEPS_UNKNOWN_PLACEHOLDER,
                &format!("{p}/local/command"),
                Target::Value,
                "`local.command` is empty",
                Some(
                    "give the shell command that stands in for this step on a developer's machine"
                        .into(),
                ),
            );
            ok = false;
        }
    }
    let timeout = match &raw.timeout {
        Some(t) => values::duration(c, &format!("{p}/timeout"), t, 60, 7 * 86_400),
        None => Some(DEFAULT_TIMEOUT),
    };
    let retries = raw.retries.unwrap_or(0);
    if !(0..=10).contains(&retries) {
        c.emit(
            &codes::STEPS_RETRIES_RANGE,
            &format!("{p}/retries"),
            Target::Value,
            format!("retries {retries} is out of range"),
            Some("use 0-10 retries".into()),
        );
        ok = false;
    }
    let (script, timeout_seconds) = (script?, timeout?);
    ok.then(|| model::Step {
        name: raw.name.clone(),
        kind: raw.kind,
        script,
        args: raw.args.clone(),
        timeout_seconds,
        retries: retries as u32,
        local_command: raw.local.as_ref().map(|l| l.command.clone()),
    })
}

fn step_name(c: &mut Checker, pointer: &str, name: &str) -> bool {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
    if !ok {
        c.emit(
            &codes::NAME_INVALID,
            pointer,
            Target::Value,
            format!("`{name}` is not a valid step name"),
            Some("use letters, digits, `-` and `_`, at most 64 characters".into()),
        );
    }
    ok
}

fn script(c: &mut Checker, pointer: &str, text: &str, dir: &Path) -> Option<Script> {
    if let Some(rest) = text.strip_prefix("s3://") {
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if !is_bucket(bucket) || key.is_empty() {
            c.emit(&codes::STEPS_INVALID_S3_URI, pointer, Target::Value, format!("`{text}` is not an s3://bucket/key URI"),
                Some("bucket names are 3-63 lowercase letters, digits, `.` and `-`; the key must not be empty".into()));
            return None;
        }
        return Some(Script::S3 {
            bucket: bucket.into(),
            key: key.into(),
        });
    }
    let Some(relative) = inside_project(text) else {
        c.emit(&codes::STEPS_SCRIPT_OUTSIDE, pointer, Target::Value, format!("`{text}` lies outside the project"),
            Some("scripts are uploaded from the project folder: use a path relative to it, or an s3:// URI".into()));
        return None;
    };
    if !(c.ctx.file_exists)(&dir.join(&relative)) {
        c.emit(
            &codes::STEPS_SCRIPT_NOT_FOUND,
            pointer,
            Target::Value,
            format!("script `{text}` does not exist"),
            Some(format!(
                "paths are relative to the project folder `{}`",
                dir.display()
            )),
        );
        return None;
    }
    Some(Script::Local(relative))
}

/// The normalised relative path, or `None` when it is absolute or climbs out with `..`.
fn inside_project(text: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in Path::new(text).components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

fn is_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Every `{{name}}` must be a known placeholder, and every `{{` closed.
fn placeholders(c: &mut Checker, pointer: &str, text: &str) -> bool {
    let mut ok = true;
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            c.emit_within(
                &codes::STEPS_UNKNOWN_PLACEHOLDER,
                pointer,
                (offset + start, rest.len() - start),
                "`{{` is never closed",
                Some("close it with `}}`".into()),
            );
            return false;
        };
        let name = after[..end].trim();
        if !PLACEHOLDERS.contains(&name) {
            let help = did_you_mean(name, PLACEHOLDERS.iter().copied()).map_or_else(
                || format!("known placeholders: {}", PLACEHOLDERS.join(", ")),
                |s| format!("did you mean `{{{{{s}}}}}`?"),
            );
            c.emit_within(
                &codes::STEPS_UNKNOWN_PLACEHOLDER,
                pointer,
                (offset + start, end + 4),
                format!("unknown placeholder `{{{{{name}}}}}`"),
                Some(help),
            );
            ok = false;
        }
        let consumed = start + 2 + end + 2;
        offset += consumed;
        rest = &rest[consumed..];
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_relative_paths() {
        assert_eq!(
            inside_project("jobs/a.py"),
            Some(PathBuf::from("jobs/a.py"))
        );
        assert_eq!(
            inside_project("./jobs/../a.py"),
            Some(PathBuf::from("a.py"))
        );
        assert_eq!(inside_project("../a.py"), None);
        assert_eq!(inside_project("/etc/passwd"), None);
    }
}
