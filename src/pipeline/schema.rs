//! JSON Schemas: generates the committed schemas in `schemas/` from the raw types, and checks
//! a parsed document against them, turning every schema error (all at once) into a
//! structural finding at a JSON pointer. Values' finer rules are left to `validate`.

use std::sync::OnceLock;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::diag::codes;
use crate::diag::diagnostic::{Code, did_you_mean};
use crate::events;
use crate::pipeline::raw;
use crate::pipeline::yaml::push_token;

/// The schemas `dpc schema NAME` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaName {
    Pipeline,
    Config,
    StatusEvent,
    TriggerEvent,
    RefreshEvent,
    StepStatusEvent,
}

impl SchemaName {
    pub const ALL: [SchemaName; 6] = [
        SchemaName::Pipeline,
        SchemaName::Config,
        SchemaName::StatusEvent,
        SchemaName::TriggerEvent,
        SchemaName::RefreshEvent,
        SchemaName::StepStatusEvent,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SchemaName::Pipeline => "pipeline",
            SchemaName::Config => "config",
            SchemaName::StatusEvent => "status-event",
            SchemaName::TriggerEvent => "trigger-event",
            SchemaName::RefreshEvent => "refresh-event",
            SchemaName::StepStatusEvent => "step-status-event",
        }
    }

    /// The committed file, relative to the repository root.
    pub fn file_name(self) -> &'static str {
        match self {
            SchemaName::Pipeline => "pipeline.schema.json",
            SchemaName::Config => "config.schema.json",
            SchemaName::StatusEvent => "status-event.schema.json",
            SchemaName::TriggerEvent => "trigger-event.schema.json",
            SchemaName::RefreshEvent => "refresh-event.schema.json",
            SchemaName::StepStatusEvent => "step-status-event.schema.json",
        }
    }

    pub fn parse(name: &str) -> Option<SchemaName> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The schema as a JSON value.
    pub fn schema(self) -> &'static Value {
        static CELLS: [OnceLock<Value>; 6] = [const { OnceLock::new() }; 6];
        CELLS[self as usize].get_or_init(|| match self {
            SchemaName::Pipeline => generate::<raw::Pipeline>(),
            SchemaName::Config => generate::<raw::Config>(),
            SchemaName::StatusEvent => event::<events::StatusChangeEvent>(
                "Step Functions execution status change",
                events::STATUS_SOURCE,
                events::STATUS_DETAIL_TYPE,
            ),
            SchemaName::TriggerEvent => event::<events::TriggerEvent>(
                "dpc pipeline trigger",
                events::TRIGGER_SOURCE,
                events::TRIGGER_DETAIL_TYPE,
            ),
            SchemaName::RefreshEvent => event::<events::RefreshEvent>(
                "dpc data product refresh",
                events::REFRESH_SOURCE,
                events::REFRESH_DETAIL_TYPE,
            ),
            SchemaName::StepStatusEvent => event::<events::StepStatusEvent>(
                "dpc step status change",
                events::STEP_SOURCE,
                events::STEP_DETAIL_TYPE,
            ),
        })
    }

    /// The schema as the committed file's text.
    pub fn render(self) -> String {
        let mut text = serde_json::to_string_pretty(self.schema()).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The schema files are checked against: the committed file, parsed. It is the value of
    /// `schema()` (the drift test and `the_checked_schemas_are_the_generated_ones` hold it
    /// so), and parsing it costs a twentieth of generating it, which every `dpc validate` did.
    fn checked(self) -> &'static Value {
        static CELLS: [OnceLock<Value>; 6] = [const { OnceLock::new() }; 6];
        CELLS[self as usize].get_or_init(|| {
            let committed = match self {
                SchemaName::Pipeline => include_str!("../../schemas/pipeline.schema.json"),
                SchemaName::Config => include_str!("../../schemas/config.schema.json"),
                _ => return self.schema().clone(),
            };
            serde_json::from_str(committed).unwrap_or_else(|_| self.schema().clone())
        })
    }

    fn validator(self) -> Option<&'static jsonschema::Validator> {
        static CELLS: [OnceLock<Option<jsonschema::Validator>>; 6] = [const { OnceLock::new() }; 6];
        CELLS[self as usize]
            .get_or_init(|| jsonschema::validator_for(self.checked()).ok())
            .as_ref()
    }
}

fn generate<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    strip_null(&mut schema);
    schema
}

/// An event schema with its title and its fixed `source` and `detail-type`.
fn event<T: JsonSchema>(title: &str, source: &str, detail_type: &str) -> Value {
    let mut schema = generate::<T>();
    schema["title"] = json!(title);
    schema["properties"]["source"]["const"] = json!(source);
    schema["properties"]["detail-type"]["const"] = json!(detail_type);
    schema
}

/// Optional keys are written by leaving them out: `null` is never a valid value, so that
/// `trigger:` with nothing after it is reported instead of silently ignored.
fn strip_null(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            obj.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(branches)) = obj.get("anyOf") {
        let kept: Vec<Value> = branches
            .iter()
            .filter(|b| **b != json!({"type": "null"}))
            .cloned()
            .collect();
        if kept.len() == 1 {
            obj.remove("anyOf");
            if let Value::Object(inner) = &kept[0] {
                for (k, v) in inner {
                    obj.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        } else {
            obj.insert("anyOf".into(), Value::Array(kept));
        }
    }
    for value in obj.values_mut() {
        match value {
            Value::Array(items) => items.iter_mut().for_each(strip_null),
            Value::Object(_) => strip_null(value),
            _ => {}
        }
    }
}

/// Builds and compiles the schemas `pipeline.yaml` and `dpc.yaml` are checked against, so that
/// the first check does not wait for it.
pub fn prepare() {
    SchemaName::Pipeline.validator();
    SchemaName::Config.validator();
}

/// What part of an entry a finding points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Key,
    Value,
}

/// One structural problem, located by JSON pointer.
#[derive(Debug, Clone)]
pub struct Finding {
    pub code: &'static Code,
    pub pointer: String,
    pub target: Target,
    pub message: String,
    pub help: Option<String>,
}

/// Every structural error of `value` against the schema.
pub fn check(name: SchemaName, value: &Value) -> Vec<Finding> {
    let Some(validator) = name.validator() else {
        return Vec::new();
    };
    let root = name.checked();
    validator
        .iter_errors(value)
        .flat_map(|e| finding(root, value, &e))
        .collect()
}

fn finding(root: &Value, instance: &Value, err: &jsonschema::ValidationError) -> Vec<Finding> {
    use jsonschema::error::ValidationErrorKind as K;
    let pointer = err.instance_path().as_str().to_string();
    let schema_path = err.schema_path().as_str().to_string();
    // The schema object holding the failing keyword.
    let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
    let node = resolve(root, parent).and_then(|n| follow_ref(root, n));
    let at = |code, target, message: String, help: Option<String>| Finding {
        code,
        pointer: pointer.clone(),
        target,
        message,
        help,
    };
    match err.kind() {
        K::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|key| unknown_key(&pointer, key, node.and_then(properties)))
            .collect(),
        K::Required { property } => {
            let key = property.as_str().unwrap_or_default();
            let help = node
                .and_then(|n| n.get("properties")?.get(key))
                .and_then(|p| follow_ref(root, p))
                .and_then(description)
                .map(|d| format!("add `{key}`: {d}"));
            vec![at(
                &codes::SCHEMA_MISSING_KEY,
                Target::Key,
                format!("missing required key `{key}`{}", place(&pointer)),
                help,
            )]
        }
        K::Type { .. } => {
            let found = instance.pointer(&pointer).unwrap_or(&Value::Null);
            vec![wrong_type(&pointer, found, node)]
        }
        K::Enum { options } => {
            let found = instance.pointer(&pointer).unwrap_or(&Value::Null);
            vec![invalid_value(&pointer, found, options)]
        }
        K::AnyOf { .. } | K::OneOfNotValid { .. } => {
            let found = instance.pointer(&pointer).unwrap_or(&Value::Null);
            let help = node.and_then(description).map(str::to_string);
            vec![at(
                &codes::SCHEMA_WRONG_TYPE,
                Target::Value,
                format!(
                    "{} is not a valid value for `{}`",
                    describe(found),
                    last_token(&pointer)
                ),
                help,
            )]
        }
        // Patterns, lengths and ranges have dedicated semantic checks with better messages.
        _ => Vec::new(),
    }
}

fn unknown_key(pointer: &str, key: &str, allowed: Option<Vec<String>>) -> Finding {
    let allowed = allowed.unwrap_or_default();
    let help = match did_you_mean(key, allowed.iter().map(String::as_str)) {
        Some(s) => Some(format!("did you mean `{s}`?")),
        None if allowed.is_empty() => None,
        None => Some(format!("allowed keys here: {}", allowed.join(", "))),
    };
    Finding {
        code: &codes::SCHEMA_UNKNOWN_KEY,
        pointer: push_token(pointer, key),
        target: Target::Key,
        message: format!("unknown key `{key}`{}", place(pointer)),
        help,
    }
}

fn wrong_type(pointer: &str, found: &Value, node: Option<&Value>) -> Finding {
    let expected = node
        .and_then(|n| n.get("type"))
        .map(type_names)
        .unwrap_or_else(|| "another type".into());
    let help = match (found, expected.as_str()) {
        (Value::Number(n), "a string") => Some(format!("quote it: \"{n}\"")),
        (Value::Null, _) => Some("give it a value, or remove the key".to_string()),
        _ => node.and_then(description).map(str::to_string),
    };
    Finding {
        code: &codes::SCHEMA_WRONG_TYPE,
        pointer: pointer.to_string(),
        target: Target::Value,
        message: format!(
            "`{}` must be {expected}, found {}",
            last_token(pointer),
            describe(found)
        ),
        help,
    }
}

fn invalid_value(pointer: &str, found: &Value, options: &Value) -> Finding {
    let allowed: Vec<&str> = options
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let shown = found
        .as_str()
        .map_or_else(|| found.to_string(), str::to_string);
    let help = match did_you_mean(&shown, allowed.iter().copied()) {
        Some(s) => format!("did you mean `{s}`? Allowed: {}", allowed.join(", ")),
        None => format!("allowed: {}", allowed.join(", ")),
    };
    Finding {
        code: &codes::SCHEMA_INVALID_VALUE,
        pointer: pointer.to_string(),
        target: Target::Value,
        message: format!("`{shown}` is not a valid `{}`", last_token(pointer)),
        help: Some(help),
    }
}

fn place(pointer: &str) -> String {
    if pointer.is_empty() {
        String::new()
    } else {
        format!(" in `{}`", last_token(pointer))
    }
}

/// The last reference token of a pointer, unescaped (`items[2]` for indexes).
pub fn last_token(pointer: &str) -> String {
    let mut tokens = pointer.rsplit('/');
    let last = tokens.next().unwrap_or_default();
    let unescaped = last.replace("~1", "/").replace("~0", "~");
    if !unescaped.is_empty() && unescaped.bytes().all(|b| b.is_ascii_digit()) {
        return format!("{}[{unescaped}]", tokens.next().unwrap_or_default());
    }
    unescaped
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing (null)".into(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(s) => format!("a string (\"{s}\")"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

fn type_names(types: &Value) -> String {
    let one = |t: &str| match t {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "integer" => "a whole number",
        "number" => "a number",
        "boolean" => "true or false",
        _ => "a value",
    };
    match types {
        Value::String(t) => one(t).to_string(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(one)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "another type".into(),
    }
}

fn description(node: &Value) -> Option<&str> {
    node.get("description")
        .and_then(Value::as_str)
        .map(|d| d.split("\n\n").next().unwrap_or(d))
}

/// Follows a schema path (keyword location), resolving local `$ref`s along the way.
fn resolve<'a>(root: &'a Value, schema_path: &str) -> Option<&'a Value> {
    let mut node = root;
    for token in schema_path.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if token == "$ref" {
            let target = node.get("$ref")?.as_str()?;
            node = root.pointer(target.trim_start_matches('#'))?;
            continue;
        }
        node = match node {
            Value::Object(map) => map.get(&token)?,
            Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

fn properties(object: &Value) -> Option<Vec<String>> {
    let props: &Map<String, Value> = object.get("properties")?.as_object()?;
    Some(props.keys().cloned().collect())
}

fn follow_ref<'a>(root: &'a Value, node: &'a Value) -> Option<&'a Value> {
    match node.get("$ref").and_then(Value::as_str) {
        Some(target) => root.pointer(target.trim_start_matches('#')),
        None => Some(node),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(yaml: &str) -> Vec<Finding> {
        let doc = crate::pipeline::yaml::parse(yaml).expect("valid yaml");
        check(SchemaName::Pipeline, &doc.value)
    }

    #[test]
    fn the_checked_schemas_are_the_generated_ones() {
        for name in [SchemaName::Pipeline, SchemaName::Config] {
            assert!(
                name.checked() == name.schema(),
                "schemas/{} is not what the code generates; regenerate it with \
                 `DPC_UPDATE_SCHEMAS=1 cargo test --test it drift::`",
                name.file_name()
            );
        }
    }

    #[test]
    fn unknown_keys_suggest_the_closest() {
        let f = findings("name: a\nteam: t\ntrigger:\n  shedule: {hour: 3}\n");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].code.id, "dpc::schema::unknown-key");
        assert_eq!(f[0].pointer, "/trigger/shedule");
        assert_eq!(f[0].help.as_deref(), Some("did you mean `schedule`?"));
    }

    #[test]
    fn all_errors_are_reported_at_once() {
        let f = findings("name: a\naccount: 111111111111\nsteps:\n  - name: s\n    type: SPARKK\n");
        let codes: Vec<_> = f.iter().map(|f| (f.code.id, f.pointer.as_str())).collect();
        assert!(
            codes.contains(&("dpc::schema::missing-key", "")),
            "{codes:?}"
        );
        assert!(
            codes.contains(&("dpc::schema::wrong-type", "/account")),
            "{codes:?}"
        );
        assert!(
            codes.contains(&("dpc::schema::invalid-value", "/steps/0/type")),
            "{codes:?}"
        );
        assert!(
            codes.contains(&("dpc::schema::missing-key", "/steps/0")),
            "{codes:?}"
        );
        let account = f.iter().find(|f| f.pointer == "/account").expect("account");
        assert_eq!(account.help.as_deref(), Some("quote it: \"111111111111\""));
    }

    #[test]
    fn null_is_not_a_value() {
        let f = findings("name: a\nteam: t\ntrigger:\n");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].pointer, "/trigger");
    }

    #[test]
    fn schedule_fields_take_numbers_text_or_lists() {
        assert!(
            findings(
                "name: a\nteam: t\ntrigger:\n  schedule: {hour: 3, minute: '0/15', day: [1, 15]}\n"
            )
            .is_empty()
        );
        let f = findings("name: a\nteam: t\ntrigger:\n  schedule: {hour: {x: 1}}\n");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].pointer, "/trigger/schedule/hour");
    }
}
