//! Prepared WASM code and the call path through it.
//!
//! At load, [`prepare`] turns a WASM entry into a [`Code`]: bytes read and hash-verified (or WAT assembled),
//! compiled once per distinct binary ([`crate::runtime::Runtime::compile`]), linked with exactly the granted
//! capabilities ([`crate::imports`]) into a cached `InstancePre`, and the `method` resolved to an export index with
//! its WIT parameter and result types. Every problem becomes a [`Diagnostic`] at the entry's position.
//!
//! A call ([`Code::invoke`]) then only: converts the arguments by the WIT types (before touching wasmtime, so a bad
//! argument costs nothing), creates a store with the entry's limits, instantiates from the `InstancePre` (a pooled
//! slot, copy-on-write memory), calls the export on a fiber, and converts the result. A guest that sleeps or polls
//! suspends its fiber and the tokio thread runs other work. Processes use the same [`Code`], split into
//! [`Code::instantiate`] (Init) and [`Code::call`] (Step).
//!
//! A `function.wasm` with `transport: wasi-http` is a `wasi:http/proxy` component: [`http`] maps a request map
//! to its `incoming-handler` and the response back.
//!
//! Cancellation: dropping an `invoke`/`call` future drops the fiber and the store; the pooled slots go back to the
//! pool. Nothing else holds guest state.

pub mod http;
pub mod pool;
pub mod signature;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{ComponentExportIndex, Type, Val};
use wasmtime::{Store, UpdateDeadline};

use crate::error::CallError;
use crate::imports::wasi::{EnvBinding, EnvSource, MountSpec, WasiSetup};
use crate::imports::{self, CapabilityDenied, Group};
use crate::process::SecurityContext;
use crate::registry::fields::closest;
use crate::registry::kinds::{Limits, Transport, WasmEntry, WasmRole, WasmSource};
use crate::registry::{Diagnostic, Entry, EntryId, EntryKind, Registry};
use crate::runtime::binary::{self, BinaryKind};
use crate::runtime::{Compiled, Runtime};
use crate::store::{LimitExceeded, Limiter, StoreState};
use crate::value::wit::{self, ConvertError};
use crate::value::Value;
use signature::{Scalar, Signature};

/// Parameter names with their scalar types, and the scalar result: a core function's signature.
type CoreSignature = (Vec<(String, Scalar)>, Option<Scalar>);

/// A resolved component export: its index, parameter names and types, and result type.
type ComponentMethod = (ComponentExportIndex, Vec<(String, Type)>, Option<Type>);

/// A WASM entry ready to instantiate and call.
pub struct Code {
    /// The entry.
    pub id: EntryId,
    /// The export called.
    pub method: String,
    /// Parameter names and WIT types.
    pub params: Vec<(String, Type)>,
    /// The WIT result type.
    pub result: Option<Type>,
    /// The entry's limits.
    pub limits: Limits,
    /// How to build the WASI context.
    pub wasi: Arc<WasiSetup>,
    /// Whether the entry was granted `funcs` (its stores get the function table).
    pub uses_funcs: bool,
    /// How arguments and result are mapped: by WIT types, or as an HTTP request and response.
    pub transport: Transport,
    kind: CodeKind,
}

/// What a call carries besides its arguments: who it runs for, and the functions it may call.
#[derive(Clone, Default)]
pub struct Invocation {
    /// The caller's security context.
    pub context: Arc<SecurityContext>,
    /// The function table, for the `funcs` import.
    pub funcs: Option<Arc<Functions>>,
    /// How deeply `funcs` calls are nested.
    pub depth: u32,
}

/// How deeply calls through `funcs` may nest.
pub const MAX_CALL_DEPTH: u32 = 32;

/// A callable function entry: its code and its pool.
pub struct Function {
    /// The prepared code.
    pub code: Arc<Code>,
    /// Its concurrency bound.
    pub pool: pool::Pool,
}

/// A function entry: WASM (with its pool) or Lua.
pub enum Callable {
    /// `function.wat` / `function.wasm`.
    Wasm(Function),
    /// `function.lua`.
    Lua(Arc<crate::lua::LuaCode>),
}

/// Every function entry of a host, callable by ID. Guests reach it through the `funcs` import.
pub struct Functions {
    map: HashMap<EntryId, Callable>,
    engine: wasmtime::Engine,
    registry: Arc<Registry>,
    lua: Option<Arc<crate::lua::LuaRuntime>>,
    system: std::sync::OnceLock<std::sync::Weak<crate::process::System>>,
}

impl Functions {
    /// A table over `map`.
    pub fn new(
        map: HashMap<EntryId, Callable>,
        engine: wasmtime::Engine,
        registry: Arc<Registry>,
        lua: Option<Arc<crate::lua::LuaRuntime>>,
    ) -> Self {
        Functions { map, engine, registry, lua, system: std::sync::OnceLock::new() }
    }

    /// Connects the process system, which Lua functions use (a weak link: the system owns this table).
    pub(crate) fn set_system(&self, system: &Arc<crate::process::System>) {
        let _ = self.system.set(Arc::downgrade(system));
    }

    /// Calls function `id` under `context`, at nesting depth `depth`.
    pub async fn call(
        self: &Arc<Self>,
        context: Arc<SecurityContext>,
        depth: u32,
        id: &str,
        args: Vec<Value>,
    ) -> Result<Value, CallError> {
        match self.map.get(id).ok_or_else(|| self.not_a_function(id))? {
            Callable::Wasm(f) => {
                let _slot = f.pool.acquire(&f.code.id).await?;
                let inv = Invocation { context, funcs: Some(self.clone()), depth };
                f.code.invoke(&self.engine, inv, &args).await
            }
            Callable::Lua(code) => {
                let (Some(lua), Some(system)) = (&self.lua, self.system.get().and_then(std::sync::Weak::upgrade))
                else {
                    return Err(CallError::Cancelled {
                        entry: code.id.clone(),
                        message: "the host is shutting down".into(),
                    });
                };
                let ctx = lua.context(code.clone(), system, self.clone(), context, depth);
                lua.call(ctx, args).await
            }
        }
    }

    /// A call made by `caller` (a guest through `funcs`, or Lua `funcs.call`) running at nesting depth `depth`:
    /// one level deeper, refused past [`MAX_CALL_DEPTH`].
    pub async fn call_nested(
        self: &Arc<Self>,
        caller: &EntryId,
        context: Arc<SecurityContext>,
        depth: u32,
        id: &str,
        args: Vec<Value>,
    ) -> Result<Value, CallError> {
        let depth = depth + 1;
        if depth > MAX_CALL_DEPTH {
            return Err(CallError::TooDeep { entry: caller.clone(), limit: MAX_CALL_DEPTH });
        }
        // Boxed: a call may lead to another call (bounded by MAX_CALL_DEPTH).
        Box::pin(self.call(context, depth, id, args)).await
    }

    /// The signature of function `id` as WIT text (Lua functions take any values).
    pub fn signature(&self, id: &str) -> Option<String> {
        self.map.get(id).map(|c| match c {
            Callable::Wasm(f) => f.code.signature(),
            Callable::Lua(code) => format!("{}(...)", code.method.as_deref().unwrap_or("main")),
        })
    }

    /// The IDs of every function, sorted.
    pub fn ids(&self) -> Vec<&EntryId> {
        let mut ids: Vec<&EntryId> = self.map.keys().collect();
        ids.sort();
        ids
    }

    fn not_a_function(&self, id: &str) -> CallError {
        if let Some(entry) = self.registry.get(id) {
            let process = match &entry.kind {
                EntryKind::Wasm(w) => w.role == WasmRole::Process,
                EntryKind::Lua(l) => l.role == crate::registry::kinds::LuaRole::Process,
                _ => false,
            };
            let hint = if process {
                format!("spawn it as a process, or run it with `wippy run -x {id}`")
            } else {
                "only `function.wat`, `function.wasm` and `function.lua` entries can be called".to_owned()
            };
            return CallError::NotAFunction { id: entry.id.clone(), kind: entry.kind.name(), hint };
        }
        let ids: Vec<&str> = self.map.keys().map(EntryId::as_str).collect();
        CallError::UnknownEntry { id: id.to_owned(), suggestion: closest(id, &ids).map(str::to_owned) }
    }
}

enum CodeKind {
    Component {
        pre: wasmtime::component::InstancePre<StoreState>,
        export: ComponentExportIndex,
    },
    Core {
        pre: wasmtime::InstancePre<StoreState>,
        export: wasmtime::ModuleExport,
        params: Vec<Scalar>,
        result: Option<Scalar>,
    },
}

/// A live instance of a [`Code`], between Init and Close.
pub enum Instance {
    /// A component instance.
    Component(wasmtime::component::Instance),
    /// A core instance.
    Core(wasmtime::Instance),
}

impl Code {
    /// The signature as WIT text, for messages: `compute(a: s32, b: s32) -> s32`.
    pub fn signature(&self) -> String {
        if self.transport == Transport::WasiHttp {
            return http::SIGNATURE.to_owned();
        }
        let params: Vec<String> = self.params.iter().map(|(n, t)| format!("{n}: {}", wit::type_name(t))).collect();
        let result = self.result.as_ref().map(|t| format!(" -> {}", wit::type_name(t))).unwrap_or_default();
        format!("{}({}){result}", self.method, params.join(", "))
    }

    /// A fresh store for one instance, with the entry's limits, fuel and epoch behaviour.
    ///
    /// Without `max_memory` no limiter is installed (the memory slot and the pool's table size still bound the
    /// guest). At every epoch tick the guest yields to tokio, or traps once its `max_execution_ms` has passed.
    pub fn new_store(&self, engine: &wasmtime::Engine, state: StoreState) -> Store<StoreState> {
        let mut store = Store::new(engine, state);
        if self.limits.max_memory.is_some() {
            store.limiter(|s| &mut s.limiter);
        }
        // Fuel is always on in the engine; an entry without `max_fuel` gets all of it.
        let _ = store.set_fuel(self.limits.max_fuel.unwrap_or(u64::MAX));
        store.epoch_deadline_callback(|ctx| {
            if let Some((deadline, ms)) = ctx.data().deadline {
                if Instant::now() >= deadline {
                    return Err(wasmtime::Error::new(LimitExceeded::Time { ms }));
                }
            }
            Ok(UpdateDeadline::Yield(1))
        });
        store.set_epoch_deadline(1);
        store
    }

    /// The initial store state for one instance: the environment is resolved now, so a missing required variable
    /// fails here, before anything runs.
    pub fn store_state(&self, inv: Invocation) -> Result<StoreState, CallError> {
        let env = self.wasi.resolve_env(&self.id)?;
        let mut state =
            StoreState::new(self.id.clone(), Limiter { max_memory: self.limits.max_memory }, self.wasi.clone(), env);
        state.context = inv.context;
        state.call_depth = inv.depth;
        if self.uses_funcs {
            state.funcs = inv.funcs;
        }
        Ok(state)
    }

    /// Converts arguments by the parameter types; checks the count.
    pub fn lower_args(&self, args: &[Value]) -> Result<Vec<Val>, CallError> {
        if args.len() != self.params.len() {
            return Err(CallError::ArgumentCount {
                entry: self.id.clone(),
                expected: self.params.len(),
                got: args.len(),
                signature: self.signature(),
            });
        }
        args.iter()
            .zip(&self.params)
            .map(|(v, (name, ty))| wit::lower(v, ty, name))
            .collect::<Result<Vec<_>, ConvertError>>()
            .map_err(|error| CallError::Argument { entry: self.id.clone(), function: self.method.clone(), error })
    }

    /// Init: creates the instance in `store`.
    pub async fn instantiate(&self, store: &mut Store<StoreState>) -> Result<Instance, CallError> {
        let r = match &self.kind {
            CodeKind::Component { pre, .. } => pre.instantiate_async(&mut *store).await.map(Instance::Component),
            CodeKind::Core { pre, .. } => pre.instantiate_async(&mut *store).await.map(Instance::Core),
        };
        r.map_err(|e| match self.map_error(e) {
            CallError::Trap { entry, message } => CallError::Instantiate { entry, message },
            other => other,
        })
    }

    /// Step: calls the method on `instance` with already-lowered arguments and converts the result.
    pub async fn call(
        &self,
        store: &mut Store<StoreState>,
        instance: &Instance,
        args: Vec<Val>,
    ) -> Result<Value, CallError> {
        if let Some(max) = self.limits.max_execution {
            store.data_mut().deadline = Some((Instant::now() + max, max.as_millis() as u64));
        }
        let run = self.call_inner(store, instance, args);
        match self.limits.max_execution {
            // The epoch callback traps a guest that computes past its deadline; this timeout also ends one that
            // waits past it inside a host call (a sleep, a receive).
            Some(max) => match tokio::time::timeout(max + self.grace(), run).await {
                Ok(r) => r,
                Err(_) => Err(CallError::Limit {
                    entry: self.id.clone(),
                    limit: LimitExceeded::Time { ms: max.as_millis() as u64 },
                }),
            },
            None => run.await,
        }
    }

    /// A little slack so the epoch trap, which carries a backtrace, usually fires before the outer timeout.
    fn grace(&self) -> std::time::Duration {
        std::time::Duration::from_millis(5)
    }

    async fn call_inner(
        &self,
        store: &mut Store<StoreState>,
        instance: &Instance,
        args: Vec<Val>,
    ) -> Result<Value, CallError> {
        match (&self.kind, instance) {
            (CodeKind::Component { export, .. }, Instance::Component(inst)) => {
                let func = inst.get_func(&mut *store, export).ok_or_else(|| CallError::Instantiate {
                    entry: self.id.clone(),
                    message: format!("the instance has no export `{}`", self.method),
                })?;
                let mut results = vec![Val::Bool(false); usize::from(self.result.is_some())];
                func.call_async(&mut *store, &args, &mut results).await.map_err(|e| self.map_error(e))?;
                self.lift_result(results.pop())
            }
            (CodeKind::Core { export, params, result, .. }, Instance::Core(inst)) => {
                let func =
                    inst.get_module_export(&mut *store, export).and_then(|e| e.into_func()).ok_or_else(|| {
                        CallError::Instantiate {
                            entry: self.id.clone(),
                            message: format!("the instance has no function export `{}`", self.method),
                        }
                    })?;
                let core_args: Vec<wasmtime::Val> = args.iter().zip(params).map(|(v, s)| to_core(v, *s)).collect();
                let mut results = vec![wasmtime::Val::I32(0); usize::from(result.is_some())];
                func.call_async(&mut *store, &core_args, &mut results).await.map_err(|e| self.map_error(e))?;
                self.lift_result(result.zip(results.pop()).map(|(s, v)| core_to_val(&v, s)))
            }
            _ => Err(CallError::Instantiate { entry: self.id.clone(), message: "instance of the wrong kind".into() }),
        }
    }

    fn lift_result(&self, val: Option<Val>) -> Result<Value, CallError> {
        let (Some(val), Some(ty)) = (val, &self.result) else { return Ok(Value::Nil) };
        // A top-level `result<T, E>` is a value/error pair (SPEC §3): `ok(v)` is the value, `err(e)` the error.
        if let (Val::Result(r), Type::Result(rt)) = (&val, ty) {
            return match r {
                Ok(None) => Ok(Value::Nil),
                Ok(Some(v)) => {
                    let t = rt.ok().unwrap_or(Type::Bool);
                    wit::lift(v, &t, "result").map_err(|error| CallError::Result { entry: self.id.clone(), error })
                }
                Err(e) => {
                    let value = match (e, rt.err()) {
                        (Some(v), Some(t)) => wit::lift(v, &t, "error")
                            .map_err(|error| CallError::Result { entry: self.id.clone(), error })?,
                        _ => Value::Nil,
                    };
                    Err(CallError::Guest { entry: self.id.clone(), value })
                }
            };
        }
        wit::lift(&val, ty, "result").map_err(|error| CallError::Result { entry: self.id.clone(), error })
    }

    /// Instantiates and calls in a fresh store: the whole function call.
    pub async fn invoke(&self, engine: &wasmtime::Engine, inv: Invocation, args: &[Value]) -> Result<Value, CallError> {
        if self.transport == Transport::WasiHttp {
            return http::invoke(self, engine, inv, args).await;
        }
        let vals = self.lower_args(args)?;
        let mut store = self.new_store(engine, self.store_state(inv)?);
        let instance = self.instantiate(&mut store).await?;
        self.call(&mut store, &instance, vals).await
    }

    /// Turns a wasmtime error into a [`CallError`] that names the cause.
    pub fn map_error(&self, e: wasmtime::Error) -> CallError {
        let entry = self.id.clone();
        if let Some(limit) = e.downcast_ref::<LimitExceeded>() {
            return CallError::Limit { entry, limit: limit.clone() };
        }
        if let Some(denied) = e.downcast_ref::<CapabilityDenied>() {
            return CallError::Capability(denied.clone());
        }
        if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            return CallError::Exit { entry, status: exit.0 };
        }
        if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
            if *trap == wasmtime::Trap::OutOfFuel {
                return CallError::Limit {
                    entry,
                    limit: LimitExceeded::Fuel { fuel: self.limits.max_fuel.unwrap_or(u64::MAX) },
                };
            }
            tracing::debug!(entry = %self.id, error = ?e, "guest trapped");
            return CallError::Trap { entry, message: trap.to_string() };
        }
        let message: Vec<String> = e
            .chain()
            .map(|c| c.to_string())
            .filter(|s| !s.starts_with("error while executing at wasm backtrace"))
            .collect();
        CallError::Trap { entry, message: message.join(": ") }
    }
}

fn to_core(v: &Val, s: Scalar) -> wasmtime::Val {
    use wasmtime::Val as C;
    match (v, s) {
        (Val::Bool(b), _) => C::I32(i32::from(*b)),
        (Val::S8(i), _) => C::I32(i32::from(*i)),
        (Val::U8(i), _) => C::I32(i32::from(*i)),
        (Val::S16(i), _) => C::I32(i32::from(*i)),
        (Val::U16(i), _) => C::I32(i32::from(*i)),
        (Val::S32(i), _) => C::I32(*i),
        (Val::U32(i), _) => C::I32(*i as i32),
        (Val::S64(i), _) => C::I64(*i),
        (Val::U64(i), _) => C::I64(*i as i64),
        (Val::Float32(f), _) => C::F32(f.to_bits()),
        (Val::Float64(f), _) => C::F64(f.to_bits()),
        (Val::Char(c), _) => C::I32(*c as i32),
        (_, s) => match s.core() {
            wasmtime::ValType::I64 => C::I64(0),
            wasmtime::ValType::F32 => C::F32(0),
            wasmtime::ValType::F64 => C::F64(0),
            _ => C::I32(0),
        },
    }
}

/// Reads a core result as the component value its scalar type stands for (then lifted like any component value).
fn core_to_val(v: &wasmtime::Val, s: Scalar) -> Val {
    use wasmtime::Val as C;
    let (i, l) = match v {
        C::I32(i) => (*i, i64::from(*i)),
        C::I64(l) => (*l as i32, *l),
        C::F32(bits) => return Val::Float32(f32::from_bits(*bits)),
        C::F64(bits) => return Val::Float64(f64::from_bits(*bits)),
        _ => (0, 0),
    };
    match s {
        Scalar::Bool => Val::Bool(i != 0),
        Scalar::S8 => Val::S8(i as i8),
        Scalar::U8 => Val::U8(i as u8),
        Scalar::S16 => Val::S16(i as i16),
        Scalar::U16 => Val::U16(i as u16),
        Scalar::S32 => Val::S32(i),
        Scalar::U32 => Val::U32(i as u32),
        Scalar::S64 => Val::S64(l),
        Scalar::U64 => Val::U64(l as u64),
        Scalar::F32 => Val::Float32(i as f32),
        Scalar::F64 => Val::Float64(l as f64),
        Scalar::Char => Val::Char(char::from_u32(i as u32).unwrap_or(char::REPLACEMENT_CHARACTER)),
    }
}

/// The entry's `wasi` block with its references resolved: `env.variable` entries and `fs.directory` folders.
fn wasi_setup(reg: &Registry, entry: &Entry, w: &WasmEntry, source: &EnvSource) -> Result<WasiSetup, Diagnostic> {
    let mut env = Vec::with_capacity(w.wasi.env.len());
    for b in &w.wasi.env {
        let Some(EntryKind::EnvVariable(v)) = reg.entries.get(&b.id.id).map(|e| &e.kind) else { continue };
        env.push(EnvBinding {
            name: b.name.clone(),
            entry: b.id.id.clone(),
            variable: v.variable.clone(),
            default: v.default.clone(),
            required: b.required || v.required,
        });
    }
    let mut mounts = Vec::with_capacity(w.wasi.mounts.len());
    for m in &w.wasi.mounts {
        let Some(EntryKind::FsDirectory(d)) = reg.entries.get(&m.fs.id).map(|e| &e.kind) else { continue };
        if !d.directory.is_dir() {
            return Err(Diagnostic::new(
                Some(entry.origin.at(m.fs.pos)),
                Some(entry.id.clone()),
                format!(
                    "the folder `{}` of `{}`, mounted at `{}`, does not exist",
                    d.directory.display(),
                    m.fs.id,
                    m.guest
                ),
            )
            .with_hint(format!("create it, or set `auto_init: true` on `{}`", m.fs.id)));
        }
        mounts.push(MountSpec { host: d.directory.clone(), guest: m.guest.clone(), read_only: m.read_only });
    }
    Ok(WasiSetup {
        args: w.wasi.args.clone(),
        cwd: w.wasi.cwd.clone(),
        env,
        mounts,
        network: w.imports.contains(&Group::WasiSockets),
        source: source.clone(),
    })
}

/// Loads, verifies, compiles and links a WASM entry; problems are diagnostics at the entry.
pub fn prepare(
    rt: &Runtime,
    reg: &Registry,
    entry: &Entry,
    w: &WasmEntry,
    env: &EnvSource,
) -> Result<Code, Diagnostic> {
    let id = &entry.id;
    let diag = |pos, msg: String| Diagnostic::new(Some(entry.origin.at(pos)), Some(id.clone()), msg);
    let (mut bytes, source_pos) = match &w.source {
        WasmSource::Wat { text, file, pos } => {
            let text = match (text, file) {
                (Some(t), _) => t.clone(),
                (None, Some(f)) => {
                    let path = entry.origin.dir.join(f);
                    std::fs::read_to_string(&path).map_err(|e| {
                        diag(*pos, format!("cannot read WAT source `{}`: {e}", path.display()))
                            .with_hint("`file://` paths are relative to the folder of the YAML file")
                    })?
                }
                (None, None) => String::new(),
            };
            let bytes = wat::parse_str(&text)
                .map_err(|e| diag(*pos, format!("invalid WAT: {}", e.to_string().replace('\n', " "))))?;
            (bytes, *pos)
        }
        WasmSource::File { fs, path, path_pos, sha256, hash_pos } => {
            let Some(EntryKind::FsDirectory(dir)) = reg.entries.get(&fs.id).map(|e| &e.kind) else {
                return Err(diag(fs.pos, format!("`fs` refers to `{}`, which is not an `fs.directory`", fs.id)));
            };
            let file = binary::resolve_in(&dir.directory, path).map_err(|e| diag(*path_pos, e))?;
            let bytes = binary::read(&file).map_err(|e| {
                diag(
                    *path_pos,
                    format!("cannot read `{}`: {e}", crate::registry::project::display_path(&file).display()),
                )
                .with_hint(format!(
                    "the file should be in the `{}` directory `{}`",
                    fs.id,
                    dir.directory.display()
                ))
            })?;
            let actual = binary::sha256_hex(&bytes);
            if &actual != sha256 {
                return Err(diag(
                    *hash_pos,
                    format!(
                        "hash mismatch for `{}`: expected sha256:{sha256}, actual sha256:{actual}",
                        crate::registry::project::display_path(&file).display()
                    ),
                )
                .with_hint("if the binary changed on purpose, put the actual hash into `hash`"));
            }
            (bytes, *path_pos)
        }
    };
    let Some(mut kind) = binary::detect(&bytes) else {
        return Err(diag(source_pos, "the file is not a WebAssembly binary (bad header)".into()));
    };

    // Core modules: the `wit` signature decides between the direct scalar path and componentization.
    let mut core_sig: Option<CoreSignature> = None;
    if kind == BinaryKind::Module {
        if let Some((text, pos)) = &w.wit {
            match signature::parse(text, &w.method).map_err(|e| diag(*pos, e))? {
                Signature::Scalar { params, result } => core_sig = Some((params, result)),
                Signature::Component { resolve, world } => {
                    bytes = signature::componentize(&bytes, &resolve, world).map_err(|e| diag(*pos, e))?;
                    kind = BinaryKind::Component;
                }
            }
        }
    }

    if let Some(max) = w.limits.max_memory {
        if max > rt.settings.memory_slot {
            return Err(diag(
                entry.origin.pos,
                format!(
                    "`limits.max_memory` ({max} bytes) is larger than the host's memory slot ({} bytes)",
                    rt.settings.memory_slot
                ),
            )
            .with_hint("lower `max_memory`, or build the host with a larger memory slot"));
        }
    }

    let sha = binary::sha256_hex(&bytes);
    let compiled = rt
        .compile(&bytes, &sha, kind == BinaryKind::Component)
        .map_err(|e| diag(source_pos, format!("cannot compile: {}", flat(&e))))?;
    let wasi = Arc::new(wasi_setup(reg, entry, w, env)?);
    let uses_funcs = w.imports.contains(&Group::Funcs);
    let method_diag = |msg: String| diag(w.method_pos, msg);

    if w.transport == Transport::WasiHttp {
        check_http_entry(w, matches!(compiled, Compiled::Component(_)))
            .map_err(|(msg, hint)| diag(w.transport_pos.unwrap_or(entry.origin.pos), msg).with_hint(hint))?;
    }
    match compiled {
        Compiled::Component(component) => {
            let method = match w.transport {
                Transport::WasiHttp if !w.method.contains('#') => format!("{}#{}", http::HANDLER_INTERFACE, w.method),
                _ => w.method.clone(),
            };
            let (export, params, result) =
                resolve_component_method(&rt.engine, &component, &method).map_err(method_diag)?;
            let handles = params.len() == 2 && params.iter().all(|(_, t)| matches!(t, Type::Own(_)));
            if w.transport == Transport::WasiHttp && (!handles || result.is_some()) {
                return Err(method_diag(format!(
                    "`{method}` is not a `wasi:http/incoming-handler` `handle(request, response-out)` function"
                ))
                .with_hint("with `transport: wasi-http`, `method` is `handle` of `wasi:http/incoming-handler`"));
            }
            let linker = imports::component_linker(&rt.engine, &component, id, &w.imports)
                .map_err(|e| diag(entry.origin.pos, format!("cannot link imports: {}", flat(&e))))?;
            let pre = linker.instantiate_pre(&component).map_err(|e| {
                diag(entry.origin.pos, format!("cannot link imports: {}", flat(&e)))
                    .with_hint("the guest imports an interface version this host does not provide")
            })?;
            Ok(Code {
                id: id.clone(),
                method: w.method.clone(),
                params,
                result,
                limits: w.limits,
                wasi,
                uses_funcs,
                transport: w.transport,
                kind: CodeKind::Component { pre, export },
            })
        }
        Compiled::Module(module) => {
            let Some(export) = module.get_export_index(&w.method) else {
                let funcs: Vec<String> =
                    module.exports().filter(|e| e.ty().func().is_some()).map(|e| format!("`{}`", e.name())).collect();
                return Err(method_diag(format!(
                    "the module has no export `{}`; its function exports are: {}",
                    w.method,
                    if funcs.is_empty() { "none".to_owned() } else { funcs.join(", ") }
                )));
            };
            let Some(ft) = module.get_export(&w.method).and_then(|e| e.func().cloned()) else {
                return Err(method_diag(format!("the export `{}` is not a function", w.method)));
            };
            let (params, result) = match core_sig {
                Some(sig) => sig,
                None => infer_core_signature(&ft).map_err(method_diag)?,
            };
            let expected: Vec<wasmtime::ValType> = params.iter().map(|(_, s)| s.core()).collect();
            let got: Vec<wasmtime::ValType> = ft.params().collect();
            let exp_res: Vec<wasmtime::ValType> = result.iter().map(|s| s.core()).collect();
            let got_res: Vec<wasmtime::ValType> = ft.results().collect();
            let same = |a: &[wasmtime::ValType], b: &[wasmtime::ValType]| {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| wasmtime::ValType::eq(x, y))
            };
            if !same(&expected, &got) || !same(&exp_res, &got_res) {
                return Err(diag(
                    w.wit.as_ref().map_or(w.method_pos, |(_, p)| *p),
                    format!(
                        "the export `{}` has core type {} but the `wit` signature lowers to {}",
                        w.method,
                        show_core(&got, &got_res),
                        show_core(&expected, &exp_res)
                    ),
                ));
            }
            let linker = imports::core_linker(&rt.engine, &module, id, &w.imports)
                .map_err(|e| diag(entry.origin.pos, format!("cannot link imports: {}", flat(&e))))?;
            let pre = linker
                .instantiate_pre(&module)
                .map_err(|e| diag(entry.origin.pos, format!("cannot link imports: {}", flat(&e))))?;
            let scalars: Vec<Scalar> = params.iter().map(|(_, s)| *s).collect();
            Ok(Code {
                id: id.clone(),
                method: w.method.clone(),
                params: params.iter().map(|(n, s)| (n.clone(), s.component())).collect(),
                result: result.map(Scalar::component),
                limits: w.limits,
                wasi,
                uses_funcs,
                transport: w.transport,
                kind: CodeKind::Core { pre, export, params: scalars, result },
            })
        }
    }
}

/// A `transport: wasi-http` entry must be a component, and the HTTP types and streams it is handed must be granted.
fn check_http_entry(w: &WasmEntry, component: bool) -> Result<(), (String, String)> {
    if !component {
        return Err((
            "`transport: wasi-http` needs a component that exports `wasi:http/incoming-handler`; this is a core module"
                .to_owned(),
            "build the guest as a `wasi:http/proxy` component (e.g. for `wasm32-wasip2`)".to_owned(),
        ));
    }
    let missing: Vec<&str> =
        [Group::WasiHttp, Group::WasiIo].into_iter().filter(|g| !w.imports.contains(g)).map(|g| g.name()).collect();
    if !missing.is_empty() {
        return Err((
            format!(
                "`transport: wasi-http` hands the guest HTTP requests and body streams, which need `{}`",
                missing.join("`, `")
            ),
            format!("add {} to `imports`", missing.join(", ")),
        ));
    }
    Ok(())
}

fn show_core(params: &[wasmtime::ValType], results: &[wasmtime::ValType]) -> String {
    let p: Vec<String> = params.iter().map(|t| t.to_string()).collect();
    let r: Vec<String> = results.iter().map(|t| t.to_string()).collect();
    format!("({}) -> ({})", p.join(", "), r.join(", "))
}

/// A signature for a core export with no `wit`: `i32` as `s32`, `i64` as `s64`, floats as floats.
fn infer_core_signature(ft: &wasmtime::FuncType) -> Result<CoreSignature, String> {
    let hint = "declare the signature with `wit`, e.g. `wit: \"add: func(a: s32, b: s32) -> s32;\"`";
    let mut params = Vec::new();
    for (i, t) in ft.params().enumerate() {
        let s = Scalar::infer(&t)
            .ok_or_else(|| format!("parameter {i} has core type {t}, which needs a `wit` signature; {hint}"))?;
        params.push((format!("p{i}"), s));
    }
    let results: Vec<wasmtime::ValType> = ft.results().collect();
    let result = match results.as_slice() {
        [] => None,
        [t] => Some(Scalar::infer(t).ok_or_else(|| format!("the result has core type {t}; {hint}"))?),
        _ => return Err(format!("the function returns {} values; {hint}", results.len())),
    };
    Ok((params, result))
}

/// Finds `name` or `interface#name` among a component's exports; on failure lists what does exist.
fn resolve_component_method(
    engine: &wasmtime::Engine,
    component: &wasmtime::component::Component,
    method: &str,
) -> Result<ComponentMethod, String> {
    use wasmtime::component::types::ComponentItem;
    let ty = component.component_type();
    let (iface, func) = match method.split_once('#') {
        Some((i, f)) => (Some(i), f),
        None => (None, method),
    };
    let found = match iface {
        None => ty.get_export(engine, func).map(|e| (None, e.ty)),
        Some(i) => ty.exports(engine).find(|(name, _)| interface_matches(name, i)).and_then(|(name, e)| match e.ty {
            ComponentItem::ComponentInstance(inst) => {
                inst.get_export(engine, func).map(|f| (Some(name.to_owned()), f.ty))
            }
            _ => None,
        }),
    };
    let missing = || {
        let exports = list_component_functions(engine, component);
        format!(
            "the component has no export `{method}`; its exported functions are: {}",
            if exports.is_empty() { "none".to_owned() } else { exports.join(", ") }
        )
    };
    let Some((iface_name, ComponentItem::ComponentFunc(f))) = found else { return Err(missing()) };
    let index = match &iface_name {
        None => component.get_export_index(None, func),
        Some(i) => component.get_export_index(None, i).and_then(|ii| component.get_export_index(Some(&ii), func)),
    }
    .ok_or_else(missing)?;
    if f.async_() {
        return Err(format!("`{method}` is an async function (component-model async), which this host does not call"));
    }
    let params = f.params().map(|(n, t)| (n.to_owned(), t)).collect();
    let result = f.results().next();
    Ok((index, params, result))
}

/// `test-sleep` matches `test:guest/test-sleep@0.1.0`; a full name matches itself with or without its version.
fn interface_matches(export: &str, wanted: &str) -> bool {
    let bare = export.split('@').next().unwrap_or(export);
    export == wanted || bare == wanted || bare.rsplit('/').next() == Some(wanted)
}

/// Every exported function, as `name` or `interface#name`.
pub fn list_component_functions(engine: &wasmtime::Engine, component: &wasmtime::component::Component) -> Vec<String> {
    use wasmtime::component::types::ComponentItem;
    let mut out = Vec::new();
    for (name, e) in component.component_type().exports(engine) {
        match e.ty {
            ComponentItem::ComponentFunc(_) => out.push(format!("`{name}`")),
            ComponentItem::ComponentInstance(inst) => {
                let short = name.split('@').next().unwrap_or(name).rsplit('/').next().unwrap_or(name).to_owned();
                for (f, fe) in inst.exports(engine) {
                    if matches!(fe.ty, ComponentItem::ComponentFunc(_)) {
                        out.push(format!("`{short}#{f}`"));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// An error chain on one line.
pub fn flat(e: &wasmtime::Error) -> String {
    e.chain().map(|c| c.to_string().replace('\n', " ")).collect::<Vec<_>>().join(": ")
}
