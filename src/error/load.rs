//! Load errors: every problem of a project, each a [`Diagnostic`] with its file, position and entry.

use std::fmt;

use crate::id::{EntryId, Origin};

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
        f.write_str(&self.message)
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
