//! YAML with spans: reads a pipeline or config text through serde-saphyr (with input budgets
//! and duplicate keys as errors) and produces a JSON value plus an index from JSON pointer to
//! the source span of each key and value, so every later check can point at exact text.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::budget::Budget;
use serde_saphyr::{DuplicateKeyPolicy, Location, Spanned};

use crate::diag::source::Span;

mod fast;

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

/// JSON pointer (RFC 6901) → source spans. One document has a few dozen to a few hundred
/// pointers; they are kept in one string with an open-addressing table over them, so an index
/// is three allocations rather than one per pointer.
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    /// Every pointer, one after the other.
    text: String,
    /// Where each pointer is in `text` (start, end), and its entry, in insertion order.
    entries: Vec<(u32, u32, Entry)>,
    /// `index + 1` into `entries`, or 0 for a free slot; the length is a power of two.
    slots: Vec<u32>,
}

/// A multiply-rotate hash (as in rustc's FxHash) over 8 bytes at a time: pointers are short
/// and come from the user's own files, so a flooding-resistant hash buys nothing here.
fn hash(pointer: &str) -> u64 {
    let mut h: u64 = pointer.len() as u64;
    let mut add = |word: u64| h = (h.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    let mut chunks = pointer.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        add(u64::from_le_bytes(word));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        add(u64::from_le_bytes(word));
    }
    h
}

impl SpanIndex {
    fn with_capacity(pointers: usize, bytes: usize) -> Self {
        Self {
            text: String::with_capacity(bytes),
            entries: Vec::with_capacity(pointers),
            slots: vec![0; (pointers * 2).next_power_of_two().max(16)],
        }
    }

    fn pointer_at(&self, index: usize) -> &str {
        let (start, end, _) = self.entries[index];
        &self.text[start as usize..end as usize]
    }

    /// The slot holding `pointer`, or the free slot where it would go.
    fn slot(&self, pointer: &str) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = hash(pointer) as usize & mask;
        loop {
            match self.slots[i] {
                0 => return i,
                n if self.pointer_at(n as usize - 1) == pointer => return i,
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Records `entry` under `pointer`, replacing an earlier one.
    fn insert(&mut self, pointer: &str, entry: Entry) {
        if (self.entries.len() + 1) * 2 > self.slots.len() {
            let size = (self.slots.len() * 2).max(16);
            self.slots = vec![0; size];
            for index in 0..self.entries.len() {
                let slot = self.slot(self.pointer_at(index));
                self.slots[slot] = index as u32 + 1;
            }
        }
        let slot = self.slot(pointer);
        match self.slots[slot] {
            0 => {
                let start = self.text.len() as u32;
                self.text.push_str(pointer);
                self.entries.push((start, self.text.len() as u32, entry));
                self.slots[slot] = self.entries.len() as u32;
            }
            n => self.entries[n as usize - 1].2 = entry,
        }
    }

    fn get_key_value(&self, pointer: &str) -> Option<(&str, &Entry)> {
        if self.slots.is_empty() {
            return None;
        }
        match self.slots[self.slot(pointer)] {
            0 => None,
            n => {
                let index = n as usize - 1;
                Some((self.pointer_at(index), &self.entries[index].2))
            }
        }
    }

    pub fn get(&self, pointer: &str) -> Option<&Entry> {
        self.get_key_value(pointer).map(|(_, e)| e)
    }

    /// The entry for `pointer`, or for its nearest ancestor that exists.
    pub fn nearest(&self, pointer: &str) -> Option<(&str, &Entry)> {
        let mut current = pointer;
        loop {
            if let Some(found) = self.get_key_value(current) {
                return Some(found);
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
        (0..self.entries.len()).map(|i| (self.pointer_at(i), &self.entries[i].2))
    }
}

/// Appends one reference token to a JSON pointer, escaping as RFC 6901 says.
pub fn push_token(pointer: &str, token: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + token.len() + 1);
    out.push_str(pointer);
    push_token_into(&mut out, token);
    out
}

/// Appends `/token` to `pointer` in place, escaping as RFC 6901 says.
fn push_token_into(pointer: &mut String, token: &str) {
    pointer.push('/');
    if !token.contains(['~', '/']) {
        pointer.push_str(token);
        return;
    }
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
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
    // Nearly every file is read in one pass over the parser's events; the rest (and every
    // file with an error) through serde-saphyr, which reports what is wrong.
    match fast::parse(text) {
        Some(doc) => Ok(doc),
        None => parse_general(text),
    }
}

/// Parses one document through serde-saphyr's `Spanned` values: any YAML, every error.
fn parse_general(text: &str) -> Result<Document, YamlError> {
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
    spans.insert(
        &pointer,
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

    /// How many of the fast path's readers read `text` (0, 1 or 2); what each read must be
    /// the general path's document, value for value and span for span.
    fn readers_agree(text: &str) -> usize {
        let sorted = |spans: &SpanIndex| {
            let mut entries: Vec<(String, Entry)> =
                spans.iter().map(|(p, e)| (p.to_string(), *e)).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            entries
        };
        let mut read = 0;
        for (reader, fast) in ["line", "event"].into_iter().zip(fast::each(text)) {
            let Some(fast) = fast else { continue };
            let general = parse_general(text).unwrap_or_else(|e| {
                panic!("the {reader} reader accepts what the general path refuses ({e:?}):\n{text}")
            });
            assert_eq!(
                fast.value, general.value,
                "{reader} reader, values differ:\n{text}"
            );
            assert_eq!(
                sorted(&fast.spans),
                sorted(&general.spans),
                "{reader} reader, spans differ:\n{text}"
            );
            read += 1;
        }
        read
    }

    /// Whether the fast path read `text` (checked against the general path).
    fn paths_agree(text: &str) -> bool {
        readers_agree(text) > 0
    }

    #[test]
    fn the_fast_path_reads_pipeline_files_as_the_general_path_does() {
        let read = [
            "name: x\nteam: t\ntrigger:\n  schedule: { hour: 3, minute: 15, timezone: Europe/Berlin }\n",
            "a: [1, -2, 0, \"3\", '4', x]\nb:\n  - {c: d}\n  - e\n  -\n    f: g\n",
            "# comment\nname: x # trailing\n\n# more\nsteps:\n  - name: s\n    args: [\"--date\", \"{{run.date}}\"]\n",
            "a: |\n  line one\n  line two\nb: >-\n  folded\n  text\nc: plain\n  continued\n",
            "a:\nb: ~\nc: null\nd: NULL\ne: true\nf: False\ng: yes\nh: on\ni: inf\nj: nan\n",
            "\"quoted key\": 1\n'single': 2\nnull: 3\ntrue: 4\na/b: 5\nx~y: 6\n",
            "---\na: 1\n...\n",
            "- a\n- [b, [c, {d: e}]]\n- {}\n- []\n",
            "a: \"esc\\taped \\u00e9\"\nb: 'it''s'\nc: é\nd: 😀\n",
            "a:\n  b:\n    c:\n      - d: 1\n        e: 2\n      - f\n",
            "a: {b: 1,\n  c: 2}\n",
            "a: ~x\nb: /path\nc: $var\nd: x:y\ne: 'a: b'\n",
            "seq:\n- a\n- b: 1\n  c:\n  d: [x]\nnext:   # c\n  - - n\n    - m\n  -\n    - o\nlast:\n",
            "- a:\n- b: 2\n  # odd comment\n      # deeper comment\n  c: 'x''y'\n- - - deep\n-\n  k: v\n",
            "a:\n  - x\n  -   y   # c\n  - \"z\"  \nb: {k: [1, 2, {m: n}], 'q': \"r\"}\nc: [ ]\nd: { }\n",
            "key with spaces: value with spaces\nurl: s3://bucket/key.py\nplaceholder: \"{{run.date}}\"\n",
            "timeout: 2h\nwithin: 30m\nat: 07:00\nb: 07:00:00x\nv: 5.0-beta\nw: -x\nx: -Infinity\n2h: k\n",
        ];
        for text in read {
            assert!(paths_agree(text), "the fast path should read:\n{text}");
        }
        // Left to the general path: errors, and what only it reads exactly.
        let left = [
            "a: 1\na: 2\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "<<: {a: 1}\n",
            "a: 1.5\n",
            "a: 1e3\n",
            "a: -.inf\n",
            "a: 0x1Fz\n",
            "a: 2024-01-01\n",
            "a: 0x1F\n",
            "a: 1_000\n",
            "a: +1\n",
            "a: .inf\n",
            "a: -0\n",
            "a: 99999999999999999999\n",
            "3: a\n",
            "a: [\n",
            "a: b\n---\nc: d\n",
            "",
            "# only a comment\n",
            "plain",
            "%YAML 1.2\n---\na: 1\n",
            "{a: 1}: b\n",
        ];
        for text in left {
            assert!(
                !paths_agree(text),
                "the fast path should leave this to the general path:\n{text}"
            );
        }
    }

    #[test]
    fn the_fast_path_agrees_on_the_fixtures_and_examples() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["tests/fixtures", "examples", "tests/scenarios", "templates"] {
            collect_yaml(&root.join(dir), &mut files);
        }
        assert!(files.len() > 50, "found only {} YAML files", files.len());
        let mut read = 0;
        for file in &files {
            #[allow(clippy::disallowed_methods)]
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            if text.len() <= MAX_FILE_BYTES && paths_agree(&text) {
                read += 1;
            }
        }
        assert!(
            read * 2 > files.len(),
            "the fast path read only {read} of {} files",
            files.len()
        );
    }

    #[allow(clippy::disallowed_methods)]
    fn collect_yaml(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                collect_yaml(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }

    mod random {
        use super::paths_agree;
        use proptest::prelude::*;

        /// A random document: block and flow collections of tricky scalars and keys.
        #[derive(Debug, Clone)]
        enum Node {
            Scalar(&'static str),
            Seq(Vec<Node>),
            Map(Vec<(&'static str, Node)>),
            Flow(Vec<(&'static str, Node)>),
            FlowSeq(Vec<&'static str>),
        }

        const SCALARS: &[&str] = &[
            "a",
            "abc def",
            "3",
            "-3",
            "0",
            "-0",
            "007",
            "12",
            "1.5",
            "1e3",
            ".inf",
            "+1",
            "true",
            "True",
            "FALSE",
            "yes",
            "on",
            "null",
            "Null",
            "~",
            "",
            "'q''s'",
            "\"dq\\n\"",
            "\"\"",
            "''",
            "0x1F",
            "1_000",
            "07:00",
            "é",
            "inf",
            "NaN",
            "-x",
            "x-",
            "a#b",
            "\"{{run.date}}\"",
            "s3://b/k.py",
            "18446744073709551616",
            "-9223372036854775808",
            "_x",
            "~x",
            "|\n  lit\n  eral",
            ">\n  fol\n  ded",
            "'multi\n  line'",
        ];
        const KEYS: &[&str] = &[
            "name", "a", "b", "a/b", "x~y", "true", "null", "3", "'q'", "\"k\"", "on", "<<", "é",
            "~", "-k", "1.5",
        ];

        fn node() -> impl Strategy<Value = Node> {
            let leaf = prop::sample::select(SCALARS).prop_map(Node::Scalar);
            leaf.prop_recursive(4, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Node::Seq),
                    prop::collection::vec((prop::sample::select(KEYS), inner.clone()), 1..4)
                        .prop_map(Node::Map),
                    prop::collection::vec((prop::sample::select(KEYS), inner), 0..3)
                        .prop_map(Node::Flow),
                    prop::collection::vec(prop::sample::select(SCALARS), 0..3)
                        .prop_map(Node::FlowSeq),
                ]
            })
        }

        fn flow_scalar(s: &str) -> String {
            if s.starts_with(['|', '>']) || s.contains('\n') || s.contains('#') {
                format!("\"{}\"", s.replace(['\n', '"', '\\'], " "))
            } else {
                s.to_string()
            }
        }

        fn flow(node: &Node) -> String {
            match node {
                Node::Scalar(s) => flow_scalar(s),
                Node::Seq(items) => {
                    let items: Vec<String> = items.iter().map(flow).collect();
                    format!("[{}]", items.join(", "))
                }
                Node::FlowSeq(items) => {
                    let items: Vec<String> = items.iter().map(|s| flow_scalar(s)).collect();
                    format!("[{}]", items.join(", "))
                }
                Node::Map(pairs) | Node::Flow(pairs) => {
                    let pairs: Vec<String> = pairs
                        .iter()
                        .map(|(k, v)| format!("{k}: {}", flow(v)))
                        .collect();
                    format!("{{{}}}", pairs.join(", "))
                }
            }
        }

        /// Block rendering at `indent`: the text after a `key:` or `- ` indicator.
        fn block(node: &Node, indent: usize, out: &mut String) {
            let pad = " ".repeat(indent);
            match node {
                Node::Scalar(s) => {
                    let s = s.replace('\n', &format!("\n{pad}"));
                    out.push_str(&format!(" {s}  # c\n"));
                }
                Node::Seq(items) if !items.is_empty() => {
                    out.push('\n');
                    for item in items {
                        out.push_str(&format!("{pad}-"));
                        block(item, indent + 2, out);
                    }
                }
                Node::Map(pairs) => {
                    out.push('\n');
                    for (k, v) in pairs {
                        out.push_str(&format!("{pad}{k}:"));
                        block(v, indent + 2, out);
                    }
                }
                other => out.push_str(&format!(" {}\n", flow(other))),
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]
            #[test]
            fn fast_and_general_paths_agree(pairs in prop::collection::vec((prop::sample::select(KEYS), node()), 1..5)) {
                let mut text = String::from("# generated\n");
                for (k, v) in &pairs {
                    text.push_str(&format!("{k}:"));
                    block(v, 2, &mut text);
                }
                paths_agree(&text);
            }
        }
    }

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(push_token("/tags", "a/b~c"), "/tags/a~1b~0c");
    }
}
