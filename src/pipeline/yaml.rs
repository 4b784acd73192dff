//! YAML with spans: reads a pipeline or config text through serde-saphyr (with input budgets
//! and duplicate keys as errors) and produces a JSON value plus an index from JSON pointer to
//! the source span of each key and value, so every later check can point at exact text.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::budget::Budget;
use serde_saphyr::{DuplicateKeyPolicy, Location, Spanned};

use crate::diag::source::Span;

/// Files larger than this are refused before parsing (a pipeline is a few KB).
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// A parsed document: its value and where each part of it came from.
#[derive(Debug, Clone)]
pub struct Document {
    pub value: Value,
    pub spans: SpanIndex,
}

/// Where a key and its value are in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The key's span; `None` for sequence items and the root.
    pub key: Option<Span>,
    pub value: Span,
}

/// JSON pointer (RFC 6901) → source spans.
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    entries: HashMap<String, Entry>,
}

impl SpanIndex {
    pub fn get(&self, pointer: &str) -> Option<&Entry> {
        self.entries.get(pointer)
    }

    /// The entry for `pointer`, or for its nearest ancestor that exists.
    pub fn nearest(&self, pointer: &str) -> Option<(&str, &Entry)> {
        let mut current = pointer;
        loop {
            if let Some((key, entry)) = self.entries.get_key_value(current) {
                return Some((key.as_str(), entry));
            }
            current = &current[..current.rfind('/')?];
        }
    }

    /// The span to label for `pointer`: the key if there is one, else the value.
    pub fn key_or_value(&self, pointer: &str) -> Option<Span> {
        self.nearest(pointer).map(|(_, e)| e.key.unwrap_or(e.value))
    }

    /// The value's span, falling back to the nearest ancestor's key.
    pub fn value(&self, pointer: &str) -> Option<Span> {
        match self.nearest(pointer) {
            // An empty value (`key:` with nothing after it) is shown at its key.
            Some((found, e)) if found == pointer && e.value.len > 0 => Some(e.value),
            Some((_, e)) => Some(e.key.unwrap_or(e.value)),
            None => None,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// Appends one reference token to a JSON pointer, escaping as RFC 6901 says.
pub fn push_token(pointer: &str, token: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + token.len() + 1);
    out.push_str(pointer);
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

/// Why a text could not be read as YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub kind: YamlErrorKind,
    pub message: String,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YamlErrorKind {
    Syntax,
    DuplicateKey,
    Budget,
    TooLarge,
}

/// Parses one YAML document. An empty document is an empty mapping's absence: `null`.
pub fn parse(text: &str) -> Result<Document, YamlError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(YamlError {
            kind: YamlErrorKind::TooLarge,
            message: format!(
                "file is {} bytes; the limit is {MAX_FILE_BYTES} bytes",
                text.len()
            ),
            span: Span::new(0, 0),
        });
    }
    let options = serde_saphyr::options! {
        budget: Some(budget()),
        duplicate_keys: DuplicateKeyPolicy::Error,
        with_snippet: false,
        strict_booleans: true,
    };
    let root: Option<Spanned<Node>> =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| classify(text, &e))?;
    let mut spans = SpanIndex::default();
    let value = match root {
        Some(root) => {
            let span = span_of(text, &root.referenced);
            flatten(root.value, String::new(), None, span, &mut spans)
        }
        None => Value::Null,
    };
    Ok(Document { value, spans })
}

fn budget() -> Budget {
    let mut budget = Budget::default();
    budget.max_depth = 32;
    budget.max_aliases = 256;
    budget.max_anchors = 256;
    budget.max_nodes = 50_000;
    budget.max_events = 200_000;
    budget.max_documents = 1;
    budget.max_total_scalar_bytes = MAX_FILE_BYTES;
    budget.max_recorded_anchor_events = 10_000;
    budget.max_recorded_anchor_bytes = MAX_FILE_BYTES;
    budget.max_merge_keys = 256;
    budget
}

fn classify(text: &str, err: &serde_saphyr::Error) -> YamlError {
    let rendered = err.without_snippet().to_string();
    let lower = rendered.to_ascii_lowercase();
    let kind = if lower.contains("duplicate") {
        YamlErrorKind::DuplicateKey
    } else if lower.contains("budget") || lower.contains("limit") {
        YamlErrorKind::Budget
    } else {
        YamlErrorKind::Syntax
    };
    let span = err
        .location()
        .map(|loc| span_of(text, &loc))
        .unwrap_or(Span::new(0, 0));
    let message = match kind {
        YamlErrorKind::DuplicateKey => duplicate_key_message(&rendered),
        YamlErrorKind::Budget => format!(
            "the file exceeds an input budget ({})",
            budget_detail(&rendered)
        ),
        _ => strip_location(&rendered),
    };
    YamlError {
        kind,
        message,
        span,
    }
}

fn duplicate_key_message(rendered: &str) -> String {
    let key = rendered
        .split_once("key:")
        .map(|(_, rest)| rest.split(',').next().unwrap_or_default().trim())
        .filter(|k| !k.is_empty());
    match key {
        Some(k) => format!("duplicate key `{k}`"),
        None => "duplicate key".to_string(),
    }
}

/// `budget breached: Aliases { aliases: 257 }` → `aliases: 257`.
fn budget_detail(rendered: &str) -> String {
    let inner = rendered
        .split_once('{')
        .and_then(|(_, r)| r.split_once('}'))
        .map(|(i, _)| i.trim());
    inner
        .unwrap_or("size, depth, anchors or aliases")
        .replace('_', " ")
}

/// serde-saphyr appends " at line X column Y"; the diagnostic shows that already.
fn strip_location(message: &str) -> String {
    let cut = message.find(" at line ").unwrap_or(message.len());
    message[..cut].trim().trim_end_matches('.').to_string()
}

fn span_of(text: &str, loc: &Location) -> Span {
    let span = loc.span();
    match (span.byte_offset(), span.byte_len()) {
        (Some(offset), Some(len)) => Span::new(offset as usize, len as usize),
        _ => line_col_span(text, loc.line() as usize, loc.column() as usize),
    }
}

fn line_col_span(text: &str, line: usize, column: usize) -> Span {
    let file = crate::diag::source::SourceFile::new("", text);
    Span::new(file.offset_of(line.max(1), column.max(1)), 0)
}

/// Turns the spanned tree into a JSON value, recording spans under each pointer.
fn flatten(
    node: Node,
    pointer: String,
    key: Option<Span>,
    span: Span,
    spans: &mut SpanIndex,
) -> Value {
    let (value, end) = match node {
        Node::Scalar(v) => (v, span.end()),
        Node::Seq(items) => {
            let mut end = span.end();
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let child = push_token(&pointer, &i.to_string());
                end = end.max(item.span.end());
                out.push(flatten(item.node, child, None, item.span, spans));
            }
            (Value::Array(out), end)
        }
        Node::Map(pairs) => {
            let mut end = span.end();
            let mut out = Map::with_capacity(pairs.len());
            for (k, v) in pairs {
                let child = push_token(&pointer, &k.name);
                end = end.max(v.span.end()).max(k.span.end());
                out.insert(k.name, flatten(v.node, child, Some(k.span), v.span, spans));
            }
            (Value::Object(out), end)
        }
    };
    let value_span = Span::new(span.offset, end.saturating_sub(span.offset));
    spans.entries.insert(
        pointer,
        Entry {
            key,
            value: value_span,
        },
    );
    value
}

/// A YAML node as serde-saphyr reports it, before spans are resolved to bytes.
#[derive(Debug)]
enum Node {
    Scalar(Value),
    Seq(Vec<Child>),
    Map(Vec<(KeyName, Child)>),
}

#[derive(Debug)]
struct Child {
    node: Node,
    span: Span,
}

#[derive(Debug)]
struct KeyName {
    name: String,
    span: Span,
}

// Spans come back as serde-saphyr `Location`s; byte offsets are available for string input.
fn loc_span(loc: &Location) -> Span {
    let span = loc.span();
    Span::new(
        span.byte_offset().unwrap_or(0) as usize,
        span.byte_len().unwrap_or(0) as usize,
    )
}

impl<'de> Deserialize<'de> for Child {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Node>::deserialize(d)?;
        Ok(Child {
            span: loc_span(&spanned.referenced),
            node: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Node>::deserialize(d)?;
        let name = match spanned.value {
            Node::Scalar(Value::String(s)) => s,
            Node::Scalar(Value::Null) => "null".to_string(),
            Node::Scalar(other) => other.to_string(),
            Node::Seq(_) | Node::Map(_) => {
                return Err(de::Error::custom("mapping keys must be scalars"));
            }
        };
        Ok(KeyName {
            name,
            span: loc_span(&spanned.referenced),
        })
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Number(v.into())))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        match i64::try_from(v) {
            Ok(v) => self.visit_i64(v),
            Err(_) => self.visit_f64(v as f64),
        }
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => self.visit_f64(v as f64),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Number::from_f64(v)
            .map(|n| Node::Scalar(Value::Number(n)))
            .ok_or_else(|| E::custom("non-finite numbers are not allowed"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(Value::String(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Scalar(Value::String(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Child>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut pairs = Vec::new();
        while let Some(key) = map.next_key::<KeyName>()? {
            let value = map.next_value::<Child>()?;
            pairs.push((key, value));
        }
        Ok(Node::Map(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(text: &str, span: Span) -> &str {
        &text[span.offset..span.end()]
    }

    #[test]
    fn indexes_keys_and_values_by_pointer() {
        let text = "name: x\ntrigger:\n  executions:\n    allOf:\n      - name: up\n        account: \"111\"\n";
        let doc = parse(text).expect("valid yaml");
        let e = doc.spans.get("/name").expect("name");
        assert_eq!(slice(text, e.key.expect("key")), "name");
        assert_eq!(slice(text, e.value), "x");
        let e = doc
            .spans
            .get("/trigger/executions/allOf/0/account")
            .expect("account");
        assert_eq!(slice(text, e.key.expect("key")), "account");
        assert_eq!(slice(text, e.value), "\"111\"");
        assert_eq!(
            doc.value["trigger"]["executions"]["allOf"][0]["account"],
            "111"
        );
    }

    #[test]
    fn scalars_follow_yaml_1_2() {
        let doc = parse("a: 3\nb: \"3\"\nc: true\nd: ~\ne: on\nf: 1.5\n").expect("valid");
        assert_eq!(doc.value["a"], 3);
        assert_eq!(doc.value["b"], "3");
        assert_eq!(doc.value["c"], true);
        assert!(doc.value["d"].is_null());
        assert_eq!(doc.value["f"], 1.5);
    }

    #[test]
    fn duplicate_keys_are_errors_at_the_second_key() {
        let err = parse("name: a\nname: b\n").expect_err("duplicate");
        assert_eq!(err.kind, YamlErrorKind::DuplicateKey);
        assert_eq!(err.span.offset, 8);
    }

    #[test]
    fn syntax_errors_have_a_location() {
        let err = parse("name: a\n  - b: [\n").expect_err("syntax");
        assert_eq!(err.kind, YamlErrorKind::Syntax);
        assert!(err.span.offset > 0);
    }

    #[test]
    fn alias_bombs_hit_the_budget() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("b{}", i - 1)
            };
            text.push_str(&format!("b{i}: &b{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let err = parse(&text).expect_err("budget");
        assert_eq!(err.kind, YamlErrorKind::Budget, "{}", err.message);
    }

    #[test]
    fn empty_document_is_null() {
        assert!(parse("").expect("empty").value.is_null());
        assert!(parse("# only a comment\n").expect("empty").value.is_null());
    }

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(push_token("/tags", "a/b~c"), "/tags/a~1b~0c");
    }
}
