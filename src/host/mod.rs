//! [`Host`]: one loaded project with its own engines, registry, function table and process system. The Rust entry
//! point.
//!
//! [`HostBuilder::build`] ([`builder`]) loads the registry, creates the WASM engine and prepares every entry,
//! reporting every problem of the project together. A built host is immutable and cheap to clone (an `Arc`);
//! [`Host::call`] may be called from any number of tasks at once. [`functions`] is the function table that every
//! call, from Rust or from a guest, goes through.
//!
//! Hosts share nothing: two hosts in one process have separate engines, pools, registries, PIDs, names and groups.
//! Dropping the last handle to a host terminates its processes.

mod builder;
mod commands;
mod functions;
mod introspect;

use std::path::Path;
use std::sync::Arc;

pub use builder::HostBuilder;
pub use commands::Command;
pub use introspect::Totals;

use crate::cluster::{Cluster, ClusterConfig, ClusterError, NodeEvent};
use crate::error::{CallError, LoadError};
use crate::process::{CallEnv, Client, Pid, System};
use crate::registry::Registry;
use crate::security::SecurityContext;
use crate::value::Value;
use crate::wasm::WasmEngine;
use functions::FunctionTable;

struct HostInner {
    registry: Arc<Registry>,
    engine: WasmEngine,
    functions: Arc<FunctionTable>,
    system: Arc<System>,
    /// The Lua engine, when the project has Lua entries (its event bus hears membership changes).
    lua: Option<Arc<crate::lua::LuaEngine>>,
    /// The cluster, once the host joined one.
    cluster: std::sync::OnceLock<Cluster>,
}

impl Drop for HostInner {
    /// Processes do not outlive their host: every one still running is terminated, then the host leaves its
    /// cluster.
    fn drop(&mut self) {
        self.system.shutdown();
        if let Some(c) = self.cluster.get() {
            c.leave();
        }
    }
}

/// A loaded project: call its functions, spawn its processes, deploy its services.
#[derive(Clone)]
pub struct Host {
    inner: Arc<HostInner>,
}

impl Host {
    /// Loads the project folder with default settings.
    pub fn load(project: impl AsRef<Path>) -> Result<Host, LoadError> {
        HostBuilder::new(project).build()
    }

    /// Joins a cluster (SPEC §8) as `config.node`: gossip and sessions start on `config.listen`, the seeds in
    /// `config.join` are contacted, and from then on this host's PIDs carry its node name and processes can be
    /// spawned on, sent to, monitored and linked across nodes. Join before spawning: PIDs minted earlier stay
    /// local-only. Membership changes reach Lua's event bus (system `cluster`, kinds `node.up` / `node.down`).
    pub async fn join_cluster(&self, config: &ClusterConfig) -> Result<&Cluster, ClusterError> {
        let lua = self.inner.lua.as_ref().map(Arc::downgrade);
        let notify = Box::new(move |e: &NodeEvent| {
            let Some(lua) = lua.as_ref().and_then(std::sync::Weak::upgrade) else { return };
            let (kind, node) = match e {
                NodeEvent::Up(n) => ("node.up", n),
                NodeEvent::Down(n) => ("node.down", n),
            };
            lua.events().send("cluster", kind, node, Value::map([("node", Value::from(node.as_str()))]));
        });
        let cluster = Cluster::join(&self.inner.system, config, notify).await?;
        self.inner.cluster.set(cluster).map_err(|c| ClusterError::AlreadyJoined { node: c.node().to_owned() })?;
        Ok(self.inner.cluster.get().expect("just set"))
    }

    /// The cluster this host joined, if any.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.inner.cluster.get()
    }

    /// Calls the function entry `id` with `args` under an empty security context; values are mapped as
    /// `docs/values.md` describes.
    pub async fn call(&self, id: &str, args: Vec<Value>) -> Result<Value, CallError> {
        self.call_as(SecurityContext::default(), id, args).await
    }

    /// Calls the function entry `id` as `context`: the function, and everything it calls or spawns, runs under it.
    pub async fn call_as(&self, context: SecurityContext, id: &str, args: Vec<Value>) -> Result<Value, CallError> {
        let env = CallEnv::new(self.inner.system.clone(), Arc::new(context));
        self.inner.functions.call_direct(env, id, args).await
    }

    /// The signature of a function entry as text, e.g. `compute(a: s32, b: s32) -> s32`.
    pub fn signature(&self, id: &str) -> Option<String> {
        self.inner.functions.signature(id)
    }

    /// The parameters of a process entry's method, names and WIT types (`name`, `list<string>`), when its engine
    /// declares them (a `process.lua` takes any values: `None`).
    pub fn process_params(&self, id: &str) -> Option<Vec<(String, String)>> {
        self.inner.system.program(id)?.params()
    }

    /// A new Rust-side participant with its own PID and mailbox, running under an empty security context.
    pub fn client(&self) -> Client {
        Client::new(&self.inner.system, SecurityContext::default())
    }

    /// A client that acts under `context`; processes it spawns inherit it.
    pub fn client_as(&self, context: SecurityContext) -> Client {
        Client::new(&self.inner.system, context)
    }

    /// Whether `pid` is alive.
    pub fn is_alive(&self, pid: &Pid) -> bool {
        self.inner.system.is_alive(pid.as_str())
    }

    /// Terminates every live process (not the clients) with `reason`, as dropping the host would; returns how many
    /// there were. `wippy start` on a cluster node uses it for the processes other nodes started there.
    pub fn terminate_all(&self, reason: &str) -> usize {
        self.inner.system.terminate_all(reason)
    }

    /// How many processes and clients are alive.
    pub fn process_count(&self) -> usize {
        self.inner.system.count()
    }

    /// How many names are registered now, and how many process groups have members: both go back down as their
    /// processes exit (the soak example watches them for leaks).
    pub fn name_and_group_counts(&self) -> (usize, usize) {
        (self.inner.system.name_count(), self.inner.system.group_count())
    }

    /// The live process registered as `name`.
    pub fn lookup(&self, name: &str) -> Option<Pid> {
        self.inner.system.lookup(name)
    }

    /// How many entries the project has.
    pub fn entry_count(&self) -> usize {
        self.inner.registry.entries.len()
    }

    /// The kind of entry `id` (`function.wasm`, `process.lua`, ...), if the project has it.
    pub fn entry_kind(&self, id: &str) -> Option<&'static str> {
        self.inner.registry.get(id).map(|e| e.kind.name())
    }

    /// The wasmtime engine the host compiles with, for benchmarks that compare against raw wasmtime under the
    /// same configuration.
    pub fn wasm_engine(&self) -> &wasmtime::Engine {
        &self.inner.engine.engine
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    pub(crate) fn system(&self) -> &Arc<System> {
        &self.inner.system
    }
}
