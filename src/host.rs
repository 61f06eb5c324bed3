//! [`Host`]: one loaded project with its own engine, registry and (later) process table. The Rust entry point.
//!
//! [`HostBuilder::build`] loads the registry, sizes and creates the engine, and prepares every WASM entry (hash
//! checks, compilation, linking), reporting every problem of the project together as a [`LoadError`]. A built host
//! is immutable and cheap to clone (an `Arc`); [`Host::call`] may be called from any number of tasks at once.
//!
//! Hosts share nothing: two hosts in one process have separate engines, pools and registries.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::CallError;
use crate::function::pool::Pool;
use crate::function::{self, Callable, Function, Functions};
use crate::imports::wasi::EnvSource;
use crate::lua::LuaRuntime;
use crate::process::Program;
use crate::process::{Client, Domain, SecurityContext, System};
use crate::registry::kinds::LuaRole;
use crate::registry::kinds::{default_workers, PoolKind, WasmRole};
use crate::registry::{Diagnostic, EntryId, EntryKind, LoadError, Registry};
use crate::runtime::{self, EngineSettings, Runtime};
use crate::value::Value;

/// Builds a [`Host`] with non-default settings.
#[derive(Debug, Clone)]
pub struct HostBuilder {
    project: PathBuf,
    cache_dir: Option<PathBuf>,
    instance_slots: Option<u32>,
    memory_slot: Option<u64>,
    env: EnvSource,
}

impl HostBuilder {
    /// A builder for the project folder `project`, with the default code cache folder.
    pub fn new(project: impl AsRef<Path>) -> Self {
        HostBuilder {
            project: project.as_ref().to_path_buf(),
            cache_dir: runtime::cache::default_dir(),
            instance_slots: None,
            memory_slot: None,
            env: EnvSource::Process,
        }
    }

    /// Reads `env.variable` values from `vars` instead of the process environment (embedding, tests).
    pub fn environment(mut self, vars: HashMap<String, String>) -> Self {
        self.env = EnvSource::Map(Arc::new(vars));
        self
    }

    /// Where compiled code is cached; `None` disables the cache.
    pub fn code_cache(mut self, dir: Option<PathBuf>) -> Self {
        self.cache_dir = dir;
        self
    }

    /// How many instances may exist at once (default: enough for every `process.host`'s `max_processes` plus
    /// every function pool, capped by the kernel's mapping limit; see [`crate::runtime`]).
    pub fn instance_slots(mut self, slots: u32) -> Self {
        self.instance_slots = Some(slots);
        self
    }

    /// The largest linear memory of any instance (default 128 MiB).
    pub fn memory_slot(mut self, bytes: u64) -> Self {
        self.memory_slot = Some(bytes);
        self
    }

    /// Loads the project and prepares every entry. Problems of the registry and of the binaries (hashes,
    /// compilation, exports) are reported together.
    pub fn build(self) -> Result<Host, LoadError> {
        let (registry, diagnostics) = Registry::load_partial(&self.project)?;
        self.prepare(registry, diagnostics)
    }

    /// Prepares an already loaded registry.
    pub fn build_with(self, registry: Registry) -> Result<Host, LoadError> {
        self.prepare(registry, Vec::new())
    }

    fn prepare(self, registry: Registry, mut diags: Vec<Diagnostic>) -> Result<Host, LoadError> {
        let mut settings = EngineSettings {
            instance_slots: self.instance_slots.unwrap_or_else(|| slots_for(&registry)),
            ..EngineSettings::default()
        };
        if let Some(m) = self.memory_slot {
            settings.memory_slot = m;
        }
        let runtime = Runtime::new(settings, self.cache_dir).map_err(|e| {
            LoadError::one(Diagnostic::new(
                None,
                None,
                format!("cannot create the WASM engine: {}", function::flat(&e)),
            ))
        })?;
        // `auto_init` folders are created before anything that mounts them is prepared.
        for entry in registry.entries.values() {
            let EntryKind::FsDirectory(d) = &entry.kind else { continue };
            if d.auto_init && !d.directory.exists() {
                if let Err(e) = create_dir(&d.directory, d.mode) {
                    diags.push(Diagnostic::new(
                        Some(entry.origin.clone()),
                        Some(entry.id.clone()),
                        format!("cannot create the folder `{}`: {e}", d.directory.display()),
                    ));
                }
            }
        }
        let mut functions = HashMap::new();
        let mut processes = HashMap::new();
        for entry in registry.entries.values() {
            let EntryKind::Wasm(w) = &entry.kind else { continue };
            match function::prepare(&runtime, &registry, entry, w, &self.env) {
                Ok(code) => {
                    let code = Arc::new(code);
                    match w.role {
                        WasmRole::Function => {
                            functions
                                .insert(entry.id.clone(), Callable::Wasm(Function { pool: Pool::new(&w.pool), code }));
                        }
                        WasmRole::Process => {
                            processes.insert(entry.id.clone(), Program::Wasm(code));
                        }
                    }
                }
                Err(d) => diags.push(d),
            }
        }
        // Lua: every entry compiled into the host's Lua state.
        let lua_entries: Vec<&crate::registry::Entry> =
            registry.entries.values().filter(|e| matches!(e.kind, EntryKind::Lua(_))).collect();
        let lua = if lua_entries.is_empty() {
            None
        } else {
            match LuaRuntime::new(&lua_entries) {
                Ok(rt) => {
                    let rt = Arc::new(rt);
                    for code in rt.codes() {
                        match code.role {
                            LuaRole::Function => {
                                functions.insert(code.id.clone(), Callable::Lua(code.clone()));
                            }
                            LuaRole::Process => {
                                processes.insert(code.id.clone(), Program::Lua(code.clone()));
                            }
                            LuaRole::Library => {}
                        }
                    }
                    Some(rt)
                }
                Err(d) => {
                    diags.extend(d);
                    None
                }
            }
        };
        // A service's `input` must fit its process's method: checked now, not at the first start.
        for entry in registry.entries.values() {
            let EntryKind::Service(s) = &entry.kind else { continue };
            if let Some(Program::Wasm(code)) = processes.get(&s.process.id) {
                if let Err(e) = code.lower_args(&s.input) {
                    diags.push(
                        Diagnostic::new(
                            Some(entry.origin.clone()),
                            Some(entry.id.clone()),
                            format!("`input` does not fit `{}`: {e}", s.process.id),
                        )
                        .with_hint(format!("the process takes `{}`", code.signature())),
                    );
                }
            }
        }
        if !diags.is_empty() {
            // File order, then position: the order a reader goes through the project.
            diags.sort_by(|a, b| {
                let key = |d: &Diagnostic| d.origin.as_ref().map(|o| (o.file.to_path_buf(), o.pos.line, o.pos.col));
                key(a).cmp(&key(b))
            });
            return Err(LoadError { diagnostics: diags });
        }
        let registry = Arc::new(registry);
        let domains = domains_of(&registry);
        let functions = Arc::new(Functions::new(functions, runtime.engine.clone(), registry.clone(), lua.clone()));
        let system =
            Arc::new(System::new(registry.clone(), runtime.engine.clone(), processes, domains, functions.clone(), lua));
        functions.set_system(&system);
        Ok(Host { inner: Arc::new(HostInner { registry, runtime, functions, system }) })
    }
}

/// The instance slots a registry needs: every process host's `max_processes` plus every function pool.
fn slots_for(reg: &Registry) -> u32 {
    let mut total: u64 = 64;
    for e in reg.entries.values() {
        match &e.kind {
            EntryKind::ProcessHost(h) => total += h.max_processes as u64,
            EntryKind::Wasm(w) if w.role == WasmRole::Function => {
                total += match (w.pool.kind, w.pool.concurrency) {
                    (PoolKind::Inline, _) | (_, None) => 256,
                    (_, Some(n)) => n as u64,
                };
            }
            _ => {}
        }
    }
    total.clamp(256, u64::from(runtime::DEFAULT_INSTANCE_SLOTS)) as u32
}

/// The scheduling domains: every `process.host`, and the `terminal.host` (whose processes get the real terminal).
fn domains_of(reg: &Registry) -> HashMap<EntryId, Arc<Domain>> {
    let mut out = HashMap::new();
    for e in reg.entries.values() {
        let d = match &e.kind {
            EntryKind::ProcessHost(h) => {
                Domain::new(e.id.clone(), h.workers, h.max_processes, h.queue_size, h.cancel_timeout, false)
            }
            EntryKind::TerminalHost(_) => {
                Domain::new(e.id.clone(), default_workers(), 1024, 1024, std::time::Duration::from_secs(5), true)
            }
            _ => continue,
        };
        out.insert(e.id.clone(), Arc::new(d));
    }
    out
}

struct HostInner {
    registry: Arc<Registry>,
    runtime: Runtime,
    functions: Arc<Functions>,
    system: Arc<System>,
}

fn create_dir(dir: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(mode).create(dir)
}

impl Drop for HostInner {
    /// Processes do not outlive their host: every one still running is terminated.
    fn drop(&mut self) {
        self.system.shutdown();
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

    /// The project's registry.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The engine, for embedding code that measures or extends the host.
    pub fn engine(&self) -> &wasmtime::Engine {
        &self.inner.runtime.engine
    }

    /// The engine settings in effect (after capping by the kernel's limits).
    pub fn engine_settings(&self) -> &EngineSettings {
        &self.inner.runtime.settings
    }

    /// Calls the function entry `id` with `args` under an empty security context; the result is mapped per
    /// SPEC §3.
    pub async fn call(&self, id: &str, args: Vec<Value>) -> Result<Value, CallError> {
        self.call_as(SecurityContext::default(), id, args).await
    }

    /// Calls the function entry `id` as `context`: the function, and everything it calls or spawns, runs under it.
    pub async fn call_as(&self, context: SecurityContext, id: &str, args: Vec<Value>) -> Result<Value, CallError> {
        self.inner.functions.call(Arc::new(context), 0, id, args).await
    }

    /// The signature of a function entry as WIT text, e.g. `compute(a: s32, b: s32) -> s32`.
    pub fn signature(&self, id: &str) -> Option<String> {
        self.inner.functions.signature(id)
    }

    /// The parameters of a process entry's method: names and WIT types (`name`, `list<string>`).
    pub fn process_params(&self, id: &str) -> Option<Vec<(String, String)>> {
        match self.inner.system.programs.get(id)? {
            Program::Wasm(code) => {
                Some(code.params.iter().map(|(n, t)| (n.clone(), crate::value::wit::type_name(t))).collect())
            }
            Program::Lua(_) => None,
        }
    }

    /// The function table (WASM and Lua functions).
    pub fn functions(&self) -> &Arc<Functions> {
        &self.inner.functions
    }

    /// The process system: the process table, names and groups of this host.
    pub fn processes(&self) -> &Arc<System> {
        &self.inner.system
    }

    /// A new Rust-side participant with its own PID and mailbox, running under an empty security context.
    pub fn client(&self) -> Client {
        Client::new(self.inner.system.clone(), SecurityContext::default())
    }

    /// A client that acts under `context`; processes it spawns inherit it.
    pub fn client_as(&self, context: SecurityContext) -> Client {
        Client::new(self.inner.system.clone(), context)
    }
}
