//! The file-system edge of `dpc synth`: writes every pipeline's artifacts under the output
//! folder (`<out>/<pipeline>/…`) into a temporary sibling that replaces the output folder only
//! once complete, so the output is never half-written; a folder dpc did not write is never
//! replaced.

use std::path::Path;

/// Marks a folder as dpc's output, which synth may replace as a whole.
pub const MARKER: &str = ".dpc-out";

/// One pipeline's files: its folder name and `(file name, contents)`.
pub type Files<'a> = (&'a str, &'a [(&'static str, String)]);

/// Writes every pipeline's files into a temporary sibling of `out`, then swaps it in.
pub fn write_atomically(out: &Path, outputs: &[Files]) -> Result<(), String> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dpc.out".into());
    if out.exists() && !replaceable(out) {
        return Err(format!(
            "{} exists and is not a dpc output folder (no {MARKER} in it): choose another --out",
            out.display()
        ));
    }
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let tmp = parent.join(format!(".{base}.tmp-{}", std::process::id()));
    let result = write_tree(&tmp, outputs).and_then(|()| swap(&tmp, out));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result.map_err(|e| format!("cannot write {}: {e}", out.display()))
}

fn replaceable(out: &Path) -> bool {
    out.join(MARKER).is_file() || std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_none())
}

fn write_tree(root: &Path, outputs: &[Files]) -> std::io::Result<()> {
    if root.exists() {
        std::fs::remove_dir_all(root)?;
    }
    std::fs::create_dir_all(root)?;
    std::fs::write(
        root.join(MARKER),
        "written by dpc synth; replaced as a whole on every run\n",
    )?;
    for (name, files) in outputs {
        let dir = root.join(name);
        std::fs::create_dir(&dir)?;
        for (file, text) in files.iter() {
            std::fs::write(dir.join(file), text)?;
        }
    }
    Ok(())
}

/// Moves the old output aside, the new one in, then deletes the old one.
fn swap(tmp: &Path, out: &Path) -> std::io::Result<()> {
    if !out.exists() {
        return std::fs::rename(tmp, out);
    }
    let old = tmp.with_extension("old");
    std::fs::rename(out, &old)?;
    if let Err(e) = std::fs::rename(tmp, out) {
        // Put the previous output back rather than leave nothing.
        let _ = std::fs::rename(&old, out);
        return Err(e);
    }
    std::fs::remove_dir_all(&old)
}
