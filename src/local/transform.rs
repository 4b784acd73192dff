//! EventBridge input transformers: reads an `InputPathsMap` and `InputTemplate` (or a fixed
//! `Input`) and an event, and produces the target's input text as EventBridge does.

use serde_json::Value;

/// How a target's input is made from the event that matched.
#[derive(Debug, Clone)]
pub struct Transformer {
    /// `<name>` → a JSONPath into the event (`$.detail.triggerId`).
    paths: Vec<(String, String)>,
    template: String,
}

impl Transformer {
    /// From a target's `InputTransformer` object.
    pub fn from_json(v: &Value) -> Option<Transformer> {
        let template = v.get("InputTemplate")?.as_str()?.to_string();
        let paths = v
            .get("InputPathsMap")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, p)| Some((k.clone(), p.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Some(Transformer { paths, template })
    }

    /// A fixed `Input` (Scheduler's `<aws.scheduler.…>` context attributes are still filled).
    pub fn fixed(input: &str) -> Transformer {
        Transformer {
            paths: Vec::new(),
            template: input.to_string(),
        }
    }

    /// The input for `event`; `scheduled` fills `<aws.scheduler.scheduled-time>`.
    pub fn apply(&self, event: &Value, scheduled: Option<&str>) -> String {
        let t = self.template.as_str();
        let mut out = String::with_capacity(t.len());
        let (mut in_string, mut escaped) = (false, false);
        let mut i = 0;
        while let Some(c) = t[i..].chars().next() {
            if c == '<'
                && let Some(len) = t[i..].find('>')
                && let Some(value) = self.lookup(&t[i + 1..i + len], event, scheduled)
            {
                out.push_str(&render(value.as_ref(), in_string));
                i += len + 1;
                continue;
            }
            if in_string {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
            } else if c == '"' {
                in_string = true;
            }
            out.push(c);
            i += c.len_utf8();
        }
        out
    }

    /// The value of placeholder `name`: `Some(None)` for a path that selects nothing, `None`
    /// when `name` is not a placeholder at all.
    fn lookup(&self, name: &str, event: &Value, scheduled: Option<&str>) -> Option<Option<Value>> {
        if name == "aws.scheduler.scheduled-time" {
            return scheduled.map(|s| Some(Value::String(s.to_string())));
        }
        let (_, path) = self.paths.iter().find(|(n, _)| n == name)?;
        Some(select(event, path).cloned())
    }
}

/// `$.a.b` in `event`; EventBridge's paths are plain field chains.
fn select<'a>(event: &'a Value, path: &str) -> Option<&'a Value> {
    let rest = path.strip_prefix('$')?;
    rest.split('.')
        .filter(|s| !s.is_empty())
        .try_fold(event, |v, key| v.get(key))
}

/// Inside a JSON string a string value goes in as its text; anywhere else as JSON. A path
/// that selects nothing becomes `null` (EventBridge would leave it empty and break the JSON).
fn render(value: Option<&Value>, in_string: bool) -> String {
    match value {
        Some(Value::String(s)) if in_string => {
            let json = Value::String(s.clone()).to_string();
            json[1..json.len() - 1].to_string()
        }
        Some(v) => v.to_string(),
        None => "null".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_in_quotes_go_in_as_text_objects_as_json() {
        let t = Transformer::from_json(&json!({
            "InputPathsMap": {"time": "$.time", "id": "$.detail.triggerId", "up": "$.detail.upstreams"},
            "InputTemplate": r#"{"run": {"triggerId": "<id>", "time": "<time>"}, "upstreams": <up>}"#
        }))
        .expect("transformer");
        let event = json!({"time": "2026-11-26T05:00:00Z", "detail": {"triggerId": "t\"1", "upstreams": {"a": 1}}});
        let input: Value = serde_json::from_str(&t.apply(&event, None)).expect("json");
        assert_eq!(
            input,
            json!({"run": {"triggerId": "t\"1", "time": "2026-11-26T05:00:00Z"}, "upstreams": {"a": 1}})
        );
    }

    #[test]
    fn scheduler_context_attributes_are_filled() {
        let t = Transformer::fixed(
            r#"{"run": {"triggerId": "schedule-<aws.scheduler.scheduled-time>"}}"#,
        );
        assert_eq!(
            t.apply(&Value::Null, Some("2026-11-26T03:00:00Z")),
            r#"{"run": {"triggerId": "schedule-2026-11-26T03:00:00Z"}}"#
        );
    }

    #[test]
    fn a_prefixed_placeholder_inside_a_string_is_text() {
        let t = Transformer::from_json(&json!({
            "InputPathsMap": {"time": "$.time"},
            "InputTemplate": r#"{"id": "schedule-<time>", "time": "<time>"}"#
        }))
        .expect("transformer");
        let input = t.apply(&json!({"time": "2026-11-26T03:00:00Z"}), None);
        assert_eq!(
            input,
            r#"{"id": "schedule-2026-11-26T03:00:00Z", "time": "2026-11-26T03:00:00Z"}"#
        );
    }
}
