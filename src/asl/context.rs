//! Reads the execution's identity and the current state's position; produces the `$$` context object on demand.

use super::time::{self, Millis};
use serde_json::{Value, json};
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
