//! Host capabilities (`docs/capabilities.md`): which host interfaces a guest may import, and how a linker is assembled from them.
//!
//! Nothing is granted by default. An entry's `imports` list names [`Group`]s; [`component_linker`] and
//! [`core_linker`] add exactly those groups' host implementations, then link every other guest import as a stub
//! that traps with `capability <group> is not granted to <entry>: add it to imports` ([`stubs`]). A guest that merely
//! declares an import it never calls therefore still instantiates and runs.
//!
//! One file per import group, each reaching its state in the store through a small view trait:
//! - [`wasi`]: `wasi:io`, `wasi:poll`, `wasi:clocks` (and the other WASI p2 groups) plus `wasi1` for core modules,
//!   through [`wasmtime_wasi::WasiView`] implemented on [`StoreState`];
//! - [`process`]: `wippy:process`, process primitives for WASM processes, through [`process::ProcessView`];
//! - [`funcs`]: `funcs` (`wippy:runtime/funcs` and `wippy:runtime/context`), through [`funcs::FuncsView`];
//! - [`stdio`]: guest stdout/stderr into the log, outside the terminal host;
//! - [`stubs`]: the trapping stand-ins for ungranted imports;
//! - [`symlinks`]: the guard that keeps a guest's symbolic links inside its mounts (both WASI versions).

pub(super) mod funcs;
pub(super) mod process;
pub(super) mod stdio;
pub(super) mod stubs;
pub(super) mod symlinks;
pub(super) mod wasi;

use crate::capability::Group;
use crate::id::EntryId;
use crate::wasm::store::StoreState;

/// Builds the linker for a component: the granted groups, then trapping stubs for every other import.
pub(super) fn component_linker(
    engine: &wasmtime::Engine,
    component: &wasmtime::component::Component,
    entry: &EntryId,
    granted: &[Group],
) -> wasmtime::Result<wasmtime::component::Linker<StoreState>> {
    let mut linker = wasmtime::component::Linker::new(engine);
    for group in granted {
        match group {
            Group::WippyProcess => process::add_to_linker(&mut linker)?,
            Group::Funcs => funcs::add_to_linker(&mut linker)?,
            other => wasi::add_component_group(&mut linker, *other)?,
        }
    }
    stubs::stub_component_imports(&mut linker, engine, component, entry, granted)?;
    Ok(linker)
}

/// Builds the linker for a core module: `wasi1` when granted, then trapping stubs for every other function import.
pub(super) fn core_linker(
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
