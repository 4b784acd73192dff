//! End-to-end tests of `dpc validate`, `dpc schema` and `dpc create-project`, running the
//! built binary as users and CI do.

use std::path::Path;

use crate::common::{ROOT, dpc};

#[test]
fn examples_validate_cleanly() {
    let o = dpc(["validate", "examples"]).run();
    o.assert_code(0)
        .assert_stderr_contains("ok: 0 errors, 0 warnings in 14 files");
    assert!(o.stdout().is_empty(), "human output belongs on stderr");
}

#[test]
fn one_project_finds_its_dpc_yaml_above_it() {
    let o = dpc([
        "validate",
        "examples/case-study/pipeline-x",
        "--format",
        "json",
    ])
    .run();
    o.assert_code(0);
    let doc = o.json();
    assert_eq!(
        doc["summary"]["files"], 2,
        "pipeline.yaml and the dpc.yaml above it"
    );
}

#[test]
fn invalid_file_exits_1_with_line_column_code_and_help_in_json() {
    let o = dpc([
        "validate",
        "tests/fixtures/invalid/schema-wrong-type-account.yaml",
        "--format",
        "json",
    ])
    .run();
    o.assert_code(1);
    let doc = o.json();
    let d = &doc["diagnostics"][0];
    assert_eq!(
        d["file"],
        "tests/fixtures/invalid/schema-wrong-type-account.yaml"
    );
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(3), Some(10))
    );
    assert_eq!(
        (d["endLine"].as_u64(), d["endColumn"].as_u64()),
        (Some(3), Some(22))
    );
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "dpc::schema::wrong-type");
    assert_eq!(d["help"], "quote it: \"111111111111\"");
    assert_eq!(doc["summary"]["errors"], 1);
}

#[test]
fn global_output_json_selects_json() {
    let o = dpc([
        "--output",
        "json",
        "validate",
        "tests/fixtures/invalid/name-invalid.yaml",
    ])
    .run();
    o.assert_code(1);
    assert_eq!(o.json()["diagnostics"][0]["code"], "dpc::name::invalid");
}

#[test]
fn github_annotations() {
    let o = dpc([
        "validate",
        "tests/fixtures/invalid/trigger-unknown-status.yaml",
        "--format",
        "github",
    ])
    .run();
    o.assert_code(1);
    let out = o.stdout();
    assert!(
        out.starts_with("::error file=tests/fixtures/invalid/trigger-unknown-status.yaml,line=7,col=18,endLine=7,endColumn=24,title=dpc%3A%3Atrigger%3A%3Aunknown-status::unknown status `SUCESS`%0Ahelp: "),
        "{out}"
    );
}

#[test]
fn sarif_2_1_0() {
    let o = dpc([
        "validate",
        "tests/fixtures/invalid/many-errors.yaml",
        "--format",
        "sarif",
    ])
    .run();
    o.assert_code(1);
    let doc = o.json();
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "dpc");
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 7);
    let first = &results[0];
    assert_eq!(first["ruleId"], "dpc::name::invalid");
    assert_eq!(
        first["locations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );
    let rule_index = first["ruleIndex"].as_u64().expect("rule index") as usize;
    assert_eq!(
        run["tool"]["driver"]["rules"][rule_index]["id"],
        "dpc::name::invalid"
    );
}

#[test]
fn warnings_pass_unless_strict() {
    let path = "tests/fixtures/invalid/window-unused.yaml";
    dpc(["validate", path]).run().assert_code(0);
    dpc(["validate", path, "--strict"]).run().assert_code(1);
}

#[test]
fn missing_path_is_a_usage_error() {
    dpc(["validate", "does/not/exist"])
        .run()
        .assert_code(2)
        .assert_stderr_contains("does/not/exist");
    let o = dpc(["validate", "--format", "yaml"]).run();
    assert_eq!(o.code(), Some(2), "unknown format is a usage error");
}

#[test]
fn a_tree_without_pipelines_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    dpc(["validate"])
        .current_dir(dir.path())
        .run()
        .assert_code(2)
        .assert_stderr_contains("no pipeline.yaml found");
}

#[cfg(unix)]
#[test]
fn unreadable_pipeline_is_an_io_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("p");
    std::fs::create_dir(&project).expect("mkdir");
    std::os::unix::fs::symlink(dir.path().join("gone.yaml"), project.join("pipeline.yaml"))
        .expect("symlink");
    dpc(["validate", "--format", "json"])
        .current_dir(dir.path())
        .run()
        .assert_code(2)
        .assert_stdout_contains("dpc::io::read");
}

#[test]
fn colours_follow_color_and_no_color() {
    let path = "tests/fixtures/invalid/name-invalid.yaml";
    let plain = dpc(["validate", path, "--color", "never"])
        .env_remove("NO_COLOR")
        .run();
    assert!(
        !plain.stderr().contains('\u{1b}'),
        "no escapes with --color never"
    );
    let coloured = dpc(["validate", path, "--color", "always"])
        .env_remove("NO_COLOR")
        .run();
    assert!(
        coloured.stderr().contains('\u{1b}'),
        "escapes with --color always"
    );
    let no_color = dpc(["validate", path]).env("NO_COLOR", "1").run();
    assert!(!no_color.stderr().contains('\u{1b}'));
}

#[test]
fn human_report_snapshot() {
    let o = dpc([
        "validate",
        "tests/fixtures/invalid/steps-unknown-placeholder.yaml",
        "--color",
        "never",
    ])
    .env_remove("NO_COLOR")
    .run();
    o.assert_code(1);
    insta::assert_snapshot!(o.stderr());
}

#[test]
fn schema_pipeline_is_the_committed_file() {
    let o = dpc(["schema", "pipeline"]).run();
    o.assert_code(0);
    let committed =
        std::fs::read(Path::new(ROOT).join("schemas/pipeline.schema.json")).expect("schema file");
    assert_eq!(o.stdout_bytes(), committed, "byte-identical");
    assert_eq!(
        dpc(["schema"]).run().stdout_bytes(),
        committed,
        "pipeline is the default"
    );
    dpc(["schema", "nope"])
        .run()
        .assert_code(2)
        .assert_stderr_contains(
            "known schemas: pipeline, config, status-event, trigger-event, refresh-event, step-status-event",
        );
}

#[test]
fn create_project_then_validate_for_every_template() {
    let dir = tempfile::tempdir().expect("tempdir");
    for template in ["shell", "spark", "glue"] {
        let name = format!("demo-{template}");
        dpc(["create-project", "-n", &name, "--template", template])
            .current_dir(dir.path())
            .run()
            .assert_code(0);
        for file in [
            "pipeline.yaml",
            "README.md",
            ".gitignore",
            ".github/workflows/dpc.yml",
            ".dpc/pipeline.schema.json",
        ] {
            assert!(dir.path().join(&name).join(file).is_file(), "{name}/{file}");
        }
        let yaml = std::fs::read_to_string(dir.path().join(&name).join("pipeline.yaml"))
            .expect("pipeline");
        assert!(yaml.starts_with("# yaml-language-server: $schema=.dpc/pipeline.schema.json"));
        let o = dpc(["validate", &name, "--strict"])
            .current_dir(dir.path())
            .run();
        assert_eq!(o.code(), Some(0), "{template}: {}", o.stderr());
    }
    let workflow = std::fs::read_to_string(dir.path().join("demo-shell/.github/workflows/dpc.yml"))
        .expect("workflow");
    assert!(workflow.contains("dpc validate"));
    let gitignore =
        std::fs::read_to_string(dir.path().join("demo-shell/.gitignore")).expect("gitignore");
    assert!(gitignore.contains("dpc.out/"));
}

#[test]
fn create_project_never_overwrites_and_checks_the_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    dpc(["create-project", "-n", "demo"])
        .current_dir(dir.path())
        .run()
        .assert_code(0);
    let before = std::fs::read(dir.path().join("demo/pipeline.yaml")).expect("pipeline");
    std::fs::write(dir.path().join("demo/pipeline.yaml"), "edited").expect("edit");
    dpc(["create-project", "-n", "demo"])
        .current_dir(dir.path())
        .run()
        .assert_code(1)
        .assert_stderr_contains("never overwrites");
    assert_eq!(
        std::fs::read(dir.path().join("demo/pipeline.yaml")).expect("kept"),
        b"edited"
    );
    assert_ne!(before, b"edited");

    dpc(["create-project", "-n", "Bad_Name"])
        .current_dir(dir.path())
        .run()
        .assert_code(1);
    assert!(
        !dir.path().join("Bad_Name").exists(),
        "nothing half-written"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "only demo/: {leftovers:?}");
}

#[test]
fn create_project_into_an_explicit_empty_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("here");
    std::fs::create_dir(&target).expect("mkdir");
    let o = dpc([
        "create-project",
        "-n",
        "x",
        "--dir",
        "here",
        "--output",
        "json",
    ])
    .current_dir(dir.path())
    .run();
    o.assert_code(0);
    assert_eq!(o.json()["created"], "here");
    assert!(target.join("pipeline.yaml").is_file());
}
