//! Block YAML as pipeline files write it, read line by line: block mappings and sequences
//! (compact `- key: value` entries and sequences at their key's indentation included),
//! one-line flow collections, plain scalars on one line, quoted scalars on one line (double
//! quotes without escapes), and comments. Anything else — block scalars, multi-line scalars
//! or flow collections, anchors, tags, tabs, documents markers, empty sequence entries — is
//! `None`, and the general event parser reads the file. The events carry the spans the
//! event parser gives: a block mapping starts (empty) at its first key, a block sequence at
//! its first `-`, or at its first entry's content when it sits at its key's indentation, a
//! flow collection at its bracket, an empty value at its key's `:`.

use std::borrow::Cow;

use super::Ev;
use crate::diag::source::Span;

/// Deeper nesting is the event parser's (which has the budgets for it).
const MAX_NESTING: usize = 48;

/// A line with content: where it starts and ends (without the line break) and its
/// indentation in spaces.
#[derive(Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
    indent: usize,
}

pub(super) struct Lines<'a> {
    text: &'a str,
    bytes: &'a [u8],
    /// Lines that are neither blank nor only a comment.
    lines: Vec<Line>,
    /// The line being read.
    at: usize,
    nesting: usize,
    events: Vec<Ev<'a>>,
}

impl<'a> Lines<'a> {
    pub(super) fn new(text: &'a str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.contains(&b'\t') || bytes.contains(&b'\r') || text.starts_with('\u{feff}') {
            return None;
        }
        let mut lines = Vec::with_capacity(text.len() / 16);
        let mut start = 0;
        while start < bytes.len() {
            let end = text[start..].find('\n').map_or(bytes.len(), |i| start + i);
            let indent = bytes[start..end].iter().take_while(|b| **b == b' ').count();
            let content = &text[start + indent..end];
            if !content.is_empty() && !content.starts_with('#') {
                if indent == 0
                    && (content.starts_with("---")
                        || content.starts_with("...")
                        || content.starts_with('%'))
                {
                    return None;
                }
                lines.push(Line { start, end, indent });
            }
            start = end + 1;
        }
        Some(Self {
            text,
            bytes,
            lines,
            at: 0,
            nesting: 0,
            events: Vec::with_capacity(text.len() / 8),
        })
    }

    /// The events of the document: one block mapping or sequence at the left margin.
    pub(super) fn events(mut self) -> Option<Vec<Ev<'a>>> {
        let first = *self.lines.first()?;
        if first.indent != 0 {
            return None;
        }
        self.block(first.start, 0)?;
        (self.at == self.lines.len()).then_some(self.events)
    }

    fn line(&self) -> Option<Line> {
        self.lines.get(self.at).copied()
    }

    fn byte(&self, at: usize) -> u8 {
        self.bytes.get(at).copied().unwrap_or(b'\n')
    }

    /// Past the spaces from `at` (within the line).
    fn skip_spaces(&self, mut at: usize) -> usize {
        while self.byte(at) == b' ' {
            at += 1;
        }
        at
    }

    /// Whether a `-` entry indicator is at `at`.
    fn dash(&self, at: usize) -> bool {
        self.byte(at) == b'-' && matches!(self.byte(at + 1), b' ' | b'\n')
    }

    /// Whether the rest of the line from `at` is only spaces and perhaps a comment.
    fn rest_is_empty(&self, at: usize, line: Line) -> bool {
        let after = self.skip_spaces(at);
        after >= line.end || (after > at && self.byte(after) == b'#')
    }

    fn nest(&mut self) -> Option<()> {
        self.nesting += 1;
        (self.nesting <= MAX_NESTING).then_some(())
    }

    /// A block node starting at `at` on the current line, at column `indent`.
    fn block(&mut self, at: usize, indent: usize) -> Option<()> {
        if self.dash(at) {
            self.sequence(at, indent, false)
        } else {
            self.mapping(at, indent)
        }
    }

    /// A block mapping whose first key is at `at` on the current line, at column `indent`.
    fn mapping(&mut self, mut at: usize, indent: usize) -> Option<()> {
        self.nest()?;
        self.events.push(Ev::MapStart(Span::new(at, 0)));
        loop {
            let colon = self.key(at)?;
            self.value(colon, indent)?;
            match self.line() {
                Some(line) if line.indent == indent => {
                    at = line.start + indent;
                    if self.dash(at) {
                        return None;
                    }
                }
                Some(line) if line.indent > indent => return None,
                _ => break,
            }
        }
        self.events.push(Ev::MapEnd);
        self.nesting -= 1;
        Some(())
    }

    /// The key at `at` on the current line; returns the position of its `:`.
    fn key(&mut self, at: usize) -> Option<usize> {
        let line = self.line()?;
        let colon = if matches!(self.byte(at), b'"' | b'\'') {
            let (event, end) = self.quoted(at, line)?;
            self.events.push(event);
            end
        } else {
            let colon = self.plain_key_end(at, line)?;
            let key = &self.text[at..colon];
            if key.ends_with(' ') || key.len() > 1000 {
                return None;
            }
            self.events.push(Ev::Scalar(
                Cow::Borrowed(key),
                true,
                Span::new(at, key.len()),
            ));
            colon
        };
        (self.byte(colon) == b':' && matches!(self.byte(colon + 1), b' ' | b'\n')).then_some(colon)
    }

    /// Where the plain key starting at `at` ends (its `:`), if the line holds one there.
    fn plain_key_end(&self, at: usize, line: Line) -> Option<usize> {
        if !self.plain_start(at) {
            return None;
        }
        let mut i = at;
        while i < line.end {
            match self.bytes[i] {
                b':' if matches!(self.byte(i + 1), b' ' | b'\n') => return Some(i),
                b'#' if self.bytes[i - 1] == b' ' => return None,
                _ => i += 1,
            }
        }
        None
    }

    /// Whether the content at `at` is a key (`key: …`) rather than a value.
    fn is_key(&self, at: usize, line: Line) -> bool {
        match self.byte(at) {
            b'"' | b'\'' => self
                .quoted_end(at, line)
                .is_some_and(|end| self.byte(end) == b':'),
            _ => self.plain_key_end(at, line).is_some(),
        }
    }

    /// The value after the `:` at `colon` of a key in a mapping at column `indent`; leaves
    /// the current line at the next entry.
    fn value(&mut self, colon: usize, indent: usize) -> Option<()> {
        let line = self.line()?;
        if !self.rest_is_empty(colon + 1, line) {
            let at = self.skip_spaces(colon + 1);
            return self.inline(at, indent);
        }
        self.at += 1;
        match self.line() {
            Some(next) if next.indent > indent => self.block(next.start + next.indent, next.indent),
            Some(next) if next.indent == indent && self.dash(next.start + indent) => {
                self.sequence(next.start + indent, indent, true)
            }
            _ => {
                self.events
                    .push(Ev::Scalar(Cow::Borrowed("~"), true, Span::new(colon, 0)));
                Some(())
            }
        }
    }

    /// A value that starts at `at` and ends on the current line, inside a node at column
    /// `indent`; moves to the next line.
    fn inline(&mut self, at: usize, indent: usize) -> Option<()> {
        let line = self.line()?;
        let end = match self.byte(at) {
            b'[' | b'{' => self.flow(at, line)?,
            b'"' | b'\'' => {
                let (event, end) = self.quoted(at, line)?;
                self.events.push(event);
                end
            }
            _ => {
                if !self.plain_start(at) {
                    return None;
                }
                let mut i = at;
                while i < line.end {
                    match self.bytes[i] {
                        b':' if matches!(self.byte(i + 1), b' ' | b'\n') => return None,
                        b'#' if self.bytes[i - 1] == b' ' => break,
                        _ => i += 1,
                    }
                }
                let value = self.text[at..i].trim_end_matches(' ');
                self.events.push(Ev::Scalar(
                    Cow::Borrowed(value),
                    true,
                    Span::new(at, value.len()),
                ));
                at + value.len()
            }
        };
        if !self.rest_is_empty(end, line) {
            return None;
        }
        self.at += 1;
        // A deeper line after a value continues it (or is an error): not read here.
        match self.line() {
            Some(next) if next.indent > indent => None,
            _ => Some(()),
        }
    }

    /// A block sequence whose first `-` is at `dash` on the current line, at column
    /// `indent`; `indentless` when it is a key's value at the key's own indentation.
    fn sequence(&mut self, mut dash: usize, indent: usize, indentless: bool) -> Option<()> {
        self.nest()?;
        let mut first = true;
        loop {
            let line = self.line()?;
            let at = self.skip_spaces(dash + 1);
            let empty = self.rest_is_empty(dash + 1, line);
            if first {
                if indentless && empty {
                    return None;
                }
                let start = if indentless { at } else { dash };
                self.events.push(Ev::SeqStart(Span::new(start, 0)));
                first = false;
            }
            if empty {
                self.at += 1;
                match self.line() {
                    Some(next) if next.indent > indent => {
                        self.block(next.start + next.indent, next.indent)?
                    }
                    // An empty entry.
                    _ => return None,
                }
            } else if self.dash(at) {
                self.sequence(at, at - line.start, false)?;
            } else if self.is_key(at, line) {
                self.mapping(at, at - line.start)?;
            } else {
                self.inline(at, indent)?;
            }
            match self.line() {
                Some(next) if next.indent == indent && self.dash(next.start + indent) => {
                    dash = next.start + indent;
                }
                Some(next) if next.indent > indent || (next.indent == indent && !indentless) => {
                    return None;
                }
                _ => break,
            }
        }
        self.events.push(Ev::SeqEnd);
        self.nesting -= 1;
        Some(())
    }

    /// Whether a plain scalar may start at `at`.
    fn plain_start(&self, at: usize) -> bool {
        match self.byte(at) {
            b'-' => !matches!(
                self.byte(at + 1),
                b' ' | b'\n' | b',' | b'[' | b']' | b'{' | b'}'
            ),
            b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|'
            | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' | b' ' | b'\n' => false,
            _ => true,
        }
    }

    /// Where the quoted scalar at `at` ends (after its closing quote), on this line.
    fn quoted_end(&self, at: usize, line: Line) -> Option<usize> {
        let quote = self.byte(at);
        let mut i = at + 1;
        while i < line.end {
            let b = self.bytes[i];
            if quote == b'"' && b == b'\\' {
                return None;
            }
            if b == quote {
                if quote == b'\'' && self.byte(i + 1) == b'\'' {
                    i += 2;
                    continue;
                }
                return Some(i + 1);
            }
            i += 1;
        }
        None
    }

    /// The quoted scalar at `at`, and where it ends.
    fn quoted(&self, at: usize, line: Line) -> Option<(Ev<'a>, usize)> {
        let end = self.quoted_end(at, line)?;
        let inner = &self.text[at + 1..end - 1];
        let value = if self.byte(at) == b'\'' && inner.contains("''") {
            Cow::Owned(inner.replace("''", "'"))
        } else {
            Cow::Borrowed(inner)
        };
        Some((Ev::Scalar(value, false, Span::new(at, end - at)), end))
    }

    /// A flow collection at `at`, all on this line; returns where it ends.
    fn flow(&mut self, at: usize, line: Line) -> Option<usize> {
        self.nest()?;
        let mapping = self.byte(at) == b'{';
        let close = if mapping { b'}' } else { b']' };
        self.events.push(if mapping {
            Ev::MapStart(Span::new(at, 1))
        } else {
            Ev::SeqStart(Span::new(at, 1))
        });
        let mut i = self.skip_spaces(at + 1);
        if self.byte(i) != close {
            loop {
                if mapping {
                    i = self.flow_key(i, line)?;
                }
                i = self.flow_item(i, line)?;
                i = self.skip_spaces(i);
                match self.byte(i) {
                    b',' => {
                        i = self.skip_spaces(i + 1);
                        if self.byte(i) == close {
                            return None;
                        }
                    }
                    b if b == close => break,
                    _ => return None,
                }
            }
        }
        self.events
            .push(if mapping { Ev::MapEnd } else { Ev::SeqEnd });
        self.nesting -= 1;
        (i < line.end).then_some(i + 1)
    }

    /// A key of a flow mapping at `at`, through its `: `; returns where its value starts.
    fn flow_key(&mut self, at: usize, line: Line) -> Option<usize> {
        let colon = if matches!(self.byte(at), b'"' | b'\'') {
            let (event, end) = self.quoted(at, line)?;
            self.events.push(event);
            end
        } else {
            let end = self.flow_plain_end(at, line)?;
            let key = &self.text[at..end];
            self.events.push(Ev::Scalar(
                Cow::Borrowed(key),
                true,
                Span::new(at, key.len()),
            ));
            end
        };
        (self.byte(colon) == b':' && self.byte(colon + 1) == b' ')
            .then(|| self.skip_spaces(colon + 1))
    }

    /// An entry of a flow collection at `at`: a collection, or a scalar; returns its end.
    fn flow_item(&mut self, at: usize, line: Line) -> Option<usize> {
        match self.byte(at) {
            b'[' | b'{' => self.flow(at, line),
            b'"' | b'\'' => {
                let (event, end) = self.quoted(at, line)?;
                self.events.push(event);
                Some(end)
            }
            _ => {
                let end = self.flow_plain_end(at, line)?;
                if self.byte(end) == b':' {
                    // A single-pair mapping inside a sequence.
                    return None;
                }
                let value = &self.text[at..end];
                self.events.push(Ev::Scalar(
                    Cow::Borrowed(value),
                    true,
                    Span::new(at, value.len()),
                ));
                Some(end)
            }
        }
    }

    /// Where the plain scalar at `at` inside a flow collection ends (trailing spaces not
    /// included): before `,`, a closing bracket, or a `:` followed by a space or an
    /// indicator.
    fn flow_plain_end(&self, at: usize, line: Line) -> Option<usize> {
        if !self.plain_start(at) {
            return None;
        }
        let mut i = at;
        while i < line.end {
            match self.bytes[i] {
                b',' | b']' | b'}' => break,
                b':' if matches!(self.byte(i + 1), b' ' | b',' | b']' | b'}' | b'\n') => break,
                b'[' | b'{' => return None,
                b'#' if self.bytes[i - 1] == b' ' => return None,
                _ => i += 1,
            }
        }
        if i >= line.end {
            return None;
        }
        let end = at + self.text[at..i].trim_end_matches(' ').len();
        (end > at).then_some(end)
    }
}
