//! Cross-pipeline checks over everything validated together: duplicate identities, dependency
//! cycles (through executions and data products, with the full path), upstreams and data
//! products not found in the tree, and allOf over upstreams of different cadences.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDateTime;
use serde_json::Value;

use crate::diag::codes;
use crate::diag::diagnostic::Diagnostic;
use crate::diag::source::{SourceFile, Span};
use crate::pipeline::load::Loaded;
use crate::pipeline::model::{self, Window};
use crate::pipeline::yaml::Document;

/// A pipeline's identity once defaults are applied (`None`: the deploying default).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    pub account: Option<String>,
    pub region: Option<String>,
    pub name: String,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let account = self.account.as_deref().unwrap_or("default account");
        let region = self.region.as_deref().unwrap_or("default region");
        write!(f, "{} ({account}, {region})", self.name)
    }
}

/// Where the checks across pipelines point in one pipeline's file: its name, each leaf of
/// its trigger, and its `allOf`. Found while the file's document is at hand (by the thread
/// that validated it), so that the document need not be kept for these checks.
#[derive(Debug, Clone)]
pub struct Anchors {
    /// The value of `name`.
    name: Span,
    /// Per leaf of `trigger.executions` and of `trigger.dataProducts`, in `leaves()` order.
    executions: Vec<Leaf>,
    data_products: Vec<Leaf>,
    /// `trigger.executions.allOf` (key, or value).
    all_of: Span,
}

/// One trigger leaf: the leaf (key or value, as a cycle shows it) and the value of its `name`.
#[derive(Debug, Clone, Copy)]
struct Leaf {
    at: Span,
    name: Span,
}

impl Anchors {
    /// The anchors of a valid pipeline in its document.
    pub fn of(pipeline: &model::Pipeline, doc: &Document) -> Anchors {
        let leaf = |pointer: String| Leaf {
            at: doc.spans.key_or_value(&pointer).unwrap_or(Span::new(0, 0)),
            name: value_span(doc, &format!("{pointer}/name")),
        };
        let trigger = pipeline.trigger.as_ref();
        let executions = trigger
            .and_then(|t| t.executions.as_ref())
            .map(|exec| {
                exec.leaves()
                    .map(|l| {
                        leaf(leaf_pointer(doc, "executions", |v| {
                            v.get("name").and_then(Value::as_str) == Some(l.name.as_str())
                        }))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let data_products = trigger
            .and_then(|t| t.data_products.as_ref())
            .map(|dps| {
                dps.leaves()
                    .map(|l| {
                        leaf(leaf_pointer(doc, "dataProducts", |v| {
                            v.get("domain").and_then(Value::as_str) == Some(l.domain.as_str())
                                && v.get("name").and_then(Value::as_str) == Some(l.name.as_str())
                        }))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Anchors {
            name: value_span(doc, "/name"),
            executions,
            data_products,
            all_of: doc
                .spans
                .key_or_value("/trigger/executions/allOf")
                .unwrap_or(Span::new(0, 0)),
        }
    }
}

/// A valid pipeline with where it came from.
struct Node<'a> {
    id: Identity,
    pipeline: &'a model::Pipeline,
    file: &'a Arc<SourceFile>,
    anchors: Cow<'a, Anchors>,
}

/// Runs every cross-pipeline check over the valid pipelines of `loaded`.
pub fn check(loaded: &Loaded, reference: NaiveDateTime) -> Vec<Diagnostic> {
    let nodes: Vec<Node> = loaded
        .units
        .iter()
        .filter_map(|u| {
            let pipeline = u.checked.value.as_ref()?;
            let region = pipeline
                .region
                .clone()
                .or_else(|| loaded.config_of(u).and_then(|c| c.region.clone()));
            let id = Identity {
                account: pipeline.account.clone(),
                region,
                name: pipeline.name.clone(),
            };
            let anchors = match (&u.anchors, &u.checked.document) {
                (Some(anchors), _) => Cow::Borrowed(anchors),
                (None, Some(doc)) => Cow::Owned(Anchors::of(pipeline, doc)),
                (None, None) => return None,
            };
            Some(Node {
                id,
                pipeline,
                file: &u.file,
                anchors,
            })
        })
        .collect();
    let mut diags = Vec::new();
    let by_id = duplicates(&nodes, &mut diags);
    let publishers = publishers(&nodes);
    let edges = edges(&nodes, &by_id, &publishers, &mut diags);
    cycles(&nodes, &edges, &mut diags);
    cadences(&nodes, &by_id, reference, &mut diags);
    diags
}

fn duplicates<'a>(nodes: &'a [Node], diags: &mut Vec<Diagnostic>) -> HashMap<&'a Identity, usize> {
    let mut by_id: HashMap<&Identity, usize> = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        if let Some(&first) = by_id.get(&node.id) {
            let other = &nodes[first];
            diags.push(
                Diagnostic::new(&codes::TREE_DUPLICATE_PIPELINE, format!("pipeline {} is defined twice", node.id))
                    .help("pipeline names are unique per account and region; rename one or set a different `account`")
                    .label(node.file, node.anchors.name, None)
                    .label(other.file, other.anchors.name, Some("also defined here".into())),
            );
        } else {
            by_id.insert(&node.id, i);
        }
    }
    by_id
}

fn publishers<'a>(nodes: &[Node<'a>]) -> BTreeMap<(&'a str, &'a str), Vec<usize>> {
    let mut out: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, node) in nodes.iter().enumerate() {
        for dp in &node.pipeline.publish {
            out.entry((dp.domain.as_str(), dp.name.as_str()))
                .or_default()
                .push(i);
        }
    }
    out
}

/// One dependency: `from` waits on `to`, through the leaf at `at` in `from`'s file.
struct Edge {
    to: usize,
    at: Span,
}

fn edges(
    nodes: &[Node],
    by_id: &HashMap<&Identity, usize>,
    publishers: &BTreeMap<(&str, &str), Vec<usize>>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Vec<Edge>> {
    nodes
        .iter()
        .map(|node| {
            let mut out = Vec::new();
            let Some(trigger) = &node.pipeline.trigger else { return out };
            if let Some(exec) = &trigger.executions {
                for (leaf, anchor) in exec.leaves().zip(&node.anchors.executions) {
                    let id = upstream_id(node, leaf);
                    match by_id.get(&id) {
                        Some(&to) => out.push(Edge { to, at: anchor.at }),
                        None => diags.push(
                            Diagnostic::new(&codes::TREE_UNKNOWN_UPSTREAM, format!("upstream pipeline {id} is not among the {} validated pipelines", nodes.len()))
                                .help("fine if it lives in another repository; otherwise check its name, account and region")
                                .label(node.file, anchor.name, None),
                        ),
                    }
                }
            }
            if let Some(dps) = &trigger.data_products {
                for (leaf, anchor) in dps.leaves().zip(&node.anchors.data_products) {
                    let producers: Vec<usize> = publishers
                        .get(&(leaf.domain.as_str(), leaf.name.as_str()))
                        .map(|p| p.iter().copied().filter(|i| leaf.account.is_none() || nodes[*i].id.account == leaf.account).collect())
                        .unwrap_or_default();
                    if producers.is_empty() {
                        diags.push(
                            Diagnostic::new(&codes::TREE_UNKNOWN_DATA_PRODUCT, format!("no validated pipeline publishes data product {}/{}", leaf.domain, leaf.name))
                                .help("fine for external producers (`dpc publish`); otherwise check the domain and name")
                                .label(node.file, anchor.name, None),
                        );
                    }
                    out.extend(producers.into_iter().map(|to| Edge { to, at: anchor.at }));
                }
            }
            out
        })
        .collect()
}

fn upstream_id(node: &Node, leaf: &model::ExecutionLeaf) -> Identity {
    Identity {
        account: leaf.account.clone().or_else(|| node.id.account.clone()),
        region: leaf.region.clone().or_else(|| node.id.region.clone()),
        name: leaf.name.clone(),
    }
}

/// The pointer of the first leaf under `/trigger/<block>/{allOf,anyOf}/i` that `is` accepts.
fn leaf_pointer(doc: &Document, block: &str, is: impl Fn(&Value) -> bool) -> String {
    for list in ["allOf", "anyOf"] {
        let base = format!("/trigger/{block}/{list}");
        if let Some(items) = doc.value.pointer(&base).and_then(Value::as_array)
            && let Some(i) = items.iter().position(&is)
        {
            return format!("{base}/{i}");
        }
    }
    format!("/trigger/{block}")
}

fn value_span(doc: &Document, pointer: &str) -> Span {
    doc.spans.value(pointer).unwrap_or(Span::new(0, 0))
}

/// Reports each dependency cycle once, with its full path.
fn cycles(nodes: &[Node], edges: &[Vec<Edge>], diags: &mut Vec<Diagnostic>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks = vec![Mark::New; nodes.len()];
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for start in 0..nodes.len() {
        if marks[start] != Mark::New {
            continue;
        }
        marks[start] = Mark::Active;
        stack.push((start, 0));
        // Iterative DFS: (node, next edge index); the stack is the current path.
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let Some(edge) = edges[node].get(*next) else {
                marks[node] = Mark::Done;
                stack.pop();
                continue;
            };
            *next += 1;
            match marks[edge.to] {
                Mark::New => {
                    marks[edge.to] = Mark::Active;
                    stack.push((edge.to, 0));
                }
                Mark::Active => diags.push(cycle_diagnostic(nodes, edges, &stack, edge.to)),
                Mark::Done => {}
            }
        }
    }
}

fn cycle_diagnostic(
    nodes: &[Node],
    edges: &[Vec<Edge>],
    stack: &[(usize, usize)],
    back_to: usize,
) -> Diagnostic {
    let from = stack.iter().position(|(n, _)| *n == back_to).unwrap_or(0);
    let path: Vec<(usize, &Edge)> = stack[from..]
        .iter()
        .map(|(n, next)| (*n, &edges[*n][next - 1]))
        .collect();
    let names: Vec<&str> = path
        .iter()
        .map(|(n, _)| nodes[*n].id.name.as_str())
        .chain([nodes[back_to].id.name.as_str()])
        .collect();
    let mut diag = Diagnostic::new(&codes::TREE_CYCLE, format!("dependency cycle: {}", names.join(" → ")))
        .help("a pipeline cannot wait, directly or through others, for itself; remove one of these dependencies");
    for (i, (n, edge)) in path.iter().enumerate() {
        let node = &nodes[*n];
        let text = Some(format!("{} waits on {}", node.id.name, names[i + 1]));
        diag = diag.label(node.file, edge.at, text);
    }
    diag
}

/// allOf over upstreams that run at different cadences, with no window or schedule to align
/// them, keeps old results of the slower one around: warn.
fn cadences(
    nodes: &[Node],
    by_id: &HashMap<&Identity, usize>,
    reference: NaiveDateTime,
    diags: &mut Vec<Diagnostic>,
) {
    for node in nodes {
        let Some(trigger) = &node.pipeline.trigger else {
            continue;
        };
        let Some(exec) = &trigger.executions else {
            continue;
        };
        if trigger.schedule.is_some()
            || trigger.window != Window::SinceLastTrigger
            || exec.all_of.len() < 2
        {
            continue;
        }
        let periods: Vec<(String, i64)> = exec
            .all_of
            .iter()
            .filter_map(|leaf| {
                let up = nodes.get(*by_id.get(&upstream_id(node, leaf))?)?;
                let period = up
                    .pipeline
                    .trigger
                    .as_ref()?
                    .schedule
                    .as_ref()?
                    .period_hint(reference)?;
                Some((leaf.name.clone(), period))
            })
            .collect();
        let distinct: std::collections::BTreeSet<i64> = periods.iter().map(|(_, p)| *p).collect();
        if distinct.len() > 1 {
            let listed: Vec<String> = periods
                .iter()
                .map(|(n, p)| {
                    format!(
                        "{n} every {}",
                        crate::pipeline::validate::values::human_seconds(*p as u64)
                    )
                })
                .collect();
            diags.push(
                Diagnostic::new(&codes::TRIGGER_MIXED_CADENCE, format!("allOf combines upstreams of different cadences ({})", listed.join(", ")))
                    .help("add `trigger.window` (e.g. `within: 24h`) or a `schedule`, so a stale result of the faster upstream is not reused")
                    .label(node.file, node.anchors.all_of, None),
            );
        }
    }
}
