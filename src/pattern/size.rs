//! Pattern size, as EventBridge limits it: reads a compiled [`Pattern`] and produces its
//! `$or` combination count and its length, and checks both against the limits.

use super::compile::Pattern;

/// Most `$or` combinations EventBridge accepts in one pattern.
pub const MAX_COMBINATIONS: usize = 1000;
/// EventBridge's default maximum pattern length, in characters.
pub const DEFAULT_MAX_LENGTH: usize = 2048;

/// A pattern over EventBridge's limits; carries both numbers and both limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "event pattern too large: {combinations} $or combinations (limit {max_combinations}), \
     {length} characters (limit {max_length})"
)]
pub struct SizeError {
    pub combinations: usize,
    pub max_combinations: usize,
    pub length: usize,
    pub max_length: usize,
}

impl Pattern {
    /// Number of `$or` combinations: the branches the pattern expands to (1 without `$or`).
    pub fn combinations(&self) -> usize {
        self.branches.len()
    }

    /// Length in characters of the pattern's compact JSON (see [`Pattern::to_json`]).
    pub fn len(&self) -> usize {
        self.to_json().chars().count()
    }

    /// Always false: a valid pattern tests at least one field.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Checks the combination count against [`MAX_COMBINATIONS`] and the length against
    /// `max_length` (EventBridge's default is [`DEFAULT_MAX_LENGTH`]).
    pub fn check_size(&self, max_length: usize) -> Result<(), SizeError> {
        let (combinations, length) = (self.combinations(), self.len());
        if combinations <= MAX_COMBINATIONS && length <= max_length {
            return Ok(());
        }
        Err(SizeError {
            combinations,
            max_combinations: MAX_COMBINATIONS,
            length,
            max_length,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_combinations_and_compact_length() {
        let p = Pattern::parse(r#"{ "source": ["a"], "$or": [ {"x": [1]}, {"y": [2]} ], "d": {"$or": [{"p": [1]}, {"q": [1]}, {"r": [1]}]} }"#).unwrap();
        assert_eq!(p.combinations(), 6);
        assert_eq!(
            p.to_json(),
            r#"{"source":["a"],"$or":[{"x":[1]},{"y":[2]}],"d":{"$or":[{"p":[1]},{"q":[1]},{"r":[1]}]}}"#
        );
        assert_eq!(p.len(), p.to_json().len());
        assert!(p.check_size(DEFAULT_MAX_LENGTH).is_ok());
        let err = p.check_size(10).unwrap_err();
        assert_eq!((err.combinations, err.length), (6, p.len()));
        assert!(err.to_string().contains("6 $or combinations"));
    }

    #[test]
    fn over_a_thousand_combinations_is_reported_not_refused() {
        let alt = (0..11)
            .map(|i| format!(r#"{{"f{i}": [1]}}"#))
            .collect::<Vec<_>>()
            .join(",");
        let text = format!(
            r#"{{"a": {{"$or": [{alt}]}}, "b": {{"$or": [{alt}]}}, "c": {{"$or": [{alt}]}}}}"#
        );
        let p = Pattern::parse(&text).unwrap();
        assert_eq!(p.combinations(), 1331);
        assert_eq!(
            p.check_size(DEFAULT_MAX_LENGTH).unwrap_err().combinations,
            1331
        );
    }
}
