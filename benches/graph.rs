//! `dpc graph` benchmark (`cargo bench --bench graph`): the generated tree of 700 pipelines in
//! 100 accounts (benches/tree/local.rs: schedules, execution and data-product dependencies,
//! fallbacks on failure, a published product each) drawn in each format by the built binary,
//! as a whole process (discovery, validation, building the graph, rendering, writing stdout),
//! median of several runs; and the pure part alone (building the graph from the validated
//! tree and rendering it), in process. Target: under 200 ms per format.
//!
//! `DPC_BENCH_DIR=/dev/shm` puts the tree on a tmpfs.

// A benchmark is an edge: it reads files, runs processes and reads the clock.
#![allow(clippy::disallowed_methods)]

#[path = "tree/local.rs"]
mod tree;

use std::process::Command;
use std::time::Instant;

use dpc::lineage::graph::Graph;
use dpc::lineage::{dot, html, mermaid};

const PIPELINES: usize = 700;
const ACCOUNTS: usize = 100;
const RUNS: usize = 7;
const FORMATS: [&str; 4] = ["mermaid", "dot", "json", "html"];

fn main() {
    let tmp = match std::env::var_os("DPC_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .expect("tempdir");
    let root = tmp.path().join("tree");
    std::fs::create_dir_all(&root).expect("mkdir");
    tree::generate_local(&root, PIPELINES, ACCOUNTS);
    println!("dpc graph of {PIPELINES} pipelines in {ACCOUNTS} accounts (target < 200 ms):");
    for format in FORMATS {
        let mut times: Vec<f64> = (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                let out = Command::new(env!("CARGO_BIN_EXE_dpc"))
                    .args(["--quiet", "graph", "--format", format])
                    .arg(&root)
                    .output()
                    .expect("dpc runs");
                let took = start.elapsed().as_secs_f64() * 1e3;
                assert!(
                    out.status.success() && !out.stdout.is_empty(),
                    "dpc graph --format {format} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                took
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "  {format:8} whole process: median {:.1} ms (min {:.1}, max {:.1}; {RUNS} runs)",
            times[RUNS / 2],
            times[0],
            times[RUNS - 1]
        );
    }
    let tree = dpc::pipeline::load::validate_tree(&[root], chrono::Utc::now().naive_utc())
        .expect("the tree loads");
    assert!(!tree.has_errors(), "the generated tree is valid");
    let pipelines: Vec<_> = tree.pipelines().collect();
    for format in FORMATS {
        let mut times: Vec<f64> = (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                let graph = Graph::build(&pipelines);
                let text = match format {
                    "mermaid" => mermaid::render(&graph),
                    "dot" => dot::render(&graph),
                    "json" => serde_json::to_string(&graph).expect("json"),
                    _ => html::render(&graph),
                };
                assert!(!text.is_empty());
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "  {format:8} graph + render only: median {:.2} ms (min {:.2})",
            times[RUNS / 2],
            times[0]
        );
    }
}
