//! Numbers as EventBridge compares them: reads the text of a JSON number and produces an
//! `f64`, or nothing when the value cannot be compared (it overflows to infinity, or
//! underflows to zero although its digits are not all zero).

/// Parses JSON number text into a comparable `f64`.
pub(crate) fn comparable(text: &str) -> Option<f64> {
    let value: f64 = text.parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    if value == 0.0 && has_nonzero_mantissa(text) {
        return None; // e.g. 1E-325: rounding to zero would silently change its meaning
    }
    Some(if value == 0.0 { 0.0 } else { value }) // -0 compares as 0
}

/// Whether any digit before the exponent is non-zero.
fn has_nonzero_mantissa(text: &str) -> bool {
    text.bytes()
        .take_while(|b| !matches!(b, b'e' | b'E'))
        .any(|b| matches!(b, b'1'..=b'9'))
}

#[cfg(test)]
mod tests {
    use super::comparable;

    #[test]
    fn equal_values_spelled_differently_compare_equal() {
        assert_eq!(comparable("300"), comparable("3.0e2"));
        assert_eq!(comparable("-0"), Some(0.0));
        assert_ne!(
            comparable("27.807807921694092"),
            comparable("27.80780792169409")
        );
    }

    #[test]
    fn out_of_range_numbers_are_not_comparable() {
        assert_eq!(comparable("1E309"), None);
        assert_eq!(comparable("2.0e422"), None);
        assert_eq!(comparable("1E-325"), None);
        assert_eq!(comparable("0e-999"), Some(0.0));
    }
}
