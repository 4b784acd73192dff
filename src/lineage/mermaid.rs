//! A [`Graph`] as a Mermaid flowchart (renders on GitHub as is): accounts (and teams) as
//! subgraphs, data products as cylinders, external upstreams dashed, fallback edges dotted and
//! red, with `--status` nodes coloured by state and the edges a WAITING pipeline waits on in
//! amber. Ids are sanitized (letters, digits, `_`) and every label is quoted. Pure.

use std::collections::HashSet;

use super::graph::{EdgeKind, Graph, Kind};

/// The class definitions: kinds and states (the colours of the html page).
const CLASSES: &str = "  classDef product fill:#fff8c5,stroke:#9a6700,color:#1f2328
  classDef external fill:#ffffff,stroke:#57606a,stroke-dasharray:4 3,color:#1f2328
  classDef waiting fill:#fff1c2,stroke:#bf8700,color:#1f2328
  classDef triggered fill:#ddf4ff,stroke:#0969da,color:#1f2328
  classDef running fill:#ddf4ff,stroke:#0969da,color:#1f2328
  classDef completed fill:#dafbe1,stroke:#1a7f37,color:#1f2328
  classDef error fill:#ffebe9,stroke:#cf222e,color:#1f2328
";

pub fn render(graph: &Graph) -> String {
    let ids = ids(graph);
    let mut out = String::from("flowchart LR\n");
    let mut group_ids = Ids::default();
    for group in graph.groups() {
        let gid = group_ids.take(&format!(
            "acct_{}",
            group.account.as_deref().unwrap_or("anywhere")
        ));
        out.push_str(&format!("  subgraph {gid}[\"{}\"]\n", label(&group.title)));
        for (team, nodes) in &group.teams {
            let tid = group_ids.take(&format!("{gid}_{team}"));
            out.push_str(&format!("    subgraph {tid}[\"{}\"]\n", label(team)));
            for &i in nodes {
                out.push_str(&format!("      {}\n", node(graph, &ids, i)));
            }
            out.push_str("    end\n");
        }
        for &i in &group.nodes {
            out.push_str(&format!("    {}\n", node(graph, &ids, i)));
        }
        out.push_str("  end\n");
    }
    for e in &graph.edges {
        let arrow = if e.fallback { "-.->" } else { "-->" };
        let text = match e.kind {
            EdgeKind::Publish => "publishes".to_string(),
            _ => e.label(),
        };
        out.push_str(&format!(
            "  {} {arrow}|\"{}\"| {}\n",
            ids[e.source],
            label(&text),
            ids[e.target]
        ));
    }
    out.push_str(CLASSES);
    let nodes = || 0..graph.nodes.len();
    let product = |i: &usize| graph.nodes[*i].kind == Kind::DataProduct;
    push_class(&mut out, "product", &ids, nodes().filter(product));
    let external = |i: &usize| graph.nodes[*i].kind == Kind::Pipeline && graph.nodes[*i].external;
    push_class(&mut out, "external", &ids, nodes().filter(external));
    for state in ["waiting", "triggered", "running", "completed", "error"] {
        let of = |i: &usize| graph.nodes[*i].state_class().as_deref() == Some(state);
        push_class(&mut out, state, &ids, (0..graph.nodes.len()).filter(of));
    }
    let edges = |keep: &dyn Fn(usize) -> bool| -> Vec<String> {
        (0..graph.edges.len())
            .filter(|&i| keep(i))
            .map(|i| i.to_string())
            .collect()
    };
    let fallback = edges(&|i| graph.edges[i].fallback && !graph.edges[i].waiting);
    if !fallback.is_empty() {
        out.push_str(&format!(
            "  linkStyle {} stroke:#d1242f,color:#d1242f\n",
            fallback.join(",")
        ));
    }
    let waiting = edges(&|i| graph.edges[i].waiting);
    if !waiting.is_empty() {
        out.push_str(&format!(
            "  linkStyle {} stroke:#bf8700,stroke-width:3px,color:#9a6700\n",
            waiting.join(",")
        ));
    }
    out
}

fn node(graph: &Graph, ids: &[String], i: usize) -> String {
    let n = &graph.nodes[i];
    let mut text = label(&n.name);
    for line in n.details() {
        text.push_str("<br/>");
        text.push_str(&label(&line));
    }
    match n.kind {
        Kind::DataProduct => format!("{}[(\"{text}\")]", ids[i]),
        Kind::Pipeline => format!("{}[\"{text}\"]", ids[i]),
    }
}

fn push_class(out: &mut String, class: &str, ids: &[String], nodes: impl Iterator<Item = usize>) {
    let list: Vec<&str> = nodes.map(|i| ids[i].as_str()).collect();
    if !list.is_empty() {
        out.push_str(&format!("  class {} {class}\n", list.join(",")));
    }
}

/// Unique sanitized ids: `p_` pipelines, `x_` external pipelines, `d_` data products.
fn ids(graph: &Graph) -> Vec<String> {
    let mut taken = Ids::default();
    graph
        .nodes
        .iter()
        .map(|n| {
            let prefix = match (n.kind, n.external) {
                (Kind::Pipeline, false) => "p",
                (Kind::Pipeline, true) => "x",
                (Kind::DataProduct, _) => "d",
            };
            let base = match n.kind {
                Kind::Pipeline => {
                    format!("{prefix}_{}_{}", n.account.as_deref().unwrap_or(""), n.name)
                }
                Kind::DataProduct => format!("{prefix}_{}", n.name),
            };
            taken.take(&base)
        })
        .collect()
}

/// Ids handed out so far: a sanitized id taken twice gets `_2`, `_3`, …
#[derive(Default)]
struct Ids(HashSet<String>);

impl Ids {
    fn take(&mut self, raw: &str) -> String {
        let base = sanitize(raw);
        let mut id = base.clone();
        let mut n = 1;
        while !self.0.insert(id.clone()) {
            n += 1;
            id = format!("{base}_{n}");
        }
        id
    }
}

/// Letters, digits and `_` only (others become `_`).
fn sanitize(raw: &str) -> String {
    raw.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Text for inside a quoted label: Mermaid's entity codes for what would end the quote or
/// be read as markup.
fn label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '|' => out.push_str("#124;"),
            '`' => out.push_str("#96;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_cannot_end_their_quotes_and_ids_are_plain() {
        assert_eq!(label("a\"b#c<d>|e"), "a#quot;b#35;c#lt;d#gt;#124;e");
        assert_eq!(sanitize("p_1111/eu-west-1/a.b c"), "p_1111_eu_west_1_a_b_c");
        let mut ids = Ids::default();
        assert_eq!(ids.take("p_a-b"), "p_a_b");
        assert_eq!(ids.take("p_a_b"), "p_a_b_2");
        assert_eq!(ids.take("p_a.b"), "p_a_b_3");
    }
}
