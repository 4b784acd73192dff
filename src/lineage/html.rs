//! A [`Graph`] as one self-contained HTML page (inline CSS and inline SVG, no script, no
//! external asset): the graph drawn by [`super::svg`] with accounts as bands, then a table of
//! the pipelines (account, team, schedule, and with `--status` state and what a WAITING one
//! waits for) and one of the dependencies. Pure.

use super::graph::{EdgeKind, Graph, Kind};
use super::svg::{self, escape};

const HEAD: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dpc graph</title>
<style>
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 24px; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.facts { color: #57606a; margin: 0 0 4px; }
.chart { overflow-x: auto; }
svg { font: 12px system-ui, -apple-system, "Segoe UI", sans-serif; }
svg .small { font-size: 10px; fill: #57606a; }
svg .account { font-weight: 600; fill: #57606a; }
svg .band { fill: #f6f8fa; }
.idle { fill: #ffffff; }
.waiting { fill: #fff1c2; background: #fff1c2; }
.triggered, .running { fill: #ddf4ff; background: #ddf4ff; }
.completed { fill: #dafbe1; background: #dafbe1; }
.error { fill: #ffebe9; background: #ffebe9; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; margin: 6px 0 0; color: #57606a; font-size: 12px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; vertical-align: top; padding: 3px 10px 3px 0; border-bottom: 1px solid #eaeef2; }
th { color: #57606a; font-weight: 600; }
.state { padding: 0 6px; border-radius: 8px; font-size: 11px; font-weight: 600; }
"#;

pub fn render(graph: &Graph) -> String {
    let mut page = String::from(HEAD);
    page.push_str(svg::CSS);
    page.push_str("</style>\n</head>\n<body>\n<h1>Dependencies</h1>\n");
    let pipelines = graph
        .nodes
        .iter()
        .filter(|n| n.kind == Kind::Pipeline && !n.external)
        .count();
    let accounts = graph
        .groups()
        .iter()
        .filter(|g| g.account.is_some())
        .count();
    page.push_str(&format!(
        "<p class=\"facts\">{pipelines} pipeline(s) in {accounts} account(s), {} node(s), {} edge(s){}</p>\n",
        graph.nodes.len(),
        graph.edges.len(),
        if graph.with_status {
            "; states from the store"
        } else {
            ""
        }
    ));
    page.push_str(&chart(graph));
    page.push_str(
        "<div class=\"legend\"><span>columns: dependency depth; bands: accounts</span>\
         <span>solid: on success · red dotted: fallback on failure · dashed: publishes · amber: still waited for</span>\
         <span>dashed box: outside the tree · yellow rounded: data product</span></div>\n",
    );
    page.push_str(&pipelines_table(graph));
    page.push_str(&edges_table(graph));
    page.push_str("</body>\n</html>\n");
    page
}

fn chart(graph: &Graph) -> String {
    let groups = graph.groups();
    let mut lane = vec![0; graph.nodes.len()];
    let mut team = vec![None; graph.nodes.len()];
    for (g, group) in groups.iter().enumerate() {
        for &i in &group.nodes {
            lane[i] = g;
        }
        for (name, nodes) in &group.teams {
            for &i in nodes {
                lane[i] = g;
                team[i] = Some(name.as_str());
            }
        }
    }
    let titles: Vec<String> = groups.iter().map(|g| g.title.clone()).collect();
    let boxes: Vec<svg::Box> = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut sub: Vec<String> = team[i].map(str::to_string).into_iter().collect();
            sub.extend(n.details());
            let mut title = n.id.clone();
            if let Some(t) = &n.team {
                title.push_str(&format!(", team {t}"));
            }
            svg::Box {
                lane: lane[i],
                kind: match (n.kind, n.external) {
                    (Kind::DataProduct, _) => "product",
                    (Kind::Pipeline, true) => "external",
                    (Kind::Pipeline, false) => "pipeline",
                },
                class: n.state_class().unwrap_or_else(|| "idle".into()),
                label: n.name.clone(),
                sub: sub.join(" · "),
                title,
                rx: if n.kind == Kind::DataProduct { 16 } else { 5 },
            }
        })
        .collect();
    let lines: Vec<svg::Line> = graph
        .edges
        .iter()
        .map(|e| {
            let mut class = String::from(match e.kind {
                EdgeKind::Publish => " publish",
                _ => " leaf",
            });
            if e.fallback {
                class.push_str(" on-failure");
            }
            if e.waiting {
                class.push_str(" waiting");
            }
            let label = match e.kind {
                EdgeKind::Publish => String::new(),
                _ => e.label(),
            };
            let from = &graph.nodes[e.source].name;
            let to = &graph.nodes[e.target].name;
            svg::Line {
                from: e.source,
                to: e.target,
                class,
                marker: if e.waiting { "arrow-waiting" } else { "arrow" },
                title: match e.kind {
                    EdgeKind::Publish => format!("{from} publishes {to}"),
                    _ => format!("{from} → {to} ({label})"),
                },
                label,
            }
        })
        .collect();
    svg::draw(&titles, &boxes, &lines, &["arrow", "arrow-waiting"])
}

fn pipelines_table(graph: &Graph) -> String {
    let mut out = String::from(
        "<h2 id=\"pipelines\">Pipelines</h2>\n<table>\n<tr><th>Pipeline</th><th>Account</th><th>Region</th><th>Team</th><th>Schedule</th>",
    );
    if graph.with_status {
        out.push_str("<th>State</th><th>Waiting for</th>");
    }
    out.push_str("</tr>\n");
    for n in graph.nodes.iter().filter(|n| n.kind == Kind::Pipeline) {
        let name = if n.external {
            format!("{} (external)", n.name)
        } else {
            n.name.clone()
        };
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            escape(&name),
            escape(n.account.as_deref().unwrap_or("")),
            escape(n.region.as_deref().unwrap_or("")),
            escape(n.team.as_deref().unwrap_or("")),
            escape(n.schedule.as_deref().unwrap_or(""))
        ));
        if graph.with_status {
            let state = match (n.state, n.state_class()) {
                (Some(s), Some(c)) => format!("<span class=\"state {c}\">{s}</span>"),
                _ => "-".into(),
            };
            out.push_str(&format!(
                "<td>{state}</td><td>{}</td>",
                escape(&n.waiting_for.join(", "))
            ));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

fn edges_table(graph: &Graph) -> String {
    let mut out = String::from(
        "<h2 id=\"edges\">Dependencies</h2>\n<table>\n<tr><th>Upstream</th><th>Dependent</th><th>Rule</th><th>Statuses</th></tr>\n",
    );
    for e in graph.edges.iter().filter(|e| e.kind != EdgeKind::Publish) {
        let mut statuses = e.statuses.join(", ");
        if e.fallback {
            statuses.push_str(" (fallback)");
        }
        if let Some(a) = &e.from_account {
            statuses.push_str(&format!("from {a}"));
        }
        if e.waiting {
            statuses.push_str(" — waiting");
        }
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&graph.nodes[e.source].name),
            escape(&graph.nodes[e.target].name),
            e.rule.map_or("", |r| r.as_str()),
            escape(statuses.trim())
        ));
    }
    out.push_str("</table>\n");
    out
}
