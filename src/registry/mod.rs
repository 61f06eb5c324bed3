//! The registry: every entry of a project's `_index.yaml` files, parsed, validated and cross-referenced (`docs/registry.md`).
//!
//! [`Registry::load_partial`] finds the project's source folder ([`project`]), reads every `_index.yaml` below it into a
//! positioned YAML tree ([`yaml`]), turns each entry into a typed [`Entry`] ([`kinds`], using the field reader in
//! [`fields`]), then checks what only the whole project can tell: duplicate IDs and references to entries that do
//! not exist or have the wrong kind. Loading is all-or-nothing: every problem found is collected as a
//! [`Diagnostic`] and returned together in one [`LoadError`].
//!
//! Nothing here touches WASM: hashes are verified and binaries compiled later, by the WASM engine, which reports
//! its problems as diagnostics at the entry's position too.

mod check;
pub(crate) mod fields;
pub(crate) mod kinds;
pub(crate) mod project;
pub(crate) mod settings;
pub(crate) mod yaml;

use std::path::Path;

use indexmap::IndexMap;

pub(crate) use crate::error::{Diagnostic, LoadError};
pub(crate) use crate::id::{EntryId, Origin};
pub(crate) use kinds::{Entry, EntryKind};

/// All entries of a project, by ID, in the order they were read.
#[derive(Debug, Clone)]
pub(crate) struct Registry {
    /// The entries.
    pub entries: IndexMap<EntryId, Entry>,
}

impl Registry {
    /// Loads what can be loaded: the registry holds every entry that has no problem of its own, and the problems
    /// come back beside it, so later stages (hash checks, compilation) can still report theirs. Fails outright only
    /// when no file can be read.
    pub(crate) fn load_partial(root: impl AsRef<Path>) -> Result<(Registry, Vec<Diagnostic>), LoadError> {
        let root = root.as_ref();
        let files = project::index_files(root)?;
        let mut sources = Vec::with_capacity(files.len());
        let mut diags = Vec::new();
        for file in files {
            match crate::files::read_text(&file) {
                Ok(text) => sources.push((file, text)),
                Err(e) => {
                    let shown = project::display_path(&file);
                    let at = match &e {
                        crate::files::FileError::NotUtf8 { pos } => Some(Origin {
                            file: shown.as_path().into(),
                            dir: file.parent().unwrap_or(root).into(),
                            pos: *pos,
                        }),
                        _ => None,
                    };
                    diags.push(Diagnostic::new(at, None, format!("cannot read `{}`: {e}", shown.display())))
                }
            }
        }
        let (registry, more) =
            Registry::from_sources_partial(root, sources.iter().map(|(p, t)| (p.as_path(), t.as_str())));
        diags.extend(more);
        Ok((registry, diags))
    }

    /// Builds a registry from `(path, YAML text)` pairs; `root` is the project folder that relative `fs.directory`
    /// paths resolve against. Keeps the entries without problems and returns the problems beside them.
    pub(crate) fn from_sources_partial<'a>(
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
        let mut registry = Registry { entries };
        let dropped: Vec<EntryId> =
            diags.iter().filter_map(|d| d.entry.clone()).filter(|id| !registry.entries.contains_key(id)).collect();
        let before = diags.len();
        check::check_references(&registry, &dropped, &mut diags);
        if diags.len() == before {
            check::check_supervision(&registry, &mut diags);
        }
        let broken: Vec<EntryId> = diags[before..].iter().filter_map(|d| d.entry.clone()).collect();
        registry.entries.retain(|id, _| !broken.contains(id));
        (registry, diags)
    }

    /// Looks an entry up by its ID.
    pub(crate) fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.get(id)
    }
}
