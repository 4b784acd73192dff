//! Compiles a whole validated tree: reads every valid pipeline with its `dpc.yaml` and
//! produces each one's compiled artifacts, on every core, in the tree's order. Local scripts
//! are hashed through the function the caller passes (the file system is the caller's).

use std::path::Path;

use super::{Artifacts, Compiled, Env, artifacts, compile};
use crate::pipeline::load::Validated;

/// One pipeline compiled and rendered.
pub struct Built<'a> {
    pub env: Env<'a>,
    pub compiled: Compiled,
    pub artifacts: Artifacts,
}

/// Reads a local script (relative to its project folder) and gives its SHA-256.
pub type ScriptHash = dyn Fn(&Path, &Path) -> Option<String> + Sync;

/// Every valid pipeline of `tree` with its environment.
pub fn envs<'a>(tree: &'a Validated, version: &'a str) -> Vec<Env<'a>> {
    tree.pipelines()
        .map(|(p, config)| Env::new(p, config, version))
        .collect()
}

/// Compiles every valid pipeline of `tree`; the first failure names its file.
pub fn compile_tree<'a>(
    tree: &'a Validated,
    version: &'a str,
    script_hash: &ScriptHash,
) -> Result<Vec<Built<'a>>, String> {
    let envs = envs(tree, version);
    let one = |env: &Env<'a>| {
        let compiled = compile(env).map_err(|e| format!("{}: {e}", env.pipeline.file.display()))?;
        let dir = &env.pipeline.dir;
        let artifacts = artifacts(env, &compiled, &|p: &Path| script_hash(dir, p));
        Ok(Built {
            env: env.clone(),
            compiled,
            artifacts,
        })
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads <= 1 || envs.len() < 32 {
        return envs.iter().map(one).collect();
    }
    let chunk = envs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = envs
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(one).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::with_capacity(envs.len());
        for handle in handles {
            let part = handle
                .join()
                .map_err(|_| "internal error while compiling".to_string())?;
            out.extend(part);
        }
        out.into_iter().collect()
    })
}
