//! Robustness of validation: arbitrary bytes and mutations of valid pipeline files never make
//! `validate` panic or hang, and every diagnostic's span lies inside its file.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use dpc::diag::source::SourceFile;
use dpc::pipeline::validate::{self, Context};
use proptest::prelude::*;

const EXAMPLES: &[&str] = &[
    include_str!("../../examples/case-study/pipeline-x/pipeline.yaml"),
    include_str!("../../examples/case-study/pipeline-x-fallback/pipeline.yaml"),
    include_str!("../../examples/case-study/listings/pipeline.yaml"),
    include_str!("../../examples/data-mesh/d1-ds4/pipeline.yaml"),
];

/// Characters that matter to YAML and to dpc's checks, so mutations reach deep paths.
const ALPHABET: &[&str] = &[
    " ",
    "  ",
    "\n",
    "\t",
    ":",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "\"",
    "'",
    "&a ",
    "*a",
    "#",
    "?",
    "|",
    ">",
    "!",
    "%",
    "@",
    "`",
    "~",
    "null",
    "true",
    "0",
    "-1",
    "99999999999999999999",
    "1.5e309",
    "é",
    "\u{2028}",
    "{{",
    "}}",
    "allOf:",
    "anyOf:",
    "status: [FAILED]",
    "hour: 25",
    "cron: \"0 3 * * ? *\"",
    "account: \"1\"",
    "name: x",
    "timezone: Europe/Berlin",
    "<<: *a",
    "---",
    "...",
    "\r\n",
    "\u{feff}",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), 0..ALPHABET.len()).prop_map(|(a, i)| Mutation::Insert(a, i)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    match m {
        Mutation::Delete(at, n) => {
            let start = boundary(text, *at);
            let end = boundary(text, (start + n).min(text.len()));
            format!("{}{}", &text[..start], &text[end.max(start)..])
        }
        Mutation::Insert(at, i) => {
            let at = boundary(text, *at);
            format!("{}{}{}", &text[..at], ALPHABET[*i], &text[at..])
        }
        Mutation::DuplicateLine(i) if !lines.is_empty() => {
            let i = i % lines.len();
            lines.insert(i, lines[i]);
            lines.concat()
        }
        Mutation::SwapLines(a, b) if !lines.is_empty() => {
            let (a, b) = (a % lines.len(), b % lines.len());
            lines.swap(a, b);
            lines.concat()
        }
        Mutation::Truncate(at) => text[..boundary(text, *at)].to_string(),
        _ => text.to_string(),
    }
}

/// Validates and checks the invariants; returns how long it took.
fn check(text: String) -> Duration {
    let ctx = Context {
        today: NaiveDate::from_ymd_opt(2026, 11, 21).expect("date"),
        file_exists: &|_| true,
    };
    let file = Arc::new(SourceFile::new("pipeline.yaml", text));
    let started = Instant::now();
    let checked = validate::pipeline(&file, Path::new("."), &ctx);
    let took = started.elapsed();
    for d in &checked.diagnostics {
        for label in &d.labels {
            assert!(
                label.span.end() <= file.text.len(),
                "{} span {:?} outside {} bytes",
                d.code.id,
                label.span,
                file.text.len()
            );
            assert!(
                file.text.is_char_boundary(label.span.offset)
                    && file.text.is_char_boundary(label.span.end())
            );
        }
    }
    took
}

/// Far above the ~0.1 ms a file takes: only a hang or a blow-up would cross it.
const NO_HANG: Duration = Duration::from_secs(2);

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let took = check(String::from_utf8_lossy(&bytes).into_owned());
        prop_assert!(took < NO_HANG, "took {took:?}");
    }

    #[test]
    fn mutated_valid_files_never_panic(
        example in 0..EXAMPLES.len(),
        mutations in proptest::collection::vec(mutation(), 1..8),
    ) {
        let text = mutations.iter().fold(EXAMPLES[example].to_string(), |t, m| apply(&t, m));
        let took = check(text);
        prop_assert!(took < NO_HANG, "took {took:?}");
    }
}

#[test]
fn unmutated_examples_are_valid() {
    for text in EXAMPLES {
        let ctx = Context {
            today: NaiveDate::from_ymd_opt(2026, 11, 21).expect("date"),
            file_exists: &|_| true,
        };
        let file = Arc::new(SourceFile::new("pipeline.yaml", *text));
        let checked = validate::pipeline(&file, Path::new("."), &ctx);
        assert!(checked.value.is_some(), "{:?}", checked.diagnostics);
    }
}
