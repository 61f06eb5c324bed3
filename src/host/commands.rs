//! CLI commands: process entries with `meta.command`, run by `wippy run NAME` on the terminal host.

use super::Host;
use crate::error::CommandError;
use crate::id::EntryId;
use crate::registry::fields::closest;
use crate::registry::EntryKind;

/// A runnable command: `meta.command` of a process entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The name after `wippy run`.
    pub name: String,
    /// The one-line description `wippy run list` shows.
    pub short: Option<String>,
    /// The process entry it runs.
    pub entry: EntryId,
}

impl Host {
    /// Every command of the project, sorted by name.
    pub fn commands(&self) -> Vec<Command> {
        let mut out: Vec<Command> = self
            .registry()
            .entries
            .values()
            .filter_map(|e| {
                let command = match &e.kind {
                    EntryKind::Wasm(w) => w.command.as_ref(),
                    EntryKind::Lua(l) => l.command.as_ref(),
                    _ => None,
                }?;
                Some(Command { name: command.name.clone(), short: command.short.clone(), entry: e.id.clone() })
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// The command called `name`; an unknown name is an error with the closest one.
    pub fn command(&self, name: &str) -> Result<Command, CommandError> {
        let commands = self.commands();
        if let Some(c) = commands.iter().find(|c| c.name == name) {
            return Ok(c.clone());
        }
        let known: Vec<String> = commands.into_iter().map(|c| c.name).collect();
        let names: Vec<&str> = known.iter().map(String::as_str).collect();
        let suggestion = closest(name, &names).map(str::to_owned);
        Err(CommandError::Unknown { name: name.to_owned(), suggestion, known })
    }

    /// The `terminal.host` commands run on; the project must also have a `process.host`.
    pub fn terminal_host(&self) -> Result<EntryId, CommandError> {
        let entries = &self.registry().entries;
        let terminal = entries.values().find(|e| matches!(e.kind, EntryKind::TerminalHost(_)));
        let process_host = entries.values().any(|e| matches!(e.kind, EntryKind::ProcessHost(_)));
        match (terminal, process_host) {
            (Some(t), true) => Ok(t.id.clone()),
            (None, _) => Err(CommandError::MissingHost { kind: "terminal.host", need: "run on" }),
            (_, false) => Err(CommandError::MissingHost { kind: "process.host", need: "need" }),
        }
    }
}
