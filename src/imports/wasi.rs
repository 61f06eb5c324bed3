//! WASI host groups: `wasi:io`, `wasi:poll`, `wasi:clocks`, `wasi:cli`, `wasi:filesystem`, `wasi:random`,
//! `wasi:sockets` for components (WASI 0.2, any 0.2.x minor the guest imports, through wasmtime's semver matching),
//! and `wasi1` (preview 1) for core modules.
//!
//! The host implementations are wasmtime-wasi's asynchronous ones: a guest that sleeps or polls suspends its fiber
//! and yields the thread to tokio; it never blocks a thread. State is reached through [`WasiView`] on
//! [`StoreState`](crate::store::StoreState), whose WASI context is built on first use.

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random, sockets};
use wasmtime_wasi::random::WasiRandom;
use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView};
use wasmtime_wasi::WasiView;

use super::Group;
use crate::store::StoreState;

/// The `HasData` marker for the `wasi:io` interfaces, whose host state is the resource table.
struct IoTable;

impl HasData for IoTable {
    type Data<'a> = &'a mut ResourceTable;
}

fn io_table(s: &mut StoreState) -> &mut ResourceTable {
    s.ctx().table
}

/// Adds the host implementation of one group to a component linker. Groups implemented elsewhere are no-ops here.
pub fn add_component_group(l: &mut Linker<StoreState>, group: Group) -> wasmtime::Result<()> {
    type T = StoreState;
    match group {
        Group::WasiIo => {
            wasmtime_wasi_io::bindings::wasi::io::error::add_to_linker::<T, IoTable>(l, io_table)?;
            wasmtime_wasi_io::bindings::wasi::io::streams::add_to_linker::<T, IoTable>(l, io_table)?;
        }
        Group::WasiPoll => wasmtime_wasi_io::bindings::wasi::io::poll::add_to_linker::<T, IoTable>(l, io_table)?,
        Group::WasiClocks => {
            clocks::wall_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
            clocks::monotonic_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
        }
        Group::WasiCli => {
            cli::exit::add_to_linker::<T, WasiCli>(l, T::cli)?;
            cli::environment::add_to_linker::<T, WasiCli>(l, T::cli)?;
            cli::stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
            cli::stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
            cli::stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
            cli::terminal_input::add_to_linker::<T, WasiCli>(l, T::cli)?;
            cli::terminal_output::add_to_linker::<T, WasiCli>(l, T::cli)?;
            cli::terminal_stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
            cli::terminal_stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
            cli::terminal_stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
        }
        Group::WasiFilesystem => {
            filesystem::types::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
            filesystem::preopens::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
        }
        Group::WasiRandom => {
            random::random::add_to_linker::<T, WasiRandom>(l, |t| t.ctx().ctx.random())?;
            random::insecure::add_to_linker::<T, WasiRandom>(l, |t| t.ctx().ctx.random())?;
            random::insecure_seed::add_to_linker::<T, WasiRandom>(l, |t| t.ctx().ctx.random())?;
        }
        Group::WasiSockets => {
            sockets::tcp::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
            sockets::udp::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
            sockets::udp_create_socket::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
            sockets::tcp_create_socket::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
            sockets::instance_network::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
            sockets::network::add_to_linker::<T, WasiSockets>(l, &Default::default(), T::sockets)?;
            sockets::ip_name_lookup::add_to_linker::<T, WasiSockets>(l, T::sockets)?;
        }
        Group::WasiHttp | Group::Wasi1 | Group::WippyProcess | Group::Funcs => {}
    }
    Ok(())
}

/// Adds WASI preview 1 to a core-module linker.
pub fn add_wasi1(linker: &mut wasmtime::Linker<StoreState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p1::add_to_linker_async(linker, StoreState::wasi_p1)
}
