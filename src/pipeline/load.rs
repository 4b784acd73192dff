//! Project discovery and loading: finds every `pipeline.yaml` below the given paths and the
//! `dpc.yaml` governing each (the nearest one above it), reads them, and validates them in
//! parallel. This is the file-system edge of validation; the checks themselves are pure.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use crate::diag::codes;
use crate::diag::diagnostic::Diagnostic;
use crate::diag::source::{SourceFile, Span};
use crate::pipeline::cross::Anchors;
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
    /// Where the checks across pipelines point in the file, found by `validate_tree` while
    /// validating it (which then drops the document); `None` otherwise.
    pub anchors: Option<Anchors>,
}

/// One validated `dpc.yaml`.
#[derive(Debug, Clone)]
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
    discover_tree(paths).map(|(files, _)| files)
}

/// What the walk saw in one folder: whether it holds a `dpc.yaml` file and a `.git`, and the
/// names of its regular files and of its links (`None` when a name is not UTF-8).
#[derive(Debug, Clone, Default)]
struct Seen {
    config: bool,
    git: bool,
    names: Option<(Vec<String>, Vec<String>)>,
}

/// Every folder the walk listed, with what it saw there.
type SeenDirs = HashMap<PathBuf, Seen>;

/// Whether `path` is a file, as far as the walk can tell without asking the file system:
/// `None` outside the folders it listed, and for links.
fn seen_file(seen: &SeenDirs, path: &Path) -> Option<bool> {
    let (files, links) = seen.get(path.parent()?)?.names.as_ref()?;
    let name = path.file_name()?.to_str()?;
    if links.iter().any(|l| l == name) {
        return None;
    }
    Some(files.iter().any(|f| f == name))
}

/// The pipeline files below `paths`, sorted, and what the walk saw in each folder (so that
/// finding each file's `dpc.yaml` asks the file system nothing more inside the tree).
fn discover_tree(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, SeenDirs), LoadError> {
    let mut out = Vec::new();
    let mut seen = SeenDirs::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| LoadError::Io {
            path: path.clone(),
            source,
        })?;
        if meta.is_file() {
            out.push(path.clone());
        } else if let Some((files, dirs)) = walk_parallel(path, seen.is_empty()) {
            out.extend(files);
            seen.extend(dirs);
        } else {
            // A folder could not be listed: walk again in order, for the first error.
            walk(path, &mut out).map_err(|source| LoadError::Io {
                path: path.clone(),
                source,
            })?;
        }
    }
    out.sort();
    out.dedup();
    Ok((out, seen))
}

/// One folder's listing: the folders to walk, the pipeline files, what it holds.
fn list(dir: &Path) -> std::io::Result<(Vec<PathBuf>, Vec<PathBuf>, Seen)> {
    let mut dirs = Vec::new();
    let mut found = Vec::new();
    let mut seen = Seen::default();
    let (mut files, mut links, mut utf8) = (Vec::new(), Vec::new(), true);
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let os_name = entry.file_name();
        let name = os_name.to_string_lossy();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if !name.starts_with('.') && !SKIP_DIRS.contains(&name.as_ref()) {
                dirs.push(entry.path());
            }
        } else if name == PIPELINE_FILE {
            found.push(entry.path());
        }
        // As `find_config` asks: a file (links followed), and a `.git` of any kind.
        if name == CONFIG_FILE {
            seen.config = kind.is_file() || (kind.is_symlink() && entry.path().is_file());
        } else if name == ".git" {
            seen.git = !kind.is_symlink() || entry.path().exists();
        }
        match os_name.into_string() {
            Ok(name) if kind.is_file() => files.push(name),
            Ok(name) if kind.is_symlink() => links.push(name),
            Ok(_) => {}
            Err(_) => utf8 = false,
        }
    }
    seen.names = utf8.then_some((files, links));
    Ok((dirs, found, seen))
}

/// Lists the tree below `root` on every core; `None` when a folder cannot be listed. Each
/// thread walks depth-first on its own and hands half of its pending folders over when
/// another thread runs out. With `prepare`, the calling thread first builds the JSON
/// Schemas that validation checks against (while the other threads start the walk), so
/// that no file waits for them later.
fn walk_parallel(root: &Path, prepare: bool) -> Option<(Vec<PathBuf>, SeenDirs)> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let threads = threads();
    let shared = Mutex::new(vec![root.to_path_buf()]);
    let changed = Condvar::new();
    // Threads waiting for folders; all of them waiting means the walk is over.
    let idle = AtomicUsize::new(0);
    let (done, failed) = (AtomicBool::new(false), AtomicBool::new(false));
    let fail = || {
        failed.store(true, Ordering::SeqCst);
        done.store(true, Ordering::SeqCst);
        let _guard = shared.lock().unwrap_or_else(PoisonError::into_inner);
        changed.notify_all();
        None
    };
    // What one thread found: pipeline files, and each folder it listed.
    type Found = (Vec<PathBuf>, Vec<(PathBuf, Seen)>);
    let work = || -> Option<Found> {
        let (mut files, mut seen, mut mine) = (Vec::new(), Vec::new(), Vec::<PathBuf>::new());
        loop {
            if failed.load(Ordering::SeqCst) {
                return None;
            }
            let Some(dir) = mine.pop() else {
                let mut q = shared.lock().unwrap_or_else(PoisonError::into_inner);
                loop {
                    if done.load(Ordering::SeqCst) {
                        return (!failed.load(Ordering::SeqCst)).then_some((files, seen));
                    }
                    if !q.is_empty() {
                        let at = q.len() - q.len().div_ceil(2);
                        mine.extend(q.drain(at..));
                        break;
                    }
                    if idle.fetch_add(1, Ordering::SeqCst) + 1 == threads {
                        done.store(true, Ordering::SeqCst);
                        changed.notify_all();
                        return Some((files, seen));
                    }
                    q = changed.wait(q).unwrap_or_else(PoisonError::into_inner);
                    idle.fetch_sub(1, Ordering::SeqCst);
                }
                continue;
            };
            let Ok((dirs, found, what)) = list(&dir) else {
                return fail();
            };
            mine.extend(dirs);
            files.extend(found);
            seen.push((dir, what));
            if mine.len() > 1 && idle.load(Ordering::SeqCst) > 0 {
                let mut q = shared.lock().unwrap_or_else(PoisonError::into_inner);
                q.extend(mine.drain(..mine.len() / 2));
                changed.notify_all();
            }
        }
    };
    let results: Vec<_> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        if prepare {
            crate::pipeline::schema::prepare();
        }
        let mine = work();
        let mut all = vec![mine];
        all.extend(helpers.into_iter().map(|h| h.join().ok().flatten()));
        all
    });
    let mut files = Vec::new();
    let mut seen = SeenDirs::new();
    for result in results {
        let (found, dirs) = result?;
        files.extend(found);
        seen.extend(dirs);
    }
    Some((files, seen))
}

/// Threads to use: one per core.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
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
    find_config_seen(dir, &SeenDirs::new(), &mut HashMap::new())
}

/// `find_config`, reading the folders the walk listed from `seen`, and remembering what it
/// asked the file system about the others in `asked` (whether each holds a `dpc.yaml` file
/// and a `.git`).
fn find_config_seen(
    dir: &Path,
    seen: &SeenDirs,
    asked: &mut HashMap<PathBuf, (bool, bool)>,
) -> Option<PathBuf> {
    let mut current = Some(dir);
    while let Some(d) = current {
        let (config, git) = match (seen.get(d), asked.get(d)) {
            (Some(here), _) => (here.config, here.git),
            (None, Some(here)) => *here,
            (None, None) => {
                let here = (d.join(CONFIG_FILE).is_file(), d.join(".git").exists());
                asked.insert(d.to_path_buf(), here);
                here
            }
        };
        if config {
            return Some(d.join(CONFIG_FILE));
        }
        if git {
            return None;
        }
        current = d.parent().filter(|p| !p.as_os_str().is_empty());
    }
    None
}

/// Reads a file as a source, or says why not.
pub fn read_source(path: &Path) -> Result<Arc<SourceFile>, Diagnostic> {
    use std::io::Read;
    let shown = display_path(path);
    // Read to the end without asking the size and position first (`File` does, `Take` not):
    // pipeline files are small, and two system calls per file cost more than reading it.
    let mut bytes = Vec::with_capacity(4096);
    std::fs::File::open(path)
        .and_then(|f| f.take(u64::MAX).read_to_end(&mut bytes))
        .map_err(|e| {
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
    load_checked(paths, ctx, false).map(|(loaded, _)| loaded)
}

/// `load`; with `tree` (for `validate_tree`, whose `ctx` asks the real file system), also
/// the trigger-pattern check of every valid pipeline (its diagnostics, in file order), made
/// by the thread that validated the file right after it, and the walk's listings answer
/// whether a file exists in the folders it listed.
fn load_checked(
    paths: &[PathBuf],
    ctx: &Context,
    tree: bool,
) -> Result<(Loaded, Vec<Diagnostic>), LoadError> {
    let (files, seen) = discover_tree(paths)?;
    let listed = |path: &Path| seen_file(&seen, path).unwrap_or_else(|| (ctx.file_exists)(path));
    let walked = Context {
        today: ctx.today,
        file_exists: &listed,
    };
    let (ctx, patterns) = if tree { (&walked, true) } else { (ctx, false) };
    let mut loaded = Loaded::default();
    let mut config_index: BTreeMap<PathBuf, usize> = BTreeMap::new();
    let mut asked = HashMap::new();
    let mut governing = Vec::with_capacity(files.len());
    for file in &files {
        let dir = file.parent().unwrap_or(Path::new("."));
        let config = find_config_seen(dir, &seen, &mut asked).and_then(|path| {
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
    let mut pattern_diagnostics = Vec::new();
    for part in validate_all(&files, &governing, &loaded.configs, ctx, patterns) {
        loaded.units.extend(part.units);
        loaded.diagnostics.extend(part.unreadable);
        pattern_diagnostics.extend(part.patterns);
    }
    Ok((loaded, pattern_diagnostics))
}

/// What one thread made of its share of the files, in file order.
#[derive(Default)]
struct Part {
    units: Vec<Unit>,
    unreadable: Vec<Diagnostic>,
    patterns: Vec<Diagnostic>,
}

/// Files a thread takes at a time.
const BATCH: usize = 16;

/// Reads and validates files on every core, the calling thread included, each thread taking
/// the next batch of files when done with one; order is preserved.
fn validate_all(
    files: &[PathBuf],
    governing: &[Option<usize>],
    configs: &[ConfigUnit],
    ctx: &Context,
    patterns: bool,
) -> Vec<Part> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || -> Vec<(usize, Part)> {
        // The trigger-pattern check reads a tree: this thread's is one pipeline at a time,
        // with every config.
        let mut tree = Loaded {
            configs: if patterns {
                configs.to_vec()
            } else {
                Vec::new()
            },
            ..Loaded::default()
        };
        let mut parts = Vec::new();
        loop {
            let start = next.fetch_add(BATCH, std::sync::atomic::Ordering::Relaxed);
            if start >= files.len() {
                return parts;
            }
            let range = start..(start + BATCH).min(files.len());
            let part = validate_batch(
                &files[range.clone()],
                &governing[range],
                &mut tree,
                ctx,
                patterns,
            );
            parts.push((start, part));
        }
    };
    let threads = threads().min(files.len().div_ceil(BATCH));
    let mut parts: Vec<(usize, Part)> = if threads <= 1 {
        work()
    } else {
        std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
            let mut parts = work();
            for helper in helpers {
                // A panicking thread's batches are reported below, not lost.
                parts.extend(helper.join().unwrap_or_default());
            }
            parts
        })
    };
    parts.sort_by_key(|(start, _)| *start);
    // Any batch missing was taken by a thread that panicked.
    let mut out = Vec::with_capacity(files.len().div_ceil(BATCH));
    let mut parts = parts.into_iter().peekable();
    for start in (0..files.len()).step_by(BATCH) {
        match parts.next_if(|(s, _)| *s == start) {
            Some((_, part)) => out.push(part),
            None => out.push(Part {
                unreadable: files[start..(start + BATCH).min(files.len())]
                    .iter()
                    .map(|p| {
                        Diagnostic::new(
                            &codes::IO_READ,
                            format!("internal error while validating {}", p.display()),
                        )
                    })
                    .collect(),
                ..Part::default()
            }),
        }
    }
    out
}

/// Reads and validates one batch of files (with `patterns`, also checks each trigger pattern,
/// finds the anchors of the checks across pipelines and drops the document), in order.
fn validate_batch(
    files: &[PathBuf],
    governing: &[Option<usize>],
    tree: &mut Loaded,
    ctx: &Context,
    patterns: bool,
) -> Part {
    let mut part = Part::default();
    for (path, config) in files.iter().zip(governing) {
        let file = match read_source(path) {
            Ok(file) => file,
            Err(d) => {
                part.unreadable.push(d);
                continue;
            }
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let checked = validate::pipeline(&file, dir, ctx);
        tree.units.push(Unit {
            file,
            checked,
            config: *config,
            anchors: None,
        });
        if patterns {
            part.patterns
                .extend(crate::compile::check::trigger_patterns(tree));
        }
        let Some(mut unit) = tree.units.pop() else {
            continue;
        };
        if patterns {
            // What the checks across pipelines need from the document, and then no
            // document: the next file reuses its memory.
            if let (Some(pipeline), Some(doc)) = (&unit.checked.value, &unit.checked.document) {
                unit.anchors = Some(Anchors::of(pipeline, doc));
            }
            unit.checked.document = None;
        }
        part.units.push(unit);
    }
    part
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
    let (loaded, patterns) = load_checked(&paths, &ctx, true)?;
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
    diagnostics.extend(patterns);
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
