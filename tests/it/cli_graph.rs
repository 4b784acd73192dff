//! `dpc graph` end to end: each format of both examples (snapshots), the acceptance checks
//! (accounts as groups, the fallback edge marked, external upstreams), the Mermaid text parsed
//! by Mermaid itself (installed by `.ci/run` into target/node), the HTML page well formed and
//! self-contained, `--status` after `dpc local run --fail searches` (pipeline-x waits on
//! searches), `--central` on moto (the central table seeded through the manager over the
//! DynamoDB store), a missing store, and a closed stdout.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::dynamo::Dynamo;
use crate::common::manager::status_event;
use crate::common::{ROOT, dpc};
use dpc::manager::Manager;
use dpc::manager::dynamo::DynamoStore;
use dpc::manager::registry::{self, PipelineId};

fn example(path: &str) -> PathBuf {
    Path::new(ROOT).join(path)
}

fn graph(args: &[&str]) -> String {
    let run = dpc(["--quiet", "graph"])
        .arg(example("examples"))
        .args(args)
        .run();
    run.assert_code(0);
    run.stdout()
}

#[test]
fn each_format_of_both_examples() {
    for (format, ext) in [
        ("mermaid", "mmd"),
        ("dot", "dot"),
        ("json", "json"),
        ("html", "html"),
    ] {
        let text = graph(&["--format", format]);
        insta::assert_snapshot!(format!("examples.{ext}"), text);
    }
}

#[test]
fn mermaid_groups_accounts_and_marks_the_fallback_edge() {
    let text = graph(&[]);
    assert!(text.starts_with("flowchart LR\n"));
    for account in [
        "111111111111",
        "222222222222",
        "333333333333",
        "444444444444",
        "555555555555",
        "666666666666",
    ] {
        assert!(
            text.contains(&format!("subgraph acct_{account}[\"account {account}")),
            "{account} is a group:\n{text}"
        );
    }
    // The fallback: dotted, labelled, and red through linkStyle on its index.
    let edges: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("-->") || l.contains("-.->"))
        .collect();
    let fallback: Vec<usize> = edges
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("-.->"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(fallback.len(), 2, "{text}");
    for &i in &fallback {
        assert!(
            edges[i].contains("anyOf · FAILED, TIMED_OUT · fallback"),
            "{}",
            edges[i]
        );
        assert!(
            edges[i].ends_with("p_333333333333_pipeline_x_fallback"),
            "{}",
            edges[i]
        );
    }
    let style = format!(
        "linkStyle {} stroke:#d1242f",
        fallback
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    assert!(text.contains(&style), "{text}");
    // The data-mesh chain: products as cylinders between their publisher and dependents.
    assert!(text.contains("d_D1_DS3[(\"D1/DS3<br/>data product\")]"));
    assert!(text.contains("p_555555555555_d1_ds3 -->|\"publishes\"| d_D1_DS3"));
    assert!(text.contains("d_D1_DS3 -->|\"allOf\"| p_555555555555_d1_ds4"));
    assert!(
        text.contains(
            "p_111111111111_listings -->|\"allOf · SUCCEEDED\"| p_333333333333_pipeline_x"
        )
    );
}

/// Mermaid's own parser accepts what `dpc graph` prints (a node or link style on a missing
/// index, an unquoted reserved word or a broken label fails it).
#[test]
fn mermaid_parses_the_output() {
    let prefix = Path::new(ROOT).join("target/node");
    assert!(
        prefix.join("node_modules/mermaid").is_dir() && prefix.join("node_modules/jsdom").is_dir(),
        "Mermaid is missing: .ci/run installs it (npm install --prefix target/node mermaid jsdom, versions pinned there)"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let plain = dir.path().join("plain.mmd");
    std::fs::write(&plain, graph(&[])).expect("write");
    // With states: WAITING classes and the amber waiting edges (linkStyle).
    local_run_failing_searches(dir.path());
    let run = dpc(["--quiet", "graph"])
        .arg(example("examples"))
        .args(["--status", "--at", "2026-11-26T12:00:00Z"])
        .current_dir(dir.path())
        .run();
    run.assert_code(0);
    let status = dir.path().join("status.mmd");
    std::fs::write(&status, run.stdout()).expect("write");
    let out = std::process::Command::new("node")
        .arg(Path::new(ROOT).join("tests/mermaid/check.mjs"))
        .arg(&prefix)
        .args([&plain, &status])
        .output()
        .expect("node runs (README: the tests need Node.js)");
    assert!(
        out.status.success(),
        "Mermaid rejects the graph:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn json_has_the_documented_shape() {
    let json: Value = serde_json::from_str(&graph(&["--format", "json"])).expect("json");
    assert_eq!(json["version"], 1);
    assert_eq!(json["withStatus"], false);
    let nodes = json["nodes"].as_array().expect("nodes");
    let pipelines = nodes.iter().filter(|n| n["kind"] == "pipeline").count();
    let products = nodes.iter().filter(|n| n["kind"] == "dataProduct").count();
    assert_eq!((pipelines, products), (12, 9), "{json:#}");
    assert!(nodes.iter().all(|n| n["external"] == false));
    let x = nodes
        .iter()
        .find(|n| n["id"] == "pipeline:333333333333/eu-west-1/pipeline-x")
        .expect("pipeline-x");
    assert_eq!(x["team"], "rent-journey");
    assert_eq!(x["schedule"], "cron(0 0 * * ? *)");
    let edges = json["edges"].as_array().expect("edges");
    let fallback: Vec<&Value> = edges.iter().filter(|e| e["fallback"] == true).collect();
    assert_eq!(fallback.len(), 2);
    for e in fallback {
        assert_eq!(
            e["to"],
            "pipeline:333333333333/eu-west-1/pipeline-x-fallback"
        );
        assert_eq!(e["kind"], "execution");
        assert_eq!(e["rule"], "anyOf");
        assert_eq!(e["statuses"], serde_json::json!(["FAILED", "TIMED_OUT"]));
    }
    let publish = edges.iter().filter(|e| e["kind"] == "publish").count();
    assert_eq!(publish, 9);
}

#[test]
fn upstreams_outside_the_tree_are_external() {
    // pipeline-x alone: listings and searches are named but not in the tree.
    let run = dpc(["--quiet", "graph", "--format", "json"])
        .arg(example("examples/case-study/pipeline-x"))
        .run();
    run.assert_code(0);
    let json = run.json();
    let external: Vec<&str> = json["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|n| n["external"] == true)
        .map(|n| n["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(external, ["listings", "searches"]);
    let mermaid = dpc(["--quiet", "graph"])
        .arg(example("examples/case-study/pipeline-x"))
        .run();
    mermaid.assert_stdout_contains("x_111111111111_listings[\"listings<br/>external pipeline\"]");
    mermaid
        .assert_stdout_contains("class x_111111111111_listings,x_222222222222_searches external");
}

#[test]
fn the_html_page_is_well_formed_and_self_contained() {
    let html = graph(&["--format", "html"]);
    crate::cli_local_report::assert_well_formed(&html);
    assert!(html.contains("<svg class=\"graph\""));
    assert!(html.contains(">account 555555555555 · team domain-d1</text>"));
    assert!(html.contains("class=\"edge leaf on-failure\""));
    assert_eq!(html.matches("<g class=\"node pipeline\">").count(), 12);
    assert_eq!(html.matches("<g class=\"node product\">").count(), 9);
}

/// `dpc local run examples/case-study --fail searches` over 2026-11-26 in `dir`.
fn local_run_failing_searches(dir: &Path) {
    dpc([
        "--quiet",
        "local",
        "run",
        "--from",
        "2026-11-26",
        "--fail",
        "searches",
    ])
    .arg(example("examples/case-study"))
    .current_dir(dir)
    .run()
    .assert_code(1);
}

#[test]
fn status_after_a_failed_searches_shows_pipeline_x_waiting_on_searches() {
    let dir = tempfile::tempdir().expect("tmp");
    local_run_failing_searches(dir.path());
    let run = dpc([
        "--quiet",
        "graph",
        "--status",
        "--at",
        "2026-11-26T12:00:00Z",
        "--format",
        "json",
    ])
    .arg(example("examples/case-study"))
    .current_dir(dir.path())
    .run();
    run.assert_code(0);
    let json = run.json();
    assert_eq!(json["withStatus"], true);
    let node = |name: &str| -> Value {
        json["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .find(|n| n["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {json:#}"))
    };
    assert_eq!(node("pipeline-x")["state"], "WAITING");
    assert_eq!(
        node("pipeline-x")["waitingFor"],
        serde_json::json!(["searches"])
    );
    assert_eq!(node("searches")["state"], "ERROR");
    assert_eq!(node("listings")["state"], "COMPLETED");
    assert_eq!(node("pipeline-x-fallback")["state"], "COMPLETED");
    let waiting: Vec<(&str, &str)> = json["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter(|e| e["waiting"] == true)
        .map(|e| {
            (
                e["from"].as_str().unwrap_or_default(),
                e["to"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        waiting,
        [(
            "pipeline:222222222222/eu-west-1/searches",
            "pipeline:333333333333/eu-west-1/pipeline-x"
        )]
    );
    let mermaid = dpc([
        "--quiet",
        "graph",
        "--status",
        "--at",
        "2026-11-26T12:00:00Z",
    ])
    .arg(example("examples/case-study"))
    .current_dir(dir.path())
    .run();
    mermaid.assert_code(0);
    mermaid.assert_stdout_contains(
        "p_333333333333_pipeline_x[\"pipeline-x<br/>cron(0 0 * * ? *)<br/>WAITING on searches\"]",
    );
    mermaid
        .assert_stdout_contains("-->|\"allOf · SUCCEEDED · waiting\"| p_333333333333_pipeline_x");
    mermaid.assert_stdout_contains("class p_333333333333_pipeline_x waiting");
    mermaid.assert_stdout_contains("class p_222222222222_searches error");
}

#[test]
fn status_without_a_store_says_how_to_make_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = dpc(["graph", "--status"])
        .arg(example("examples/case-study"))
        .current_dir(dir.path())
        .run();
    run.assert_code(2);
    run.assert_stderr_contains("no store at .dpc/state.db");
    assert!(
        run.stdout().is_empty(),
        "nothing half-written: {}",
        run.stdout()
    );
}

#[test]
fn a_closed_stdout_is_a_normal_end() {
    let bin = env!("CARGO_BIN_EXE_dpc");
    let script = format!(
        "{bin} --quiet graph {} --format html | head -c1; echo \" ${{PIPESTATUS[0]}}\"",
        example("examples").display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .expect("bash");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with(" 0\n"), "exit status: {text:?}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

/// `--central`: the states come from the central account's table on moto, named by the SSM
/// parameter the `dpc-central` stack writes. The table is seeded through the real manager over
/// the DynamoDB store (registrations of the case study, then listings SUCCEEDED and searches
/// FAILED), as the central manager Lambda would record them.
#[test]
fn central_reads_the_states_from_the_central_table() {
    let dynamo = Dynamo::start();
    let table = dynamo.table();
    let sdk = dynamo.runtime.block_on(dynamo.moto.sdk());
    dynamo
        .runtime
        .block_on(
            aws_sdk_ssm::Client::new(&sdk)
                .put_parameter()
                .name(dpc::cli::central::TABLE_PARAMETER)
                .value(&table)
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .send(),
        )
        .expect("put the table parameter");
    let tree = dpc::pipeline::load::validate_tree(
        &[example("examples/case-study")],
        chrono::NaiveDate::from_ymd_opt(2026, 11, 26)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("date"),
    )
    .expect("the case study loads");
    let at = dpc::manager::time::parse_time("2026-11-26T06:00:00Z").expect("time");
    {
        let _guard = dynamo.enter();
        let mut manager = Manager::new(DynamoStore::new(dynamo.client.clone(), table.clone()));
        dynamo.runtime.block_on(async {
            tokio::task::block_in_place(|| {
                for (p, config) in tree.pipelines() {
                    let reg = registry::registration(p, config).expect("compiles");
                    manager.register(&reg, at - 7_200_000).expect("registered");
                }
                let id = |account: &str, name: &str| PipelineId {
                    account: account.into(),
                    region: "eu-west-1".into(),
                    name: name.into(),
                };
                let listings = id("111111111111", "listings");
                let searches = id("222222222222", "searches");
                for (pipeline, exec, status, started, stopped) in [
                    (
                        &listings,
                        "l-1",
                        "SUCCEEDED",
                        at - 3_600_000,
                        at - 3_000_000,
                    ),
                    (&searches, "s-1", "FAILED", at - 1_800_000, at - 1_200_000),
                ] {
                    let event =
                        status_event(pipeline, exec, status, started, Some(stopped), "SCHEDULED");
                    manager.handle_status(&event, stopped).expect("recorded");
                }
            })
        });
    }
    let config = tempfile::tempdir().expect("tmp");
    std::fs::write(
        config.path().join("dpc.yaml"),
        "central: { account: \"123456789012\", region: eu-west-1 }\n",
    )
    .expect("dpc.yaml");
    let run = dynamo
        .moto
        .dpc([
            "--quiet",
            "graph",
            "--central",
            "--format",
            "json",
            "--at",
            "2026-11-26T06:30:00Z",
        ])
        .arg(example("examples/case-study"))
        .arg("--config-dir")
        .arg(config.path())
        .run();
    run.assert_code(0);
    let json = run.json();
    let x = json["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["name"] == "pipeline-x")
        .cloned()
        .expect("pipeline-x");
    assert_eq!(x["state"], "WAITING", "{json:#}");
    assert_eq!(x["waitingFor"], serde_json::json!(["searches"]));
}

/// README's Lineage section shows both examples exactly as `dpc graph` prints them.
#[test]
fn the_readme_graphs_are_what_the_command_prints() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README.md");
    let lineage = &readme[readme.find("\n## Lineage\n").expect("a Lineage section")..];
    let blocks: Vec<&str> = lineage
        .split("```mermaid\n")
        .skip(1)
        .take(2)
        .map(|b| b.split("```").next().unwrap_or_default())
        .collect();
    for (block, example) in blocks
        .iter()
        .zip(["examples/case-study", "examples/data-mesh"])
    {
        let run = dpc(["--quiet", "graph"]).arg(self::example(example)).run();
        run.assert_code(0);
        assert_eq!(
            *block,
            run.stdout(),
            "README's graph of {example} is stale: paste `dpc graph {example}`"
        );
    }
    assert_eq!(blocks.len(), 2);
}
