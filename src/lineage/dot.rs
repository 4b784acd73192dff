//! A [`Graph`] in Graphviz DOT: accounts (and teams) as clusters, data products as cylinders,
//! external upstreams dashed, fallback edges dashed and red, with `--status` nodes filled by
//! state and the edges a WAITING pipeline waits on in bold amber. Pure.

use super::graph::{EdgeKind, Graph, Kind};

pub fn render(graph: &Graph) -> String {
    let mut out = String::from(
        "digraph dpc {\n  rankdir=LR;\n  fontname=\"Helvetica\";\n  node [shape=box, style=\"rounded\", fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9, color=\"#57606a\"];\n",
    );
    for (g, group) in graph.groups().iter().enumerate() {
        out.push_str(&format!(
            "  subgraph cluster_{g} {{\n    label={};\n    style=\"rounded,filled\";\n    color=\"#d0d7de\";\n    fillcolor=\"#f6f8fa\";\n",
            quote(&group.title)
        ));
        for (t, (team, nodes)) in group.teams.iter().enumerate() {
            out.push_str(&format!(
                "    subgraph cluster_{g}_{t} {{\n      label={};\n      fillcolor=\"#ffffff\";\n",
                quote(team)
            ));
            for &i in nodes {
                out.push_str(&format!("      {}\n", node(graph, i)));
            }
            out.push_str("    }\n");
        }
        for &i in &group.nodes {
            out.push_str(&format!("    {}\n", node(graph, i)));
        }
        out.push_str("  }\n");
    }
    for e in &graph.edges {
        let mut attrs = vec![format!(
            "label={}",
            quote(&match e.kind {
                EdgeKind::Publish => "publishes".to_string(),
                _ => e.label(),
            })
        )];
        if e.kind == EdgeKind::Publish {
            attrs.push("style=dotted".into());
        }
        if e.fallback {
            attrs.push("style=dashed, color=\"#d1242f\", fontcolor=\"#d1242f\"".into());
        }
        if e.waiting {
            attrs.push("penwidth=2.5, color=\"#bf8700\", fontcolor=\"#9a6700\"".into());
        }
        out.push_str(&format!(
            "  {} -> {} [{}];\n",
            quote(&e.from),
            quote(&e.to),
            attrs.join(", ")
        ));
    }
    out.push_str("}\n");
    out
}

fn node(graph: &Graph, i: usize) -> String {
    let n = &graph.nodes[i];
    let mut text = n.name.clone();
    for line in n.details() {
        text.push('\n');
        text.push_str(&line);
    }
    let mut attrs = vec![format!("label={}", quote(&text))];
    let fill = match n.state_class().as_deref() {
        Some("waiting") => Some("#fff1c2"),
        Some("triggered" | "running") => Some("#ddf4ff"),
        Some("completed") => Some("#dafbe1"),
        Some("error") => Some("#ffebe9"),
        _ if n.kind == Kind::DataProduct => Some("#fff8c5"),
        _ => None,
    };
    let mut style = vec!["rounded"];
    if n.external {
        style.push("dashed");
    }
    if let Some(fill) = fill {
        style.push("filled");
        attrs.push(format!("fillcolor=\"{fill}\""));
    }
    if n.kind == Kind::DataProduct {
        attrs.push("shape=cylinder".into());
    }
    attrs.push(format!("style=\"{}\"", style.join(",")));
    format!("{} [{}];", quote(&n.id), attrs.join(", "))
}

/// A DOT quoted string (line breaks as `\n`).
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_strings_keep_quotes_backslashes_and_lines() {
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
