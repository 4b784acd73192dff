//! Project scaffolding: renders the handlebars templates in `templates/` (strict mode) into a
//! new project folder. Everything is rendered in memory first and moved into place at once,
//! so a failure never leaves a half-written project, and nothing existing is overwritten.

use std::path::{Path, PathBuf};

use handlebars::Handlebars;
use serde_json::json;

use crate::pipeline::schema::SchemaName;
use crate::pipeline::validate::values::is_pipeline_name;

/// The kinds of project `create-project` can scaffold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Template {
    /// A shell script step on a transient EMR cluster.
    Shell,
    /// A Spark step on a transient EMR cluster.
    Spark,
    /// A Glue job step.
    Glue,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("pipeline", include_str!("../templates/pipeline.yaml.hbs")),
    ("readme", include_str!("../templates/README.md.hbs")),
    ("gitignore", include_str!("../templates/gitignore.hbs")),
    ("workflow", include_str!("../templates/workflow.yml.hbs")),
    ("shell", include_str!("../templates/script-shell.sh.hbs")),
    ("spark", include_str!("../templates/script-spark.py.hbs")),
    ("glue", include_str!("../templates/script-glue.py.hbs")),
];

#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "`{0}` is not a valid pipeline name: use lowercase letters, digits and hyphens, starting with a letter, at most 64 characters"
    )]
    InvalidName(String),
    #[error("{0} already exists and is not empty; dpc never overwrites files")]
    Exists(PathBuf),
    #[error("template error: {0}")]
    Template(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The files of a new project, relative to its folder.
pub fn render(name: &str, template: Template) -> Result<Vec<(PathBuf, String)>, ScaffoldError> {
    if !is_pipeline_name(name) {
        return Err(ScaffoldError::InvalidName(name.to_string()));
    }
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    for (id, text) in TEMPLATES {
        hb.register_template_string(id, text)
            .map_err(|e| ScaffoldError::Template(e.to_string()))?;
    }
    let (script, step_type, local_command) = match template {
        Template::Shell => (
            "jobs/main.sh",
            "SHELL",
            "bash jobs/main.sh --date {{run.date}}",
        ),
        Template::Spark => (
            "jobs/main.py",
            "SPARK",
            "python3 jobs/main.py --date {{run.date}}",
        ),
        Template::Glue => (
            "jobs/main.py",
            "GLUE",
            "python3 jobs/main.py --date {{run.date}}",
        ),
    };
    let data = json!({
        "name": name,
        "description": format!("The {name} pipeline"),
        "team": name,
        "emr": template != Template::Glue,
        "glue": template == Template::Glue,
        "step_type": step_type,
        "script": script,
        "local_command": local_command,
        "dpc_version": env!("CARGO_PKG_VERSION"),
    });
    let script_template = match template {
        Template::Shell => "shell",
        Template::Spark => "spark",
        Template::Glue => "glue",
    };
    let files = [
        ("pipeline.yaml", "pipeline"),
        ("README.md", "readme"),
        (".gitignore", "gitignore"),
        (".github/workflows/dpc.yml", "workflow"),
        (script, script_template),
    ];
    let mut out = Vec::with_capacity(files.len() + 1);
    for (path, id) in files {
        let text = hb
            .render(id, &data)
            .map_err(|e| ScaffoldError::Template(e.to_string()))?;
        out.push((PathBuf::from(path), tidy(&text)));
    }
    out.push((
        PathBuf::from(".dpc/pipeline.schema.json"),
        SchemaName::Pipeline.render(),
    ));
    Ok(out)
}

/// Collapses the blank lines that skipped `{{#if}}` blocks leave behind.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        blank = if line.trim().is_empty() { blank + 1 } else { 0 };
        if blank <= 1 {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Writes a new project into `dir`, which must not exist or be empty.
pub fn create(dir: &Path, name: &str, template: Template) -> Result<Vec<PathBuf>, ScaffoldError> {
    let files = render(name, template)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScaffoldError::Io { path, source }
    };
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
        if entries.next().is_some() {
            return Err(ScaffoldError::Exists(dir.to_path_buf()));
        }
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let staging = parent.join(format!(".{}.dpc-new-{}", name, std::process::id()));
    let result = write_all(&staging, &files).and_then(|()| {
        if dir.exists() {
            std::fs::remove_dir(dir).map_err(io(dir))?;
        }
        std::fs::rename(&staging, dir).map_err(io(dir))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result?;
    Ok(files.into_iter().map(|(p, _)| dir.join(p)).collect())
}

fn write_all(root: &Path, files: &[(PathBuf, String)]) -> Result<(), ScaffoldError> {
    for (relative, text) in files {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ScaffoldError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, text).map_err(|source| ScaffoldError::Io {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}
