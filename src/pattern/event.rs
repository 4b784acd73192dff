//! Event flattening: reads raw event JSON and produces the `(path, value, array membership)`
//! triples for only the paths some pattern refers to. It walks the bytes directly, follows
//! the path trie key by key, skips unreferenced subtrees without decoding them, and stops
//! reading as soon as every referenced key of every enclosing object has been read.
//!
//! That early stop assumes an object does not repeat a key (RFC 8259 says keys SHOULD be
//! unique, and AWS events never repeat them), nor spell one path both nested and dotted
//! (`{"a": {"b": 1}, "a.b": 2}`): such a repetition after the stop is not read.
//! Use [`Event::parse`] to validate a whole event first when its source is untrusted.

use super::json::{self, Cursor, MAX_DEPTH, Scalar, SyntaxError};
use super::paths::{Paths, ROOT};

/// A validated JSON event (a JSON object), ready to be matched by many patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    text: String,
}

/// Why an event could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event: {0}")]
pub struct EventError(pub(crate) SyntaxError);

impl EventError {
    /// Line and column (1-based) where reading failed.
    pub fn location(&self) -> (usize, usize) {
        (self.0.line, self.0.column)
    }
}

impl Event {
    /// Validates the whole text: well-formed JSON whose top level is an object.
    pub fn parse(text: impl Into<String>) -> Result<Event, EventError> {
        let text = text.into();
        json::validate(&text).map_err(EventError)?;
        let mut cur = Cursor::new(&text);
        cur.ws();
        if cur.peek() != Some(b'{') {
            return Err(EventError(cur.error("an event must be a JSON object")));
        }
        Ok(Event { text })
    }

    /// The event's JSON text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::str::FromStr for Event {
    type Err = EventError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Event::parse(s)
    }
}

/// One value found at a referenced path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field<'a> {
    pub path: u32,
    pub value: Scalar<'a>,
    members: (u32, u32),
}

/// The referenced part of an event: fields grouped by path id, memberships in a shared pool.
#[derive(Debug, Default)]
pub(crate) struct Flat<'a> {
    fields: Vec<Field<'a>>,
    members: Vec<(u32, u32)>,
}

impl<'a> Flat<'a> {
    /// All values at `path`, in document order.
    #[inline]
    pub(crate) fn values(&self, path: u32) -> &[Field<'a>] {
        if self.fields.len() == 1 {
            return if self.fields[0].path == path {
                &self.fields[..]
            } else {
                &[]
            };
        }
        let start = self.fields.partition_point(|f| f.path < path);
        let end = start + self.fields[start..].partition_point(|f| f.path == path);
        &self.fields[start..end]
    }

    /// The (array id, element index) pairs locating a field inside arrays of objects/arrays.
    #[inline]
    pub(crate) fn membership(&self, f: &Field) -> &[(u32, u32)] {
        let (start, len) = f.members;
        &self.members[start as usize..(start + len) as usize]
    }

    /// Every field, grouped by path.
    pub(crate) fn fields(&self) -> &[Field<'a>] {
        &self.fields
    }
}

/// Flattens `text` for the paths in `paths`.
pub(crate) fn flatten<'a>(text: &'a str, paths: &Paths) -> Result<Flat<'a>, EventError> {
    let mut s = Scanner {
        cur: Cursor::new(text),
        paths,
        flat: Flat::default(),
        stack: Vec::new(),
        arrays: 0,
    };
    s.cur.ws();
    if s.cur.peek() != Some(b'{') {
        return Err(EventError(s.cur.error("an event must be a JSON object")));
    }
    s.cur.pos += 1;
    let flow = s.object(ROOT, 1, true).map_err(EventError)?;
    if flow == Flow::Continue {
        s.cur.ws();
        if s.cur.peek().is_some() {
            return Err(EventError(
                s.cur.error("trailing characters after the event"),
            ));
        }
    }
    // Stable: values of one path stay in document order.
    s.flat.fields.sort_by_key(|f| f.path);
    Ok(s.flat)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    /// Everything referenced has been read: stop reading the event.
    Stop,
}

struct Scanner<'a, 'p> {
    cur: Cursor<'a>,
    paths: &'p Paths,
    flat: Flat<'a>,
    /// Memberships of the array elements (objects or arrays) currently being read.
    stack: Vec<(u32, u32)>,
    arrays: u32,
}

impl<'a> Scanner<'a, '_> {
    /// Reads the members of an object (its `{` consumed) at trie `node`. `tail` is true when
    /// finishing this object would finish every enclosing one, so it may stop the whole scan.
    fn object(&mut self, node: u32, depth: usize, tail: bool) -> Result<Flow, SyntaxError> {
        let wanted = self.paths.child_count(node);
        let mut early = tail && wanted <= 64;
        let all = if wanted >= 64 {
            u64::MAX
        } else {
            (1u64 << wanted) - 1
        };
        let mut seen = 0u64;
        let Some(mut key) = self.cur.first_key()? else {
            return Ok(Flow::Continue);
        };
        loop {
            match self.paths.follow(node, &key) {
                None => self.cur.skip_value()?,
                Some((child, pos)) => {
                    let last = match pos {
                        Some(p) if early => {
                            seen |= 1 << p;
                            seen == all
                        }
                        _ => {
                            early = false; // dotted keys reach nodes out of order
                            false
                        }
                    };
                    if self.value(child, depth + 1, last)? == Flow::Stop || last {
                        return Ok(Flow::Stop);
                    }
                }
            }
            if !self.cur.comma_or(b'}')? {
                return Ok(Flow::Continue);
            }
            key = self.cur.key()?;
        }
    }

    fn value(&mut self, node: u32, depth: usize, tail: bool) -> Result<Flow, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.cur.error("nesting too deep"));
        }
        if let Some(scalar) = self.cur.scalar()? {
            self.push(node, scalar);
            return Ok(Flow::Continue);
        }
        if self.cur.peek() == Some(b'[') {
            self.cur.pos += 1;
            self.array(node, depth)?;
            return Ok(Flow::Continue);
        }
        if self.paths.child_count(node) == 0 {
            self.cur.skip_value()?; // only scalars are wanted here
            return Ok(Flow::Continue);
        }
        self.cur.pos += 1;
        self.object(node, depth, tail)
    }

    /// Reads array elements (its `[` consumed). Scalars share the array's membership;
    /// nested objects and arrays are located by (array id, index).
    fn array(&mut self, node: u32, depth: usize) -> Result<(), SyntaxError> {
        let id = self.arrays;
        self.arrays += 1;
        self.cur.ws();
        if self.cur.peek() == Some(b']') {
            self.cur.pos += 1;
            return Ok(());
        }
        let mut index = 0;
        loop {
            self.cur.ws();
            if matches!(self.cur.peek(), Some(b'{' | b'[')) {
                self.stack.push((id, index));
                self.value(node, depth + 1, false)?;
                self.stack.pop();
            } else {
                self.value(node, depth + 1, false)?;
            }
            if !self.cur.comma_or(b']')? {
                return Ok(());
            }
            index += 1;
        }
    }

    fn push(&mut self, node: u32, value: Scalar<'a>) {
        let Some(path) = self.paths.leaf(node) else {
            return;
        };
        let start = self.flat.members.len() as u32;
        self.flat.members.extend_from_slice(&self.stack);
        self.flat.fields.push(Field {
            path,
            value,
            members: (start, self.stack.len() as u32),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &[&str]) -> Paths {
        let mut p = Paths::default();
        for path in list {
            p.intern(path);
        }
        p
    }

    fn strings(flat: &Flat, path: u32) -> Vec<String> {
        flat.values(path)
            .iter()
            .map(|f| match &f.value {
                Scalar::Str(s) => s.to_string(),
                Scalar::Num(n) => n.to_string(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn reads_only_referenced_paths_with_memberships() {
        let p = paths(&["a.b", "a.c", "x"]);
        let text = r#"{"skip": {"deep": [1, {"a": 2}]}, "a": [{"b": "one", "c": 1}, {"b": "t\"wo"}], "x": [[3, 4], 5]}"#;
        let flat = flatten(text, &p).unwrap();
        assert_eq!(strings(&flat, 0), ["one", "t\"wo"]);
        assert_eq!(strings(&flat, 1), ["1"]);
        assert_eq!(strings(&flat, 2), ["3", "4", "5"]);
        let b = flat.values(0);
        assert_eq!(flat.membership(&b[0]), [(0, 0)]);
        assert_eq!(flat.membership(&b[1]), [(0, 1)]);
        assert_eq!(flat.membership(&flat.values(2)[2]), []);
    }

    #[test]
    fn dotted_keys_are_equivalent_to_nesting() {
        let p = paths(&["properties.foo"]);
        let flat = flatten(r#"{"properties.foo": "x", "properties": {"foo": "y"}}"#, &p).unwrap();
        assert_eq!(strings(&flat, 0), ["x", "y"]);
    }

    #[test]
    fn stops_once_everything_referenced_was_read() {
        let p = paths(&["context.id"]);
        // The tail is garbage: never read, because nothing after "context" is wanted.
        let flat = flatten(r#"{"context": {"id": 7, "other": 1}, "payload": <<<"#, &p).unwrap();
        assert_eq!(strings(&flat, 0), ["7"]);
        // Inside arrays every element must still be read.
        let p = paths(&["a.id"]);
        assert!(flatten(r#"{"a": [{"id": 1}, <<<"#, &p).is_err());
    }

    #[test]
    fn malformed_events_are_errors() {
        let p = paths(&["a"]);
        for bad in [
            "[1]",
            "{\"a\": }",
            "{\"b\": 1",
            "{\"b\": 1} x",
            "{\"b\": [1}",
            "\"s\"",
        ] {
            assert!(flatten(bad, &p).is_err(), "{bad}");
        }
        assert!(Event::parse("{\"a\": [1, 2,]}").is_err());
        assert!(Event::parse(" [] ").is_err());
        assert!(Event::parse("{\"a\": 1}").is_ok());
    }
}
