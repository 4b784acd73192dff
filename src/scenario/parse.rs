//! Reads a scenario file. The YAML goes through dpc's span-keeping reader, so each error
//! points at the key or value at fault (`file:line:column: message`); all errors of a file
//! are reported at once.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{
    AutoRun, ExecutionSpec, Expect, Expectation, ProductSpec, Scenario, Scripted, ScriptedEvent,
    TargetSpec,
};
use crate::diag::source::SourceFile;
use crate::manager::runlog::RunType;
use crate::manager::store::Millis;
use crate::manager::time::parse_time;
use crate::pipeline::model::Status;
use crate::pipeline::validate::values::parse_duration;
use crate::pipeline::yaml::{self, SpanIndex, push_token};

const DAY_MS: Millis = 86_400_000;
const HOUR_MS: Millis = 3_600_000;

/// Reads and checks one scenario; `Err` holds every problem found, each with its place.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, Vec<String>> {
    let file = Arc::new(SourceFile::new(path, text.to_string()));
    let doc = yaml::parse(text).map_err(|e| {
        let at = file.line_col(e.span.offset);
        vec![format!(
            "{}:{}:{}: {}",
            path.display(),
            at.line,
            at.column,
            e.message
        )]
    })?;
    let mut r = Reader {
        file: &file,
        spans: &doc.spans,
        errors: Vec::new(),
    };
    let scenario = r.scenario(path, &doc.value);
    match scenario {
        Some(s) if r.errors.is_empty() => Ok(s),
        _ if r.errors.is_empty() => Err(vec![r.place("", "not a scenario")]),
        _ => Err(r.errors),
    }
}

struct Reader<'a> {
    file: &'a SourceFile,
    spans: &'a SpanIndex,
    errors: Vec<String>,
}

impl Reader<'_> {
    fn place(&self, pointer: &str, message: &str) -> String {
        let offset = self.spans.key_or_value(pointer).map_or(0, |s| s.offset);
        let at = self.file.line_col(offset);
        format!(
            "{}:{}:{}: {message}",
            self.file.path().display(),
            at.line,
            at.column
        )
    }

    fn error(&mut self, pointer: &str, message: impl AsRef<str>) {
        let text = self.place(pointer, message.as_ref());
        self.errors.push(text);
    }

    fn line(&self, pointer: &str) -> usize {
        let offset = self.spans.key_or_value(pointer).map_or(0, |s| s.offset);
        self.file.line_col(offset).line
    }

    /// The object at `pointer`, with unknown keys reported.
    fn object<'v>(
        &mut self,
        value: &'v Value,
        pointer: &str,
        keys: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Some(map) = value.as_object() else {
            self.error(pointer, "expected a mapping");
            return None;
        };
        for key in map.keys() {
            if !keys.contains(&key.as_str()) {
                let known = keys.join(", ");
                self.error(
                    &push_token(pointer, key),
                    format!("unknown key `{key}` (known: {known})"),
                );
            }
        }
        Some(map)
    }

    fn text(
        &mut self,
        map: &Map<String, Value>,
        pointer: &str,
        key: &str,
        required: bool,
    ) -> Option<String> {
        let p = push_token(pointer, key);
        match map.get(key) {
            None if required => {
                self.error(pointer, format!("missing key `{key}`"));
                None
            }
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => {
                self.error(&p, format!("`{key}` must be a text"));
                None
            }
        }
    }

    fn time(
        &mut self,
        map: &Map<String, Value>,
        pointer: &str,
        key: &str,
        required: bool,
    ) -> Option<Millis> {
        let text = self.text(map, pointer, key, required)?;
        let parsed = parse_time(&text);
        if parsed.is_none() {
            let p = push_token(pointer, key);
            self.error(
                &p,
                format!("`{text}` is not an RFC 3339 time (e.g. 2026-11-21T03:00:00Z)"),
            );
        }
        parsed
    }

    fn status(&mut self, map: &Map<String, Value>, pointer: &str, key: &str) -> Option<String> {
        let text = self.text(map, pointer, key, true)?;
        match Status::parse(&text) {
            Some(s) => Some(s.as_str().to_string()),
            None => {
                self.error(
                    &push_token(pointer, key),
                    format!(
                        "unknown status `{text}` (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED)"
                    ),
                );
                None
            }
        }
    }

    fn count(&mut self, map: &Map<String, Value>, pointer: &str, key: &str) -> Option<u32> {
        let value = map.get(key)?;
        let n = value.as_u64().and_then(|n| u32::try_from(n).ok());
        if n.is_none() {
            self.error(
                &push_token(pointer, key),
                format!("`{key}` must be a whole number"),
            );
        }
        n
    }

    fn scenario(&mut self, path: &Path, value: &Value) -> Option<Scenario> {
        let keys = [
            "name",
            "pipelines",
            "start",
            "until",
            "autoRun",
            "events",
            "expect",
        ];
        let map = self.object(value, "", &keys)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let pipelines = self.pipelines(map, dir);
        let start = self.time(map, "", "start", true);
        let until = self.time(map, "", "until", false);
        let auto_run = map.get("autoRun").and_then(|v| self.auto_run(v));
        let events = self.list(map, "events", Self::event);
        let expect = self.list(map, "expect", Self::expectation);
        let start = start?;
        let last = events
            .iter()
            .map(|e| e.at)
            .chain(expect.iter().filter_map(|e| e.at))
            .max()
            .unwrap_or(start);
        let name = self.text(map, "", "name", false).unwrap_or_else(|| {
            path.file_name().map_or_else(String::new, |n| {
                n.to_string_lossy().replace(".scenario.yaml", "")
            })
        });
        Some(Scenario {
            file: path.to_path_buf(),
            name,
            pipelines,
            start,
            until: until.unwrap_or((start + DAY_MS).max(last + HOUR_MS)),
            auto_run,
            events,
            expect,
        })
    }

    fn pipelines(&mut self, map: &Map<String, Value>, dir: &Path) -> Vec<std::path::PathBuf> {
        match map.get("pipelines") {
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| match v.as_str() {
                    Some(s) => Some(dir.join(s)),
                    None => {
                        self.error(&format!("/pipelines/{i}"), "a project path");
                        None
                    }
                })
                .collect(),
            Some(Value::String(s)) => vec![dir.join(s)],
            _ => {
                self.error(
                    "",
                    "`pipelines` must list project paths, relative to this file",
                );
                Vec::new()
            }
        }
    }

    fn list<T>(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        item: fn(&mut Self, &Value, &str) -> Option<T>,
    ) -> Vec<T> {
        match map.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| item(self, v, &format!("/{key}/{i}")))
                .collect(),
            Some(_) => {
                self.error(&format!("/{key}"), format!("`{key}` must be a list"));
                Vec::new()
            }
        }
    }

    fn auto_run(&mut self, value: &Value) -> Option<AutoRun> {
        let map = self.object(value, "/autoRun", &["status", "after", "pipelines"])?;
        let status = match map.contains_key("status") {
            true => self.status(map, "/autoRun", "status")?,
            false => Status::Succeeded.as_str().to_string(),
        };
        let after = self
            .text(map, "/autoRun", "after", false)
            .unwrap_or_else(|| "10m".into());
        let Some(seconds) = parse_duration(&after) else {
            self.error(
                "/autoRun/after",
                format!("`{after}` is not a duration (e.g. 10m, 1h30m)"),
            );
            return None;
        };
        let mut overrides = Vec::new();
        if let Some(Value::Object(per)) = map.get("pipelines") {
            for name in per.keys() {
                if let Some(s) = self.status(per, "/autoRun/pipelines", name) {
                    overrides.push((name.clone(), s));
                }
            }
        }
        Some(AutoRun {
            status,
            after_ms: i64::try_from(seconds).unwrap_or(0).saturating_mul(1000),
            overrides,
        })
    }

    fn event(&mut self, value: &Value, pointer: &str) -> Option<ScriptedEvent> {
        let map = self.object(
            value,
            pointer,
            &["at", "execution", "dataProduct", "repeat"],
        )?;
        let at = self.time(map, pointer, "at", true);
        let repeat = self.count(map, pointer, "repeat").unwrap_or(1).max(1);
        let what = match (map.get("execution"), map.get("dataProduct")) {
            (Some(v), None) => {
                Scripted::Execution(self.execution(v, &push_token(pointer, "execution"))?)
            }
            (None, Some(v)) => {
                Scripted::DataProduct(self.product(v, &push_token(pointer, "dataProduct"))?)
            }
            _ => {
                self.error(
                    pointer,
                    "an event has exactly one of `execution` or `dataProduct`",
                );
                return None;
            }
        };
        Some(ScriptedEvent {
            at: at?,
            repeat,
            what,
            line: self.line(pointer),
        })
    }

    fn execution(&mut self, value: &Value, p: &str) -> Option<ExecutionSpec> {
        let keys = [
            "pipeline", "account", "region", "status", "id", "type", "redrive", "started",
            "stopped",
        ];
        let map = self.object(value, p, &keys)?;
        let run_type = self
            .text(map, p, "type", false)
            .unwrap_or_else(|| "SCHEDULED".into());
        if RunType::parse(&run_type).is_none() {
            self.error(
                &push_token(p, "type"),
                format!("unknown run type `{run_type}` (SCHEDULED, TRIGGERED, RERUN, MANUAL)"),
            );
        }
        Some(ExecutionSpec {
            pipeline: self.text(map, p, "pipeline", true)?,
            account: self.text(map, p, "account", false),
            region: self.text(map, p, "region", false),
            status: self.status(map, p, "status")?,
            id: self.text(map, p, "id", false),
            run_type: run_type.to_ascii_uppercase(),
            redrive: self.count(map, p, "redrive").unwrap_or(0),
            started: self.time(map, p, "started", false),
            stopped: self.time(map, p, "stopped", false),
        })
    }

    fn product(&mut self, value: &Value, p: &str) -> Option<ProductSpec> {
        let map = self.object(value, p, &["domain", "name", "account", "refreshedAt"])?;
        Some(ProductSpec {
            domain: self.text(map, p, "domain", true)?,
            name: self.text(map, p, "name", true)?,
            account: self.text(map, p, "account", false),
            refreshed_at: self.time(map, p, "refreshedAt", false),
        })
    }

    fn target(
        &mut self,
        value: &Value,
        p: &str,
        extra: &[&str],
    ) -> Option<(TargetSpec, Map<String, Value>)> {
        let mut keys = vec!["pipeline", "account", "region"];
        keys.extend_from_slice(extra);
        let map = self.object(value, p, &keys)?;
        let target = TargetSpec {
            pipeline: self.text(map, p, "pipeline", true)?,
            account: self.text(map, p, "account", false),
            region: self.text(map, p, "region", false),
        };
        Some((target, map.clone()))
    }

    fn expectation(&mut self, value: &Value, pointer: &str) -> Option<Expectation> {
        let map = self.object(
            value,
            pointer,
            &["triggered", "notTriggered", "state", "at", "count"],
        )?;
        let at = self.time(map, pointer, "at", false);
        let count = self.count(map, pointer, "count");
        let kinds = ["triggered", "notTriggered", "state"];
        let present: Vec<&str> = kinds.into_iter().filter(|k| map.contains_key(*k)).collect();
        let [kind] = present.as_slice() else {
            self.error(
                pointer,
                "an expectation has exactly one of `triggered`, `notTriggered` or `state`",
            );
            return None;
        };
        let p = push_token(pointer, kind);
        let value = map.get(*kind)?;
        let what = match *kind {
            "triggered" => Expect::Triggered {
                target: self.target(value, &p, &[])?.0,
                count,
            },
            "notTriggered" => Expect::NotTriggered(self.target(value, &p, &[])?.0),
            _ => self.state(value, &p)?,
        };
        Some(Expectation {
            line: self.line(pointer),
            at,
            what,
        })
    }

    fn state(&mut self, value: &Value, p: &str) -> Option<Expect> {
        let (target, map) = self.target(value, p, &["is", "arrived", "waiting"])?;
        let phase = self.text(&map, p, "is", false);
        if let Some(ph) = &phase
            && crate::manager::lifecycle::Phase::parse(ph).is_none()
        {
            self.error(
                &push_token(p, "is"),
                format!("unknown state `{ph}` (WAITING, TRIGGERED, RUNNING, COMPLETED, ERROR)"),
            );
        }
        let names = |r: &mut Self, key: &str| -> Option<Vec<String>> {
            let v = map.get(key)?;
            let list: Option<Vec<String>> = v.as_array().map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            });
            if list
                .as_ref()
                .is_none_or(|l| l.len() != v.as_array().map_or(0, Vec::len))
            {
                r.error(
                    &push_token(p, key),
                    format!("`{key}` lists leaf names (pipelines, or domain/name)"),
                );
            }
            list
        };
        let arrived = names(self, "arrived");
        let waiting = names(self, "waiting");
        Some(Expect::State {
            target,
            phase: phase.map(|s| s.to_ascii_uppercase()),
            arrived,
            waiting,
        })
    }
}
