//! The disk cache of compiled code.
//!
//! Compiling a component with Cranelift takes from milliseconds to seconds; a second start of the same project
//! should not pay it again. Compiled artifacts are stored as `<sha256>-<kind>-<engine hash>.cwasm` in the cache
//! folder: the binary's digest names the input, and the engine's compatibility hash (wasmtime version, target and
//! every codegen setting) names the configuration, so a changed setting never loads stale code. Files are written
//! to a temporary name and renamed, so a crash never leaves a half-written artifact behind.
//!
//! The folder is `$WIPPY_CACHE_DIR`, else `$XDG_CACHE_HOME/wippy`, else `~/.cache/wippy`. Loading a cached artifact
//! trusts the folder the way wasmtime's own cache does: whoever can write it can run code as this user. A file that
//! fails to load (truncated, from another version) is removed and the binary recompiled.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use super::engine::Compiled;

/// The compiled-code cache; a no-op when it has no folder.
pub(super) struct CodeCache {
    dir: Option<PathBuf>,
}

/// The default cache folder.
pub(crate) fn default_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("WIPPY_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("wippy"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("wippy"))
}

impl CodeCache {
    /// A cache in `dir`, or a disabled one.
    pub(super) fn new(dir: Option<PathBuf>) -> Self {
        CodeCache { dir }
    }

    fn path(&self, engine: &wasmtime::Engine, sha256: &str, component: bool) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        let kind = if component { "component" } else { "module" };
        Some(dir.join(format!("{sha256}-{kind}-{:016x}.cwasm", h.finish())))
    }

    /// Loads the compiled form of `bytes` from the cache, or compiles it and stores it.
    pub(super) fn load_or_compile(
        &self,
        engine: &wasmtime::Engine,
        bytes: &[u8],
        sha256: &str,
        component: bool,
    ) -> wasmtime::Result<Compiled> {
        let path = self.path(engine, sha256, component);
        if let Some(p) = path.as_deref().filter(|p| p.exists()) {
            match load(engine, p, component) {
                Ok(c) => return Ok(c),
                Err(e) => {
                    tracing::debug!(path = %p.display(), error = %e, "dropping an unreadable compiled artifact");
                    let _ = std::fs::remove_file(p);
                }
            }
        }
        let compiled = if component {
            Compiled::Component(wasmtime::component::Component::new(engine, bytes)?)
        } else {
            Compiled::Module(wasmtime::Module::new(engine, bytes)?)
        };
        if let Some(p) = path {
            if let Err(e) = store(&p, &compiled) {
                tracing::debug!(path = %p.display(), error = %e, "could not write the compiled-code cache");
            }
        }
        Ok(compiled)
    }
}

fn load(engine: &wasmtime::Engine, path: &Path, component: bool) -> wasmtime::Result<Compiled> {
    // SAFETY: the file was written by `store` below into the user's own cache folder, and wasmtime checks its
    // header (version, target, settings) before use. See the module docs for the trust model.
    Ok(unsafe {
        if component {
            Compiled::Component(wasmtime::component::Component::deserialize_file(engine, path)?)
        } else {
            Compiled::Module(wasmtime::Module::deserialize_file(engine, path)?)
        }
    })
}

fn store(path: &Path, compiled: &Compiled) -> wasmtime::Result<()> {
    let bytes = match compiled {
        Compiled::Component(c) => c.serialize()?,
        Compiled::Module(m) => m.serialize()?,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
