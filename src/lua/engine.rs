//! The Lua engine of one host: the Lua state, the compiled code of every Lua entry, the sandboxed base
//! environment, and the entry points for calls and processes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use mlua::{ChunkMode, Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value as LuaValue};

use super::invocation::{current, LuaCtx, WithCtx};
use super::modules;
use super::proc::LuaProc;
use crate::error::{CallError, Diagnostic};
use crate::id::EntryId;
use crate::process::{CallEnv, Inbox, Record};
use crate::registry::kinds::{LuaEntry, LuaRole, LUA_MODULES};
use crate::registry::{Entry, EntryKind};
use crate::value::{lua as conv, Value};

/// A compiled Lua entry.
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
}

/// The Lua state of one host, with the compiled code of its Lua entries.
pub(crate) struct LuaEngine {
    lua: Lua,
    base_meta: Table,
    modules: HashMap<&'static str, Table>,
    codes: HashMap<EntryId, Arc<LuaCode>>,
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

impl LuaEngine {
    /// Compiles every Lua entry; syntax errors are diagnostics at the entry.
    pub(crate) fn new(entries: &[&Entry]) -> Result<LuaEngine, Vec<Diagnostic>> {
        let fail = |e: mlua::Error| vec![Diagnostic::new(None, None, format!("cannot start Lua: {}", error_text(&e)))];
        let lua = Lua::new_with(StdLib::ALL_SAFE, LuaOptions::default()).map_err(fail)?;
        let (base_meta, modules) = build_base(&lua).map_err(fail)?;
        let mut codes = HashMap::new();
        let mut diags = Vec::new();
        for entry in entries {
            let EntryKind::Lua(l) = &entry.kind else { continue };
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
        Ok(LuaEngine { lua, base_meta, modules, codes })
    }

    /// Every compiled Lua entry.
    pub(crate) fn codes(&self) -> impl Iterator<Item = &Arc<LuaCode>> {
        self.codes.values()
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
    pub(crate) fn context(self: &Arc<Self>, code: Arc<LuaCode>, env: CallEnv) -> Arc<LuaCtx> {
        Arc::new(LuaCtx { code, engine: self.clone(), env, proc: OnceLock::new(), loaded: Mutex::new(HashMap::new()) })
    }

    /// Calls a `function.lua`: a fresh environment, the method on a coroutine, the first result as the value; a
    /// `nil, err` return is the error.
    pub(crate) async fn call(self: &Arc<Self>, ctx: Arc<LuaCtx>, args: Vec<Value>) -> Result<Value, CallError> {
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
    pub(crate) async fn start_process(
        self: &Arc<Self>,
        ctx: &Arc<LuaCtx>,
        record: Arc<Record>,
        inbox: Inbox,
    ) -> Result<mlua::Thread, CallError> {
        let proc = LuaProc::of_process(record, inbox);
        let _ = ctx.proc.set(proc);
        let code = ctx.code.clone();
        let run = async {
            let f = self.method(&code).await?;
            self.lua.create_thread(f)
        };
        WithCtx::new(ctx.clone(), run).await.map_err(|e| lua_error(&code.id, &e))
    }

    /// Step of a `process.lua`: runs its coroutine to the end.
    pub(crate) async fn run_process(
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
                LUA_MODULES.join(", ")
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
        })?,
    )?;
    base.raw_set(
        "require",
        lua.create_function(|_, name: String| {
            let ctx = current()?;
            ctx.engine.require(&ctx, &name)
        })?,
    )?;
    let modules = modules::build(lua)?;
    let meta = lua.create_table()?;
    meta.raw_set("__index", base)?;
    Ok((meta, modules))
}
