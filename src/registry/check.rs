//! Checks that need the whole project: references between entries, unique command names, and the shape of
//! supervision trees (no `requires` cycles, no supervisor inside itself, one parent per child).

use crate::error::Diagnostic;
use crate::id::EntryId;
use crate::registry::fields::closest;
use crate::registry::kinds::{Entry, EntryKind, Ref, WasmSource};
use crate::registry::Registry;

/// The references of an entry: (field, reference, the kinds it may point at).
fn references(kind: &EntryKind) -> Vec<(&'static str, &Ref, &'static [&'static str])> {
    let mut out = Vec::new();
    if let EntryKind::Wasm(w) = kind {
        if let WasmSource::File { fs, .. } = &w.source {
            out.push(("fs", fs, &["fs.directory"][..]));
        }
        for e in &w.wasi.env {
            out.push(("wasi.env.id", &e.id, &["env.variable"][..]));
        }
        for m in &w.wasi.mounts {
            out.push(("wasi.mounts.fs", &m.fs, &["fs.directory"][..]));
        }
    }
    const SUPERVISED: &[&str] = &["process.service", "process.supervisor"];
    match kind {
        EntryKind::Lua(l) => {
            out.extend(l.imports.iter().map(|(_, r)| ("imports", r, &["library.lua"][..])));
        }
        EntryKind::Service(s) => {
            out.push(("process", &s.process, &["process.wasm", "process.lua"][..]));
            out.push(("host", &s.host, &["process.host", "terminal.host"][..]));
            out.extend(s.lifecycle.requires.iter().map(|r| ("requires", r, SUPERVISED)));
        }
        EntryKind::Supervisor(s) => {
            out.extend(s.children.iter().map(|r| ("children", r, SUPERVISED)));
            out.extend(s.lifecycle.requires.iter().map(|r| ("requires", r, SUPERVISED)));
        }
        _ => {}
    }
    out
}

/// Checks every reference and the uniqueness of command names across the whole registry. `dropped` are the IDs of
/// entries left out for errors of their own: a reference to one says so rather than "does not exist".
pub(super) fn check_references(reg: &Registry, dropped: &[EntryId], diags: &mut Vec<Diagnostic>) {
    let mut commands: Vec<(&str, &Entry)> = Vec::new();
    for entry in reg.entries.values() {
        for (field, r, kinds) in references(&entry.kind) {
            let d = match reg.entries.get(&r.id) {
                Some(target) if kinds.contains(&target.kind.name()) => continue,
                Some(target) => Diagnostic::new(
                    Some(entry.origin.at(r.pos)),
                    Some(entry.id.clone()),
                    format!(
                        "`{field}` refers to `{}`, which is a `{}`, not a `{}`",
                        r.id,
                        target.kind.name(),
                        kinds.join("` or `")
                    ),
                ),
                None if dropped.contains(&r.id) => Diagnostic::new(
                    Some(entry.origin.at(r.pos)),
                    Some(entry.id.clone()),
                    format!("`{field}` refers to `{}`, which has errors of its own (reported above)", r.id),
                )
                .with_hint(format!("fix `{}` first", r.id)),
                None => {
                    let ids: Vec<&str> = reg
                        .entries
                        .values()
                        .filter(|e| kinds.contains(&e.kind.name()))
                        .map(|e| e.id.as_str())
                        .collect();
                    let hint = match closest(r.id.as_str(), &ids) {
                        Some(c) => format!("did you mean `{c}`?"),
                        None => format!(
                            "declare a `{}` entry named `{}` in namespace `{}`",
                            kinds[0],
                            r.id.name(),
                            r.id.namespace()
                        ),
                    };
                    Diagnostic::new(
                        Some(entry.origin.at(r.pos)),
                        Some(entry.id.clone()),
                        format!("`{field}` refers to `{}`, which does not exist", r.id),
                    )
                    .with_hint(hint)
                }
            };
            diags.push(d);
        }
        let command = match &entry.kind {
            EntryKind::Wasm(w) => w.command.as_ref(),
            EntryKind::Lua(l) => l.command.as_ref(),
            _ => None,
        };
        {
            if let Some(c) = command {
                if let Some((_, other)) = commands.iter().find(|(n, _)| *n == c.name) {
                    diags.push(
                        Diagnostic::new(
                            Some(entry.origin.clone()),
                            Some(entry.id.clone()),
                            format!("command `{}` is declared twice", c.name),
                        )
                        .with_hint(format!("`{}` already uses it; command names must be unique", other.id)),
                    );
                } else {
                    commands.push((&c.name, entry));
                }
            }
        }
    }
}

/// Checks what only the whole tree can tell: `requires` cycles, supervisors that contain themselves, and children
/// claimed by two supervisors.
pub(super) fn check_supervision(reg: &Registry, diags: &mut Vec<Diagnostic>) {
    let supervised: Vec<&Entry> =
        reg.entries.values().filter(|e| matches!(e.kind, EntryKind::Service(_) | EntryKind::Supervisor(_))).collect();
    let ids: Vec<EntryId> = supervised.iter().map(|e| e.id.clone()).collect();
    let edges = |field: fn(&EntryKind) -> Vec<EntryId>| {
        move |id: &EntryId| reg.entries.get(id).map(|e| field(&e.kind)).unwrap_or_default()
    };
    let requires = |k: &EntryKind| match k {
        EntryKind::Service(s) => s.lifecycle.requires.iter().map(|r| r.id.clone()).collect(),
        EntryKind::Supervisor(s) => s.lifecycle.requires.iter().map(|r| r.id.clone()).collect(),
        _ => Vec::new(),
    };
    let children = |k: &EntryKind| match k {
        EntryKind::Supervisor(s) => s.children.iter().map(|r| r.id.clone()).collect(),
        _ => Vec::new(),
    };
    for (what, field, hint) in [
        ("`requires` forms a cycle", requires as fn(&EntryKind) -> Vec<EntryId>, "remove one of these requirements"),
        (
            "supervisors contain each other",
            children as fn(&EntryKind) -> Vec<EntryId>,
            "a supervisor cannot be its own descendant",
        ),
    ] {
        if let Err(cycle) = supervision::order::start_order(&ids, edges(field)) {
            let path: Vec<String> = cycle.iter().map(|c| format!("`{c}`")).collect();
            let first = reg.entries.get(&cycle[0]);
            diags.push(
                Diagnostic::new(
                    first.map(|e| e.origin.clone()),
                    Some(cycle[0].clone()),
                    format!("{what}: {}", path.join(" -> ")),
                )
                .with_hint(hint),
            );
        }
    }
    let mut parent: Vec<(&EntryId, &EntryId)> = Vec::new();
    for e in &supervised {
        if let EntryKind::Supervisor(s) = &e.kind {
            for c in &s.children {
                if let Some((_, other)) = parent.iter().find(|(child, _)| **child == c.id) {
                    diags.push(
                        Diagnostic::new(
                            Some(e.origin.at(c.pos)),
                            Some(e.id.clone()),
                            format!("`{}` is already a child of `{other}`", c.id),
                        )
                        .with_hint("a service or supervisor has one parent supervisor"),
                    );
                } else {
                    parent.push((&c.id, &e.id));
                }
            }
        }
    }
}
