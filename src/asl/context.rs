//! Reads the execution's identity and the current state's position; produces the `$$` context object on demand.

use super::jsonpath::{Path, Root, Seg};
use super::time::{self, Millis};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::cell::OnceCell;

/// What stays the same for a whole execution.
#[derive(Debug, Clone)]
pub(crate) struct ExecInfo {
    pub id: String,
    pub name: String,
    pub start: Millis,
    pub input: Value,
    pub role_arn: String,
    pub machine_id: String,
    pub machine_name: String,
}

/// Where the interpreter stands; the JSON form is only built when a `$$` path asks for it.
pub(crate) struct Ctx<'a> {
    pub exec: &'a ExecInfo,
    pub state: &'a str,
    pub entered: Millis,
    pub retry_count: u32,
    pub item: Option<(usize, &'a Value)>,
    pub token: Option<&'a str>,
    cache: OnceCell<Value>,
}

impl<'a> Ctx<'a> {
    pub fn new(exec: &'a ExecInfo, state: &'a str, entered: Millis) -> Ctx<'a> {
        Ctx {
            exec,
            state,
            entered,
            retry_count: 0,
            item: None,
            token: None,
            cache: OnceCell::new(),
        }
    }

    /// The context object as JSON.
    pub fn value(&self) -> &Value {
        self.cache.get_or_init(|| self.build())
    }

    /// Selects a `$$` path. The common leaves (`$$.Execution.Id`, `$$.State.EnteredTime` …)
    /// are read directly: building the whole object costs more than the task it feeds.
    pub fn select(&self, p: &Path) -> Option<Cow<'_, Value>> {
        match self.leaf(&p.segs) {
            Some(v) => Some(Cow::Owned(v)),
            None => p.select(self.value()),
        }
    }

    fn leaf(&self, segs: &[Seg]) -> Option<Value> {
        let key = |i: usize| match segs.get(i) {
            Some(Seg::Key(k)) => Some(k.as_str()),
            _ => None,
        };
        let e = self.exec;
        Some(match (segs.len(), key(0)?, key(1)?) {
            (2, "Execution", "Id") => e.id.as_str().into(),
            (2, "Execution", "Name") => e.name.as_str().into(),
            (2, "Execution", "StartTime") => time::format(e.start).into(),
            (2, "Execution", "RoleArn") => e.role_arn.as_str().into(),
            (2, "StateMachine", "Id") => e.machine_id.as_str().into(),
            (2, "StateMachine", "Name") => e.machine_name.as_str().into(),
            (2, "State", "Name") => self.state.into(),
            (2, "State", "EnteredTime") => time::format(self.entered).into(),
            (2, "State", "RetryCount") => self.retry_count.into(),
            (2, "Task", "Token") => self.token?.into(),
            (3, "Map", "Item") => match (key(2)?, self.item?) {
                ("Index", (i, _)) => i.into(),
                ("Value", (_, v)) => v.clone(),
                _ => return None,
            },
            _ => return None,
        })
    }

    fn build(&self) -> Value {
        let e = self.exec;
        let mut v = json!({
            "Execution": {
                "Id": e.id, "Name": e.name, "StartTime": time::format(e.start),
                "Input": e.input, "RoleArn": e.role_arn, "RedriveCount": 0
            },
            "StateMachine": {"Id": e.machine_id, "Name": e.machine_name},
            "State": {"Name": self.state, "EnteredTime": time::format(self.entered), "RetryCount": self.retry_count}
        });
        if let (Some((i, item)), Some(m)) = (self.item, v.as_object_mut()) {
            m.insert("Map".into(), json!({"Item": {"Index": i, "Value": item}}));
        }
        if let (Some(t), Some(m)) = (self.token, v.as_object_mut()) {
            m.insert("Task".into(), json!({"Token": t}));
        }
        v
    }
}

/// Selects `p` in `input`, or in the context object for a `$$` path.
pub(crate) fn select<'a>(p: &Path, input: &'a Value, cx: &'a Ctx) -> Option<Cow<'a, Value>> {
    if p.root() == Root::Context {
        cx.select(p)
    } else {
        p.select(input)
    }
}
