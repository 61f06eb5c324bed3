//! Names and places: the [`EntryId`] of a registry entry, and the [`Origin`] (file, line, column) where something
//! was declared.
//!
//! A leaf: nothing here depends on the rest of the crate. The registry produces these, error messages and
//! diagnostics print them, and every layer above passes them around.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// A position in a YAML file: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

/// An entry ID, `namespace:name` with exactly one colon (`app.test.wasm:echo`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId(Arc<str>);

/// A map keyed by entry ID, with a fast non-keyed hash (`rustc-hash`): the IDs come from the registry, not from
/// guests, and the host looks them up on every call and spawn.
pub(crate) type EntryMap<V> = rustc_hash::FxHashMap<EntryId, V>;

impl EntryId {
    /// Parses `namespace:name`; the namespace is dot-separated, and neither part may be empty.
    pub fn parse(text: &str) -> Result<EntryId, String> {
        let Some((ns, name)) = text.split_once(':') else {
            return Err(format!("`{text}` is not an entry ID: expected `namespace:name`"));
        };
        check_namespace(ns)?;
        check_name(name)?;
        Ok(EntryId(Arc::from(text)))
    }

    /// Resolves a reference: an ID with a colon stands for itself; a bare name is looked up in `namespace`.
    pub fn resolve(reference: &str, namespace: &str) -> Result<EntryId, String> {
        if reference.contains(':') {
            EntryId::parse(reference)
        } else {
            check_name(reference)?;
            Ok(EntryId(Arc::from(format!("{namespace}:{reference}"))))
        }
    }

    pub(crate) fn from_parts(namespace: &str, name: &str) -> EntryId {
        EntryId(Arc::from(format!("{namespace}:{name}")))
    }

    /// The whole ID.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the colon.
    pub fn namespace(&self) -> &str {
        self.0.split_once(':').map_or("", |(ns, _)| ns)
    }

    /// The part after the colon.
    pub fn name(&self) -> &str {
        self.0.split_once(':').map_or(&self.0, |(_, n)| n)
    }
}

/// Lets maps keyed by [`EntryId`] be searched with a `&str` (the hash is the hash of the string).
impl std::borrow::Borrow<str> for EntryId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryId({})", self.0)
    }
}

fn valid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Checks a namespace: dot-separated segments of letters, digits, `_` and `-`.
pub(crate) fn check_namespace(ns: &str) -> Result<(), String> {
    if ns.is_empty() || ns.split('.').any(|seg| seg.is_empty() || !seg.chars().all(valid_char)) {
        return Err(format!(
            "invalid namespace `{ns}`: use dot-separated segments of letters, digits, `_` and `-` (like `app.workers`)"
        ));
    }
    Ok(())
}

/// Checks an entry name: letters, digits, `_`, `-` and `.`, no colon.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || !name.chars().all(|c| valid_char(c) || c == '.') {
        return Err(format!("invalid entry name `{name}`: use letters, digits, `_`, `-` and `.`"));
    }
    Ok(())
}

/// Where something was declared: the YAML file and the position in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// The file as it is shown in messages (relative to the current directory when possible).
    pub file: Arc<Path>,
    /// The folder of the file, which `file://` sources are relative to.
    pub dir: Arc<Path>,
    /// The position in the file.
    pub pos: Pos,
}

impl Origin {
    /// The same file at another position.
    pub fn at(&self, pos: Pos) -> Origin {
        Origin { file: self.file.clone(), dir: self.dir.clone(), pos }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.pos.line, self.pos.col)
    }
}
