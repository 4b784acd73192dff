//! The HTML report of `dpc local run --report`: reads the local pipelines, what was played
//! (timeline and runs), the manager's final states and the played window, and produces one
//! self-contained HTML page (inline CSS and inline SVG, no script, no external asset): a
//! Gantt chart of the runs, the dependency graph with the triggers that fired, the final
//! states, the runs and the timeline. Pure: the caller writes the page.

use std::collections::BTreeMap;

use chrono::{DateTime, Timelike};

use super::runtime::{Entry, Played, RunRecord};
use super::world::LocalPipeline;
use crate::lineage::svg;
use crate::manager::PipelineStatus;
use crate::manager::registry::Upstream;
use crate::manager::time::{Millis, format_time};

const HOUR: Millis = 3_600_000;

/// The page, as one string.
pub fn render(
    pipelines: &[LocalPipeline],
    played: &Played,
    states: &[PipelineStatus],
    from: Millis,
    until: Millis,
) -> String {
    let play = Play {
        timeline: &played.timeline,
        runs: &played.runs,
        events: played.events,
    };
    page(pipelines, &play, states, from, until)
}

/// What the page shows of [`Played`].
struct Play<'a> {
    timeline: &'a [Entry],
    runs: &'a [RunRecord],
    events: usize,
}

fn page(
    pipelines: &[LocalPipeline],
    played: &Play<'_>,
    states: &[PipelineStatus],
    from: Millis,
    until: Millis,
) -> String {
    let rows = rows(pipelines, played, states);
    let mut page = String::new();
    page.push_str(HEAD);
    page.push_str(svg::CSS);
    page.push_str(HEAD_END);
    page.push_str(&summary(pipelines, played, &rows, from, until));
    page.push_str("<h2 id=\"timeline-chart\">Runs over time (UTC)</h2>\n");
    page.push_str(&gantt(&rows, played, from, until));
    page.push_str("<h2 id=\"graph\">Dependencies</h2>\n");
    page.push_str(&graph(pipelines, played, &rows));
    page.push_str("<h2 id=\"states\">Final states</h2>\n");
    page.push_str(&states_table(states));
    page.push_str("<h2 id=\"runs\">Runs</h2>\n");
    page.push_str(&runs_table(played.runs));
    page.push_str("<h2 id=\"entries\">Timeline</h2>\n");
    page.push_str(&timeline_table(played.timeline));
    page.push_str("</body>\n</html>\n");
    page
}

pub use crate::lineage::svg::escape;

const HEAD: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dpc local run</title>
<style>
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 24px; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.facts { color: #57606a; margin: 0 0 4px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.chart { overflow-x: auto; }
svg { font: 12px system-ui, -apple-system, "Segoe UI", sans-serif; }
svg .small { font-size: 10px; fill: #57606a; }
svg .account { font-weight: 600; fill: #57606a; }
svg .band { fill: #f6f8fa; }
svg .grid { stroke: #d8dee4; stroke-width: 1; }
svg .axis { stroke: #8c959f; stroke-width: 1; }
svg .window { stroke: #8c959f; stroke-dasharray: 4 3; }
.succeeded { fill: #2da44e; background: #2da44e; }
.failed { fill: #cf222e; background: #cf222e; }
.timed-out { fill: #e16f24; background: #e16f24; }
.aborted { fill: #6e7781; background: #6e7781; }
.duplicate { fill: #9cc3f5; background: #9cc3f5; }
.other { fill: #bf8700; background: #bf8700; }
.idle { fill: #ffffff; }
svg .run { stroke: #1f2328; stroke-width: 0.5; }
svg .run.duplicate { stroke-dasharray: 2 1; }
svg .mark.scheduled { fill: #ffffff; stroke: #0969da; stroke-width: 1.5; }
svg .mark.triggered { fill: #8250df; stroke: #ffffff; stroke-width: 0.5; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; margin: 6px 0 0; color: #57606a; font-size: 12px; }
.legend span.key { display: inline-block; width: 14px; height: 10px; border: 1px solid #57606a; vertical-align: middle; margin-right: 4px; }
.legend span.line { display: inline-block; width: 22px; height: 0; border-top: 3px solid #8250df; vertical-align: middle; margin-right: 4px; }
.legend span.line.used { border-top-color: #bf8700; }
.legend span.line.plain { border-top: 2px solid #8c959f; }
table { border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; vertical-align: top; padding: 3px 10px 3px 0; border-bottom: 1px solid #eaeef2; }
th { color: #57606a; font-weight: 600; }
td.num { text-align: right; }
.status { display: inline-block; padding: 0 6px; border-radius: 8px; color: #ffffff; font-size: 11px; font-weight: 600; }
.status.duplicate, .status.idle { color: #1f2328; }
.detail { max-width: 70ch; overflow-wrap: anywhere; }
.empty { color: #57606a; font-style: italic; }
"#;

/// The end of the head, after the graph's style.
const HEAD_END: &str = "</style>\n</head>\n<body>\n";

/// One row of the Gantt chart: a pipeline of an account.
struct Row {
    account: String,
    name: String,
    phase: Option<&'static str>,
}

/// Rows grouped by account (accounts in ascending order, their pipelines in the order they
/// come: the pipelines, then any seen only in the runs or the timeline).
fn rows(pipelines: &[LocalPipeline], played: &Play<'_>, states: &[PipelineStatus]) -> Vec<Row> {
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut add = |account: &str, name: &str| {
        if !seen.iter().any(|(a, n)| a == account && n == name) {
            seen.push((account.to_string(), name.to_string()));
        }
    };
    for p in pipelines {
        add(&p.id().account, &p.id().name);
    }
    for r in played.runs {
        add(&r.account, &r.pipeline);
    }
    for e in played.timeline {
        if matches!(e.event, "scheduled" | "triggered") {
            add(&e.account, &e.pipeline);
        }
    }
    let mut accounts: Vec<&str> = Vec::new();
    for (a, _) in &seen {
        if !accounts.contains(&a.as_str()) {
            accounts.push(a);
        }
    }
    accounts.sort_unstable();
    let mut out = Vec::new();
    for account in accounts {
        for (a, name) in seen.iter().filter(|(a, _)| a == account) {
            let phase = states
                .iter()
                .find(|s| s.pipeline.account == *a && s.pipeline.name == *name)
                .map(|s| s.phase.as_str());
            out.push(Row {
                account: a.clone(),
                name: name.clone(),
                phase,
            });
        }
    }
    out
}

/// The CSS class of a run's status.
fn status_class(status: &str, duplicate: bool) -> &'static str {
    match (status, duplicate) {
        ("SUCCEEDED", true) => "duplicate",
        ("SUCCEEDED", false) => "succeeded",
        ("FAILED", _) => "failed",
        ("TIMED_OUT", _) => "timed-out",
        ("ABORTED", _) => "aborted",
        _ => "other",
    }
}

fn status_badge(status: &str, duplicate: bool) -> String {
    let text = if duplicate {
        format!("{status} (duplicate)")
    } else {
        status.to_string()
    };
    format!(
        "<span class=\"status {}\">{}</span>",
        status_class(status, duplicate),
        escape(&text)
    )
}

fn seconds(from: Millis, to: Millis) -> String {
    format!("{:.1} s", (to - from) as f64 / 1000.0)
}

fn summary(
    pipelines: &[LocalPipeline],
    played: &Play<'_>,
    rows: &[Row],
    from: Millis,
    until: Millis,
) -> String {
    let mut accounts: Vec<&str> = rows.iter().map(|r| r.account.as_str()).collect();
    accounts.dedup();
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for r in played.runs.iter().filter(|r| !r.duplicate) {
        *by_status.entry(&r.status).or_default() += 1;
    }
    let runs: usize = by_status.values().sum();
    let statuses: Vec<String> = by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let duplicates = played.runs.len() - runs;
    let triggers = played
        .timeline
        .iter()
        .filter(|e| e.event == "triggered")
        .count();
    let mut text = String::from("<h1>dpc local run</h1>\n");
    text.push_str(&format!(
        "<p class=\"facts\">Played from <code>{}</code> until <code>{}</code> (UTC).</p>\n",
        escape(&format_time(from)),
        escape(&format_time(until))
    ));
    text.push_str(&format!(
        "<p class=\"facts\">{} pipeline(s) in {} account(s); {runs} run(s){}, {duplicates} duplicate start(s) that ran nothing; {triggers} trigger(s) decided; {} event(s) delivered.</p>\n",
        pipelines.len(),
        accounts.len(),
        if statuses.is_empty() {
            String::new()
        } else {
            format!(" ({})", escape(&statuses.join(", ")))
        },
        played.events
    ));
    text
}

// ----- the Gantt chart -----

const LABEL_W: f64 = 230.0;
const CHART_W: f64 = 900.0;
const AXIS_H: f64 = 34.0;
const ACCOUNT_H: f64 = 22.0;
const ROW_H: f64 = 26.0;

/// The span shown: whole hours around every run, trigger and schedule fire; the played
/// window when nothing happened.
fn span(played: &Play<'_>, from: Millis, until: Millis) -> (Millis, Millis) {
    let times = played
        .runs
        .iter()
        .flat_map(|r| [r.started_ms, r.stopped_ms])
        .chain(
            played
                .timeline
                .iter()
                .filter(|e| matches!(e.event, "scheduled" | "triggered"))
                .map(|e| e.at_ms),
        );
    let (lo, hi) = times.fold((Millis::MAX, Millis::MIN), |(lo, hi), t| {
        (lo.min(t), hi.max(t))
    });
    if lo > hi {
        return (from, until.max(from + HOUR));
    }
    let lo = lo.div_euclid(HOUR) * HOUR;
    let hi = (hi + HOUR - 1).div_euclid(HOUR) * HOUR;
    (lo, hi.max(lo + HOUR))
}

/// The smallest step (in hours) of 1, 2, 3, 6, 12 or whole days that is at least `min_px`
/// wide: at most `CHART_W / min_px` ticks, however long the span.
fn hour_step(px_per_hour: f64, min_px: f64) -> i64 {
    let hours = (min_px / px_per_hour).ceil().clamp(1.0, 1e12) as i64;
    match [1, 2, 3, 6, 12].into_iter().find(|s| *s >= hours) {
        Some(step) => step,
        None => (hours + 23) / 24 * 24,
    }
}

fn gantt(rows: &[Row], played: &Play<'_>, from: Millis, until: Millis) -> String {
    let (lo, hi) = span(played, from, until);
    let x = |t: Millis| LABEL_W + (t - lo) as f64 / (hi - lo) as f64 * CHART_W;
    let mut y_of: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    let mut body = String::new();
    let mut y = AXIS_H;
    let mut last_account: Option<&str> = None;
    for row in rows {
        if last_account != Some(row.account.as_str()) {
            body.push_str(&format!(
                "<rect class=\"band\" x=\"0\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{ACCOUNT_H:.1}\"/>\n\
                 <text class=\"account\" x=\"6\" y=\"{:.1}\">account {}</text>\n",
                LABEL_W + CHART_W,
                y + 15.0,
                escape(&row.account)
            ));
            y += ACCOUNT_H;
            last_account = Some(&row.account);
        }
        body.push_str(&format!(
            "<text x=\"18\" y=\"{:.1}\">{}</text>",
            y + 17.0,
            escape(&row.name)
        ));
        if let Some(phase) = row.phase {
            body.push_str(&format!(
                "<text class=\"small\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                LABEL_W - 8.0,
                y + 17.0,
                escape(phase)
            ));
        }
        body.push_str(&format!(
            "<line class=\"grid\" x1=\"{LABEL_W:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>\n",
            y + ROW_H,
            LABEL_W + CHART_W,
            y + ROW_H
        ));
        y_of.insert((&row.account, &row.name), y);
        y += ROW_H;
    }
    let height = y + 8.0;
    let width = LABEL_W + CHART_W + 30.0;
    let mut svg = format!(
        "<div class=\"chart\"><svg class=\"gantt\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"runs over time\">\n"
    );
    svg.push_str(&axis(lo, hi, height, &x));
    svg.push_str(&body);
    for (t, label) in [(from, "from"), (until, "until")] {
        if t > lo && t < hi {
            svg.push_str(&format!(
                "<line class=\"window\" x1=\"{0:.1}\" y1=\"{AXIS_H:.1}\" x2=\"{0:.1}\" y2=\"{1:.1}\"><title>{2} {3}</title></line>\n",
                x(t),
                height - 8.0,
                label,
                escape(&format_time(t))
            ));
        }
    }
    for r in played.runs {
        let Some(top) = y_of.get(&(r.account.as_str(), r.pipeline.as_str())) else {
            continue;
        };
        let x0 = x(r.started_ms);
        let w = (x(r.stopped_ms) - x0).max(3.0);
        let mut title = format!(
            "{} {}: {}{}, {}, {} to {} ({})",
            r.pipeline,
            r.execution,
            r.status,
            if r.duplicate { " (duplicate)" } else { "" },
            r.kind,
            r.started,
            r.stopped,
            seconds(r.started_ms, r.stopped_ms)
        );
        if let Some(e) = &r.error {
            title.push_str(&format!("; {e}"));
            if let Some(c) = &r.cause {
                title.push_str(&format!(": {c}"));
            }
        }
        svg.push_str(&format!(
            "<rect class=\"run {}\" x=\"{x0:.2}\" y=\"{:.1}\" width=\"{w:.2}\" height=\"12\" rx=\"2\"><title>{}</title></rect>\n",
            status_class(&r.status, r.duplicate),
            top + 10.0,
            escape(&title)
        ));
    }
    for e in played.timeline {
        let Some(top) = y_of.get(&(e.account.as_str(), e.pipeline.as_str())) else {
            continue;
        };
        let cx = x(e.at_ms);
        let title = escape(&format!("{} {}: {}", e.at, e.pipeline, e.detail));
        match e.event {
            "scheduled" => svg.push_str(&format!(
                "<circle class=\"mark scheduled\" cx=\"{cx:.2}\" cy=\"{:.1}\" r=\"3.5\"><title>{title}</title></circle>\n",
                top + 5.0
            )),
            "triggered" => svg.push_str(&format!(
                "<polygon class=\"mark triggered\" points=\"{:.2},{:.1} {:.2},{:.1} {:.2},{:.1} {:.2},{:.1}\"><title>{title}</title></polygon>\n",
                cx,
                top + 0.5,
                cx + 4.5,
                top + 5.0,
                cx,
                top + 9.5,
                cx - 4.5,
                top + 5.0
            )),
            _ => {}
        }
    }
    svg.push_str("</svg></div>\n");
    svg.push_str(
        "<div class=\"legend\">\
         <span><span class=\"key succeeded\"></span>SUCCEEDED</span>\
         <span><span class=\"key failed\"></span>FAILED</span>\
         <span><span class=\"key timed-out\"></span>TIMED_OUT</span>\
         <span><span class=\"key aborted\"></span>ABORTED</span>\
         <span><span class=\"key duplicate\"></span>duplicate (claim already taken, no step ran)</span>\
         <span>&#9675; schedule fired</span>\
         <span>&#9670; trigger decided</span>\
         <span>bars are at least 3 px wide</span></div>\n",
    );
    svg
}

/// Hour ticks (every hour when there is room) and their labels, with the date at the first
/// label and at each midnight.
fn axis(lo: Millis, hi: Millis, height: f64, x: &dyn Fn(Millis) -> f64) -> String {
    let hours = (hi - lo) / HOUR;
    let px = CHART_W / hours.max(1) as f64;
    let tick = hour_step(px, 6.0);
    let label = hour_step(px, 64.0).max(tick);
    let mut svg = format!(
        "<line class=\"axis\" x1=\"{LABEL_W:.1}\" y1=\"{AXIS_H:.1}\" x2=\"{:.1}\" y2=\"{AXIS_H:.1}\"/>\n\
         <text class=\"small\" x=\"6\" y=\"{:.1}\">UTC</text>\n",
        LABEL_W + CHART_W,
        AXIS_H - 6.0
    );
    let mut first = true;
    let mut h = 0;
    while h <= hours {
        let t = lo + h * HOUR;
        let tx = x(t);
        svg.push_str(&format!(
            "<line class=\"grid\" x1=\"{tx:.2}\" y1=\"{:.1}\" x2=\"{tx:.2}\" y2=\"{:.1}\"/>\n",
            AXIS_H - 4.0,
            height - 8.0
        ));
        if h % label == 0 {
            let stamp = DateTime::from_timestamp_millis(t).unwrap_or_default();
            let midnight = stamp.hour() == 0;
            svg.push_str(&format!(
                "<text class=\"small\" x=\"{tx:.2}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
                AXIS_H - 8.0,
                stamp.format("%H:%M")
            ));
            if first || midnight {
                svg.push_str(&format!(
                    "<text class=\"small\" x=\"{tx:.2}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
                    AXIS_H - 21.0,
                    stamp.format("%Y-%m-%d")
                ));
            }
            first = false;
        }
        h += tick;
    }
    svg
}

// ----- the dependency graph -----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pipeline,
    /// An upstream pipeline that is not among the local ones.
    External,
    Product,
}

struct Node {
    key: String,
    kind: Kind,
    label: String,
    /// The second line: runs and final phase, or who publishes it.
    sub: String,
    lane: String,
    status: &'static str,
    fired: bool,
    title: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Edge {
    from: usize,
    to: usize,
    /// What the edge waits on when it is not plain success: a leaf's statuses other than
    /// `SUCCEEDED`, a data product narrowed to one account; empty otherwise.
    label: String,
    /// A leaf on failure statuses (no `SUCCEEDED`).
    on_failure: bool,
    publish: bool,
    /// The triggers it led to (leaf edges) or the refreshes it made (publish edges).
    used: Vec<String>,
}

/// The lane of data products no local pipeline publishes.
const ELSEWHERE: &str = "elsewhere";

fn graph(pipelines: &[LocalPipeline], played: &Play<'_>, rows: &[Row]) -> String {
    let (nodes, edges) = build_graph(pipelines, played, rows);
    if nodes.is_empty() {
        return "<p class=\"empty\">No pipelines.</p>\n".into();
    }
    // Lanes: the accounts in row order, then the others, then products from elsewhere.
    let mut lanes: Vec<&str> = Vec::new();
    for lane in rows
        .iter()
        .map(|r| r.account.as_str())
        .chain(nodes.iter().map(|n| n.lane.as_str()))
    {
        if lane != ELSEWHERE && !lanes.contains(&lane) {
            lanes.push(lane);
        }
    }
    if nodes.iter().any(|n| n.lane == ELSEWHERE) {
        lanes.push(ELSEWHERE);
    }
    let titles: Vec<String> = lanes
        .iter()
        .map(|lane| match *lane {
            ELSEWHERE => "data products from elsewhere".to_string(),
            lane => format!("account {lane}"),
        })
        .collect();
    let boxes: Vec<svg::Box> = nodes
        .iter()
        .map(|n| svg::Box {
            lane: lanes.iter().position(|l| *l == n.lane).unwrap_or(0),
            kind: match n.kind {
                Kind::Pipeline => "pipeline",
                Kind::External => "external",
                Kind::Product => "product",
            },
            class: format!("{}{}", n.status, if n.fired { " fired" } else { "" }),
            label: n.label.clone(),
            sub: n.sub.clone(),
            title: n.title.clone(),
            rx: if n.kind == Kind::Product { 16 } else { 5 },
        })
        .collect();
    let lines: Vec<svg::Line> = edges.iter().map(|e| line(&nodes, e)).collect();
    let mut svg = svg::draw(
        &titles,
        &boxes,
        &lines,
        &["arrow", "arrow-used", "arrow-fired"],
    );
    svg.push_str(
        "<div class=\"legend\">\
         <span><span class=\"line\"></span>led to a trigger in this run</span>\
         <span><span class=\"line used\"></span>data product published in this run</span>\
         <span><span class=\"line plain\"></span>dependency on success (dashed: publishes; red dotted: on failure)</span>\
         <span>columns: dependency depth; bands: accounts</span></div>\n",
    );
    svg
}

/// How an edge is drawn: its classes, arrow, label and tooltip.
fn line(nodes: &[Node], e: &Edge) -> svg::Line {
    let (class, marker) = match (e.publish, e.used.is_empty()) {
        (_, true) => ("", "arrow"),
        (true, false) => (" used", "arrow-used"),
        (false, false) => (" fired", "arrow-fired"),
    };
    let kind = match (e.publish, e.on_failure) {
        (true, _) => " publish",
        (false, true) => " leaf on-failure",
        (false, false) => " leaf",
    };
    let mut title = format!("{} → {}", nodes[e.from].label, nodes[e.to].label);
    if e.on_failure || !e.label.is_empty() {
        title.push_str(&format!(" ({})", e.label));
    }
    if !e.used.is_empty() {
        let what = if e.publish {
            "published"
        } else {
            "led to trigger"
        };
        title.push_str(&format!("; {what} {}", e.used.join(", ")));
    }
    svg::Line {
        from: e.from,
        to: e.to,
        class: format!("{kind}{class}"),
        marker,
        label: e.label.clone(),
        title,
    }
}

/// The graph's nodes (pipelines, upstream pipelines from elsewhere, data products) and
/// edges (upstream → dependent, publisher → data product), with what this run used.
fn build_graph(
    pipelines: &[LocalPipeline],
    played: &Play<'_>,
    rows: &[Row],
) -> (Vec<Node>, Vec<Edge>) {
    let fired = fired_leaves(played.timeline);
    let mut nodes: Vec<Node> = Vec::new();
    let mut edges: Vec<Edge> = Vec::new();
    let index = |nodes: &[Node], key: &str| nodes.iter().position(|n| n.key == key);
    for p in pipelines {
        let id = p.id();
        let runs: Vec<&RunRecord> = played
            .runs
            .iter()
            .filter(|r| r.account == id.account && r.pipeline == id.name)
            .collect();
        let phase = rows
            .iter()
            .find(|r| r.account == id.account && r.name == id.name)
            .and_then(|r| r.phase);
        let status = runs
            .last()
            .map_or("idle", |r| status_class(&r.status, r.duplicate));
        let mut sub = format!("{} run(s)", runs.len());
        if let Some(phase) = phase {
            sub.push_str(&format!(" · {phase}"));
        }
        let triggered = fired.contains_key(&(id.account.clone(), id.name.clone()));
        nodes.push(Node {
            key: format!("p:{}", id.key()),
            kind: Kind::Pipeline,
            label: id.name.clone(),
            sub,
            lane: id.account.clone(),
            status,
            fired: triggered,
            title: format!(
                "{} (account {}, region {}){}",
                id.name,
                id.account,
                id.region,
                p.reg
                    .schedule
                    .as_ref()
                    .map(|s| format!(", schedule {}", s.expression))
                    .unwrap_or_default()
            ),
        });
    }
    // Data products: published ones first, in their publisher's lane.
    let published: Vec<(&str, String)> = played
        .timeline
        .iter()
        .filter(|e| e.event == "published")
        .filter_map(|e| {
            e.detail
                .strip_prefix("published data product ")
                .map(|dp| (e.pipeline.as_str(), format!("{}/{}", e.account, dp)))
        })
        .collect();
    for (pi, p) in pipelines.iter().enumerate() {
        for (domain, name) in &p.reg.publishes {
            let label = format!("{domain}/{name}");
            let key = format!("d:{label}");
            let at = match index(&nodes, &key) {
                Some(at) => {
                    nodes[at].sub = "published by several".into();
                    at
                }
                None => {
                    nodes.push(Node {
                        key,
                        kind: Kind::Product,
                        title: format!("data product {label}"),
                        sub: format!("by {}", p.id().name),
                        label: label.clone(),
                        lane: p.id().account.clone(),
                        status: "idle",
                        fired: false,
                    });
                    nodes.len() - 1
                }
            };
            let mark = format!("{}/{label}", p.id().account);
            let used = published
                .iter()
                .filter(|(who, what)| *who == p.id().name && *what == mark)
                .count();
            edges.push(Edge {
                from: pi,
                to: at,
                label: String::new(),
                on_failure: false,
                publish: true,
                used: (0..used).map(|_| "a refresh".to_string()).collect(),
            });
        }
    }
    for (pi, p) in pipelines.iter().enumerate() {
        let id = p.id();
        let triggers = fired.get(&(id.account.clone(), id.name.clone()));
        for leaf in &p.reg.leaves {
            let from = match &leaf.upstream {
                Upstream::Execution(up) => {
                    let key = format!("p:{}", up.key());
                    match index(&nodes, &key) {
                        Some(at) => at,
                        None => {
                            let key = format!("x:{}", up.key());
                            match index(&nodes, &key) {
                                Some(at) => at,
                                None => {
                                    nodes.push(Node {
                                        key,
                                        kind: Kind::External,
                                        label: up.name.clone(),
                                        sub: "not in this run".into(),
                                        lane: up.account.clone(),
                                        status: "idle",
                                        fired: false,
                                        title: format!(
                                            "{} (account {}, region {}): not among the pipelines played",
                                            up.name, up.account, up.region
                                        ),
                                    });
                                    nodes.len() - 1
                                }
                            }
                        }
                    }
                }
                Upstream::Product {
                    domain,
                    name,
                    account,
                } => {
                    let label = format!("{domain}/{name}");
                    let key = format!("d:{label}");
                    match index(&nodes, &key) {
                        Some(at) => at,
                        None => {
                            nodes.push(Node {
                                key,
                                kind: Kind::Product,
                                title: format!(
                                    "data product {label}: no pipeline here publishes it"
                                ),
                                sub: "published elsewhere".into(),
                                label,
                                lane: account.clone().unwrap_or_else(|| ELSEWHERE.to_string()),
                                status: "idle",
                                fired: false,
                            });
                            nodes.len() - 1
                        }
                    }
                }
            };
            let label = match &leaf.upstream {
                Upstream::Execution(_) if leaf.statuses == ["SUCCEEDED"] => String::new(),
                Upstream::Execution(_) => leaf.statuses.join(" | "),
                Upstream::Product {
                    account: Some(a), ..
                } => format!("from {a}"),
                Upstream::Product { .. } => String::new(),
            };
            let upstream = leaf.upstream.label();
            let used = triggers
                .map(|list| {
                    list.iter()
                        .filter(|(_, labels)| labels.contains(&upstream))
                        .map(|(t, _)| t.clone())
                        .collect()
                })
                .unwrap_or_default();
            let on_failure = matches!(leaf.upstream, Upstream::Execution(_))
                && !leaf.statuses.iter().any(|s| s == "SUCCEEDED");
            edges.push(Edge {
                from,
                to: pi,
                label,
                on_failure,
                publish: false,
                used,
            });
        }
    }
    (nodes, edges)
}

/// Per (account, pipeline), the triggers decided for it: the trigger id and the upstream
/// labels it names, from the `triggered` timeline entries
/// (`trigger <id> decided: listings SUCCEEDED, raw/RD1`).
type Fired = BTreeMap<(String, String), Vec<(String, Vec<String>)>>;

fn fired_leaves(timeline: &[Entry]) -> Fired {
    let mut out: Fired = BTreeMap::new();
    for e in timeline.iter().filter(|e| e.event == "triggered") {
        let (id, labels) = parse_trigger(&e.detail);
        out.entry((e.account.clone(), e.pipeline.clone()))
            .or_default()
            .push((id, labels));
    }
    out
}

fn parse_trigger(detail: &str) -> (String, Vec<String>) {
    let (head, list) = detail.split_once(" decided:").unwrap_or((detail, ""));
    let id = head
        .strip_prefix("trigger ")
        .unwrap_or(head)
        .trim()
        .to_string();
    let labels = list
        .split(", ")
        .filter_map(|part| part.split_whitespace().next())
        .map(str::to_string)
        .collect();
    (id, labels)
}

// ----- tables -----

fn states_table(states: &[PipelineStatus]) -> String {
    if states.is_empty() {
        return "<p class=\"empty\">No pipeline is registered.</p>\n".into();
    }
    let mut t = String::from(
        "<table class=\"states\">\n<thead><tr><th>pipeline</th><th>account</th><th>region</th><th>phase</th><th>leaves</th><th>last trigger</th></tr></thead>\n<tbody>\n",
    );
    for s in states {
        let leaves: Vec<String> = s
            .leaves
            .iter()
            .map(|l| match &l.arrived {
                Some(run) => format!(
                    "{}: ARRIVED ({} at {})",
                    l.label,
                    run.status,
                    format_time(run.time)
                ),
                None => format!("{}: WAITING", l.label),
            })
            .collect();
        let last = match (&s.last_trigger_id, &s.last_trigger_at) {
            (Some(id), Some(at)) => format!("{id} at {at}"),
            (Some(id), None) => id.clone(),
            _ => "-".into(),
        };
        t.push_str(&format!(
            "<tr><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td class=\"detail\">{}</td><td class=\"mono\">{}</td></tr>\n",
            escape(&s.pipeline.name),
            escape(&s.pipeline.account),
            escape(&s.pipeline.region),
            escape(s.phase.as_str()),
            if leaves.is_empty() {
                "-".to_string()
            } else {
                leaves.iter().map(|l| escape(l)).collect::<Vec<_>>().join("<br>")
            },
            escape(&last)
        ));
    }
    t.push_str("</tbody>\n</table>\n");
    t
}

fn runs_table(runs: &[RunRecord]) -> String {
    if runs.is_empty() {
        return "<p class=\"empty\">No run.</p>\n".into();
    }
    let mut t = String::from(
        "<table class=\"runs\">\n<thead><tr><th>pipeline</th><th>account</th><th>execution</th><th>kind</th><th>trigger id</th><th>started</th><th>stopped</th><th>duration</th><th>status</th><th>error: cause</th></tr></thead>\n<tbody>\n",
    );
    for r in runs {
        let error = match (&r.error, &r.cause) {
            (Some(e), Some(c)) => format!("{e}: {c}"),
            (Some(e), None) => e.clone(),
            (None, Some(c)) => c.clone(),
            (None, None) => String::new(),
        };
        t.push_str(&format!(
            "<tr><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"detail\">{}</td></tr>\n",
            escape(&r.pipeline),
            escape(&r.account),
            escape(&r.execution),
            escape(&r.kind),
            escape(&r.trigger_id),
            escape(&r.started),
            escape(&r.stopped),
            seconds(r.started_ms, r.stopped_ms),
            status_badge(&r.status, r.duplicate),
            escape(&error)
        ));
    }
    t.push_str("</tbody>\n</table>\n");
    t
}

fn timeline_table(entries: &[Entry]) -> String {
    if entries.is_empty() {
        return "<p class=\"empty\">Nothing happened.</p>\n".into();
    }
    let mut t = String::from(
        "<table class=\"timeline\">\n<thead><tr><th>time</th><th>account</th><th>pipeline</th><th>event</th><th>detail</th></tr></thead>\n<tbody>\n",
    );
    for e in entries {
        t.push_str(&format!(
            "<tr class=\"entry\"><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td class=\"detail\">{}</td></tr>\n",
            escape(&e.at),
            escape(&e.account),
            escape(&e.pipeline),
            escape(e.event),
            escape(&e.detail)
        ));
    }
    t.push_str("</tbody>\n</table>\n");
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pipeline: &str, status: &str, started: Millis, stopped: Millis) -> RunRecord {
        RunRecord {
            account: "111111111111".into(),
            pipeline: pipeline.into(),
            execution: format!("{pipeline}-1"),
            kind: "SCHEDULED".into(),
            trigger_id: format!("{pipeline}-1"),
            started: format_time(started),
            stopped: format_time(stopped),
            started_ms: started,
            stopped_ms: stopped,
            status: status.into(),
            duplicate: false,
            error: None,
            cause: None,
        }
    }

    const DAY: Millis = 1_795_651_200_000; // 2026-11-26T00:00:00Z

    #[test]
    fn escape_makes_text_safe_in_content_and_attributes() {
        assert_eq!(
            escape(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(escape("plain-name_1 ü"), "plain-name_1 ü");
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }

    #[test]
    fn names_and_causes_are_escaped_in_the_page() {
        let mut r = run("<b>x</b>", "FAILED", DAY + 3 * HOUR, DAY + 3 * HOUR + 500);
        r.error = Some("States.TaskFailed".into());
        r.cause = Some("exit 1: \"<oops>\" & more".into());
        let played = Play {
            timeline: &[Entry::new(
                DAY + 3 * HOUR,
                "111111111111",
                "<b>x</b>",
                "scheduled",
                "schedule fired <now>".into(),
            )],
            runs: &[r],
            events: 2,
        };
        let page = page(&[], &played, &[], DAY, DAY + 24 * HOUR);
        assert!(!page.contains("<b>x</b>"));
        assert!(!page.contains("<oops>"));
        assert!(page.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(page.contains("&quot;&lt;oops&gt;&quot; &amp; more"));
        assert!(!page.contains("<script"));
        assert_eq!(page.matches("<rect class=\"run failed\"").count(), 1);
        assert_eq!(page.matches("<circle class=\"mark scheduled\"").count(), 1);
    }

    #[test]
    fn the_axis_is_zoomed_to_whole_hours_around_what_happened() {
        let played = Play {
            timeline: &[],
            runs: &[
                run("a", "SUCCEEDED", DAY + 3 * HOUR, DAY + 3 * HOUR + 100),
                run("b", "SUCCEEDED", DAY + 5 * HOUR, DAY + 5 * HOUR + 1_276),
            ],
            events: 0,
        };
        assert_eq!(
            span(&played, DAY, DAY + 24 * HOUR),
            (DAY + 3 * HOUR, DAY + 6 * HOUR)
        );
        let nothing = Play {
            timeline: &[],
            runs: &[],
            events: 0,
        };
        assert_eq!(span(&nothing, DAY, DAY + 24 * HOUR), (DAY, DAY + 24 * HOUR));
        assert_eq!(hour_step(300.0, 6.0), 1);
        assert_eq!(hour_step(37.5, 64.0), 2);
        assert_eq!(hour_step(900.0 / 168.0, 64.0), 12);
        assert_eq!(hour_step(900.0 / (24.0 * 365.0), 64.0), 624);
        // A span of centuries still has at most a few hundred ticks.
        let px = CHART_W / (24.0 * 365.0 * 300.0);
        assert!(CHART_W / (hour_step(px, 6.0) as f64 * px) <= 151.0);
    }

    #[test]
    fn trigger_details_name_their_upstreams() {
        assert_eq!(
            parse_trigger("trigger 3013a3b635d0 decided: listings SUCCEEDED, searches FAILED"),
            (
                "3013a3b635d0".to_string(),
                vec!["listings".to_string(), "searches".to_string()]
            )
        );
        assert_eq!(
            parse_trigger("trigger c36b0953d3fd decided: raw/RD1, raw/RD2").1,
            ["raw/RD1", "raw/RD2"]
        );
    }
}
