//! Source files and byte spans: reads nothing itself; turns byte offsets into the 1-based
//! line and column numbers that diagnostics print.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A half-open byte range `[offset, offset + len)` in a source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
}

impl Span {
    pub const fn new(offset: usize, len: usize) -> Self {
        Self { offset, len }
    }

    pub const fn end(&self) -> usize {
        self.offset + self.len
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        let start = self.offset.min(other.offset);
        let end = self.end().max(other.end());
        Span::new(start, end - start)
    }
}

/// A 1-based line and column (columns count characters, as editors do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

/// A file's path (as the user should see it) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: Arc<str>,
    /// Made on the first position asked for: most files validated have no diagnostic.
    line_starts: OnceLock<Arc<[usize]>>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
            line_starts: OnceLock::new(),
        }
    }

    /// Byte offsets where lines start.
    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let mut starts = vec![0];
            starts.extend(
                self.text
                    .bytes()
                    .enumerate()
                    .filter(|&(_, b)| b == b'\n')
                    .map(|(i, _)| i + 1),
            );
            starts.into()
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Display name with forward slashes, stable across platforms.
    pub fn name(&self) -> String {
        self.path.to_string_lossy().replace('\\', "/")
    }

    /// Line and column of a byte offset, clamped into the text.
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = self.clamp(offset);
        let line_starts = self.line_starts();
        let line = line_starts.partition_point(|&start| start <= offset) - 1;
        let start = line_starts[line];
        let column = self.text[start..offset].chars().count() + 1;
        LineCol {
            line: line + 1,
            column,
        }
    }

    /// Byte offset of a 1-based line and column (character-based), clamped into the text.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let Some(&start) = self.line_starts().get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        let line_text = rest.split('\n').next().unwrap_or("");
        let byte = line_text
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(line_text.len(), |(i, _)| i);
        start + byte
    }

    /// Snaps an offset down to a char boundary inside the text.
    pub fn clamp(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// A span clamped into the text, on char boundaries.
    pub fn clamp_span(&self, span: Span) -> Span {
        let start = self.clamp(span.offset);
        let end = self.clamp(span.end()).max(start);
        Span::new(start, end - start)
    }

    /// An empty span grown to the word at it (or, at a line end, the character before), so a
    /// parser's point location still underlines something.
    pub fn widen(&self, span: Span) -> Span {
        let span = self.clamp_span(span);
        if span.len > 0 || self.text.trim().is_empty() {
            return span;
        }
        let rest = &self.text[span.offset..];
        let word = rest.find(char::is_whitespace).unwrap_or(rest.len());
        if word > 0 {
            return Span::new(span.offset, word);
        }
        let before = self.text[..span.offset].trim_end();
        match before.char_indices().last() {
            Some((i, c)) => Span::new(i, c.len_utf8()),
            None => span,
        }
    }

    pub fn slice(&self, span: Span) -> &str {
        let span = self.clamp_span(span);
        &self.text[span.offset..span.end()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_chars() {
        let file = SourceFile::new("p.yaml", "a: 1\nbé: 2\n");
        assert_eq!(file.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(file.line_col(5), LineCol { line: 2, column: 1 });
        // "é" is two bytes; the colon after it is column 3.
        assert_eq!(file.line_col(8), LineCol { line: 2, column: 3 });
        assert_eq!(file.offset_of(2, 3), 8);
    }

    #[test]
    fn offsets_past_the_end_are_clamped() {
        let file = SourceFile::new("p.yaml", "é");
        assert_eq!(file.clamp(1), 0);
        assert_eq!(file.clamp_span(Span::new(1, 10)), Span::new(0, 2));
    }
}
