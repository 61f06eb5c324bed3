//! The Lua engine of one host: the compiled code of every Lua entry, a pool of states per entry, and the entry
//! points for calls and processes.
//!
//! At load every source is compiled once to bytecode (a syntax error is a load error with the file and line).
//! An invocation then takes a state from its entry's pool ([`Lease`]: a function call's own, a process's share of
//! one) and runs one of the entry's trampolines of `prelude.lua` in a driver coroutine polled by tokio under
//! [`WithCtx`]; the trampoline gives it a fresh environment and binds the entry's chunk to it. A process is one
//! drive: Init runs it until the method is found ([`take_resolved`]), Step resumes it with the arguments. When the
//! invocation ends, by returning, failing, or being dropped (a deadline, a termination), the lease releases the
//! state ([`LuaState::release`]) and returns it to the pool, or leaves the shared state.
//!
//! Results follow the calling convention: the first value is the result; `nil, err` is the error `err`; a raised
//! error keeps its value (a table or string), and Lua's "not enough memory" past `limits.max_memory` is a limit
//! error naming it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mlua::{Lua, MultiValue, Table, Thread, Value as LuaValue};

use super::heap::{Entered, Tenant};
use super::invocation::{current, LuaCtx, Seat, WithCtx};
use super::proc::LuaProc;
use super::state::{is_fail, take_resolved, LuaState, SharedState, StatePool, DEFAULT_MAX_MEMORY};
use crate::error::{CallError, Diagnostic, LimitExceeded};
use crate::id::{EntryId, EntryMap};
use crate::process::{CallEnv, ProcessContext};
use crate::registry::kinds::{LuaEntry, LuaRole};
use crate::registry::{Entry, EntryKind};
use crate::value::{lua as conv, Value};

/// The limits of a Lua entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LuaLimits {
    /// `max_execution_ms`.
    pub(crate) max_execution: Option<Duration>,
    /// `max_memory`, or [`DEFAULT_MAX_MEMORY`].
    pub(crate) max_memory: u64,
}

/// A compiled Lua entry with the pool of states it runs in.
pub(crate) struct LuaCode {
    /// The entry.
    pub(crate) id: EntryId,
    /// Function, process or library.
    pub(crate) role: LuaRole,
    /// The compiled chunk (with line information).
    pub(crate) bytecode: Vec<u8>,
    /// The chunk name (file) in error messages.
    pub(crate) chunk_name: String,
    /// The function to call.
    pub(crate) method: Option<String>,
    /// Built-in modules it may `require`.
    pub(crate) modules: Vec<String>,
    /// `require` aliases of library entries.
    pub(crate) imports: HashMap<String, EntryId>,
    /// Its limits.
    pub(crate) limits: LuaLimits,
    pool: StatePool,
}

/// The compiled Lua entries of one host.
pub(crate) struct LuaEngine {
    codes: EntryMap<Arc<LuaCode>>,
    /// `env.set`'s variables, over the OS environment (SPEC §5.16); this host's only.
    env_overlay: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
    /// The host's event bus (`events`, SPEC §5.9).
    events: super::modules::events::EventBus,
}

/// A Lua error as text, without the traceback.
pub(crate) fn error_text(e: &mlua::Error) -> String {
    let text = match e {
        mlua::Error::CallbackError { cause, .. } => return error_text(cause),
        mlua::Error::RuntimeError(msg) | mlua::Error::SyntaxError { message: msg, .. } => msg.clone(),
        other => other.to_string(),
    };
    text.split("\nstack traceback:").next().unwrap_or(&text).trim().to_owned()
}

/// An error out of Lua as a call error: past the memory limit, the limit; anything else, its text.
fn lua_error(code: &LuaCode, e: &mlua::Error) -> CallError {
    if out_of_memory(e) {
        return CallError::Limit {
            entry: code.id.clone(),
            limit: LimitExceeded::LuaMemory { limit: code.limits.max_memory },
        };
    }
    if let Some(value) = conv::raised_error_value(e) {
        return CallError::Raised { entry: code.id.clone(), value: Value::Error(Box::new(value)) };
    }
    CallError::Lua { entry: code.id.clone(), message: error_text(e) }
}

/// Whether `e` is Lua running out of memory, however it got wrapped on the way out.
fn out_of_memory(e: &mlua::Error) -> bool {
    match e {
        mlua::Error::MemoryError(_) => true,
        mlua::Error::CallbackError { cause, .. } => out_of_memory(cause),
        mlua::Error::WithContext { cause, .. } => out_of_memory(cause),
        mlua::Error::RuntimeError(m) => m == "not enough memory",
        _ => false,
    }
}

impl LuaEngine {
    /// Compiles every Lua entry; syntax errors are diagnostics at the entry.
    pub(crate) fn new(entries: &[&Entry]) -> Result<LuaEngine, Vec<Diagnostic>> {
        if std::env::var_os("WIPPY_NO_PREEMPT").is_none() {
            super::preempt::start();
        }
        let lua = Lua::new();
        let mut codes = EntryMap::default();
        let mut diags = Vec::new();
        for entry in entries {
            let EntryKind::Lua(l) = &entry.kind else { continue };
            match compile(&lua, l) {
                Ok(bytecode) => {
                    codes.insert(entry.id.clone(), code_of(entry, l, bytecode));
                }
                Err(e) => diags.push(
                    Diagnostic::new(
                        Some(entry.origin.at(l.source_pos)),
                        Some(entry.id.clone()),
                        format!("invalid Lua: {}", error_text(&e)),
                    )
                    .with_hint("the position in the message is the line in the source"),
                ),
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        super::globals::close_over_imports(&mut codes);
        Ok(LuaEngine {
            codes: codes.into_iter().map(|(id, c)| (id, Arc::new(c))).collect(),
            env_overlay: Default::default(),
            events: Default::default(),
        })
    }

    /// The overlay's value of an environment variable.
    pub(crate) fn env_overlay(&self, key: &str) -> Option<String> {
        self.env_overlay.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
    }

    /// Sets an environment variable in the overlay; false when that would pass `env`'s `MAX_OVERLAY` variables.
    pub(crate) fn set_env_overlay(&self, key: String, value: String) -> bool {
        let mut overlay = self.env_overlay.lock().unwrap_or_else(|p| p.into_inner());
        if overlay.len() >= super::modules::env::MAX_OVERLAY && !overlay.contains_key(&key) {
            return false;
        }
        overlay.insert(key, value);
        true
    }

    /// Every variable of the overlay.
    pub(crate) fn env_overlay_all(&self) -> Vec<(String, String)> {
        self.env_overlay.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// The host's event bus.
    pub(crate) fn events(&self) -> &super::modules::events::EventBus {
        &self.events
    }

    /// Every compiled Lua entry.
    pub(crate) fn codes(&self) -> impl Iterator<Item = &Arc<LuaCode>> {
        self.codes.values()
    }

    /// The context of one invocation of `code`: its deadline is the earlier of the caller's and its own
    /// `max_execution_ms`.
    pub(crate) fn context(self: &Arc<Self>, code: Arc<LuaCode>, mut env: CallEnv) -> Arc<LuaCtx> {
        if let Some(max) = code.limits.max_execution {
            let own = Instant::now() + max;
            env.deadline = Some(env.deadline.map_or(own, |d| d.min(own)));
        }
        Arc::new(LuaCtx::new(code, self.clone(), env))
    }

    /// Calls a `function.lua`.
    pub(crate) async fn call(
        self: &Arc<Self>,
        code: &Arc<LuaCode>,
        env: CallEnv,
        args: Vec<Value>,
    ) -> Result<Value, CallError> {
        let ctx = self.context(code.clone(), env);
        let mut lease = Lease::take(code, &ctx, false)?;
        let run = lease.run_call(&ctx, args);
        let out = bounded(code, ctx.deadline(), run).await;
        drop(lease);
        out
    }

    /// Init of a `process.lua`: a share of a state, the process's identity as channels, and its top level run, in
    /// the driver (returned) that Step resumes with the method's arguments ([`Lease::step`]).
    pub(crate) async fn start_process(
        self: &Arc<Self>,
        code: &Arc<LuaCode>,
        process: ProcessContext,
    ) -> Result<(Lease, Thread), CallError> {
        let mut env = process.env();
        env.deadline = None;
        let ctx = self.context(code.clone(), env);
        let _ = ctx.proc.set(LuaProc::of_process(process.record, process.inbox));
        let mut lease = Lease::take(code, &ctx, true)?;
        let driver = lease.start(&ctx).await?;
        Ok((lease, driver))
    }

    /// The value of the library imported as `alias` by the current invocation (`ctx`), run once per invocation.
    pub(crate) fn library(&self, lua: &Lua, ctx: &LuaCtx, alias: &str) -> mlua::Result<LuaValue> {
        if let Some(v) = ctx.loaded.lock().unwrap_or_else(|p| p.into_inner()).get(alias) {
            return Ok(v.clone());
        }
        let Some(lib) = ctx.code.imports.get(alias).and_then(|id| self.codes.get(id)) else {
            return Ok(LuaValue::Nil);
        };
        let v = run_library(lua, lib)
            .map_err(|e| mlua::Error::runtime(format!("failed to load dependency {alias}: {}", error_text(&e))))?;
        ctx.loaded.lock().unwrap_or_else(|p| p.into_inner()).insert(alias.to_owned(), v.clone());
        Ok(v)
    }
}

/// Runs a library's chunk in an environment of its own that falls back to the same base as the importer's.
fn run_library(lua: &Lua, lib: &LuaCode) -> mlua::Result<LuaValue> {
    let env = lua.create_table()?;
    let meta = lua.app_data_ref::<EnvMeta>().map(|m| m.0.clone());
    env.set_metatable(meta)?;
    env.raw_set("_G", env.clone())?;
    lua.load(&lib.bytecode[..])
        .set_name(format!("@{}", lib.chunk_name))
        .set_mode(mlua::ChunkMode::Binary)
        .set_environment(env)
        .call(())
}

/// The metatable of the environments of a state, for libraries loaded in it.
pub(crate) struct EnvMeta(pub(crate) Table);

fn code_of(entry: &Entry, l: &LuaEntry, bytecode: Vec<u8>) -> LuaCode {
    LuaCode {
        id: entry.id.clone(),
        role: l.role,
        bytecode,
        chunk_name: l.chunk_name.clone(),
        method: l.method.clone(),
        modules: l.modules.clone(),
        imports: l.imports.iter().map(|(a, r)| (a.clone(), r.id.clone())).collect(),
        limits: LuaLimits {
            max_execution: l.limits.max_execution,
            max_memory: l.limits.max_memory.unwrap_or(DEFAULT_MAX_MEMORY),
        },
        pool: StatePool::default(),
    }
}

fn compile(lua: &Lua, l: &LuaEntry) -> mlua::Result<Vec<u8>> {
    // Typed syntax is erased first; a source the typed parser cannot read is given to Lua as it is. If Lua cannot
    // read it either, Lua's error is shown when it stopped no earlier than the typed parser (a plain syntax error,
    // in Lua's words), the typed parser's when Lua stopped earlier (at an annotation the typed parser accepted).
    let source = match super::typed::erase(&l.source) {
        Ok(text) => text,
        Err(typed) => match lua.load(&l.source).set_name(format!("@{}", l.chunk_name)).into_function() {
            Ok(_) => l.source.clone(),
            Err(plain) => {
                let lua_line = error_line(&error_text(&plain), &l.chunk_name).unwrap_or(usize::MAX);
                if lua_line >= typed.line {
                    return Err(plain);
                }
                return Err(mlua::Error::SyntaxError {
                    message: format!("{}:{}: {}", l.chunk_name, typed.line, typed.message),
                    incomplete_input: false,
                });
            }
        },
    };
    // `@name` makes Lua print `name:LINE:` rather than `[string "..."]:LINE:`.
    let f = lua.load(&source).set_name(format!("@{}", l.chunk_name)).into_function()?;
    Ok(f.dump(false))
}

/// The line of a Lua error message `...chunk:LINE: ...`.
fn error_line(message: &str, chunk: &str) -> Option<usize> {
    let rest = &message[message.find(chunk)? + chunk.len()..];
    rest.strip_prefix(':')?.split(':').next()?.parse().ok()
}

/// Runs `fut` until `deadline`, if there is one. Past it the result is the `max_execution_ms` limit, also when the
/// invocation stopped itself first (a C function such as the pattern matcher raises when it sees the deadline).
async fn bounded<F: std::future::Future<Output = Result<Value, CallError>>>(
    code: &LuaCode,
    deadline: Option<Instant>,
    fut: F,
) -> Result<Value, CallError> {
    let Some(deadline) = deadline else { return fut.await };
    let budget = deadline.saturating_duration_since(Instant::now());
    let exceeded = || {
        let ms = code.limits.max_execution.unwrap_or(budget).as_millis() as u64;
        Err(CallError::Limit { entry: code.id.clone(), limit: LimitExceeded::Time { ms } })
    };
    match tokio::time::timeout_at(deadline.into(), fut).await {
        Ok(Err(_)) if Instant::now() >= deadline => exceeded(),
        Ok(r) => r,
        Err(_) => exceeded(),
    }
}

/// The state an invocation runs in: its own for the time of a function call, or a share of one for a process.
// A function call's state moves in and out of its entry's pool by value; boxing it would cost an allocation per call.
#[allow(clippy::large_enum_variant)]
enum Held {
    Own(LuaState),
    Shared(Arc<SharedState>),
}

/// Access to the state of a [`Lease`] while an invocation is prepared.
enum StateRef<'a> {
    Own(&'a mut LuaState),
    Shared(std::sync::MutexGuard<'a, LuaState>),
}

impl std::ops::Deref for StateRef<'_> {
    type Target = LuaState;
    fn deref(&self) -> &LuaState {
        match self {
            StateRef::Own(s) => s,
            StateRef::Shared(s) => s,
        }
    }
}

impl std::ops::DerefMut for StateRef<'_> {
    fn deref_mut(&mut self) -> &mut LuaState {
        match self {
            StateRef::Own(s) => s,
            StateRef::Shared(s) => s,
        }
    }
}

/// A state taken from an entry's pool for one invocation (a function call's own, or a process's share of one),
/// with the invocation's account in its heap; released when dropped.
pub(crate) struct Lease {
    state: Option<Held>,
    /// The invocation's account in the state's heap; given back when the lease ends.
    tenant: Option<Tenant>,
    code: Arc<LuaCode>,
    ctx: Arc<LuaCtx>,
}

impl Lease {
    /// A state for `ctx`: a process's share of one when `shared`, a state of its own otherwise.
    fn take(code: &Arc<LuaCode>, ctx: &Arc<LuaCtx>, shared: bool) -> Result<Lease, CallError> {
        let max = code.limits.max_memory;
        let taken = if shared {
            code.pool.join_shared(max).map(|(state, tenant)| (Held::Shared(state), tenant))
        } else {
            code.pool.take().and_then(|state| {
                let tenant = state.join(max)?;
                Ok((Held::Own(state), tenant))
            })
        };
        let (held, tenant) = taken.map_err(|e| CallError::Lua {
            entry: code.id.clone(),
            message: format!("cannot start Lua: {}", error_text(&e)),
        })?;
        let gate = match &held {
            Held::Own(_) => None,
            Held::Shared(s) => Some(s.gate.clone()),
        };
        let _ = ctx.seat.set(Seat { tenant: tenant.key(), gate });
        Ok(Lease { state: Some(held), tenant: Some(tenant), code: code.clone(), ctx: ctx.clone() })
    }

    fn state(&mut self) -> mlua::Result<StateRef<'_>> {
        match self.state.as_mut() {
            Some(Held::Own(s)) => Ok(StateRef::Own(s)),
            Some(Held::Shared(s)) => Ok(StateRef::Shared(s.lock())),
            None => Err(mlua::Error::runtime("the Lua state was released")),
        }
    }

    /// Charges what this thread allocates in the state to the invocation until the guard is dropped.
    fn enter(&self) -> Option<Entered> {
        self.ctx.seat.get().map(|s| s.tenant.enter())
    }

    /// Runs a whole function call.
    async fn run_call(&mut self, ctx: &Arc<LuaCtx>, args: Vec<Value>) -> Result<Value, CallError> {
        let code = self.code.clone();
        let (thread, head) = (|| {
            let _in = self.enter();
            let mut state = self.state()?;
            let args = args.iter().map(|a| conv::to_lua(state.lua(), a)).collect::<mlua::Result<MultiValue>>()?;
            state.invoker(&code, args)
        })()
        .map_err(|e| lua_error(&self.code, &e))?;
        let values = drive(ctx, thread, head).await;
        let r = results(&self.code, values);
        ctx.finish();
        r
    }

    /// Init of a process: runs its top level and finds its method, in the driver that Step then resumes.
    async fn start(&mut self, ctx: &Arc<LuaCtx>) -> Result<Thread, CallError> {
        let code = self.code.clone();
        let (thread, run) = (|| {
            let _in = self.enter();
            self.state()?.starter(&code)
        })()
        .map_err(|e| lua_error(&self.code, &e))?;
        ctx.new_drive();
        let mut run = std::pin::pin!(WithCtx::new(ctx.clone(), run));
        // Init ends when the driver says the method is found (`take_resolved`, read in the poll that ran it), or
        // when the driver ends: with an error, or with the top level's failure.
        let ended = std::future::poll_fn(|cx| {
            take_resolved();
            match std::future::Future::poll(run.as_mut(), cx) {
                std::task::Poll::Ready(r) => std::task::Poll::Ready(Some(r)),
                std::task::Poll::Pending if take_resolved() => std::task::Poll::Ready(None),
                std::task::Poll::Pending => std::task::Poll::Pending,
            }
        })
        .await;
        match ended {
            None => Ok(thread),
            Some(r) => {
                let mut it = r.map_err(|e| lua_error(&self.code, &e))?.into_iter();
                match it.next() {
                    Some(v) if is_fail(&v) => Err(raised(&self.code, it.next().unwrap_or(LuaValue::Nil))),
                    _ => Err(CallError::Lua {
                        entry: self.code.id.clone(),
                        message: "the process ended before its method ran".into(),
                    }),
                }
            }
        }
    }

    /// Step of a process: resumes its driver with the method's arguments and runs the method to its end.
    pub(crate) async fn step(&mut self, thread: Thread, args: Vec<Value>) -> Result<Value, CallError> {
        let ctx = self.ctx.clone();
        let head = (|| {
            let _in = self.enter();
            let state = self.state()?;
            args.iter().map(|a| conv::to_lua(state.lua(), a)).collect::<mlua::Result<MultiValue>>()
        })()
        .map_err(|e| lua_error(&self.code, &e))?;
        let deadline = self.code.limits.max_execution.map(|max| Instant::now() + max);
        ctx.set_step_deadline(deadline);
        // The process's accounting sees its share of the heap after every slice.
        let meter = ctx.env.owner.clone();
        let mut run = std::pin::pin!(async { results(&self.code, drive(&ctx, thread, head).await) });
        let run = std::future::poll_fn(|cx| {
            let r = std::future::Future::poll(run.as_mut(), cx);
            if let Some(owner) = &meter {
                owner.stats.set_memory(ctx.memory() as u64);
            }
            r
        });
        bounded(&self.code, deadline, run).await
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(held) = self.state.take() else { return };
        self.ctx.stop_resources();
        self.tenant = None;
        self.ctx.finish();
        match held {
            Held::Own(mut state) => {
                if state.release() {
                    self.code.pool.give_back(state);
                }
            }
            Held::Shared(state) => self.code.pool.leave_shared(&state),
        }
    }
}

/// Drives an invocation's driver coroutine to its end as the invocation `ctx`.
async fn drive(ctx: &Arc<LuaCtx>, thread: Thread, args: MultiValue) -> mlua::Result<MultiValue> {
    ctx.new_drive();
    let fut = thread.into_async::<MultiValue>(args)?;
    WithCtx::new(ctx.clone(), fut).await
}

/// A raised value as a call error: text with its position, a memory limit, or a value that keeps its data.
fn raised(code: &LuaCode, v: LuaValue) -> CallError {
    let entry = code.id.clone();
    match v {
        LuaValue::String(s) => lua_error(code, &mlua::Error::RuntimeError(s.to_string_lossy())),
        LuaValue::Error(e) => lua_error(code, &e),
        LuaValue::UserData(u) if u.is::<conv::LuaErrorObject>() => {
            // The host-side text says where it was raised (`app:x`: src/x.lua:12: message); Lua code that gets it
            // back sees the same message, kind and details (SPEC §5.2, wrapped errors).
            let Ok(obj) = u.borrow::<conv::LuaErrorObject>() else {
                return CallError::Lua { entry, message: "an error object".into() };
            };
            let mut error = obj.error.clone();
            let at = obj.frames.iter().find(|f| f.line > 0);
            error.context.push(match at {
                Some(f) => format!("`{entry}`: {}:{}", f.source, f.line),
                None => format!("`{entry}`"),
            });
            drop(obj);
            CallError::Raised { entry, value: Value::Error(Box::new(error)) }
        }
        other => match conv::from_lua(&other, "error") {
            Ok(value) => CallError::Raised { entry, value },
            Err(_) => CallError::Lua { entry, message: other.to_string().unwrap_or_else(|_| other.type_name().into()) },
        },
    }
}

/// The first result as the value; `nil, err` as the error; a failure as [`raised`].
fn results(code: &LuaCode, r: mlua::Result<MultiValue>) -> Result<Value, CallError> {
    let id = &code.id;
    let values = r.map_err(|e| lua_error(code, &e))?;
    let mut it = values.into_iter();
    let first = it.next().unwrap_or(LuaValue::Nil);
    let second = it.next().unwrap_or(LuaValue::Nil);
    if is_fail(&first) {
        return Err(raised(code, second));
    }
    let convert = |v: &LuaValue, what: &str| {
        conv::from_lua(v, what).map_err(|e| CallError::Lua { entry: id.clone(), message: format!("cannot return {e}") })
    };
    // SPEC §5.1, return conventions: a second value that is a string or an error is the call's error, whatever
    // the first; any other second value is ignored.
    match second {
        LuaValue::String(_) => Err(CallError::Guest { entry: id.clone(), value: convert(&second, "error")? }),
        LuaValue::Error(e) => Err(lua_error(code, &e)),
        LuaValue::UserData(_) => match conv::error_of(&second) {
            Some(e) => Err(CallError::Guest { entry: id.clone(), value: Value::Error(Box::new(e)) }),
            None => convert(&first, "result"),
        },
        _ => convert(&first, "result"),
    }
}

/// `print`: to the log with the entry and PID, or to stdout for a process on the terminal host.
pub(crate) fn print(_: &Lua, args: MultiValue) -> mlua::Result<()> {
    let text: Vec<String> = args.iter().map(|v| v.to_string().unwrap_or_else(|_| v.type_name().to_owned())).collect();
    match current() {
        // A process on the terminal host prints to the terminal, as a WASM process there writes to it.
        Ok(ctx) if ctx.proc_if_any().is_some_and(|p| p.record.on_terminal()) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", text.join("\t"));
        }
        Ok(ctx) => {
            let pid = ctx.proc_if_any().map(|p| p.record.pid.to_string()).unwrap_or_default();
            tracing::info!(target: "wippy::guest", entry = %ctx.code.id, pid, "{}", text.join("\t"));
        }
        Err(_) => tracing::info!(target: "wippy::guest", "{}", text.join("\t")),
    }
    Ok(())
}
