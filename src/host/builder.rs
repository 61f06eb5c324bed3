//! [`HostBuilder`]: loading a project into a [`Host`], in named steps.
//!
//! [`HostBuilder::build`] runs:
//! 1. [`Registry::load_partial`]: every entry without a problem of its own, and the problems of the rest;
//! 2. [`HostBuilder::engine`]: the WASM engine, sized from the registry (instance slots for every process host and pool);
//! 3. [`create_folders`]: `auto_init` folders, before anything that mounts them is prepared;
//! 4. [`register_entries`]: each function and process entry prepared by its engine and registered in the function
//!    table or as a program. This is the one place that knows which engine runs which kind of entry;
//! 5. [`check_service_inputs`]: a service's `input` must fit its process's method;
//! 6. [`assemble`]: the process hosts, the process system and the host.
//!
//! Every problem of steps 1 to 5 is collected; the project loads only when there is none, and then they are
//! reported together, in file order, as one [`LoadError`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::functions::FunctionTable;
use super::{Host, HostInner};
use crate::error::{Diagnostic, LoadError};
use crate::id::EntryMap;
use crate::lua::{LuaEngine, LuaFunction, LuaProgram};
use crate::process::{Function, HostLimits, MailboxBounds, ProcessHost, Program, System};
use crate::registry::kinds::{default_workers, LuaRole, PoolKind, WasmRole};
use crate::registry::{EntryKind, Registry};
use crate::telemetry::Telemetry;
use crate::wasm::{self, EngineSettings, EnvSource, WasmEngine, WasmFunction, WasmProgram};

/// Builds a [`Host`] with non-default settings.
#[derive(Debug, Clone)]
pub struct HostBuilder {
    project: PathBuf,
    cache_dir: Option<PathBuf>,
    instance_slots: Option<u32>,
    memory_slot: Option<u64>,
    memory_budget: Option<u64>,
    env: EnvSource,
    metrics: bool,
}

impl HostBuilder {
    /// A builder for the project folder `project`, with the default code cache folder (`WIPPY_CACHE_DIR`, or
    /// `~/.cache/wippy`).
    pub fn new(project: impl AsRef<Path>) -> Self {
        HostBuilder {
            project: project.as_ref().to_path_buf(),
            cache_dir: crate::wasm::default_cache_dir(),
            instance_slots: None,
            memory_slot: None,
            memory_budget: None,
            env: EnvSource::Process,
            metrics: false,
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

    /// How many WASM instances may exist at once (default: enough for every `process.host`'s `max_processes` plus
    /// every function pool, capped by the kernel's mapping limit, see [`crate::instance_slot_budget`]).
    pub fn instance_slots(mut self, slots: u32) -> Self {
        self.instance_slots = Some(slots);
        self
    }

    /// The largest linear memory of any instance (default 128 MiB).
    pub fn memory_slot(mut self, bytes: u64) -> Self {
        self.memory_slot = Some(bytes);
        self
    }

    /// The WASM linear memory all instances of the host may reserve together (default: half the machine's
    /// memory). Past it, an instantiation fails with a limit error and a growth fails inside the guest.
    pub fn memory_budget(mut self, bytes: u64) -> Self {
        self.memory_budget = Some(bytes);
        self
    }

    /// Keeps Prometheus metrics (calls by entry and outcome, with their durations; SPEC §9) for
    /// [`Host::metrics_text`]. Off by default: the totals behind the dashboard are kept either way.
    pub fn metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    /// Loads the project and prepares every entry. Problems of the registry and of the binaries (hashes,
    /// compilation, exports) are reported together.
    pub fn build(self) -> Result<Host, LoadError> {
        let (registry, mut diags) = Registry::load_partial(&self.project)?;
        let engine = self.engine(&registry)?;
        create_folders(&registry, &mut diags);
        let prepared = register_entries(&engine, &registry, &self.env, &mut diags);
        check_service_inputs(&registry, &prepared.programs, &mut diags);
        if !diags.is_empty() {
            // File order, then position: the order a reader goes through the project.
            diags.sort_by(|a, b| {
                let key = |d: &Diagnostic| d.origin.as_ref().map(|o| (o.file.to_path_buf(), o.pos.line, o.pos.col));
                key(a).cmp(&key(b))
            });
            return Err(LoadError { diagnostics: diags });
        }
        Ok(assemble(registry, engine, prepared, Arc::new(Telemetry::new(self.metrics))))
    }

    /// Step 2: the WASM engine, sized for the registry unless the builder says otherwise.
    fn engine(&self, registry: &Registry) -> Result<WasmEngine, LoadError> {
        let mut settings = EngineSettings {
            instance_slots: self.instance_slots.unwrap_or_else(|| slots_for(registry)),
            ..EngineSettings::default()
        };
        if let Some(m) = self.memory_slot {
            settings.memory_slot = m;
        }
        if let Some(b) = self.memory_budget {
            settings.memory_budget = b;
        }
        WasmEngine::new(settings, self.cache_dir.clone()).map_err(|e| {
            LoadError::one(Diagnostic::new(None, None, format!("cannot create the WASM engine: {}", wasm::flat(&e))))
        })
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
    total.clamp(256, u64::from(wasm::DEFAULT_INSTANCE_SLOTS)) as u32
}

/// Step 3: creates the missing folders of `auto_init` directories.
fn create_folders(registry: &Registry, diags: &mut Vec<Diagnostic>) {
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
}

fn create_dir(dir: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(mode).create(dir)
}

/// The function and process entries, prepared by their engines.
#[derive(Default)]
struct Prepared {
    functions: EntryMap<Arc<dyn Function>>,
    programs: EntryMap<Arc<dyn Program>>,
    lua: Option<Arc<LuaEngine>>,
}

/// Step 4: every function and process entry, prepared by the engine of its kind.
fn register_entries(
    engine: &WasmEngine,
    registry: &Registry,
    env: &EnvSource,
    diags: &mut Vec<Diagnostic>,
) -> Prepared {
    let mut out = Prepared::default();
    for entry in registry.entries.values() {
        let EntryKind::Wasm(w) = &entry.kind else { continue };
        match (wasm::prepare(engine, registry, entry, w, env), w.role) {
            (Ok(code), WasmRole::Function) => {
                out.functions.insert(entry.id.clone(), Arc::new(WasmFunction::new(code, &w.pool)));
            }
            (Ok(code), WasmRole::Process) => {
                out.programs.insert(entry.id.clone(), Arc::new(WasmProgram::new(code)));
            }
            (Err(d), _) => diags.push(d),
        }
    }
    let lua_entries: Vec<&crate::registry::Entry> =
        registry.entries.values().filter(|e| matches!(e.kind, EntryKind::Lua(_))).collect();
    if lua_entries.is_empty() {
        return out;
    }
    match LuaEngine::new(&lua_entries) {
        Ok(lua) => {
            let lua = Arc::new(lua);
            out.lua = Some(lua.clone());
            for code in lua.codes() {
                match code.role {
                    LuaRole::Function => {
                        out.functions.insert(code.id.clone(), Arc::new(LuaFunction::new(lua.clone(), code.clone())));
                    }
                    LuaRole::Process => {
                        out.programs.insert(code.id.clone(), Arc::new(LuaProgram::new(lua.clone(), code.clone())));
                    }
                    LuaRole::Library => {}
                }
            }
        }
        Err(d) => diags.extend(d),
    }
    out
}

/// Step 5: a service's `input` must fit its process's method (checked now, not at the first start).
fn check_service_inputs(registry: &Registry, programs: &EntryMap<Arc<dyn Program>>, diags: &mut Vec<Diagnostic>) {
    for entry in registry.entries.values() {
        let EntryKind::Service(s) = &entry.kind else { continue };
        let Some(program) = programs.get(&s.process.id) else { continue };
        if let Err(e) = program.prepare(s.input.clone()) {
            let mut d = Diagnostic::new(
                Some(entry.origin.clone()),
                Some(entry.id.clone()),
                format!("`input` does not fit `{}`: {e}", s.process.id),
            );
            if let Some(sig) = program.signature() {
                d = d.with_hint(format!("the process takes `{sig}`"));
            }
            diags.push(d);
        }
    }
}

/// Step 6: the process hosts, the process system over the prepared entries, and the host.
fn assemble(registry: Registry, engine: WasmEngine, prepared: Prepared, telemetry: Arc<Telemetry>) -> Host {
    let registry = Arc::new(registry);
    let functions = Arc::new(FunctionTable::new(prepared.functions, registry.clone(), &telemetry));
    let hosts = process_hosts(&registry);
    let system = Arc::new(System::new(registry.clone(), hosts, prepared.programs, functions.clone(), telemetry));
    let inner = HostInner { registry, engine, functions, system, lua: prepared.lua, cluster: Default::default() };
    Host { inner: Arc::new(inner) }
}

/// Every `process.host`, and the `terminal.host` (whose processes get the real terminal).
fn process_hosts(reg: &Registry) -> EntryMap<Arc<ProcessHost>> {
    let mut out = EntryMap::default();
    for e in reg.entries.values() {
        let limits = match &e.kind {
            EntryKind::ProcessHost(h) => HostLimits {
                workers: h.workers,
                max_processes: h.max_processes,
                queue_size: h.queue_size,
                cancel_timeout: h.cancel_timeout,
                terminal: false,
                mailbox: MailboxBounds { messages: h.mailbox_size, bytes: h.mailbox_bytes },
                memory_budget: h.memory_budget,
            },
            EntryKind::TerminalHost(_) => HostLimits {
                workers: default_workers(),
                max_processes: 1024,
                queue_size: 1024,
                cancel_timeout: Duration::from_secs(5),
                terminal: true,
                mailbox: MailboxBounds::default(),
                memory_budget: None,
            },
            _ => continue,
        };
        out.insert(e.id.clone(), Arc::new(ProcessHost::new(e.id.clone(), limits)));
    }
    out
}
