//! Host capabilities (SPEC §2): which host interfaces a guest may import, and how a linker is assembled from them.
//!
//! Nothing is granted by default. An entry's `imports` list names [`Group`]s; [`component_linker`] and
//! [`core_linker`] add exactly those groups' host implementations, then link every other guest import as a stub
//! that traps with `capability <group> is not granted to <entry>: add it to imports` ([`stubs`]). A guest that merely
//! declares an import it never calls therefore still instantiates and runs.
//!
//! One file per import group, each reaching its state in the store through a small view trait:
//! - [`wasi`]: `wasi:io`, `wasi:poll`, `wasi:clocks` (and the other WASI p2 groups) plus `wasi1` for core modules,
//!   through [`wasmtime_wasi::WasiView`] implemented on [`crate::store::StoreState`];
//! - [`process`]: `wippy:process`, process primitives for WASM processes, through [`process::ProcessView`];
//! - [`runtime`]: `funcs` (`wippy:runtime/funcs` and `wippy:runtime/context`), through [`runtime::RuntimeView`];
//! - [`stdio`]: guest stdout/stderr into the log, outside the terminal host;
//! - [`stubs`]: the trapping stand-ins for ungranted imports.

pub mod process;
pub mod runtime;
pub mod stdio;
pub mod stubs;
pub mod wasi;

use std::fmt;

use crate::registry::EntryId;
use crate::store::StoreState;

/// A capability group that an entry's `imports` can grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// `wasi:io`: error, streams.
    WasiIo,
    /// `wasi:poll`: `wasi:io/poll`.
    WasiPoll,
    /// `wasi:clocks`: wall and monotonic clocks.
    WasiClocks,
    /// `wasi:cli`: environment, exit, stdio, terminals.
    WasiCli,
    /// `wasi:filesystem`: types and preopens.
    WasiFilesystem,
    /// `wasi:random`: random, insecure, insecure-seed.
    WasiRandom,
    /// `wasi:sockets`: tcp, udp, ip-name-lookup.
    WasiSockets,
    /// `wasi:http`: outgoing-handler, types.
    WasiHttp,
    /// WASI preview 1 for core modules.
    Wasi1,
    /// `wippy:process`: process primitives.
    WippyProcess,
    /// `wippy:runtime/funcs`: calling registry functions.
    Funcs,
}

impl Group {
    /// Every group, in the order of the SPEC table.
    pub const ALL: &'static [Group] = &[
        Group::WasiIo,
        Group::WasiPoll,
        Group::WasiClocks,
        Group::WasiCli,
        Group::WasiFilesystem,
        Group::WasiRandom,
        Group::WasiSockets,
        Group::WasiHttp,
        Group::Wasi1,
        Group::WippyProcess,
        Group::Funcs,
    ];

    /// The canonical name, as written in `imports`.
    pub fn name(self) -> &'static str {
        match self {
            Group::WasiIo => "wasi:io",
            Group::WasiPoll => "wasi:poll",
            Group::WasiClocks => "wasi:clocks",
            Group::WasiCli => "wasi:cli",
            Group::WasiFilesystem => "wasi:filesystem",
            Group::WasiRandom => "wasi:random",
            Group::WasiSockets => "wasi:sockets",
            Group::WasiHttp => "wasi:http",
            Group::Wasi1 => "wasi1",
            Group::WippyProcess => "wippy:process",
            Group::Funcs => "funcs",
        }
    }

    /// Parses a name from `imports`: case-insensitive, `@version` ignored, a full interface name selects its group
    /// (`wasi:io/poll` -> `wasi:poll`).
    pub fn parse(name: &str) -> Option<Group> {
        let lower = name.trim().to_ascii_lowercase();
        let bare = lower.split('@').next().unwrap_or("");
        match bare {
            "wasi1" | "wasi_snapshot_preview1" | "wasi_unstable" | "wasi:preview1" => return Some(Group::Wasi1),
            "funcs" | "wippy:runtime" => return Some(Group::Funcs),
            "wasi:poll" => return Some(Group::WasiPoll),
            _ => {}
        }
        Group::for_interface(bare)
    }

    /// The group that provides a component import such as `wasi:io/poll@0.2.3` or `wasi:cli/stdout@0.2.0`;
    /// `None` for interfaces no group provides.
    pub fn for_interface(name: &str) -> Option<Group> {
        let bare = name.split('@').next().unwrap_or("");
        let (package, iface) = bare.split_once('/').unwrap_or((bare, ""));
        Some(match package {
            "wasi:io" if iface == "poll" => Group::WasiPoll,
            "wasi:io" if matches!(iface, "" | "error" | "streams") => Group::WasiIo,
            "wasi:clocks" => Group::WasiClocks,
            "wasi:cli" => Group::WasiCli,
            "wasi:filesystem" => Group::WasiFilesystem,
            "wasi:random" => Group::WasiRandom,
            "wasi:sockets" => Group::WasiSockets,
            "wasi:http" => Group::WasiHttp,
            "wippy:process" => Group::WippyProcess,
            "wippy:runtime" if matches!(iface, "" | "funcs" | "context") => Group::Funcs,
            _ => return None,
        })
    }

    /// The group that provides a core-module import module (`wasi_snapshot_preview1`).
    pub fn for_core_module(module: &str) -> Option<Group> {
        matches!(module, "wasi_snapshot_preview1" | "wasi_unstable").then_some(Group::Wasi1)
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A guest called an import that its entry was not granted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CapabilityDenied {
    /// The group that would provide the import, if any does.
    pub group: Option<Group>,
    /// The entry whose guest made the call.
    pub entry: EntryId,
    /// The import, `interface#function` or `module::name`.
    pub import: String,
}

impl fmt::Display for CapabilityDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.group {
            Some(g) => write!(
                f,
                "capability `{g}` is not granted to `{}`: add it to imports (the guest called `{}`)",
                self.entry, self.import
            ),
            None => write!(
                f,
                "import `{}` is not provided by this host: no capability group grants it to `{}`",
                self.import, self.entry
            ),
        }
    }
}

/// Builds the linker for a component: the granted groups, then trapping stubs for every other import.
pub fn component_linker(
    engine: &wasmtime::Engine,
    component: &wasmtime::component::Component,
    entry: &EntryId,
    granted: &[Group],
) -> wasmtime::Result<wasmtime::component::Linker<StoreState>> {
    let mut linker = wasmtime::component::Linker::new(engine);
    for group in granted {
        match group {
            Group::WippyProcess => process::add_to_linker(&mut linker)?,
            Group::Funcs => runtime::add_to_linker(&mut linker)?,
            other => wasi::add_component_group(&mut linker, *other)?,
        }
    }
    stubs::stub_component_imports(&mut linker, engine, component, entry, granted)?;
    Ok(linker)
}

/// Builds the linker for a core module: `wasi1` when granted, then trapping stubs for every other function import.
pub fn core_linker(
    engine: &wasmtime::Engine,
    module: &wasmtime::Module,
    entry: &EntryId,
    granted: &[Group],
) -> wasmtime::Result<wasmtime::Linker<StoreState>> {
    let mut linker = wasmtime::Linker::new(engine);
    if granted.contains(&Group::Wasi1) {
        wasi::add_wasi1(&mut linker)?;
    }
    stubs::stub_core_imports(&mut linker, module, entry, granted)?;
    Ok(linker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!(Group::parse("wasi:io"), Some(Group::WasiIo));
        assert_eq!(Group::parse("WASI:IO@0.2.3"), Some(Group::WasiIo));
        assert_eq!(Group::parse("wasi:io/poll"), Some(Group::WasiPoll));
        assert_eq!(Group::parse("wasi:poll"), Some(Group::WasiPoll));
        assert_eq!(Group::parse("wasi:cli/stdout@0.2.0"), Some(Group::WasiCli));
        assert_eq!(Group::parse("wasi_snapshot_preview1"), Some(Group::Wasi1));
        assert_eq!(Group::parse("wippy:runtime/funcs"), Some(Group::Funcs));
        assert_eq!(Group::parse("wasi:gpu"), None);
        for g in Group::ALL {
            assert_eq!(Group::parse(g.name()), Some(*g));
        }
    }
}
