//! Project discovery and loading: finds every `pipeline.yaml` below the given paths and the
//! `dpc.yaml` governing each (the nearest one above it), reads them, and validates them in
//! parallel. This is the file-system edge of validation; the checks themselves are pure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::codes;
use crate::diag::diagnostic::Diagnostic;
use crate::diag::source::{SourceFile, Span};
use crate::pipeline::model;
use crate::pipeline::validate::{self, Checked, Context};

pub const PIPELINE_FILE: &str = "pipeline.yaml";
pub const CONFIG_FILE: &str = "dpc.yaml";

/// Folders never searched for projects.
const SKIP_DIRS: &[&str] = &["target", "node_modules", "dpc.out"];

/// Why the given paths could not be searched (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One validated pipeline file.
#[derive(Debug)]
pub struct Unit {
    pub file: Arc<SourceFile>,
    pub checked: Checked<model::Pipeline>,
    /// The governing `dpc.yaml`, if any (index into `Loaded::configs`).
    pub config: Option<usize>,
}

/// One validated `dpc.yaml`.
#[derive(Debug)]
pub struct ConfigUnit {
    pub dir: PathBuf,
    pub file: Arc<SourceFile>,
    pub checked: Checked<model::Config>,
}

/// Everything found below the given paths.
#[derive(Debug, Default)]
pub struct Loaded {
    pub units: Vec<Unit>,
    pub configs: Vec<ConfigUnit>,
    /// Diagnostics not tied to one parsed file (unreadable files).
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn config_of(&self, unit: &Unit) -> Option<&model::Config> {
        unit.config
            .and_then(|i| self.configs[i].checked.value.as_ref())
    }
}

/// Finds the pipeline files below each path (a file, a project folder or a tree).
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| LoadError::Io {
            path: path.clone(),
            source,
        })?;
        if meta.is_file() {
            out.push(path.clone());
        } else {
            walk(path, &mut out).map_err(|source| LoadError::Io {
                path: path.clone(),
                source,
            })?;
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if !name.starts_with('.') && !SKIP_DIRS.contains(&name.as_ref()) {
                walk(&entry.path(), out)?;
            }
        } else if name == PIPELINE_FILE {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// The nearest `dpc.yaml` in `dir` or above it (stopping at a repository root).
pub fn find_config(dir: &Path) -> Option<PathBuf> {
    let mut current = Some(dir);
    while let Some(d) = current {
        let candidate = d.join(CONFIG_FILE);
        if candidate.is_file() {
            return Some(candidate);
        }
        if d.join(".git").exists() {
            return None;
        }
        current = d.parent().filter(|p| !p.as_os_str().is_empty());
    }
    None
}

/// Reads a file as a source, or says why not.
pub fn read_source(path: &Path) -> Result<Arc<SourceFile>, Diagnostic> {
    let shown = display_path(path);
    let bytes = std::fs::read(path).map_err(|e| {
        Diagnostic::new(
            &codes::IO_READ,
            format!("cannot read {}: {e}", shown.display()),
        )
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Arc::new(SourceFile::new(shown, text))),
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let file = Arc::new(SourceFile::new(shown, lossy));
            Err(
                Diagnostic::new(&codes::IO_NOT_UTF8, "the file is not UTF-8 text")
                    .help("save it as UTF-8")
                    .label(
                        &file,
                        Span::new(offset, char::REPLACEMENT_CHARACTER.len_utf8()),
                        None,
                    ),
            )
        }
    }
}

/// Paths as users typed them, without a leading `./`.
fn display_path(path: &Path) -> PathBuf {
    path.strip_prefix(".")
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Loads and validates every pipeline below `paths`, and the configs governing them.
pub fn load(paths: &[PathBuf], ctx: &Context) -> Result<Loaded, LoadError> {
    let files = discover(paths)?;
    let mut loaded = Loaded::default();
    let mut config_index: BTreeMap<PathBuf, usize> = BTreeMap::new();
    let mut governing = Vec::with_capacity(files.len());
    for file in &files {
        let dir = file.parent().unwrap_or(Path::new("."));
        let config = find_config(dir).and_then(|path| {
            if let Some(i) = config_index.get(&path) {
                return Some(*i);
            }
            let source = match read_source(&path) {
                Ok(s) => s,
                Err(d) => {
                    loaded.diagnostics.push(d);
                    return None;
                }
            };
            let checked = validate::config(&source, ctx);
            let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
            loaded.configs.push(ConfigUnit {
                dir,
                file: source,
                checked,
            });
            config_index.insert(path, loaded.configs.len() - 1);
            Some(loaded.configs.len() - 1)
        });
        governing.push(config);
    }
    let results = validate_all(&files, ctx);
    for (result, config) in results.into_iter().zip(governing) {
        match result {
            Ok((file, checked)) => loaded.units.push(Unit {
                file,
                checked,
                config,
            }),
            Err(d) => loaded.diagnostics.push(d),
        }
    }
    Ok(loaded)
}

type FileResult = Result<(Arc<SourceFile>, Checked<model::Pipeline>), Diagnostic>;

/// Reads and validates files on every core; order is preserved.
fn validate_all(files: &[PathBuf], ctx: &Context) -> Vec<FileResult> {
    let one = |path: &PathBuf| -> FileResult {
        let source = read_source(path)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let checked = validate::pipeline(&source, dir, ctx);
        Ok((source, checked))
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    if threads <= 1 || files.len() < 16 {
        return files.iter().map(one).collect();
    }
    let chunk = files.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                (
                    part,
                    scope.spawn(move || part.iter().map(one).collect::<Vec<_>>()),
                )
            })
            .collect();
        // A panicking worker must not shift results onto the wrong files.
        handles
            .into_iter()
            .flat_map(|(part, h)| {
                h.join().unwrap_or_else(|_| {
                    part.iter()
                        .map(|p| {
                            Err(Diagnostic::new(
                                &codes::IO_READ,
                                format!("internal error while validating {}", p.display()),
                            ))
                        })
                        .collect()
                })
            })
            .collect()
    })
}

/// A tree loaded, validated and cross-checked: every diagnostic, sorted, with its summary.
pub struct Validated {
    pub diagnostics: Vec<Diagnostic>,
    pub summary: crate::diag::report::Summary,
    pub loaded: Loaded,
}

impl Validated {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == crate::diag::diagnostic::Severity::Error)
    }

    /// Every valid pipeline with its governing `dpc.yaml`.
    pub fn pipelines(&self) -> impl Iterator<Item = (&model::Pipeline, Option<&model::Config>)> {
        self.loaded.units.iter().filter_map(|u| {
            u.checked
                .value
                .as_ref()
                .map(|p| (p, self.loaded.config_of(u)))
        })
    }
}

/// Why a tree could not be validated at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("no {PIPELINE_FILE} found in {0}")]
    Empty(String),
}

/// Loads every pipeline below `paths` (default: the current folder), validates each as of
/// `now` (UTC) and runs the checks across pipelines and their compiled trigger patterns.
pub fn validate_tree(
    paths: &[PathBuf],
    now: chrono::NaiveDateTime,
) -> Result<Validated, TreeError> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let ctx = Context {
        today: now.date(),
        file_exists: &|p| p.is_file(),
    };
    let loaded = load(&paths, &ctx)?;
    if loaded.units.is_empty() && loaded.diagnostics.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(TreeError::Empty(shown.join(", ")));
    }
    let mut diagnostics = loaded.diagnostics.clone();
    for unit in &loaded.units {
        diagnostics.extend(unit.checked.diagnostics.iter().cloned());
    }
    for config in &loaded.configs {
        diagnostics.extend(config.checked.diagnostics.iter().cloned());
    }
    diagnostics.extend(super::cross::check(&loaded, now));
    diagnostics.extend(crate::compile::check::trigger_patterns(&loaded));
    crate::diag::diagnostic::normalize(&mut diagnostics);
    let summary = crate::diag::report::Summary {
        files: loaded.units.len() + loaded.configs.len(),
        pipelines: loaded
            .units
            .iter()
            .filter(|u| u.checked.value.is_some())
            .count(),
        ..Default::default()
    }
    .count(&diagnostics);
    Ok(Validated {
        diagnostics,
        summary,
        loaded,
    })
}

/// Reads and validates one `dpc.yaml` as of `today`; `Err` says why it cannot be used.
pub fn load_config(path: &Path, today: chrono::NaiveDate) -> Result<model::Config, String> {
    let file = read_source(path).map_err(|d| d.message)?;
    let ctx = Context {
        today,
        file_exists: &|p| p.is_file(),
    };
    validate::config(&file, &ctx).value.ok_or_else(|| {
        format!(
            "{} is invalid; run `dpc validate` for details",
            path.display()
        )
    })
}

/// The SHA-256 of a local step script (`path` relative to the project folder `dir`), or
/// `None` when it cannot be read (validation has already reported a missing script).
pub fn script_sha256(dir: &Path, path: &Path) -> Option<String> {
    use sha2::{Digest, Sha256};
    std::fs::read(dir.join(path))
        .ok()
        .map(|bytes| crate::compile::names::hex(&Sha256::digest(&bytes)))
}
