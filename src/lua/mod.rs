//! Embedded Lua 5.4 (SPEC §5): `function.lua`, `process.lua` and `library.lua` entries, and the built-in modules
//! `funcs`, `process`, `time` and `channel`.
//!
//! # Execution model
//! One Lua state per host ([`LuaRuntime`]). Every entry's source is compiled to bytecode once, at load (a syntax
//! error is a load error with the file and line). Every invocation — a function call or a process — gets:
//! - its own environment table, whose metatable falls back to a shared, sandboxed base (no `io`, `debug`, `load`,
//!   `dofile`; `os` reduced to time functions; `print` writes to the log, or to stdout for a process on the terminal
//!   host), so globals never leak between invocations;
//! - its own coroutine, driven by tokio: a Lua function that waits (`process.receive`, `time.sleep`, `funcs.call`,
//!   a channel) suspends its coroutine and frees the thread;
//! - a [`LuaCtx`] that the built-in modules read through a task-local slot set around every poll of the coroutine
//!   ([`WithCtx`]). The module tables are shared by all invocations, so an idle Lua process costs a coroutine, an
//!   environment table and its process entry, not a copy of every module.
//!
//! Processes (`process.lua`) run as the same ractor actors as WASM processes ([`crate::process::actor`]), with the
//! same PIDs, monitors, links, names and groups. A `function.lua` that needs a PID (to spawn monitored, receive, or
//! listen) gets one for the duration of the call, ended normally when the call returns.
//!
//! All invocations share the one Lua state and its standard library tables; entries of one project are one trust
//! domain. Lua code runs under the state's lock, so Lua execution does not run on two cores at once; WASM and host
//! work do.
//!
//! Errors name the entry, the file and the line (`app:worker: src/worker.lua:12: attempt to index a nil value`).

pub mod channel;
pub mod modules;

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context, Poll};

use mlua::{ChunkMode, Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value as LuaValue};

use crate::error::CallError;
use crate::function::Functions;
use crate::process::system::ProcEntry;
use crate::process::{Inbox, SecurityContext, System};
use crate::registry::kinds::{LuaEntry, LuaRole};
use crate::registry::{Diagnostic, Entry, EntryId};
use crate::value::{lua as conv, Value};
use channel::{Chan, Pump};

/// A compiled Lua entry.
pub struct LuaCode {
    /// The entry.
    pub id: EntryId,
    /// Function, process or library.
    pub role: LuaRole,
    /// The compiled chunk (with line information).
    pub bytecode: Vec<u8>,
    /// The chunk name (file) in error messages.
    pub chunk_name: String,
    /// The function to call.
    pub method: Option<String>,
    /// Built-in modules it may `require`.
    pub modules: Vec<String>,
    /// `require` aliases of library entries.
    pub imports: HashMap<String, EntryId>,
}

/// The Lua state of one host, with the compiled code of its Lua entries.
pub struct LuaRuntime {
    lua: Lua,
    base_meta: Table,
    modules: HashMap<&'static str, Table>,
    codes: HashMap<EntryId, Arc<LuaCode>>,
}

/// The Lua side of a process: its identity and its mailbox, as channels.
pub struct LuaProc {
    /// The process (or the temporary identity of a function call).
    pub entry: Arc<ProcEntry>,
    io: Mutex<ProcIo>,
    /// Messages not taken by a listener.
    pub inbox: Arc<Chan>,
    /// Events (EXIT, LINK_DOWN, CANCEL).
    pub events: Arc<Chan>,
    /// Whether this identity was made for a function call (and ends with it).
    temporary: bool,
}

struct ProcIo {
    inbox: Inbox,
    listeners: Vec<(String, Arc<Chan>)>,
}

impl LuaProc {
    fn new(entry: Arc<ProcEntry>, inbox: Inbox, temporary: bool) -> Arc<LuaProc> {
        Arc::new_cyclic(|me: &Weak<LuaProc>| {
            let pump: Weak<dyn Pump> = me.clone();
            LuaProc {
                entry,
                io: Mutex::new(ProcIo { inbox, listeners: Vec::new() }),
                inbox: Chan::pumped(pump.clone()),
                events: Chan::pumped(pump),
                temporary,
            }
        })
    }

    fn io(&self) -> std::sync::MutexGuard<'_, ProcIo> {
        self.io.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A channel that receives the messages of `topic` from now on.
    pub fn listen(self: &Arc<Self>, topic: &str) -> Arc<Chan> {
        let mut io = self.io();
        if let Some((_, c)) = io.listeners.iter().find(|(t, _)| t == topic) {
            return c.clone();
        }
        let me: Weak<dyn Pump> = Arc::downgrade(self) as Weak<dyn Pump>;
        let c = Chan::pumped(me);
        io.listeners.push((topic.to_owned(), c.clone()));
        c
    }

    /// Stops routing `topic` to its channel (later messages go to the inbox); closes the channel.
    pub fn unlisten(&self, topic: &str) {
        let mut io = self.io();
        if let Some(i) = io.listeners.iter().position(|(t, _)| t == topic) {
            let (_, c) = io.listeners.remove(i);
            c.close();
        }
    }
}

impl Pump for LuaProc {
    fn pump(&self) {
        let mut io = self.io();
        while let Some(e) = io.inbox.try_recv_event() {
            self.events.push(channel::Item::Event(e));
        }
        while let Some(m) = io.inbox.try_recv_message() {
            match io.listeners.iter().find(|(t, _)| *t == m.topic) {
                Some((_, c)) => c.push(channel::Item::Message(m)),
                None => self.inbox.push(channel::Item::Message(m)),
            }
        }
    }

    fn changed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let ready = self.io().inbox.ready();
            ready.notified().await;
        })
    }
}

/// What a running Lua invocation knows: its code, who it runs for, and the host it runs in.
pub struct LuaCtx {
    /// The entry.
    pub code: Arc<LuaCode>,
    /// The runtime.
    pub runtime: Arc<LuaRuntime>,
    /// The process system.
    pub system: Arc<System>,
    /// The functions, for `funcs`.
    pub functions: Arc<Functions>,
    /// The security context.
    pub context: Arc<SecurityContext>,
    /// How deeply `funcs` calls are nested.
    pub depth: u32,
    proc: OnceLock<Arc<LuaProc>>,
    loaded: Mutex<HashMap<String, LuaValue>>,
}

impl LuaCtx {
    /// The process identity of this invocation; a function call gets a temporary one on first use.
    pub fn proc(&self) -> Arc<LuaProc> {
        self.proc
            .get_or_init(|| {
                let pid = self.system.next_pid("client");
                let (entry, inbox) = self.system.new_entry(pid, None, self.context.clone());
                self.system.publish(&entry);
                LuaProc::new(entry, inbox, true)
            })
            .clone()
    }

    /// The process identity, if this invocation has one already.
    pub fn proc_if_any(&self) -> Option<&Arc<LuaProc>> {
        self.proc.get()
    }

    fn finish(&self) {
        if let Some(p) = self.proc.get() {
            if p.temporary {
                self.system.finalize(&p.entry, Value::Nil, None);
            }
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<LuaCtx>>> = const { RefCell::new(None) };
}

/// The context of the Lua invocation being polled on this thread.
pub fn current() -> mlua::Result<Arc<LuaCtx>> {
    CURRENT
        .with(|c| c.borrow().clone())
        .ok_or_else(|| mlua::Error::runtime("this function can only be called from Lua code run by the host"))
}

/// Polls `fut` with `ctx` as the current Lua context (see the module docs).
pub struct WithCtx<F> {
    ctx: Arc<LuaCtx>,
    fut: Pin<Box<F>>,
}

impl<F: Future> WithCtx<F> {
    /// Wraps `fut`.
    pub fn new(ctx: Arc<LuaCtx>, fut: F) -> Self {
        WithCtx { ctx, fut: Box::pin(fut) }
    }
}

impl<F: Future> Future for WithCtx<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let ctx = self.ctx.clone();
        let prev = CURRENT.with(|c| c.replace(Some(ctx)));
        let r = self.fut.as_mut().poll(cx);
        CURRENT.with(|c| *c.borrow_mut() = prev);
        r
    }
}

/// A Lua error as text, without the traceback.
pub fn error_text(e: &mlua::Error) -> String {
    let text = match e {
        mlua::Error::CallbackError { cause, .. } => return error_text(cause),
        mlua::Error::RuntimeError(msg) | mlua::Error::SyntaxError { message: msg, .. } => msg.clone(),
        other => other.to_string(),
    };
    text.split("\nstack traceback:").next().unwrap_or(&text).trim().to_owned()
}

fn lua_error(id: &EntryId, e: &mlua::Error) -> CallError {
    CallError::Lua { entry: id.clone(), message: error_text(e) }
}

/// Globals of the sandboxed base environment.
const SAFE_GLOBALS: &[&str] = &[
    "assert",
    "error",
    "ipairs",
    "next",
    "pairs",
    "pcall",
    "rawequal",
    "rawget",
    "rawlen",
    "rawset",
    "select",
    "setmetatable",
    "getmetatable",
    "tonumber",
    "tostring",
    "type",
    "xpcall",
    "_VERSION",
    "string",
    "table",
    "math",
    "utf8",
    "coroutine",
    "collectgarbage",
];

impl LuaRuntime {
    /// Compiles every Lua entry; syntax errors are diagnostics at the entry.
    pub fn new(entries: &[&Entry]) -> Result<LuaRuntime, Vec<Diagnostic>> {
        let fail = |e: mlua::Error| vec![Diagnostic::new(None, None, format!("cannot start Lua: {}", error_text(&e)))];
        let lua = Lua::new_with(StdLib::ALL_SAFE, LuaOptions::default()).map_err(fail)?;
        let (base_meta, modules) = build_base(&lua).map_err(fail)?;
        let mut codes = HashMap::new();
        let mut diags = Vec::new();
        for entry in entries {
            let crate::registry::EntryKind::Lua(l) = &entry.kind else { continue };
            match compile(&lua, l) {
                Ok(bytecode) => {
                    codes.insert(
                        entry.id.clone(),
                        Arc::new(LuaCode {
                            id: entry.id.clone(),
                            role: l.role,
                            bytecode,
                            chunk_name: l.chunk_name.clone(),
                            method: l.method.clone(),
                            modules: l.modules.clone(),
                            imports: l.imports.iter().map(|(a, r)| (a.clone(), r.id.clone())).collect(),
                        }),
                    );
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
        Ok(LuaRuntime { lua, base_meta, modules, codes })
    }

    /// The compiled code of a Lua entry.
    pub fn code(&self, id: &str) -> Option<&Arc<LuaCode>> {
        self.codes.get(id)
    }

    /// Every compiled Lua entry.
    pub fn codes(&self) -> impl Iterator<Item = &Arc<LuaCode>> {
        self.codes.values()
    }

    /// How much memory the Lua state uses, in bytes.
    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }

    fn new_env(&self, code: &LuaCode) -> mlua::Result<Table> {
        let env = self.lua.create_table()?;
        env.set_metatable(Some(self.base_meta.clone()))?;
        if code.role == LuaRole::Process {
            if let Some(p) = self.modules.get("process") {
                env.raw_set("process", p.clone())?;
            }
        }
        Ok(env)
    }

    /// The entry's compiled top level, bound to a fresh environment (returned too).
    fn chunk(&self, code: &LuaCode) -> mlua::Result<(Table, Function)> {
        let env = self.new_env(code)?;
        let chunk = self
            .lua
            .load(&code.bytecode[..])
            .set_name(format!("@{}", code.chunk_name))
            .set_mode(ChunkMode::Binary)
            .set_environment(env.clone())
            .into_function()?;
        Ok((env, chunk))
    }

    /// The method of an entry, after running its top level.
    async fn method(&self, code: &LuaCode) -> mlua::Result<Function> {
        let (env, chunk) = self.chunk(code)?;
        chunk.call_async::<()>(()).await?;
        let name = code.method.as_deref().unwrap_or("main");
        match env.get::<LuaValue>(name)? {
            LuaValue::Function(f) => Ok(f),
            _ => {
                Err(mlua::Error::runtime(format!("`{}` defines no function `{name}` (its `method`)", code.chunk_name)))
            }
        }
    }

    /// A context for one invocation of `code`.
    pub fn context(
        self: &Arc<Self>,
        code: Arc<LuaCode>,
        system: Arc<System>,
        functions: Arc<Functions>,
        context: Arc<SecurityContext>,
        depth: u32,
    ) -> Arc<LuaCtx> {
        Arc::new(LuaCtx {
            code,
            runtime: self.clone(),
            system,
            functions,
            context,
            depth,
            proc: OnceLock::new(),
            loaded: Mutex::new(HashMap::new()),
        })
    }

    /// Calls a `function.lua`: a fresh environment, the method on a coroutine, the first result as the value; a
    /// `nil, err` return is the error.
    pub async fn call(self: &Arc<Self>, ctx: Arc<LuaCtx>, args: Vec<Value>) -> Result<Value, CallError> {
        let code = ctx.code.clone();
        let run = async {
            let f = self.method(&code).await?;
            let lua_args = args.iter().map(|a| conv::to_lua(&self.lua, a)).collect::<mlua::Result<MultiValue>>()?;
            let thread = self.lua.create_thread(f)?;
            thread.into_async::<MultiValue>(lua_args)?.await
        };
        let result = WithCtx::new(ctx.clone(), run).await;
        ctx.finish();
        results(&code.id, result)
    }

    /// Init of a `process.lua`: its top level and method, as a coroutine ready to run.
    pub async fn start_process(
        self: &Arc<Self>,
        ctx: &Arc<LuaCtx>,
        entry: Arc<ProcEntry>,
        inbox: Inbox,
    ) -> Result<mlua::Thread, CallError> {
        let proc = LuaProc::new(entry, inbox, false);
        let _ = ctx.proc.set(proc);
        let code = ctx.code.clone();
        let run = async {
            let f = self.method(&code).await?;
            self.lua.create_thread(f)
        };
        WithCtx::new(ctx.clone(), run).await.map_err(|e| lua_error(&code.id, &e))
    }

    /// Step of a `process.lua`: runs its coroutine to the end.
    pub async fn run_process(
        self: &Arc<Self>,
        ctx: Arc<LuaCtx>,
        thread: mlua::Thread,
        args: Vec<Value>,
    ) -> Result<Value, CallError> {
        let id = ctx.code.id.clone();
        let run = async {
            let lua_args = args.iter().map(|a| conv::to_lua(&self.lua, a)).collect::<mlua::Result<MultiValue>>()?;
            thread.into_async::<MultiValue>(lua_args)?.await
        };
        results(&id, WithCtx::new(ctx, run).await)
    }

    /// `require(name)` for the current invocation: an allowed built-in module, or an imported library.
    fn require(&self, ctx: &LuaCtx, name: &str) -> mlua::Result<LuaValue> {
        if let Some(m) = self.modules.get(name) {
            let allowed =
                ctx.code.modules.iter().any(|x| x == name) || (name == "process" && ctx.code.role == LuaRole::Process);
            if allowed {
                return Ok(LuaValue::Table(m.clone()));
            }
            return Err(mlua::Error::runtime(format!(
                "module `{name}` is not available to `{}`: add it to the entry's `modules`",
                ctx.code.id
            )));
        }
        if let Some(v) = ctx.loaded.lock().unwrap_or_else(|p| p.into_inner()).get(name) {
            return Ok(v.clone());
        }
        let Some(lib) = ctx.code.imports.get(name).and_then(|id| self.codes.get(id)) else {
            return Err(mlua::Error::runtime(format!(
                "module `{name}` is not available to `{}`: built-in modules go in `modules` ({}), libraries in `imports`",
                ctx.code.id,
                crate::registry::kinds::LUA_MODULES.join(", ")
            )));
        };
        let (_, chunk) = self.chunk(lib)?;
        let v: LuaValue = chunk.call(())?;
        ctx.loaded.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_owned(), v.clone());
        Ok(v)
    }
}

/// The first result as the value; `nil, err` as the error; a Lua error as a [`CallError::Lua`].
fn results(id: &EntryId, r: mlua::Result<MultiValue>) -> Result<Value, CallError> {
    let values = r.map_err(|e| lua_error(id, &e))?;
    let mut it = values.into_iter();
    let first = it.next().unwrap_or(LuaValue::Nil);
    let second = it.next().unwrap_or(LuaValue::Nil);
    let convert = |v: &LuaValue, what: &str| {
        conv::from_lua(v, what).map_err(|e| CallError::Lua { entry: id.clone(), message: format!("cannot return {e}") })
    };
    if first.is_nil() && !second.is_nil() {
        return Err(CallError::Guest { entry: id.clone(), value: convert(&second, "error")? });
    }
    convert(&first, "result")
}

fn compile(lua: &Lua, l: &LuaEntry) -> mlua::Result<Vec<u8>> {
    // `@name` makes Lua print `name:LINE:` rather than `[string "..."]:LINE:`.
    let f = lua.load(&l.source).set_name(format!("@{}", l.chunk_name)).into_function()?;
    Ok(f.dump(false))
}

/// The shared base environment (sandboxed globals, `print`, `require`) and the built-in module tables.
fn build_base(lua: &Lua) -> mlua::Result<(Table, HashMap<&'static str, Table>)> {
    let globals = lua.globals();
    let base = lua.create_table()?;
    for name in SAFE_GLOBALS {
        base.raw_set(*name, globals.get::<LuaValue>(*name)?)?;
    }
    let os: Table = globals.get("os")?;
    let safe_os = lua.create_table()?;
    for name in ["time", "clock", "date", "difftime"] {
        safe_os.raw_set(name, os.get::<LuaValue>(name)?)?;
    }
    base.raw_set("os", safe_os)?;
    base.raw_set(
        "print",
        lua.create_function(|_, args: MultiValue| {
            let text: Vec<String> =
                args.iter().map(|v| v.to_string().unwrap_or_else(|_| v.type_name().to_owned())).collect();
            match current() {
                // A process on the terminal host prints to the terminal, as a WASM process there writes to it.
                Ok(ctx) if ctx.proc_if_any().is_some_and(|p| p.entry.domain.as_ref().is_some_and(|d| d.terminal)) => {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{}", text.join("\t"));
                }
                Ok(ctx) => {
                    let pid = ctx.proc_if_any().map(|p| p.entry.pid.to_string()).unwrap_or_default();
                    tracing::info!(target: "wippy::guest", entry = %ctx.code.id, pid, "{}", text.join("\t"));
                }
                Err(_) => tracing::info!(target: "wippy::guest", "{}", text.join("\t")),
            }
            Ok(())
        })?,
    )?;
    base.raw_set(
        "require",
        lua.create_function(|_, name: String| {
            let ctx = current()?;
            ctx.runtime.require(&ctx, &name)
        })?,
    )?;
    let modules = modules::build(lua)?;
    let meta = lua.create_table()?;
    meta.raw_set("__index", base)?;
    Ok((meta, modules))
}
