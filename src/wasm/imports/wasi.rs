//! WASI host groups: `wasi:io`, `wasi:poll`, `wasi:clocks`, `wasi:cli`, `wasi:filesystem`, `wasi:random`,
//! `wasi:sockets` for components (WASI 0.2, any 0.2.x minor the guest imports, through wasmtime's semver matching),
//! and `wasi1` (preview 1) for core modules.
//!
//! The host implementations are wasmtime-wasi's asynchronous ones: a guest that sleeps or polls suspends its fiber
//! and yields the thread to tokio; it never blocks a thread. State is reached through [`WasiView`] on
//! [`StoreState`], whose WASI context is built on first use.
//!
//! [`WasiSetup`] is an entry's `wasi` block, prepared at load: `args`, `cwd`, the `env` bindings (resolved at every
//! instantiation from the host's [`EnvSource`], so a changed variable is seen by the next instance; a missing
//! required one fails the call with an error naming its `env.variable` entry), the `mounts` (preopened directories;
//! read-only ones refuse writes, and wasmtime-wasi's capability-based path resolution keeps `..` and symlinks
//! inside the mount), and network access when `wasi:sockets` is granted. Only the mapped variables are visible.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random, sockets};
use wasmtime_wasi::random::WasiRandom;
use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder, WasiView};

use super::stdio::{LogStream, LogTag, Stream};
use super::Group;
use crate::error::CallError;
use crate::id::EntryId;
use crate::wasm::store::StoreState;

/// Where `env.variable` values come from: the host process's environment, or a fixed map (for embedding and tests,
/// where changing the process environment is not thread-safe).
#[derive(Debug, Clone, Default)]
pub(crate) enum EnvSource {
    /// The process environment.
    #[default]
    Process,
    /// A fixed map.
    Map(Arc<HashMap<String, String>>),
}

impl EnvSource {
    /// The value of `name`, if set.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        match self {
            EnvSource::Process => std::env::var(name).ok(),
            EnvSource::Map(m) => m.get(name).cloned(),
        }
    }
}

/// One `wasi.env` binding, with its `env.variable` entry resolved.
#[derive(Debug, Clone)]
pub(crate) struct EnvBinding {
    /// The name the guest sees.
    pub name: String,
    /// The `env.variable` entry.
    pub entry: EntryId,
    /// The OS variable.
    pub variable: String,
    /// Its default.
    pub default: Option<String>,
    /// Whether a missing value is an error (the binding's or the entry's `required`).
    pub required: bool,
}

/// One `wasi.mounts` item, with its `fs.directory` resolved.
#[derive(Debug, Clone)]
pub(crate) struct MountSpec {
    /// The host folder.
    pub host: PathBuf,
    /// The absolute guest path.
    pub guest: String,
    /// Whether writes are refused.
    pub read_only: bool,
}

/// Where an instance's stdio goes.
#[derive(Debug, Clone)]
pub(crate) enum Stdio {
    /// The real terminal (processes on the `terminal.host`).
    Terminal,
    /// The log (stdout, stderr); stdin is closed.
    Log(Arc<LogTag>),
}

/// An entry's `wasi` block, prepared at load.
#[derive(Debug, Clone, Default)]
pub(crate) struct WasiSetup {
    /// `args`.
    pub args: Vec<String>,
    /// `cwd`.
    pub cwd: Option<String>,
    /// `env`.
    pub env: Vec<EnvBinding>,
    /// `mounts`.
    pub mounts: Vec<MountSpec>,
    /// Whether `wasi:sockets` may reach the network.
    pub network: bool,
    /// Where variable values come from.
    pub source: EnvSource,
}

impl WasiSetup {
    /// Resolves the `env` bindings for one instantiation.
    pub(crate) fn resolve_env(&self, entry: &EntryId) -> Result<Vec<(String, String)>, CallError> {
        let mut out = Vec::with_capacity(self.env.len());
        for b in &self.env {
            match self.source.get(&b.variable).or_else(|| b.default.clone()) {
                Some(v) => out.push((b.name.clone(), v)),
                None if b.required => {
                    return Err(CallError::MissingEnv {
                        entry: entry.clone(),
                        variable: b.entry.clone(),
                        os_name: b.variable.clone(),
                    })
                }
                None => {}
            }
        }
        Ok(out)
    }

    /// A builder for an instance's WASI context.
    pub(crate) fn builder(&self, env: &[(String, String)], stdio: &Stdio) -> WasiCtxBuilder {
        let mut b = WasiCtxBuilder::new();
        match stdio {
            Stdio::Terminal => {
                b.inherit_stdio();
            }
            Stdio::Log(tag) => {
                b.stdout(LogStream::new(tag.clone(), Stream::Stdout));
                b.stderr(LogStream::new(tag.clone(), Stream::Stderr));
            }
        }
        b.args(&self.args);
        b.envs(env);
        if let Some(cwd) = &self.cwd {
            b.initial_cwd(cwd);
        }
        for m in &self.mounts {
            let perms = if m.read_only { FsPerms::ReadOnly } else { FsPerms::ReadWrite };
            if let Err(e) = b.preopened_dir(&m.host, &m.guest, perms) {
                tracing::error!(host = %m.host.display(), guest = %m.guest, error = %e, "cannot open a mount; the guest will not see it");
            }
        }
        if self.network {
            b.inherit_network();
            b.allow_tcp(true);
            b.allow_udp(true);
            b.allow_ip_name_lookup(true);
        }
        b
    }
}

/// The `HasData` marker for the `wasi:io` interfaces, whose host state is the resource table.
struct IoTable;

impl HasData for IoTable {
    type Data<'a> = &'a mut ResourceTable;
}

fn io_table(s: &mut StoreState) -> &mut ResourceTable {
    s.ctx().table
}

/// Adds the host implementation of one group to a component linker. Groups implemented elsewhere are no-ops here.
pub(crate) fn add_component_group(l: &mut Linker<StoreState>, group: Group) -> wasmtime::Result<()> {
    type T = StoreState;
    match group {
        Group::WasiIo => {
            wasmtime_wasi_io::bindings::wasi::io::error::add_to_linker::<T, IoTable>(l, io_table)?;
            wasmtime_wasi_io::bindings::wasi::io::streams::add_to_linker::<T, IoTable>(l, io_table)?;
            lenient_stream_drops(l)?;
        }
        Group::WasiPoll => {
            wasmtime_wasi_io::bindings::wasi::io::poll::add_to_linker::<T, IoTable>(l, io_table)?;
            lenient_pollable_drop(l)?;
        }
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
            super::symlinks::guard_component(l)?;
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
        Group::WasiHttp => wasmtime_wasi_http::p2::add_only_http_to_linker_async(l)?,
        Group::Wasi1 | Group::WippyProcess | Group::Funcs => {}
    }
    Ok(())
}

/// The `wasi:io` version the wasmtime-wasi-io bindings register (pinned with wasmtime).
const WASI_IO: &str = "0.2.12";

/// A stream whose drop waits for its pollables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Orphan {
    /// An output stream.
    Output(u32),
    /// An input stream.
    Input(u32),
}

/// wasmtime-wasi-io makes a pollable a child of the stream it watches and refuses to drop a stream that still has
/// children ("resource has children"), but the wasi-libc of current Rust toolchains drops a file's write stream
/// before the pollable it subscribed, so every `std::fs::write` from a Rust guest would trap. These destructors
/// defer such a stream's deletion until its last pollable is dropped ([`lenient_pollable_drop`]); a stream never
/// outlives its store either way.
fn lenient_stream_drops(l: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    use wasmtime::component::{Resource, ResourceType};
    use wasmtime_wasi_io::bindings::wasi::io::streams::{HostInputStream, HostOutputStream};
    use wasmtime_wasi_io::streams::{DynInputStream, DynOutputStream};
    l.allow_shadowing(true);
    let mut i = l.instance(&format!("wasi:io/streams@{WASI_IO}"))?;
    i.resource_async("output-stream", ResourceType::host::<DynOutputStream>(), |mut store, rep| {
        Box::new(async move {
            let state = store.data_mut();
            let res = Resource::<DynOutputStream>::new_own(rep);
            if state.table.iter_children(&res)?.next().is_some() {
                state.orphans.push(Orphan::Output(rep));
                return Ok(());
            }
            HostOutputStream::drop(&mut state.table, res).await
        })
    })?;
    i.resource_async("input-stream", ResourceType::host::<DynInputStream>(), |mut store, rep| {
        Box::new(async move {
            let state = store.data_mut();
            let res = Resource::<DynInputStream>::new_own(rep);
            if state.table.iter_children(&res)?.next().is_some() {
                state.orphans.push(Orphan::Input(rep));
                return Ok(());
            }
            HostInputStream::drop(&mut state.table, res).await
        })
    })?;
    l.allow_shadowing(false);
    Ok(())
}

/// Drops a pollable, then any stream whose drop waited for it (see [`lenient_stream_drops`]).
fn lenient_pollable_drop(l: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    use wasmtime::component::{Resource, ResourceType};
    use wasmtime_wasi_io::bindings::wasi::io::poll::HostPollable;
    use wasmtime_wasi_io::bindings::wasi::io::streams::{HostInputStream, HostOutputStream};
    use wasmtime_wasi_io::poll::DynPollable;
    l.allow_shadowing(true);
    let mut i = l.instance(&format!("wasi:io/poll@{WASI_IO}"))?;
    i.resource_async("pollable", ResourceType::host::<DynPollable>(), |mut store, rep| {
        Box::new(async move {
            let state = store.data_mut();
            HostPollable::drop(&mut state.table, Resource::<DynPollable>::new_own(rep))?;
            let orphans = std::mem::take(&mut state.orphans);
            for orphan in orphans {
                let childless = match orphan {
                    Orphan::Output(r) => state.table.iter_children(&Resource::<()>::new_own(r))?.next().is_none(),
                    Orphan::Input(r) => state.table.iter_children(&Resource::<()>::new_own(r))?.next().is_none(),
                };
                match (childless, orphan) {
                    (true, Orphan::Output(r)) => HostOutputStream::drop(&mut state.table, Resource::new_own(r)).await?,
                    (true, Orphan::Input(r)) => HostInputStream::drop(&mut state.table, Resource::new_own(r)).await?,
                    (false, o) => state.orphans.push(o),
                }
            }
            Ok(())
        })
    })?;
    l.allow_shadowing(false);
    Ok(())
}

/// Adds WASI preview 1 to a core-module linker.
pub(crate) fn add_wasi1(linker: &mut wasmtime::Linker<StoreState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p1::add_to_linker_async(linker, StoreState::wasi_p1)?;
    super::symlinks::guard_wasi1(linker)
}
