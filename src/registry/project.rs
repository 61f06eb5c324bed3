//! Finding a project's registry files.
//!
//! A project is a folder. When it has `wippy.lock` with `directories: {src: DIR}`, entries are read from `DIR`,
//! otherwise from `./src`. Every file named `_index.yaml` below that folder is loaded, in sorted path order so that
//! diagnostics and duplicate detection are deterministic.

use std::path::{Path, PathBuf};

use super::yaml::{self, NodeKind, Pos};
use super::{Diagnostic, LoadError, Origin};

/// The name of registry files.
pub(crate) const INDEX_FILE: &str = "_index.yaml";

/// How deep below the source folder `_index.yaml` files are searched (guards against symlink loops).
pub(crate) const MAX_DIR_DEPTH: usize = 32;

/// The folder entries are read from: `wippy.lock`'s `directories.src`, or `./src`.
pub(crate) fn source_dir(root: &Path) -> Result<PathBuf, LoadError> {
    if !root.is_dir() {
        return Err(LoadError::one(
            Diagnostic::new(None, None, format!("project folder `{}` does not exist", root.display()))
                .with_hint("pass the project folder with `-C DIR`"),
        ));
    }
    let lock = root.join("wippy.lock");
    if !lock.exists() {
        return Ok(root.join("src"));
    }
    let origin = |pos: Pos| Some(Origin { file: display_path(&lock).as_path().into(), dir: root.into(), pos });
    let text = crate::files::read_text(&lock).map_err(|e| {
        let at = match &e {
            crate::files::FileError::NotUtf8 { pos } => origin(*pos),
            _ => None,
        };
        LoadError::one(Diagnostic::new(at, None, format!("cannot read `{}`: {e}", lock.display())))
    })?;
    let doc = yaml::parse(&text)
        .map_err(|e| LoadError::one(Diagnostic::new(origin(e.pos), None, format!("invalid YAML: {}", e.message))))?;
    match doc.get("directories").and_then(|d| d.get("src")) {
        None => Ok(root.join("src")),
        Some(n) => match &n.kind {
            NodeKind::Str(s) => Ok(root.join(s)),
            _ => Err(LoadError::one(Diagnostic::new(origin(n.pos), None, "`directories.src` must be a folder path"))),
        },
    }
}

/// Every `_index.yaml` below the project's source folder, sorted.
pub(crate) fn index_files(root: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let src = source_dir(root)?;
    if !src.is_dir() {
        return Err(LoadError::one(
            Diagnostic::new(None, None, format!("the project has no source folder `{}`", display_path(&src).display()))
                .with_hint("create it with an `_index.yaml`, or set `directories: {src: DIR}` in `wippy.lock`"),
        ));
    }
    let mut files = Vec::new();
    walk(&src, 0, &mut files).map_err(|e| {
        LoadError::one(Diagnostic::new(None, None, format!("cannot read the folder `{}`: {e}", src.display())))
    })?;
    files.sort();
    if files.is_empty() {
        return Err(LoadError::one(
            Diagnostic::new(None, None, format!("no `{INDEX_FILE}` below `{}`", display_path(&src).display()))
                .with_hint("registry entries are declared in files named `_index.yaml`"),
        ));
    }
    Ok(files)
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if depth > MAX_DIR_DEPTH {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let ty = entry.file_type()?;
        if ty.is_dir() {
            walk(&path, depth + 1, out)?;
        } else if entry.file_name() == INDEX_FILE {
            out.push(path);
        }
    }
    Ok(())
}

/// A path as shown in messages: relative to the current folder when it is below it.
pub(crate) fn display_path(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}
