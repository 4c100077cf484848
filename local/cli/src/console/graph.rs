//! The state-machine graph the console draws: every top-level state of the ASL as a box, every
//! transition (`Next`, `Default`, each Choice rule, each Catch) as an edge, laid out top-down.
//! Pure: the ASL text in, boxes with coordinates and SVG paths out.
//!
//! Layout: the edges that do not loop back (found by a depth-first walk from `StartAt`) go
//! to rust-sugiyama, which layers them, reduces crossings and assigns coordinates. The edges
//! that loop back (copyflow's two checkpoint loops) are drawn afterwards as arcs on the right,
//! as the Step Functions console draws them, so they never pull a state above its predecessor.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

/// Box height, and the space between layers and between boxes of one layer.
const NODE_HEIGHT: f64 = 36.0;
const LAYER_GAP: f64 = 56.0;
const NODE_GAP: f64 = 28.0;
const MARGIN: f64 = 24.0;

/// One state as drawn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// The state name.
    pub id: String,
    /// Its `Type` (`Task`, `Choice`, `Succeed`, `Fail`, ...).
    pub kind: String,
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

/// What kind of transition an edge is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    /// `Next`, or a Choice rule's `Next`.
    Next,
    /// A Choice state's `Default`.
    Default,
    /// A `Catch` entry's `Next`.
    Catch,
}

/// One transition as drawn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edge {
    /// The state it leaves.
    pub from: String,
    /// The state it enters.
    pub to: String,
    /// The strongest kind among the transitions it stands for (Next over Default over Catch).
    pub kind: EdgeKind,
    /// The errors a Catch edge handles (`ErrorEquals`, all of its entries).
    pub errors: Vec<String>,
    /// True for an edge that goes back up (a loop).
    pub back: bool,
    /// The SVG path (`d` attribute).
    pub path: String,
}

/// The whole drawing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Graph {
    /// `StartAt`.
    pub start: String,
    /// The states.
    pub nodes: Vec<Node>,
    /// The transitions.
    pub edges: Vec<Edge>,
    /// The drawing's width.
    pub width: f64,
    /// The drawing's height.
    pub height: f64,
}

/// Why a definition cannot be drawn.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GraphError {
    /// Not JSON, or without `StartAt` and `States`.
    #[error("the definition is not an ASL document: {0}")]
    NotAsl(String),
}

/// The transitions out of one state, in document order: (target, kind, errors).
fn transitions(state: &Value) -> Vec<(String, EdgeKind, Vec<String>)> {
    let mut out = Vec::new();
    let text = |v: &Value| v.as_str().map(str::to_owned);
    if let Some(next) = text(&state["Next"]) {
        out.push((next, EdgeKind::Next, Vec::new()));
    }
    for rule in state["Choices"].as_array().into_iter().flatten() {
        if let Some(next) = text(&rule["Next"]) {
            out.push((next, EdgeKind::Next, Vec::new()));
        }
    }
    if let Some(next) = text(&state["Default"]) {
        out.push((next, EdgeKind::Default, Vec::new()));
    }
    for catcher in state["Catch"].as_array().into_iter().flatten() {
        if let Some(next) = text(&catcher["Next"]) {
            let errors = catcher["ErrorEquals"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect();
            out.push((next, EdgeKind::Catch, errors));
        }
    }
    out
}

/// The box width for a state name: wide enough for the name in the page's font.
fn width_for(name: &str) -> f64 {
    (name.chars().count() as f64 * 8.0 + 32.0).max(112.0)
}

/// Draws the top-level states of an ASL definition.
pub fn layout(definition: &str) -> Result<Graph, GraphError> {
    let doc: Value =
        serde_json::from_str(definition).map_err(|e| GraphError::NotAsl(e.to_string()))?;
    let start = doc["StartAt"]
        .as_str()
        .ok_or_else(|| GraphError::NotAsl("no StartAt".into()))?
        .to_owned();
    let states = doc["States"]
        .as_object()
        .ok_or_else(|| GraphError::NotAsl("no States".into()))?;
    let names: Vec<String> = states.keys().cloned().collect();
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();

    // Merge parallel transitions (two Catch entries to CopyFailed are one edge).
    let mut merged: BTreeMap<(usize, usize), (EdgeKind, Vec<String>)> = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        for (to, kind, errors) in transitions(&states[name]) {
            let Some(&j) = index.get(to.as_str()) else {
                continue; // A dangling Next: the engine refuses such a definition at load.
            };
            let entry = merged.entry((i, j)).or_insert((kind, Vec::new()));
            entry.0 = entry.0.min(kind);
            entry.1.extend(errors);
        }
    }
    let back = back_edges(names.len(), index.get(start.as_str()).copied(), &merged);

    let sizes: Vec<(u32, (f64, f64))> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (i as u32, (width_for(n), NODE_HEIGHT)))
        .collect();
    let forward: Vec<(u32, u32)> = merged
        .keys()
        .filter(|e| !back.contains(e) && e.0 != e.1)
        .map(|&(a, b)| (a as u32, b as u32))
        .collect();
    let centres = place(&sizes, &forward);

    let mut nodes: Vec<Node> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let (cx, cy) = centres[i];
            let width = width_for(n);
            Node {
                id: n.clone(),
                kind: states[n]["Type"].as_str().unwrap_or("Unknown").to_owned(),
                x: cx - width / 2.0,
                y: cy - NODE_HEIGHT / 2.0,
                width,
                height: NODE_HEIGHT,
            }
        })
        .collect();
    // Shift everything into the margin.
    let min_x = nodes.iter().map(|n| n.x).fold(f64::INFINITY, f64::min);
    let min_y = nodes.iter().map(|n| n.y).fold(f64::INFINITY, f64::min);
    for n in &mut nodes {
        n.x += MARGIN - min_x;
        n.y += MARGIN - min_y;
    }
    let edges: Vec<Edge> = merged
        .into_iter()
        .map(|((a, b), (kind, mut errors))| {
            errors.dedup();
            let is_back = back.contains(&(a, b)) || a == b;
            Edge {
                from: names[a].clone(),
                to: names[b].clone(),
                kind,
                errors,
                back: is_back,
                path: if is_back {
                    loop_path(&nodes[a], &nodes[b])
                } else {
                    forward_path(&nodes[a], &nodes[b])
                },
            }
        })
        .collect();
    let width = nodes.iter().map(|n| n.x + n.width).fold(0.0, f64::max) + MARGIN + 40.0;
    let height = nodes.iter().map(|n| n.y + n.height).fold(0.0, f64::max) + MARGIN;
    Ok(Graph {
        start,
        nodes,
        edges,
        width,
        height,
    })
}

/// The edges that close a cycle in a depth-first walk from the start (then from every state
/// the start does not reach): with them left out, the rest is acyclic.
fn back_edges(
    n: usize,
    start: Option<usize>,
    edges: &BTreeMap<(usize, usize), (EdgeKind, Vec<String>)>,
) -> Vec<(usize, usize)> {
    let mut out_of: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges.keys() {
        out_of[a].push(b);
    }
    // 0 unvisited, 1 on the walk's stack, 2 done.
    let mut mark = vec![0u8; n];
    let mut back = Vec::new();
    let roots = start.into_iter().chain(0..n);
    for root in roots {
        if mark[root] != 0 {
            continue;
        }
        let mut stack = vec![(root, 0usize)];
        mark[root] = 1;
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if let Some(&w) = out_of[v].get(*next) {
                *next += 1;
                match mark[w] {
                    0 => {
                        mark[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => back.push((v, w)),
                    _ => {}
                }
            } else {
                mark[v] = 2;
                stack.pop();
            }
        }
    }
    back
}

/// Box centres from rust-sugiyama, its components side by side, layers spaced for the page.
fn place(sizes: &[(u32, (f64, f64))], forward: &[(u32, u32)]) -> Vec<(f64, f64)> {
    let config = rust_sugiyama::configure::Config {
        vertex_spacing: NODE_GAP,
        ..Default::default()
    };
    let mut centres = vec![(0.0, 0.0); sizes.len()];
    let mut placed = vec![false; sizes.len()];
    let mut offset = 0.0;
    for (component, width, _) in rust_sugiyama::from_vertices_and_edges(sizes, forward, &config) {
        let min_x = component
            .iter()
            .map(|(id, (x, _))| x - sizes[*id].1.0 / 2.0)
            .fold(f64::INFINITY, f64::min);
        let mut ys: Vec<f64> = component.iter().map(|(_, (_, y))| *y).collect();
        ys.sort_by(f64::total_cmp);
        ys.dedup();
        for (id, (x, y)) in &component {
            // rust-sugiyama's y is the layer; space layers evenly whatever its unit.
            let layer = ys.iter().position(|v| v == y).unwrap_or(0) as f64;
            centres[*id] = (x - min_x + offset, layer * (NODE_HEIGHT + LAYER_GAP));
            placed[*id] = true;
        }
        let right = component
            .iter()
            .map(|(id, (x, _))| x - min_x + sizes[*id].1.0 / 2.0)
            .fold(width.max(0.0), f64::max);
        offset += right + NODE_GAP * 2.0;
    }
    // A state in no edge at all: rust-sugiyama may leave it out; put it at the far right.
    for (i, done) in placed.iter().enumerate() {
        if !done {
            centres[i] = (offset + sizes[i].1.0 / 2.0, 0.0);
            offset += sizes[i].1.0 + NODE_GAP;
        }
    }
    centres
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// From the bottom centre of `a` to the top centre of `b`, a vertical S-curve.
fn forward_path(a: &Node, b: &Node) -> String {
    let (x1, y1) = (a.x + a.width / 2.0, a.y + a.height);
    let (x2, y2) = (b.x + b.width / 2.0, b.y);
    let bend = ((y2 - y1) / 2.0).max(LAYER_GAP / 2.0);
    format!(
        "M{} {} C{} {} {} {} {} {}",
        fmt(x1),
        fmt(y1),
        fmt(x1),
        fmt(y1 + bend),
        fmt(x2),
        fmt(y2 - bend),
        fmt(x2),
        fmt(y2)
    )
}

/// From the right side of `a` back up to the right side of `b`, bulging right.
fn loop_path(a: &Node, b: &Node) -> String {
    let (x1, y1) = (a.x + a.width, a.y + a.height / 2.0);
    let (x2, y2) = (b.x + b.width, b.y + b.height / 2.0);
    let out = x1.max(x2) + 36.0;
    format!(
        "M{} {} C{} {} {} {} {} {}",
        fmt(x1),
        fmt(y1),
        fmt(out),
        fmt(y1),
        fmt(out),
        fmt(y2),
        fmt(x2),
        fmt(y2)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn deployed() -> Graph {
        layout(crate::pipeline::DEFINITION).unwrap()
    }

    fn node<'a>(g: &'a Graph, id: &str) -> &'a Node {
        g.nodes.iter().find(|n| n.id == id).unwrap()
    }

    #[test]
    fn every_state_of_the_deployed_machine_is_a_box() {
        let g = deployed();
        let doc: Value = serde_json::from_str(crate::pipeline::DEFINITION).unwrap();
        let mut want: Vec<&String> = doc["States"].as_object().unwrap().keys().collect();
        let mut got: Vec<&String> = g.nodes.iter().map(|n| &n.id).collect();
        want.sort();
        got.sort();
        assert_eq!(got, want);
        assert_eq!(g.start, "ValidateKey");
    }

    #[test]
    fn the_main_path_runs_top_down() {
        let g = deployed();
        let spine = [
            "ValidateKey",
            "IsCopyNeeded",
            "CopyObject",
            "IsCopyFinished",
            "VerifyCopy",
            "IsVerifyFinished",
            "Copied",
        ];
        for pair in spine.windows(2) {
            assert!(
                node(&g, pair[0]).y < node(&g, pair[1]).y,
                "{} above {}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn both_checkpoint_loops_are_back_edges_and_catches_are_merged() {
        let g = deployed();
        let back: Vec<(&str, &str)> = g
            .edges
            .iter()
            .filter(|e| e.back)
            .map(|e| (e.from.as_str(), e.to.as_str()))
            .collect();
        assert_eq!(
            back.len(),
            2,
            "the copy and verify checkpoint loops: {back:?}"
        );
        assert!(back.contains(&("IsCopyFinished", "CopyObject")));
        assert!(back.contains(&("IsVerifyFinished", "VerifyCopy")));
        // CopyObject has two Catch entries into CopyFailed: one edge, all their errors.
        let to_failed: Vec<&Edge> = g
            .edges
            .iter()
            .filter(|e| e.from == "CopyObject" && e.to == "CopyFailed")
            .collect();
        assert_eq!(to_failed.len(), 1);
        assert_eq!(to_failed[0].kind, EdgeKind::Catch);
        assert!(to_failed[0].errors.len() >= 2, "{:?}", to_failed[0].errors);
    }

    #[test]
    fn boxes_do_not_overlap_and_fit_the_drawing() {
        let g = deployed();
        for (i, a) in g.nodes.iter().enumerate() {
            assert!(a.x >= 0.0 && a.y >= 0.0);
            assert!(a.x + a.width <= g.width && a.y + a.height <= g.height);
            for b in &g.nodes[i + 1..] {
                let apart = a.x + a.width <= b.x
                    || b.x + b.width <= a.x
                    || a.y + a.height <= b.y
                    || b.y + b.height <= a.y;
                assert!(apart, "{} overlaps {}", a.id, b.id);
            }
        }
    }

    #[test]
    fn forward_edges_leave_the_bottom_and_enter_the_top() {
        let g = deployed();
        let e = g
            .edges
            .iter()
            .find(|e| e.from == "ValidateKey" && e.to == "IsCopyNeeded")
            .unwrap();
        let a = node(&g, "ValidateKey");
        assert!(e.path.starts_with(&format!(
            "M{} {}",
            fmt(a.x + a.width / 2.0),
            fmt(a.y + a.height)
        )));
        let b = node(&g, "IsCopyNeeded");
        assert!(
            e.path
                .ends_with(&format!("{} {}", fmt(b.x + b.width / 2.0), fmt(b.y)))
        );
    }

    #[test]
    fn an_unreachable_state_and_a_self_loop_are_still_drawn() {
        let g = layout(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"A"},"Lone":{"Type":"Succeed"}}}"#,
        )
        .unwrap();
        assert_eq!(g.nodes.len(), 2);
        assert!(g.edges[0].back);
    }

    #[test]
    fn a_document_without_states_is_refused() {
        assert!(matches!(layout("{}"), Err(GraphError::NotAsl(_))));
        assert!(matches!(layout("not json"), Err(GraphError::NotAsl(_))));
    }
}
