//! The dependency graph drawn as inline SVG (no script): boxes in columns by dependency depth,
//! in horizontal bands (lanes, one per account), curved edges with arrows and labels. Shared by
//! `dpc graph --format html` and the report of `dpc local run --report`; they say what the
//! boxes and edges are, this lays them out. Pure: produces text.

use std::collections::BTreeMap;

/// One box.
pub struct Box {
    /// Index into the lanes.
    pub lane: usize,
    /// The group's class: `pipeline`, `external` or `product`.
    pub kind: &'static str,
    /// Classes of the rectangle (state, `fired`).
    pub class: String,
    pub label: String,
    /// The second line.
    pub sub: String,
    /// The tooltip.
    pub title: String,
    /// Corner radius.
    pub rx: u32,
}

/// One edge, drawn from the right of `from` to the left of `to`.
pub struct Line {
    pub from: usize,
    pub to: usize,
    /// Classes after `edge` (each with a leading space).
    pub class: String,
    /// The id of its arrow marker.
    pub marker: &'static str,
    /// Drawn at its middle when not empty.
    pub label: String,
    pub title: String,
}

/// The style of boxes and edges (both pages add their own colours of states).
pub const CSS: &str = r#"svg .node .box { stroke: #57606a; stroke-width: 1; }
svg .node .box.succeeded, svg .node .box.failed, svg .node .box.timed-out, svg .node .box.aborted { fill-opacity: 0.18; }
svg .node .box.duplicate { fill-opacity: 0.35; }
svg .node .box.fired { stroke: #8250df; stroke-width: 2.5; }
svg .node.product .box { fill: #fff8c5; stroke: #9a6700; }
svg .node.external .box { fill: #ffffff; stroke-dasharray: 4 3; }
svg .node .name { font-weight: 600; fill: #1f2328; }
svg .edge { fill: none; stroke: #8c959f; stroke-width: 1.3; }
svg .edge.publish { stroke-dasharray: 5 3; }
svg .edge.on-failure { stroke: #d1242f; stroke-opacity: 0.55; stroke-dasharray: 2 3; }
svg .edge.used { stroke: #bf8700; stroke-width: 2; }
svg .edge.fired { stroke: #8250df; stroke-width: 2.8; stroke-opacity: 1; stroke-dasharray: none; }
svg .edge.waiting { stroke: #bf8700; stroke-width: 2.4; stroke-opacity: 1; }
svg .edge-label { font-size: 10px; fill: #57606a; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; }
svg #arrow path { fill: #8c959f; }
svg #arrow-used path, svg #arrow-waiting path { fill: #bf8700; }
svg #arrow-fired path { fill: #8250df; }
"#;

const NODE_H: f64 = 40.0;
const COL_GAP: f64 = 120.0;
const ROW_GAP: f64 = 14.0;
const LANE_TOP: f64 = 24.0;
const LANE_PAD: f64 = 12.0;
const LEFT: f64 = 16.0;

/// The chart: `<div class="chart"><svg …>…</svg></div>`, lanes titled `lanes`, with one
/// arrow marker per id of `markers`.
pub fn draw(lanes: &[String], boxes: &[Box], lines: &[Line], markers: &[&str]) -> String {
    let depth = depths(
        boxes.len(),
        &lines.iter().map(|e| (e.from, e.to)).collect::<Vec<_>>(),
    );
    let longest = boxes
        .iter()
        .map(|n| n.label.chars().count().max(n.sub.chars().count()))
        .max()
        .unwrap_or(0);
    let node_w = (longest as f64 * 7.0 + 24.0).max(130.0);
    let columns = depth.iter().max().map_or(1, |d| d + 1);
    // Stack the boxes of each (lane, column) in order.
    let mut slot: Vec<usize> = vec![0; boxes.len()];
    let mut lane_rows: Vec<usize> = vec![1; lanes.len()];
    let mut filled: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (i, b) in boxes.iter().enumerate() {
        let count = filled.entry((b.lane, depth[i])).or_default();
        slot[i] = *count;
        *count += 1;
        lane_rows[b.lane] = lane_rows[b.lane].max(*count);
    }
    let mut lane_top = Vec::with_capacity(lanes.len());
    let mut y = 0.0;
    for rows in &lane_rows {
        lane_top.push(y);
        y += LANE_TOP + LANE_PAD + *rows as f64 * (NODE_H + ROW_GAP);
    }
    let height = y;
    let width = LEFT * 2.0 + columns as f64 * node_w + (columns - 1) as f64 * COL_GAP;
    let pos: Vec<(f64, f64)> = boxes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            (
                LEFT + depth[i] as f64 * (node_w + COL_GAP),
                lane_top[b.lane] + LANE_TOP + slot[i] as f64 * (NODE_H + ROW_GAP),
            )
        })
        .collect();

    let mut svg = format!(
        "<div class=\"chart\"><svg class=\"graph\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"dependency graph\">\n<defs>"
    );
    for id in markers {
        svg.push_str(&format!(
            "<marker id=\"{id}\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerUnits=\"userSpaceOnUse\" markerWidth=\"9\" markerHeight=\"9\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\"/></marker>"
        ));
    }
    svg.push_str("</defs>\n");
    for (i, lane) in lanes.iter().enumerate() {
        let top = lane_top[i];
        let h = lane_top.get(i + 1).copied().unwrap_or(height) - top;
        if i % 2 == 0 {
            svg.push_str(&format!(
                "<rect class=\"band\" x=\"0\" y=\"{top:.1}\" width=\"{width:.0}\" height=\"{h:.1}\"/>\n"
            ));
        }
        svg.push_str(&format!(
            "<text class=\"account\" x=\"6\" y=\"{:.1}\">{}</text>\n",
            top + 16.0,
            escape(lane)
        ));
    }
    for e in lines {
        let (fx, fy) = pos[e.from];
        let (tx, ty) = pos[e.to];
        let (x1, y1, x2, y2) = (fx + node_w, fy + NODE_H / 2.0, tx - 2.0, ty + NODE_H / 2.0);
        let dx = ((x2 - x1) / 2.0).max(30.0);
        svg.push_str(&format!(
            "<path class=\"edge{}\" d=\"M{x1:.1},{y1:.1} C{:.1},{y1:.1} {:.1},{y2:.1} {x2:.1},{y2:.1}\" marker-end=\"url(#{})\"><title>{}</title></path>\n",
            e.class,
            x1 + dx,
            x2 - dx,
            e.marker,
            escape(&e.title)
        ));
        if !e.label.is_empty() {
            svg.push_str(&format!(
                "<text class=\"edge-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
                (x1 + x2) / 2.0,
                (y1 + y2) / 2.0 - 3.0,
                escape(&e.label)
            ));
        }
    }
    for (i, n) in boxes.iter().enumerate() {
        let (x, y) = pos[i];
        svg.push_str(&format!(
            "<g class=\"node {}\"><title>{}</title><rect class=\"box {}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{node_w:.1}\" height=\"{NODE_H:.1}\" rx=\"{}\"/>\
             <text class=\"name\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
             <text class=\"small\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>\n",
            n.kind,
            escape(&n.title),
            n.class,
            n.rx,
            x + node_w / 2.0,
            y + 17.0,
            escape(&n.label),
            x + node_w / 2.0,
            y + 31.0,
            escape(&n.sub),
        ));
    }
    svg.push_str("</svg></div>\n");
    svg
}

/// Text made safe for HTML content and attribute values (also inside inline SVG).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The column of each node: the longest path to it (0 for nodes nothing leads to), by
/// relaxing edges in topological order. A cycle (which validation rejects) cannot make it
/// loop: the nodes on it keep the depth they had.
pub fn depths(n: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut incoming = vec![0usize; n];
    for &(a, b) in edges {
        if a != b && a < n && b < n {
            out[a].push(b);
            incoming[b] += 1;
        }
    }
    let mut depth = vec![0; n];
    let mut ready: Vec<usize> = (0..n).filter(|&i| incoming[i] == 0).collect();
    while let Some(a) = ready.pop() {
        for &b in &out[a] {
            depth[b] = depth[b].max(depth[a] + 1);
            incoming[b] -= 1;
            if incoming[b] == 0 {
                ready.push(b);
            }
        }
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_the_longest_path_and_a_cycle_ends() {
        // 0 → 1 → 3, 0 → 3, 2 → 3
        assert_eq!(depths(4, &[(0, 1), (1, 3), (0, 3), (2, 3)]), [0, 1, 0, 2]);
        let cyclic = depths(2, &[(0, 1), (1, 0)]);
        assert!(cyclic.iter().all(|d| *d <= 2));
        assert_eq!(depths(4, &[(0, 1), (1, 2), (0, 2), (2, 3)]), [0, 1, 2, 3]);
    }

    #[test]
    fn a_box_and_an_edge_are_escaped_and_placed_in_their_lane() {
        let boxes = [
            Box {
                lane: 0,
                kind: "pipeline",
                class: "idle".into(),
                label: "a<b".into(),
                sub: "x".into(),
                title: "t\"".into(),
                rx: 5,
            },
            Box {
                lane: 1,
                kind: "product",
                class: "idle".into(),
                label: "d/p".into(),
                sub: String::new(),
                title: String::new(),
                rx: 16,
            },
        ];
        let lines = [Line {
            from: 0,
            to: 1,
            class: " publish".into(),
            marker: "arrow",
            label: "l&".into(),
            title: "a → d".into(),
        }];
        let svg = draw(
            &["account 1".into(), "account 2".into()],
            &boxes,
            &lines,
            &["arrow"],
        );
        assert!(svg.contains(">a&lt;b</text>"));
        assert!(svg.contains("<title>t&quot;</title>"));
        assert!(svg.contains("class=\"edge publish\""));
        assert!(svg.contains(">l&amp;</text>"));
        assert!(svg.contains(">account 2</text>"));
        assert!(!svg.contains("<script"));
    }
}
