//! The registry: every entry of a project's `_index.yaml` files, parsed, validated and cross-referenced (SPEC §1).
//!
//! [`Registry::load`] finds the project's source folder ([`project`]), reads every `_index.yaml` below it into a
//! positioned YAML tree ([`yaml`]), turns each entry into a typed [`Entry`] ([`kinds`], using the field reader in
//! [`fields`]), then checks what only the whole project can tell: duplicate IDs and references to entries that do
//! not exist or have the wrong kind. Loading is all-or-nothing: every problem found is collected as a
//! [`Diagnostic`] and returned together in one [`LoadError`].
//!
//! Nothing here touches WASM: hashes are verified and binaries compiled later, by [`crate::runtime`], which reports
//! its problems as diagnostics at the entry's position too.

pub mod fields;
pub mod kinds;
pub mod project;
pub mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

pub use kinds::{Entry, EntryKind};
pub use yaml::Pos;

/// An entry ID, `namespace:name` with exactly one colon (`app.test.wasm:echo`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId(Arc<str>);

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
pub fn check_namespace(ns: &str) -> Result<(), String> {
    if ns.is_empty() || ns.split('.').any(|seg| seg.is_empty() || !seg.chars().all(valid_char)) {
        return Err(format!(
            "invalid namespace `{ns}`: use dot-separated segments of letters, digits, `_` and `-` (like `app.workers`)"
        ));
    }
    Ok(())
}

/// Checks an entry name: letters, digits, `_`, `-` and `.`, no colon.
pub fn check_name(name: &str) -> Result<(), String> {
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

/// One problem in a project, with where it is and, when one helps, what to do about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// The file and position, when the problem has one.
    pub origin: Option<Origin>,
    /// The entry the problem belongs to.
    pub entry: Option<EntryId>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A problem at `origin`, in `entry` if there is one.
    pub fn new(origin: Option<Origin>, entry: Option<EntryId>, message: impl Into<String>) -> Self {
        Diagnostic { origin, entry, message: message.into(), hint: None }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(o) = &self.origin {
            write!(f, "{o}: ")?;
        }
        if let Some(e) = &self.entry {
            write!(f, "entry `{e}`: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// Every problem found while loading a project. Loading is all-or-nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct LoadError {
    /// The problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadError {
    /// A load error with a single problem.
    pub fn one(d: Diagnostic) -> Self {
        LoadError { diagnostics: vec![d] }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        if self.diagnostics.len() > 1 {
            write!(f, "\n{} problems found", self.diagnostics.len())?;
        }
        Ok(())
    }
}

/// All entries of a project, by ID, in the order they were read.
#[derive(Debug, Clone)]
pub struct Registry {
    /// The project folder.
    pub root: PathBuf,
    /// The entries.
    pub entries: IndexMap<EntryId, Entry>,
}

impl Registry {
    /// Loads a project folder: `wippy.lock`'s `directories.src` or `./src`, every `_index.yaml` below it.
    pub fn load(root: impl AsRef<Path>) -> Result<Registry, LoadError> {
        let (registry, diagnostics) = Registry::load_partial(root)?;
        if diagnostics.is_empty() {
            Ok(registry)
        } else {
            Err(LoadError { diagnostics })
        }
    }

    /// Loads what can be loaded: the registry holds every entry that has no problem of its own, and the problems
    /// come back beside it, so later stages (hash checks, compilation) can still report theirs. Fails outright only
    /// when no file can be read.
    pub fn load_partial(root: impl AsRef<Path>) -> Result<(Registry, Vec<Diagnostic>), LoadError> {
        let root = root.as_ref();
        let files = project::index_files(root)?;
        let mut sources = Vec::with_capacity(files.len());
        let mut diags = Vec::new();
        for file in files {
            match std::fs::read_to_string(&file) {
                Ok(text) => sources.push((file, text)),
                Err(e) => diags.push(Diagnostic::new(None, None, format!("cannot read `{}`: {e}", file.display()))),
            }
        }
        let (registry, more) =
            Registry::from_sources_partial(root, sources.iter().map(|(p, t)| (p.as_path(), t.as_str())));
        diags.extend(more);
        Ok((registry, diags))
    }

    /// Builds a registry from `(path, YAML text)` pairs; `root` is the project folder that relative
    /// `fs.directory` paths resolve against.
    pub fn from_sources<'a>(
        root: &Path,
        sources: impl IntoIterator<Item = (&'a Path, &'a str)>,
    ) -> Result<Registry, LoadError> {
        let (registry, diagnostics) = Registry::from_sources_partial(root, sources);
        if diagnostics.is_empty() {
            Ok(registry)
        } else {
            Err(LoadError { diagnostics })
        }
    }

    /// Like [`Registry::from_sources`], but keeps the entries without problems and returns the problems beside them.
    pub fn from_sources_partial<'a>(
        root: &Path,
        sources: impl IntoIterator<Item = (&'a Path, &'a str)>,
    ) -> (Registry, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let mut entries: IndexMap<EntryId, Entry> = IndexMap::new();
        for (path, text) in sources {
            for entry in kinds::parse_file(root, path, text, &mut diags) {
                if let Some(prev) = entries.get(&entry.id) {
                    diags.push(
                        Diagnostic::new(Some(entry.origin.clone()), Some(entry.id.clone()), "duplicate entry ID")
                            .with_hint(format!(
                                "`{}` is already declared at {}; rename one of them",
                                entry.id, prev.origin
                            )),
                    );
                    continue;
                }
                entries.insert(entry.id.clone(), entry);
            }
        }
        let mut registry = Registry { root: root.to_path_buf(), entries };
        let before = diags.len();
        kinds::check_references(&registry, &mut diags);
        if diags.len() == before {
            kinds::check_supervision(&registry, &mut diags);
        }
        let broken: Vec<EntryId> = diags[before..].iter().filter_map(|d| d.entry.clone()).collect();
        registry.entries.retain(|id, _| !broken.contains(id));
        (registry, diags)
    }

    /// Looks an entry up by its ID.
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.get(id)
    }
}
