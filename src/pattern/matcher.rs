//! Matching proper: reads a flattened event ([`Flat`]) and the compiled conditions of one
//! `$or` branch ([`Rule`]) and produces a yes/no, with event-ruler's array consistency:
//! all the fields a branch tests must come from the same element of any array they share.

use std::borrow::Cow;

use super::cidr::IpRange;
use super::event::Flat;
use super::glob::Glob;
use super::json::Scalar;
use super::number;

/// A literal value in a pattern, compared for equality with event values of the same type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    /// A number: equal when spelled the same or when numerically equal (300 = 3.0e2).
    Num {
        text: String,
        value: Option<f64>,
    },
    Bool(bool),
    Null,
}

impl Literal {
    pub(crate) fn matches(&self, v: &Scalar) -> bool {
        match (self, v) {
            (Literal::Str(s), Scalar::Str(e)) => s == e,
            (Literal::Num { text, value }, Scalar::Num(e)) => {
                text == e || value.is_some_and(|n| number::comparable(e) == Some(n))
            }
            (Literal::Bool(b), Scalar::Bool(e)) => b == e,
            (Literal::Null, Scalar::Null) => true,
            _ => false,
        }
    }
}

/// Numeric range bounds: (value, inclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Range {
    pub lower: Option<(f64, bool)>,
    pub upper: Option<(f64, bool)>,
}

impl Range {
    fn contains(&self, x: f64) -> bool {
        let above = match self.lower {
            Some((lo, incl)) => x > lo || (incl && x == lo),
            None => true,
        };
        let below = match self.upper {
            Some((hi, incl)) => x < hi || (incl && x == hi),
            None => true,
        };
        above && below
    }
}

/// One condition a value may satisfy (the elements of a field's array are alternatives).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Matcher {
    Exact(Literal),
    /// A string literal that is an IP address: also equal to other spellings of it.
    ExactIp(IpRange, String),
    Prefix(String),
    PrefixIgnoreCase(String),
    Suffix(String),
    SuffixIgnoreCase(String),
    EqualsIgnoreCase(String),
    Wildcard(Glob),
    Numeric(Range),
    Cidr(IpRange),
    /// `exists: true`: any value at all.
    Exists,
    AnythingBut(Vec<Literal>),
    AnythingButPrefix(Vec<String>),
    AnythingButSuffix(Vec<String>),
    AnythingButIgnoreCase(Vec<String>),
    AnythingButWildcard(Vec<Glob>),
}

impl Matcher {
    /// Whether the event value `v` satisfies this condition.
    pub(crate) fn matches(&self, v: &Scalar) -> bool {
        if let Matcher::Exact(lit) = self {
            return lit.matches(v);
        }
        if let Matcher::Numeric(range) = self {
            return matches!(v, Scalar::Num(t) if number::comparable(t).is_some_and(|x| range.contains(x)));
        }
        if let Matcher::Exists = self {
            return true;
        }
        if let Matcher::AnythingBut(list) = self {
            return !list.iter().any(|lit| lit.matches(v));
        }
        match v {
            Scalar::Str(s) => self.matches_str(s),
            // String-only conditions never hold for other types; their negations always do.
            _ => matches!(
                self,
                Matcher::AnythingButPrefix(_)
                    | Matcher::AnythingButSuffix(_)
                    | Matcher::AnythingButIgnoreCase(_)
                    | Matcher::AnythingButWildcard(_)
            ),
        }
    }

    fn matches_str(&self, s: &str) -> bool {
        match self {
            Matcher::ExactIp(range, text) => s == text || range.contains_text(s),
            Matcher::Prefix(p) => s.starts_with(p.as_str()),
            Matcher::Suffix(p) => s.ends_with(p.as_str()),
            Matcher::PrefixIgnoreCase(p) => fold(s).starts_with(p.as_str()),
            Matcher::SuffixIgnoreCase(p) => fold(s).ends_with(p.as_str()),
            Matcher::EqualsIgnoreCase(p) => fold(s) == p.as_str(),
            Matcher::Wildcard(g) => g.matches(s),
            Matcher::Cidr(range) => range.contains_text(s),
            Matcher::AnythingButPrefix(ps) => !ps.iter().any(|p| s.starts_with(p.as_str())),
            Matcher::AnythingButSuffix(ps) => !ps.iter().any(|p| s.ends_with(p.as_str())),
            Matcher::AnythingButIgnoreCase(ps) => {
                let f = fold(s);
                !ps.iter().any(|p| f == p.as_str())
            }
            Matcher::AnythingButWildcard(gs) => !gs.iter().any(|g| g.matches(s)),
            Matcher::Exact(_) | Matcher::Numeric(_) | Matcher::Exists | Matcher::AnythingBut(_) => {
                false
            }
        }
    }
}

/// Case folding for the `equals-ignore-case` family (patterns are folded once, at compile).
pub(crate) fn fold(s: &str) -> Cow<'_, str> {
    if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Borrowed(s)
    } else if s.is_ascii() {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

/// The test on one field path within a branch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldTest {
    /// Path id, local to the owning `Pattern` or `Machine`.
    pub path: u32,
    /// Alternatives a present value may satisfy.
    pub matchers: Vec<Matcher>,
    /// `exists: false` is among the alternatives: the field may be absent.
    pub absent_ok: bool,
}

impl FieldTest {
    pub(crate) fn accepts(&self, v: &Scalar) -> bool {
        self.matchers.iter().any(|m| m.matches(v))
    }
}

/// One `$or` branch after expansion: every field test must hold.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    pub fields: Vec<FieldTest>,
}

impl Rule {
    /// Whether the flattened event satisfies every field, array-consistently.
    pub(crate) fn matches(&self, flat: &Flat) -> bool {
        let mut search = Search {
            flat,
            fields: &self.fields,
            chosen: Vec::new(),
            absent: Vec::new(),
            prune: !self.fields.iter().any(|f| f.absent_ok),
        };
        search.from(0)
    }
}

/// Backtracking search for one consistent choice of values, one per field.
struct Search<'r, 'f, 'a> {
    flat: &'f Flat<'a>,
    fields: &'r [FieldTest],
    /// Array memberships (array id, element index) implied by the values chosen so far.
    chosen: Vec<(u32, u32)>,
    /// Paths that must have no value consistent with the final choice.
    absent: Vec<u32>,
    /// Whether a failed unconstrained choice proves the field's other values fail too
    /// (not with `exists: false` tests, which more constraints can make true).
    prune: bool,
}

impl Search<'_, '_, '_> {
    fn from(&mut self, i: usize) -> bool {
        let Some(test) = self.fields.get(i) else {
            return self.absent_holds();
        };
        for field in self.flat.values(test.path) {
            let members = self.flat.membership(field);
            if !test.accepts(&field.value) || !consistent(&self.chosen, members) {
                continue;
            }
            let mark = self.chosen.len();
            let adds = extend(&mut self.chosen, members);
            if self.from(i + 1) {
                return true;
            }
            self.chosen.truncate(mark);
            if !adds && self.prune {
                // A value adding no constraint failed, so more constrained ones would too.
                break;
            }
        }
        if test.absent_ok {
            self.absent.push(test.path);
            if self.from(i + 1) {
                return true;
            }
            self.absent.pop();
        }
        false
    }

    fn absent_holds(&self) -> bool {
        self.absent.iter().all(|&path| {
            self.flat
                .values(path)
                .iter()
                .all(|f| !consistent(&self.chosen, self.flat.membership(f)))
        })
    }
}

/// Whether two membership sets never put one array at two different indexes.
pub(crate) fn consistent(a: &[(u32, u32)], b: &[(u32, u32)]) -> bool {
    b.iter()
        .all(|&(id, ix)| a.iter().all(|&(aid, aix)| aid != id || aix == ix))
}

/// Adds the memberships of `b` missing from `a`; returns whether any was added.
fn extend(a: &mut Vec<(u32, u32)>, b: &[(u32, u32)]) -> bool {
    let before = a.len();
    for &m in b {
        if !a[..before].contains(&m) {
            a.push(m);
        }
    }
    a.len() > before
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Scalar<'_> {
        Scalar::Str(Cow::Borrowed(v))
    }

    #[test]
    fn numbers_equal_by_value_or_spelling() {
        let lit = Literal::Num {
            text: "300".into(),
            value: Some(300.0),
        };
        assert!(lit.matches(&Scalar::Num("3.0e2")));
        assert!(!lit.matches(&s("300")));
        let huge = Literal::Num {
            text: "1e999".into(),
            value: None,
        };
        assert!(huge.matches(&Scalar::Num("1e999")) && !huge.matches(&Scalar::Num("1e998")));
    }

    #[test]
    fn anything_but_string_forms_hold_for_non_strings() {
        let m = Matcher::AnythingButPrefix(vec!["a".into()]);
        assert!(m.matches(&Scalar::Num("1")) && !m.matches(&s("abc")) && m.matches(&s("b")));
        assert!(!Matcher::Prefix("1".into()).matches(&Scalar::Num("1")));
        let ab = Matcher::AnythingBut(vec![Literal::Num {
            text: "444".into(),
            value: Some(444.0),
        }]);
        assert!(ab.matches(&s("444")) && !ab.matches(&Scalar::Num("444.0")));
    }

    #[test]
    fn ignore_case_folds_unicode() {
        assert!(Matcher::EqualsIgnoreCase("straße".into()).matches(&s("STRAßE")));
        assert!(Matcher::SuffixIgnoreCase("hood".into()).matches(&s("childhOoD")));
    }

    #[test]
    fn numeric_ranges_respect_bounds() {
        let r = Matcher::Numeric(Range {
            lower: Some((0.0, false)),
            upper: Some((5.0, true)),
        });
        assert!(r.matches(&Scalar::Num("5")) && !r.matches(&Scalar::Num("0")));
        assert!(!r.matches(&s("3")) && !r.matches(&Scalar::Num("1e999")));
    }

    #[test]
    fn absence_is_judged_against_the_whole_choice() {
        use crate::pattern::Pattern;
        // Only the second element of `d` has an `a` without a `b`.
        let p = Pattern::parse(r#"{"d": {"a": ["x"], "b": [{"exists": false}]}}"#).unwrap();
        assert_eq!(
            p.matches_json(r#"{"d": [{"a": "x", "b": 1}, {"a": "x"}]}"#),
            Ok(true)
        );
        assert_eq!(
            p.matches_json(r#"{"d": [{"a": "x", "b": 1}, {"a": "y"}]}"#),
            Ok(false)
        );
    }

    #[test]
    fn consistency_of_memberships() {
        assert!(consistent(&[(0, 1)], &[(0, 1), (2, 0)]));
        assert!(!consistent(&[(0, 1)], &[(0, 2)]));
        assert!(consistent(&[], &[(0, 2)]));
    }
}
