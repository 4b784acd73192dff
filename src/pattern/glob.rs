//! EventBridge `wildcard` patterns: reads the pattern text (`*` matches any run of
//! characters, `\*` a literal star, `\\` a backslash) and produces a matcher over strings.

/// A validated wildcard pattern, split into literal pieces around the stars.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Glob {
    /// Literal pieces; a star sits between each pair.
    pieces: Vec<String>,
}

impl Glob {
    /// Validates and compiles; the error says what is wrong with the text.
    pub(crate) fn parse(text: &str) -> Result<Glob, String> {
        let mut pieces = vec![String::new()];
        let mut chars = text.chars();
        let mut last_was_star = false;
        while let Some(c) = chars.next() {
            match c {
                '*' if last_was_star => {
                    return Err("consecutive wildcard characters ('**') are not allowed".into());
                }
                '*' => pieces.push(String::new()),
                '\\' => match chars.next() {
                    Some(e @ ('*' | '\\')) => push_char(&mut pieces, e),
                    _ => {
                        return Err(
                            "a backslash must be followed by '*' or '\\' in a wildcard".into()
                        );
                    }
                },
                c => push_char(&mut pieces, c),
            }
            last_was_star = c == '*';
        }
        Ok(Glob { pieces })
    }

    /// Whether `s` matches the whole pattern.
    pub(crate) fn matches(&self, s: &str) -> bool {
        let (first, rest) = match self.pieces.split_first() {
            Some(split) => split,
            None => return s.is_empty(),
        };
        let Some(mut tail) = s.strip_prefix(first.as_str()) else {
            return false;
        };
        let Some((last, middle)) = rest.split_last() else {
            return tail.is_empty(); // no star at all: exact
        };
        // Leftmost match of each middle piece is optimal for a star-separated pattern.
        for piece in middle {
            match tail.find(piece.as_str()) {
                Some(i) => tail = &tail[i + piece.len()..],
                None => return false,
            }
        }
        tail.len() >= last.len() && tail.ends_with(last.as_str())
    }
}

fn push_char(pieces: &mut [String], c: char) {
    if let Some(last) = pieces.last_mut() {
        last.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    fn m(p: &str, s: &str) -> bool {
        Glob::parse(p).unwrap().matches(s)
    }

    #[test]
    fn stars_match_any_run() {
        assert!(m("*bc", "bc") && m("*bc", "abcbc") && !m("*bc", "xyz"));
        assert!(m("d*f", "dexef") && m("d*f", "dexeff") && !m("d*f", "deeeefx"));
        assert!(m("12*4*", "12345") && !m("12*4*", "1235"));
        assert!(m("*", "") && m("a*a", "aa") && !m("a*a", "a"));
        assert!(m("*データ*", "x_データ_y"));
        assert!(m("exact", "exact") && !m("exact", "exactly"));
    }

    #[test]
    fn escapes_and_invalid_patterns() {
        assert!(m(r"a\*b", "a*b") && !m(r"a\*b", "axb"));
        assert!(m(r"a\\*", r"a\zz"));
        assert!(Glob::parse("foo**bar").is_err());
        assert!(Glob::parse(r"foo\x").is_err());
        assert!(Glob::parse(r"foo\").is_err());
    }
}
