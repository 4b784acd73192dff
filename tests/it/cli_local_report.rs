//! `dpc local run --report FILE` end to end: the HTML page of both examples (and of a failing
//! upstream) is well formed (checked by Python's html.parser with a strict tag balance), self
//! contained (no script, no external asset), holds one Gantt bar per run, one node per
//! pipeline and the edges that led to triggers; it is written atomically, and said so on
//! stderr unless --quiet.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common::{ROOT, Run, dpc};

/// The timeline events that end a run: one per run.
const ENDS: [&str; 5] = [
    "succeeded",
    "failed",
    "timed-out",
    "aborted",
    "duplicate-ended",
];

/// `dpc local run PATH --from 2026-11-26 --output json --report report.html` in `dir`:
/// the run, the executions that ended (from the JSON lines) and the page.
fn play(dir: &Path, path: &str, extra: &[&str]) -> (Run, Vec<String>, String) {
    let run = dpc(["local", "run", "--output", "json", "--from", "2026-11-26"])
        .arg(Path::new(ROOT).join(path))
        .args(["--report", "report.html"])
        .args(extra)
        .current_dir(dir)
        .run();
    let ended = run
        .stdout()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("one JSON object per line"))
        .filter(|e| ENDS.contains(&e["event"].as_str().unwrap_or_default()))
        .map(|e| e["execution"].as_str().unwrap_or_default().to_string())
        .collect();
    let html = std::fs::read_to_string(dir.join("report.html")).expect("the report is written");
    (run, ended, html)
}

/// Python's html.parser over the page: every non-void tag closed in order, a doctype, no
/// script/link/img/iframe/object/embed, no href/src that is not a `#fragment`, no `on…`
/// handler, no `@import` or `url(…)` other than `url(#…)` in the style sheet.
const CHECKER: &str = r#"
import sys
from html.parser import HTMLParser
VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr'}
BANNED = {'script', 'link', 'img', 'iframe', 'object', 'embed', 'audio', 'video', 'source', 'image', 'use', 'foreignobject'}
class Strict(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.doctype = [], [], False
    def handle_decl(self, decl):
        self.doctype = self.doctype or decl.lower() == 'doctype html'
    def check(self, tag, attrs):
        if tag in BANNED:
            self.errors.append(f'<{tag}> at {self.getpos()}')
        for k, v in attrs:
            if k in ('href', 'src', 'xlink:href', 'srcset', 'action', 'data') and not (v or '').startswith('#'):
                self.errors.append(f'{k}="{v}" at {self.getpos()}')
            if k.startswith('on'):
                self.errors.append(f'handler {k} at {self.getpos()}')
    def handle_starttag(self, tag, attrs):
        self.check(tag, attrs)
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))
    def handle_startendtag(self, tag, attrs):
        self.check(tag, attrs)
    def handle_endtag(self, tag):
        if tag in VOID or not self.stack or self.stack[-1][0] != tag:
            top = self.stack[-1] if self.stack else None
            self.errors.append(f'</{tag}> at {self.getpos()} while {top} is open')
            return
        self.stack.pop()
    def handle_data(self, data):
        if self.stack and self.stack[-1][0] == 'style':
            if '@import' in data or 'url(' in data.replace('url(#', ''):
                self.errors.append('an external url in the style sheet')
parser = Strict()
parser.feed(sys.stdin.read())
parser.close()
if not parser.doctype:
    parser.errors.append('no <!DOCTYPE html>')
if parser.stack:
    parser.errors.append(f'never closed: {parser.stack}')
print('\n'.join(parser.errors))
sys.exit(1 if parser.errors else 0)
"#;

/// The page passes [`CHECKER`], and every `&` starts a character reference.
pub(crate) fn assert_well_formed(html: &str) {
    let mut child = Command::new("python3")
        .args(["-c", CHECKER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (README: the tests need Python 3)");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(html.as_bytes()).expect("write the page");
    }
    let out = child.wait_with_output().expect("python3 ends");
    assert!(
        out.status.success(),
        "the page is not well formed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for (i, _) in html.match_indices('&') {
        let rest = &html[i + 1..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '#')
            .collect();
        assert!(
            !name.is_empty() && rest[name.len()..].starts_with(';'),
            "a bare & at byte {i}: {}",
            &html[i..(i + 30).min(html.len())]
        );
    }
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "the page holds a script");
    for attr in ["href=", "src="] {
        for (i, _) in lower.match_indices(attr) {
            let value = &lower[i + attr.len()..(i + attr.len() + 12).min(lower.len())];
            assert!(
                !value.contains("http") && !value.contains("//"),
                "an external asset: {}",
                &html[i..(i + 60).min(html.len())]
            );
        }
    }
}

/// The class attributes of every `<tag class="…">` in the page.
fn classes<'a>(html: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag} class=\"");
    html.match_indices(&open)
        .filter_map(|(i, _)| {
            let rest = &html[i + open.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

#[test]
fn the_case_study_report_has_a_bar_per_run_a_node_per_pipeline_and_the_fired_edges() {
    let dir = tempfile::tempdir().expect("tmp");
    let (run, ended, html) = play(dir.path(), "examples/case-study", &[]);
    run.assert_code(0)
        .assert_stderr_contains("wrote report report.html");
    assert_well_formed(&html);
    assert_eq!(ended.len(), 3, "listings, searches, pipeline-x");
    assert_eq!(count(&html, "<rect class=\"run"), ended.len());
    assert_eq!(count(&html, "<rect class=\"run succeeded\""), 3);
    for execution in &ended {
        assert!(html.contains(execution.as_str()), "{execution} is shown");
    }
    assert_eq!(count(&html, "class=\"node pipeline\""), 4);
    assert_eq!(
        count(&html, "class=\"node product\""),
        1,
        "rent-journey/metric-x"
    );
    // Two schedule fires (listings, searches), one trigger (pipeline-x).
    assert_eq!(count(&html, "<circle class=\"mark scheduled\""), 2);
    assert_eq!(count(&html, "<polygon class=\"mark triggered\""), 1);
    // pipeline-x was triggered by listings and searches; the fallback's edges did nothing.
    let edges = classes(&html, "path");
    assert_eq!(edges.len(), 5, "4 leaves and 1 publish: {edges:?}");
    assert_eq!(
        edges.iter().filter(|c| c.ends_with(" fired")).count(),
        2,
        "{edges:?}"
    );
    assert_eq!(
        edges.iter().filter(|c| c.contains("on-failure")).count(),
        2,
        "{edges:?}"
    );
    assert_eq!(
        edges.iter().filter(|c| **c == "edge publish used").count(),
        1
    );
    // The axis is zoomed to 03:00–06:00 with hour ticks; the tables are there.
    for label in [">03:00<", ">04:00<", ">05:00<", ">06:00<", ">2026-11-26<"] {
        assert!(html.contains(label), "axis label {label}");
    }
    assert!(!html.contains(">02:00<") && !html.contains(">07:00<"));
    assert_eq!(count(&html, "<table class=\"runs\">"), 1);
    assert_eq!(
        count(&html, "<tr class=\"entry\">"),
        run.stdout().lines().count(),
        "one row per timeline entry"
    );
    // Written atomically: nothing but the report beside it.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read the folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("report"))
        .collect();
    names.sort();
    assert_eq!(names, ["report.html"]);
}

#[test]
fn the_data_mesh_report_shows_eight_pipelines_and_every_trigger_through_data_products() {
    let dir = tempfile::tempdir().expect("tmp");
    let (run, ended, html) = play(dir.path(), "examples/data-mesh", &[]);
    run.assert_code(0);
    assert_well_formed(&html);
    assert_eq!(ended.len(), 8);
    assert_eq!(count(&html, "<rect class=\"run"), 8);
    assert_eq!(count(&html, "class=\"node pipeline\""), 8);
    assert_eq!(count(&html, "<polygon class=\"mark triggered\""), 4);
    // d1-ds1 on RD1+RD2, d1-ds2 on RD3, d1-ds3 on DS1+DS2, d1-ds4 on DS3+D2/DS1.
    let edges = classes(&html, "path");
    assert_eq!(
        edges.iter().filter(|c| **c == "edge leaf fired").count(),
        7,
        "{edges:?}"
    );
    assert_eq!(
        edges
            .iter()
            .filter(|c| c.starts_with("edge leaf") && !c.ends_with(" fired"))
            .count(),
        0,
        "every leaf led to a trigger: {edges:?}"
    );
    // Grouped by account: the three account bands of the Gantt chart in order.
    let at = |text: &str| html.find(text).unwrap_or(usize::MAX);
    assert!(at("account 444444444444") < at("account 555555555555"));
    assert!(at("account 555555555555") < at("account 666666666666"));
}

#[test]
fn a_failing_upstream_shows_a_failed_bar_and_the_fallback_triggered_on_failure() {
    let dir = tempfile::tempdir().expect("tmp");
    let (run, ended, html) = play(dir.path(), "examples/case-study", &["--fail", "searches"]);
    run.assert_code(1);
    assert_well_formed(&html);
    assert_eq!(count(&html, "<rect class=\"run"), ended.len());
    assert_eq!(count(&html, "<rect class=\"run failed\""), 1);
    assert!(
        html.contains("States.TaskFailed"),
        "the error is in the table"
    );
    let edges = classes(&html, "path");
    assert_eq!(
        edges
            .iter()
            .filter(|c| **c == "edge leaf on-failure fired")
            .count(),
        1,
        "searches → pipeline-x-fallback: {edges:?}"
    );
}

#[test]
fn quiet_writes_the_report_into_a_new_folder_without_saying_so() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = dpc(["local", "run", "--quiet", "--from", "2026-11-26"])
        .arg(Path::new(ROOT).join("examples/case-study"))
        .args(["--report", "out/nested/report.html"])
        .current_dir(dir.path())
        .run();
    run.assert_code(0);
    assert!(
        !run.stderr().contains("wrote report"),
        "quiet: {}",
        run.stderr()
    );
    let html = std::fs::read_to_string(dir.path().join("out/nested/report.html"))
        .expect("the report is written");
    assert_well_formed(&html);
}
