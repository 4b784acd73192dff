//! A small strict JSON reader over raw bytes. Reads JSON text and produces either an ordered
//! tree ([`Json`], which keeps duplicate keys and the exact spelling of numbers, as pattern
//! validation needs) or, through [`Cursor`], the primitives the event scanner uses to walk an
//! event and skip the parts no pattern refers to without building anything.

use std::borrow::Cow;

/// Deepest nesting accepted, so hostile input cannot exhaust the stack.
pub(crate) const MAX_DEPTH: usize = 256;

/// A JSON value with object members in document order (duplicates kept) and numbers as text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// Compact serialisation (no insignificant whitespace), numbers spelled as written.
    pub(crate) fn to_compact(&self) -> String {
        let mut out = String::new();
        self.write_compact(&mut out);
        out
    }

    fn write_compact(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) => out.push_str(n),
            Json::Str(s) => write_string(s, out),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_compact(out);
                }
                out.push(']');
            }
            Json::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(k, out);
                    out.push(':');
                    v.write_compact(out);
                }
                out.push('}');
            }
        }
    }
}

/// Writes `s` as a JSON string literal.
pub(crate) fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON syntax error, located by byte offset, line and column (both 1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub offset: usize,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.message, self.line, self.column
        )
    }
}

/// Parses a whole JSON document into a [`Json`] tree.
pub(crate) fn parse(text: &str) -> Result<Json, SyntaxError> {
    let mut cur = Cursor::new(text);
    cur.ws();
    let value = cur.value(0)?;
    cur.ws();
    if cur.pos < cur.bytes.len() {
        return Err(cur.error("trailing characters after the JSON value"));
    }
    Ok(value)
}

/// Checks that `text` is one well-formed JSON document, without building anything.
pub(crate) fn validate(text: &str) -> Result<(), SyntaxError> {
    parse(text).map(|_| ())
}

/// A scalar read from JSON text: strings borrowed when they hold no escapes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    Str(Cow<'a, str>),
    Num(&'a str),
    Bool(bool),
    Null,
}

/// A read position over JSON bytes.
pub(crate) struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Cursor {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    pub(crate) fn error(&self, message: &str) -> SyntaxError {
        // The position may sit inside a multi-byte character (after a bad escape).
        let mut at = self.pos.min(self.bytes.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let upto = &self.bytes[..at];
        let line = 1 + upto.iter().filter(|&&b| b == b'\n').count();
        let line_start = upto.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let column = 1 + self.text[line_start..at].chars().count();
        SyntaxError {
            message: message.to_string(),
            offset: at,
            line,
            column,
        }
    }

    /// Skips insignificant whitespace.
    #[inline]
    pub(crate) fn ws(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.pos += 1;
        }
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Consumes `b` (after whitespace) or fails naming what was expected.
    #[inline]
    pub(crate) fn expect(&mut self, b: u8, what: &str) -> Result<(), SyntaxError> {
        self.ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected {what}")))
        }
    }

    /// After a member or element: consumes `,` (returns true) or the closing byte (false).
    #[inline]
    pub(crate) fn comma_or(&mut self, close: u8) -> Result<bool, SyntaxError> {
        self.ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(b) if b == close => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(self.error(if close == b'}' {
                "expected ',' or '}'"
            } else {
                "expected ',' or ']'"
            })),
        }
    }

    /// Consumes the first member key of an object just opened, or its `}`: None when empty.
    pub(crate) fn first_key(&mut self) -> Result<Option<Cow<'a, str>>, SyntaxError> {
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(None);
        }
        self.key().map(Some)
    }

    /// Reads `"key"` and the `:` after it.
    pub(crate) fn key(&mut self) -> Result<Cow<'a, str>, SyntaxError> {
        self.ws();
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a string key"));
        }
        let key = self.string()?;
        self.expect(b':', "':'")?;
        Ok(key)
    }

    /// Reads a string literal starting at the opening quote.
    pub(crate) fn string(&mut self) -> Result<Cow<'a, str>, SyntaxError> {
        self.pos += 1; // opening quote
        let start = self.pos;
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(self.error("unterminated string"));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    return Ok(Cow::Borrowed(&self.text[start..self.pos - 1]));
                }
                b'\\' => return self.escaped_string(start).map(Cow::Owned),
                0..=0x1f => return Err(self.error("control character in string")),
                _ => self.pos += 1,
            }
        }
    }

    /// Slow path of [`Cursor::string`]: the string holds escapes and must be rebuilt.
    fn escaped_string(&mut self, start: usize) -> Result<String, SyntaxError> {
        let mut out = String::from(&self.text[start..self.pos]);
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(self.error("unterminated string"));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                0..=0x1f => return Err(self.error("control character in string")),
                _ => {
                    // Copy one whole UTF-8 character.
                    let ch_len = utf8_len(b);
                    out.push_str(&self.text[self.pos..self.pos + ch_len]);
                    self.pos += ch_len;
                }
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), SyntaxError> {
        let Some(&b) = self.bytes.get(self.pos) else {
            return Err(self.error("unterminated escape"));
        };
        self.pos += 1;
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode_escape()?,
            _ => return Err(self.error("invalid escape")),
        };
        out.push(c);
        Ok(())
    }

    fn unicode_escape(&mut self) -> Result<char, SyntaxError> {
        let hi = self.hex4()?;
        if !(0xD800..0xDC00).contains(&hi) {
            return char::from_u32(hi).ok_or_else(|| self.error("lone surrogate in \\u escape"));
        }
        if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
            return Err(self.error("lone surrogate in \\u escape"));
        }
        self.pos += 2;
        let lo = self.hex4()?;
        if !(0xDC00..0xE000).contains(&lo) {
            return Err(self.error("invalid surrogate pair"));
        }
        let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
        char::from_u32(code).ok_or_else(|| self.error("invalid surrogate pair"))
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("short \\u escape"))?;
        let mut v = 0u32;
        for &d in digits {
            let n = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.error("bad hex digit in \\u escape"))?;
            v = v * 16 + n;
        }
        self.pos += 4;
        Ok(v)
    }

    /// Reads a number with JSON's grammar and returns its exact text.
    pub(crate) fn number(&mut self) -> Result<&'a str, SyntaxError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(self.error("invalid number: digit expected after '.'"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(self.error("invalid number: digit expected in exponent"));
            }
            self.digits();
        }
        Ok(&self.text[start..self.pos])
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), SyntaxError> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    /// Reads a scalar at the current position (after whitespace); None if it opens a container.
    pub(crate) fn scalar(&mut self) -> Result<Option<Scalar<'a>>, SyntaxError> {
        self.ws();
        let scalar = match self.peek() {
            Some(b'"') => Scalar::Str(self.string()?),
            Some(b't') => self.literal(b"true").map(|_| Scalar::Bool(true))?,
            Some(b'f') => self.literal(b"false").map(|_| Scalar::Bool(false))?,
            Some(b'n') => self.literal(b"null").map(|_| Scalar::Null)?,
            Some(b'{' | b'[') => return Ok(None),
            Some(_) => Scalar::Num(self.number()?),
            None => return Err(self.error("unexpected end of input")),
        };
        Ok(Some(scalar))
    }

    /// Reads any value into a tree.
    pub(crate) fn value(&mut self, depth: usize) -> Result<Json, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        if let Some(scalar) = self.scalar()? {
            return Ok(match scalar {
                Scalar::Str(s) => Json::Str(s.into_owned()),
                Scalar::Num(n) => Json::Num(n.to_string()),
                Scalar::Bool(b) => Json::Bool(b),
                Scalar::Null => Json::Null,
            });
        }
        if self.peek() == Some(b'{') {
            self.pos += 1;
            self.object(depth)
        } else {
            self.pos += 1;
            self.array(depth)
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, SyntaxError> {
        let mut members = Vec::new();
        let Some(mut key) = self.first_key()? else {
            return Ok(Json::Obj(members));
        };
        loop {
            let value = self.value(depth + 1)?;
            members.push((key.into_owned(), value));
            if !self.comma_or(b'}')? {
                return Ok(Json::Obj(members));
            }
            key = self.key()?;
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, SyntaxError> {
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Json::Arr(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            if !self.comma_or(b']')? {
                return Ok(Json::Arr(items));
            }
        }
    }

    /// Skips one value without building it. Strings, brackets and nesting are checked;
    /// the spelling of skipped numbers and literals is only checked loosely, for speed.
    pub(crate) fn skip_value(&mut self) -> Result<(), SyntaxError> {
        self.ws();
        match self.peek() {
            Some(b'{' | b'[') => self.skip_container(),
            Some(b'"') => self.skip_string(),
            Some(b) if b == b'-' || b.is_ascii_alphanumeric() => {
                self.skip_atom();
                Ok(())
            }
            _ => Err(self.error("expected a JSON value")),
        }
    }

    fn skip_atom(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            if !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')) {
                break;
            }
            self.pos += 1;
        }
    }

    /// Skips a string starting at its opening quote.
    fn skip_string(&mut self) -> Result<(), SyntaxError> {
        self.pos += 1;
        loop {
            match memchr2(b'"', b'\\', &self.bytes[self.pos..]) {
                Some(i) if self.bytes[self.pos + i] == b'"' => {
                    self.pos += i + 1;
                    return Ok(());
                }
                Some(i) => self.pos = (self.pos + i + 2).min(self.bytes.len()), // `\` and the escaped byte
                None => {
                    self.pos = self.bytes.len();
                    return Err(self.error("unterminated string"));
                }
            }
        }
    }

    /// Skips a whole object or array by counting brackets outside strings.
    fn skip_container(&mut self) -> Result<(), SyntaxError> {
        let mut stack: Vec<u8> = Vec::new();
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(self.error("unexpected end of input"));
            };
            match b {
                b'{' | b'[' => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(self.error("nesting too deep"));
                    }
                    stack.push(if b == b'{' { b'}' } else { b']' });
                    self.pos += 1;
                }
                b'}' | b']' => {
                    if stack.pop() != Some(b) {
                        return Err(self.error("mismatched bracket"));
                    }
                    self.pos += 1;
                    if stack.is_empty() {
                        return Ok(());
                    }
                }
                b'"' => self.skip_string()?,
                _ => self.pos += 1,
            }
        }
    }
}

/// Position of the first `a` or `b` in `hay`, eight bytes at a time (SWAR).
#[inline]
fn memchr2(a: u8, b: u8, hay: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let (pa, pb) = (LO * a as u64, LO * b as u64);
    let mut i = 0;
    while i + 8 <= hay.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&hay[i..i + 8]);
        let w = u64::from_le_bytes(word);
        let (xa, xb) = (w ^ pa, w ^ pb);
        let found = ((xa.wrapping_sub(LO) & !xa) | (xb.wrapping_sub(LO) & !xb)) & HI;
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    hay[i..]
        .iter()
        .position(|&c| c == a || c == b)
        .map(|p| p + i)
}

/// Length of the UTF-8 sequence a lead byte starts.
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_duplicates_and_number_text() {
        let v = parse(r#"{"b": 1.50, "a": [true, null], "b": "x\u00e9\n"}"#).unwrap();
        assert_eq!(
            v,
            Json::Obj(vec![
                ("b".into(), Json::Num("1.50".into())),
                ("a".into(), Json::Arr(vec![Json::Bool(true), Json::Null])),
                ("b".into(), Json::Str("xé\n".into())),
            ])
        );
        assert_eq!(v.to_compact(), r#"{"b":1.50,"a":[true,null],"b":"xé\n"}"#);
    }

    #[test]
    fn rejects_malformed_text_with_a_location() {
        let err = parse("{\n  \"a\": [1, 2 3]\n}").unwrap_err();
        assert_eq!((err.line, err.column), (2, 14));
        assert!(err.message.contains("expected ',' or ']'"));
        for bad in [
            "",
            "{",
            "[1,]",
            "01",
            "1.",
            "\"\\x\"",
            "{} x",
            "nul",
            "\"\u{1}\"",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn skips_values_and_finds_quotes() {
        let text = r#"{"a": {"b": ["}\"]", 1e5, {"c": []}]}, "z": 1}"#;
        let mut cur = Cursor::new(text);
        cur.pos = 6;
        cur.skip_value().unwrap();
        assert_eq!(&text[cur.pos..], r#", "z": 1}"#);
        assert_eq!(memchr2(b'"', b'\\', b"0123456789abc\""), Some(13));
        assert_eq!(memchr2(b'"', b'\\', b"01\\3"), Some(2));
        assert_eq!(memchr2(b'"', b'\\', b"0123456789"), None);
    }

    #[test]
    fn errors_inside_multibyte_characters_do_not_panic() {
        assert!(parse("\"\\\u{fffc}").is_err());
        let mut cur = Cursor::new("\"ab\\");
        assert!(cur.skip_value().is_err());
    }

    #[test]
    fn surrogate_pairs_decode_and_lone_ones_fail() {
        assert_eq!(parse(r#""\ud83d\ude00""#).unwrap(), Json::Str("😀".into()));
        assert!(parse(r#""\ud83d""#).is_err());
    }
}
