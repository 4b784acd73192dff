//! Every invalid fixture under `tests/fixtures/` is validated and its diagnostics snapshotted
//! (code, place, message, help). Also checked: every diagnostic points at real text inside
//! its file, and every diagnostic code of dpc is produced by at least one fixture.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use dpc::diag::codes;
use dpc::diag::report::region;
use dpc::pipeline::load::{Validated as Outcome, validate_tree as collect};

fn now() -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 21)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("fixed date")
}

fn relative(path: &Path) -> PathBuf {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

fn validate(path: &Path) -> Outcome {
    collect(&[relative(path)], now()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn render(outcome: &Outcome) -> String {
    let mut out = String::new();
    for d in &outcome.diagnostics {
        out.push_str(&format!(
            "{} {}\n  {}\n",
            d.severity.as_str(),
            d.code.id,
            d.message
        ));
        for label in &d.labels {
            let r = region(label);
            let excerpt = label
                .file
                .slice(label.span)
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(60)
                .collect::<String>();
            out.push_str(&format!(
                "  at {}:{}:{}-{}:{} `{excerpt}`",
                label.file.name(),
                r.line,
                r.column,
                r.end_line,
                r.end_column
            ));
            if let Some(text) = &label.text {
                out.push_str(&format!(" ({text})"));
            }
            out.push('\n');
        }
        if let Some(help) = &d.help {
            out.push_str(&format!("  help: {help}\n"));
        }
    }
    out
}

/// A label must cover real text of its file, not the whole file as a fallback.
fn assert_real_spans(outcome: &Outcome, fixture: &Path) {
    for d in &outcome.diagnostics {
        assert!(
            !d.labels.is_empty(),
            "{}: {} has no location",
            fixture.display(),
            d.code.id
        );
        for label in &d.labels {
            let len = label.file.text.len();
            assert!(
                label.span.end() <= len,
                "{}: {} span outside the file",
                fixture.display(),
                d.code.id
            );
            let whole = label.span.offset == 0 && label.span.len == len && len > 0;
            assert!(
                !whole,
                "{}: {} labels the whole file",
                fixture.display(),
                d.code.id
            );
            let empty_file = label.file.text.trim().is_empty();
            assert!(
                label.span.len > 0 || empty_file,
                "{}: {} has an empty span",
                fixture.display(),
                d.code.id
            );
        }
    }
}

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn subdirs(name: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixture_dir(name))
        .expect("fixture dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn single_file_fixtures() {
    insta::glob!("../fixtures/invalid", "*.yaml", |path| {
        let outcome = validate(path);
        assert!(
            !outcome.diagnostics.is_empty(),
            "{} produced no diagnostic",
            path.display()
        );
        assert_real_spans(&outcome, path);
        insta::assert_snapshot!(render(&outcome));
    });
}

#[test]
fn tree_and_config_fixtures() {
    for group in ["invalid-trees", "invalid-configs"] {
        for dir in subdirs(group) {
            let outcome = validate(&dir);
            assert!(
                !outcome.diagnostics.is_empty(),
                "{} produced no diagnostic",
                dir.display()
            );
            assert_real_spans(&outcome, &dir);
            let name = format!(
                "{group}__{}",
                dir.file_name().and_then(|n| n.to_str()).unwrap_or_default()
            );
            insta::assert_snapshot!(name, render(&outcome));
        }
    }
}

#[test]
fn at_least_forty_single_file_fixtures() {
    let count = std::fs::read_dir(fixture_dir("invalid"))
        .expect("fixtures")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        })
        .count();
    assert!(count >= 40, "only {count} invalid fixtures");
}

#[test]
fn every_code_is_produced_by_a_fixture() {
    let mut seen = BTreeSet::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixture_dir("invalid"))
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.extend(subdirs("invalid-trees"));
    paths.extend(subdirs("invalid-configs"));
    for path in paths {
        seen.extend(validate(&path).diagnostics.iter().map(|d| d.code.id));
    }
    // Unreadable files cannot be committed as fixtures; the CLI test covers them.
    seen.insert(codes::IO_READ.id);
    let missing: Vec<&str> = codes::ALL
        .iter()
        .map(|c| c.id)
        .filter(|id| !seen.contains(id))
        .collect();
    assert!(missing.is_empty(), "codes without a fixture: {missing:?}");
}

#[test]
fn examples_are_valid() {
    let outcome = validate(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"));
    assert!(outcome.diagnostics.is_empty(), "{}", render(&outcome));
    assert_eq!(outcome.summary.pipelines, 12);
}
