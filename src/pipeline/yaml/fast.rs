//! The common case of the YAML reader, in one pass over the parser's events: the value and the
//! span index are built directly, without serde-saphyr's `Spanned` layer (which cost about
//! three quarters of validating a tree). It reads the YAML that pipeline files are made of —
//! block and flow collections of plain, quoted and block scalars, without anchors, aliases,
//! tags, merge keys or duplicate keys — and gives up (`None`) on anything else, on any error,
//! and on any number it does not read exactly as serde-saphyr does; `yaml::parse` then reads
//! the file the general way, which produces every diagnostic. Where it succeeds, the result is
//! the general path's, value for value and span for span (tested against it).

use std::borrow::Cow;

use serde_json::{Map, Value};
use serde_saphyr::granit_parser::{Event, Options, Parser, ScalarStyle, StrInput};

use super::{Document, Entry, SpanIndex};
use crate::diag::source::Span;

mod lines;
use lines::Lines;

/// Deeper documents are left to the general path, which enforces the depth budget (32).
const MAX_DEPTH: usize = 24;
/// Budgets well inside the general path's, so that nothing it refuses is accepted here.
const MAX_NODES: usize = 20_000;
const MAX_SCALAR_BYTES: usize = 256 * 1024;

/// Reads `text` when it is in the common subset; `None` sends it to the general path.
pub(super) fn parse(text: &str) -> Option<Document> {
    // The line reader knows block YAML as pipeline files write it; what it does not know,
    // the event parser under serde-saphyr reads, without serde-saphyr's layers.
    read(text, Lines::new(text)?.events()?.into_iter().map(Some))
        .or_else(|| read(text, Granit::new(text)))
}

/// What each of the two readers makes of `text` (the line reader, the event reader).
#[cfg(test)]
pub(super) fn each(text: &str) -> [Option<Document>; 2] {
    [
        Lines::new(text)
            .and_then(Lines::events)
            .and_then(|events| read(text, events.into_iter().map(Some))),
        read(text, Granit::new(text)),
    ]
}

/// One parser event, as the reader needs it.
enum Ev<'a> {
    /// A scalar: its text (unquoted, unescaped), whether it was plain, and its span.
    Scalar(Cow<'a, str>, bool, Span),
    /// The start of a mapping or sequence, at the span the parser reports for it.
    MapStart(Span),
    SeqStart(Span),
    MapEnd,
    SeqEnd,
}

/// Builds the document from the events of one root collection; `None` on any event the
/// reader does not take (a source says so with `None` too).
fn read<'a>(text: &str, events: impl Iterator<Item = Option<Ev<'a>>>) -> Option<Document> {
    let mut reader = Reader {
        events,
        spans: SpanIndex::with_capacity(text.len() / 12, text.len() * 2),
        pointer: String::with_capacity(64),
        nodes: 0,
        scalar_bytes: 0,
    };
    let first = reader.next()?;
    // Only a mapping or a sequence at the root: empty and scalar documents take the
    // general path.
    if !matches!(first, Ev::MapStart(_) | Ev::SeqStart(_)) {
        return None;
    }
    let (value, _) = reader.node(first, None, 0)?;
    if reader.events.next().is_some() {
        return None;
    }
    Some(Document {
        value,
        spans: reader.spans,
    })
}

/// The events of serde-saphyr's own parser, with the options serde-saphyr gives it; the
/// stream and document events are checked here (one implicit or `---` document, no
/// directives) and not passed on.
struct Granit<'a> {
    parser: Parser<'a, StrInput<'a>>,
    /// Collections open; the document must end when the root closes.
    depth: usize,
    done: bool,
}

impl<'a> Granit<'a> {
    fn new(text: &'a str) -> Self {
        let budget = super::budget();
        let mut options = Options::default();
        options.simple_key_max_lookahead = budget.simple_key_max_lookahead;
        options.flow_nesting_limit = budget.flow_nesting_limit;
        options.block_nesting_limit = options
            .block_nesting_limit
            .max(budget.max_depth.saturating_add(1));
        options.emit_comments = true;
        options.max_buffered_comment_events = budget.max_buffered_comment_events;
        Self {
            parser: Parser::new_from_str_with_options(text, options),
            depth: 0,
            done: false,
        }
    }

    fn raw(&mut self) -> Option<(Event<'a>, Span)> {
        loop {
            let (event, span) = self.parser.next_event()?.ok()?;
            if matches!(event, Event::Comment(..)) {
                continue;
            }
            let start = span.start.byte_offset()?;
            let end = span.end.byte_offset()?;
            return Some((event, Span::new(start, end.checked_sub(start)?)));
        }
    }

    /// After the root collection: the document and the stream end, and nothing follows.
    fn finish(&mut self) -> Option<()> {
        matches!(self.raw()?.0, Event::DocumentEnd).then_some(())?;
        matches!(self.raw()?.0, Event::StreamEnd).then_some(())?;
        self.parser.next_event().is_none().then_some(())
    }
}

impl<'a> Iterator for Granit<'a> {
    type Item = Option<Ev<'a>>;

    fn next(&mut self) -> Option<Option<Ev<'a>>> {
        if self.done {
            return None;
        }
        let event = (|| {
            let (mut event, mut span) = self.raw()?;
            if self.depth == 0 {
                matches!(event, Event::StreamStart).then_some(())?;
                matches!(self.raw()?.0, Event::DocumentStart(_, None)).then_some(())?;
                (event, span) = self.raw()?;
            }
            Some(match event {
                Event::Scalar(text, style, 0, None) => {
                    Ev::Scalar(text, style == ScalarStyle::Plain, span)
                }
                Event::MappingStart(_, 0, None) => {
                    self.depth += 1;
                    Ev::MapStart(span)
                }
                Event::SequenceStart(_, 0, None) => {
                    self.depth += 1;
                    Ev::SeqStart(span)
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    self.depth = self.depth.checked_sub(1)?;
                    if self.depth == 0 {
                        self.finish()?;
                        self.done = true;
                    }
                    if matches!(event, Event::MappingEnd) {
                        Ev::MapEnd
                    } else {
                        Ev::SeqEnd
                    }
                }
                _ => return None,
            })
        })();
        if event.is_none() {
            self.done = true;
        }
        Some(event)
    }
}

struct Reader<I> {
    events: I,
    spans: SpanIndex,
    /// The JSON pointer of the node being read (one buffer, grown and cut back).
    pointer: String,
    nodes: usize,
    scalar_bytes: usize,
}

impl<'a, I: Iterator<Item = Option<Ev<'a>>>> Reader<I> {
    fn next(&mut self) -> Option<Ev<'a>> {
        self.events.next().flatten()
    }

    /// Reads the node that starts with `event`, records its entry under the current
    /// pointer, and returns its value and the span of its first event (what serde-saphyr
    /// reports as the node's location).
    fn node(&mut self, event: Ev<'a>, key: Option<Span>, depth: usize) -> Option<(Value, Span)> {
        self.nodes += 1;
        if self.nodes > MAX_NODES || depth > MAX_DEPTH {
            return None;
        }
        let (value, span, end) = match event {
            Ev::Scalar(text, plain, span) => {
                self.scalar_bytes += text.len();
                if self.scalar_bytes > MAX_SCALAR_BYTES {
                    return None;
                }
                (scalar(text, plain)?, span, span.end())
            }
            Ev::SeqStart(span) => {
                let mut end = span.end();
                let mut items = Vec::new();
                loop {
                    let event = self.next()?;
                    if matches!(event, Ev::SeqEnd) {
                        break;
                    }
                    let len = self.pointer.len();
                    self.pointer.push('/');
                    push_index(&mut self.pointer, items.len());
                    let (item, at) = self.node(event, None, depth + 1)?;
                    self.pointer.truncate(len);
                    end = end.max(at.end());
                    items.push(item);
                }
                (Value::Array(items), span, end)
            }
            Ev::MapStart(span) => {
                let mut end = span.end();
                let mut map = Map::new();
                loop {
                    let (name, key_span) = match self.next()? {
                        Ev::MapEnd => break,
                        Ev::Scalar(text, plain, at) => (key_name(text, plain)?, at),
                        _ => return None,
                    };
                    self.nodes += 1;
                    self.scalar_bytes += name.len();
                    let event = self.next()?;
                    let len = self.pointer.len();
                    super::push_token_into(&mut self.pointer, &name);
                    let (item, at) = self.node(event, Some(key_span), depth + 1)?;
                    self.pointer.truncate(len);
                    end = end.max(at.end()).max(key_span.end());
                    if map.insert(name, item).is_some() {
                        // Duplicate keys are the general path's to report.
                        return None;
                    }
                }
                (Value::Object(map), span, end)
            }
            Ev::MapEnd | Ev::SeqEnd => return None,
        };
        let entry = Entry {
            key,
            value: Span::new(span.offset, end.saturating_sub(span.offset)),
        };
        self.spans.insert(&self.pointer, entry);
        Some((value, span))
    }
}

fn push_index(pointer: &mut String, index: usize) {
    use std::fmt::Write;
    let _ = write!(pointer, "{index}");
}

/// serde-saphyr's `yaml_trim`.
fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\r', '\n'])
}

/// What serde-saphyr makes of an untagged scalar as a JSON value (YAML 1.2 core schema,
/// strict booleans), or `None` when the answer is not plainly known here.
fn scalar(text: Cow<'_, str>, plain: bool) -> Option<Value> {
    if !plain {
        return Some(Value::String(text.into_owned()));
    }
    if text.is_empty() || text == "~" || text.eq_ignore_ascii_case("null") {
        return Some(Value::Null);
    }
    let t = trim(&text);
    if t.eq_ignore_ascii_case("true") {
        return Some(Value::Bool(true));
    }
    if t.eq_ignore_ascii_case("false") {
        return Some(Value::Bool(false));
    }
    let bytes = t.as_bytes();
    match bytes.first()? {
        b'0'..=b'9' => number_or_text(t, &text),
        b'-' => match bytes.get(1)? {
            b'0'..=b'9' => number_or_text(t, &text),
            // `-x`, `-inf`: no integer, and no float but `-.inf`/`-.nan` (left below).
            b if b.is_ascii_alphabetic() => Some(Value::String(text.into_owned())),
            _ => None,
        },
        // Signs, fractions and digit separators: the general path knows their rules.
        b'+' | b'.' | b'_' => None,
        // Any other first character cannot start a YAML 1.2 number.
        _ => Some(Value::String(text.into_owned())),
    }
}

/// A scalar starting with a digit (after an optional `-`): a plain integer, or text when it
/// holds a character no integer or float literal can (`2h`, `07:00`, `5.0-beta`).
fn number_or_text(t: &str, text: &str) -> Option<Value> {
    if let Some(value) = integer(t) {
        return Some(value);
    }
    let unsigned = t.strip_prefix('-').unwrap_or(t);
    let radix = unsigned.len() >= 2
        && unsigned.as_bytes()[0] == b'0'
        && matches!(
            unsigned.as_bytes()[1],
            b'x' | b'X' | b'o' | b'O' | b'b' | b'B'
        );
    let numeric =
        |b: &u8| b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'e' | b'E' | b'+' | b'-');
    if radix || unsigned.as_bytes().iter().all(numeric) {
        return None;
    }
    Some(Value::String(text.to_string()))
}

/// A plain decimal integer without a leading zero (`0`, `17`, `-3`); anything else that
/// starts like a number (floats, `0x1F`, `1_000`, `07:00`, overflow) is left to the general path.
fn integer(t: &str) -> Option<Value> {
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let bytes = digits.as_bytes();
    let plain = !bytes.is_empty()
        && bytes.len() <= 18
        && bytes.iter().all(u8::is_ascii_digit)
        && (bytes[0] != b'0' || (bytes.len() == 1 && !negative));
    if !plain {
        return None;
    }
    let magnitude: u64 = digits.parse().ok()?;
    Some(if negative {
        Value::Number((-(magnitude as i64)).into())
    } else {
        Value::Number(magnitude.into())
    })
}

/// A mapping key as the general path names it: strings as they are, `null` for null, `true`
/// or `false` for booleans; numeric keys take the general path.
fn key_name(text: Cow<'_, str>, plain: bool) -> Option<String> {
    if plain && text == "<<" {
        return None;
    }
    Some(match scalar(text, plain)? {
        Value::String(s) => s,
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    })
}
