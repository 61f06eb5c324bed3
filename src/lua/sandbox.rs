//! The base environment of a state: the globals every invocation sees, and what keeps one invocation from changing
//! what the next one in the same state sees.
//!
//! Each invocation's globals table falls back (`__index`) to a base table that Lua code cannot reach: the
//! fallback metatable is protected (`__metatable = false`), and `_G` is the invocation's own table. The base holds:
//! - the safe base functions (`assert error ipairs next pairs pcall rawequal rawget rawlen rawset select tonumber
//!   tostring type xpcall getmetatable _VERSION`), and `unpack` for Lua 5.1 code;
//! - our `print`, `require`, `rawset` (which refuses the library proxies), `setmetatable` (which ignores `__gc`,
//!   see [`super::state`]) and a `collectgarbage` that offers `count` (the caller's own bytes), `collect`, `step`
//!   and `isrunning`;
//! - the libraries `string` (callable: `string(x)` is the typed-syntax cast), `coroutine` (ours, `prelude.lua`),
//!   and, loaded on first use, `table` (with Lua 5.1's `getn` and `maxn`), `math`, `utf8`, `os` (`time`, `clock`,
//!   `date`, `difftime`, `platform` only) and `package` (no paths, no native libraries), each as a read-only proxy:
//!   writing to it raises, and so does a `rawset` into it;
//! - loaded on first use: the casts `integer`, `number`, `boolean` ([`casts`]), and the built-in modules the
//!   invocation's entry may use ([`super::globals`]).
//!
//! Not present: `io`, `debug`, `load`, `loadstring`, `dofile`, `loadfile`. The string metatable is protected, so
//! `getmetatable("")` gives nothing to change.

use mlua::{Lua, MultiValue, StdLib, Table, Value as LuaValue};

use super::invocation::current;
use super::patterns;

mod casts;

/// Base functions copied from the state's own globals.
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
    "tonumber",
    "tostring",
    "type",
    "xpcall",
    "getmetatable",
    "_VERSION",
];

/// `pcall` and `xpcall` that hand a host error over as Lua code expects it (an error object when the host gave it a
/// kind, its text otherwise), and the `string` library's functions accepting an error object where a string is
/// expected (SPEC §5.2). Methods on strings (`s:find(...)`) keep the unwrapped functions: their receiver is a
/// string.
const SHIMS: &str = r#"
local native_pcall, native_xpcall, string, text_or_self, caught, native_rawset, proxies = ...
local type, error = type, error
local function fix(ok, ...)
  if ok then return ok, ... end
  return false, caught((...))
end
local function pcall(f, ...) return fix(native_pcall(f, ...)) end
local function xpcall(f, handler, ...)
  return native_xpcall(f, function(e) return handler(caught(e)) end, ...)
end
local wrapped = {}
for name, f in next, string do
  wrapped[name] = function(s, ...)
    if type(s) == "userdata" then s = text_or_self(s) end
    return f(s, ...)
  end
end
-- `rawset` into a library proxy would change it for every invocation of the state.
local function rawset(t, k, v)
  if proxies[t] then error("attempt to change a library table with rawset: library tables are read-only", 2) end
  return native_rawset(t, k, v)
end
-- A proxy's `__pairs`: iterates `real` through a closure, never handing the real table out.
local next = next
local function pairs_of(real)
  local function step(_, k) return next(real, k) end
  return function() return step end
end
return pcall, xpcall, wrapped, rawset, pairs_of
"#;

/// A caught error as Lua code sees it: a host error with a kind as an error object, any other host error as its
/// text without the traceback, a value Lua code raised as it is.
fn caught(lua: &Lua, v: LuaValue) -> mlua::Result<LuaValue> {
    let LuaValue::Error(e) = &v else { return Ok(v) };
    match crate::value::lua::raised_error_value(e) {
        Some(error) => super::modules::errors::object(lua, error),
        None => Ok(LuaValue::String(lua.create_string(crate::value::lua::error_from_mlua(e).message)?)),
    }
}

/// The proxies of a state (a set, which `rawset` refuses), and the maker of their `__pairs` (`pairs_of` in the shims).
struct Proxies(Table, mlua::Function);

/// Builds the base of `lua` with our `coroutine` table, and makes `env_meta` the metatable of invocation
/// environments (which `prelude.lua` creates).
pub(super) fn build(lua: &Lua, coroutine: Table, env_meta: &Table) -> mlua::Result<()> {
    let proxies = lua.create_table()?;
    let globals = lua.globals();
    let base = lua.create_table()?;
    for name in SAFE_GLOBALS {
        base.raw_set(*name, globals.raw_get::<LuaValue>(*name)?)?;
    }
    let native_setmetatable: mlua::Function = globals.raw_get("setmetatable")?;
    base.raw_set("setmetatable", setmetatable(lua, native_setmetatable)?)?;
    base.raw_set("collectgarbage", lua.create_function(collectgarbage)?)?;
    base.raw_set("print", lua.create_function(super::engine::print)?)?;
    let globals_of = base.clone();
    base.raw_set(
        "require",
        lua.create_function(move |lua, name: String| {
            if let Some((v, _)) = super::globals::lookup(lua, &name)? {
                return Ok(v);
            }
            match globals_of.get::<LuaValue>(name.as_str())? {
                LuaValue::Nil => Err(super::globals::not_found(&name)),
                v => Ok(v),
            }
        })?,
    )?;
    let string: Table = globals.raw_get("string")?;
    patterns::install(lua, &string)?;
    lua.load("getmetatable('').__metatable = false").set_name("=wippy sandbox").exec()?;
    let (pcall, xpcall, string, rawset, pairs_of): (LuaValue, LuaValue, Table, LuaValue, mlua::Function) =
        lua.load(SHIMS).set_name("=wippy shims").call((
            globals.raw_get::<LuaValue>("pcall")?,
            globals.raw_get::<LuaValue>("xpcall")?,
            string,
            lua.create_function(|lua, v: LuaValue| super::modules::errors::text_or_self(lua, v))?,
            lua.create_function(caught)?,
            globals.raw_get::<LuaValue>("rawset")?,
            proxies.clone(),
        ))?;
    lua.set_app_data(Proxies(proxies, pairs_of));
    base.raw_set("pcall", pcall)?;
    base.raw_set("xpcall", xpcall)?;
    base.raw_set("rawset", rawset)?;
    let string_proxy = proxy(lua, "string", string)?;
    // `string(x)`: the typed-syntax cast to a string (SPEC §5.1).
    if let Some(meta) = string_proxy.metatable() {
        meta.raw_set("__call", lua.create_function(|lua, (_, v): (LuaValue, LuaValue)| casts::to_string(lua, v))?)?;
    }
    base.raw_set("string", string_proxy)?;
    base.raw_set("coroutine", proxy(lua, "coroutine", coroutine)?)?;
    let lazy = lua.create_table()?;
    lazy.raw_set("__index", lua.create_function(load_library)?)?;
    base.set_metatable(Some(lazy))?;
    env_meta.raw_set("__index", base)?;
    env_meta.raw_set("__metatable", false)?;
    lua.set_app_data(super::engine::EnvMeta(env_meta.clone()));
    Ok(())
}

/// A read-only view of `real`: reads and `pairs` see it, writes raise.
pub(super) fn proxy(lua: &Lua, name: &'static str, real: Table) -> mlua::Result<Table> {
    let p = lua.create_table()?;
    let meta = lua.create_table()?;
    meta.raw_set("__index", real.clone())?;
    meta.raw_set(
        "__newindex",
        lua.create_function(move |_, (_, key): (LuaValue, LuaValue)| -> mlua::Result<()> {
            Err(mlua::Error::runtime(format!(
                "attempt to change `{name}.{}`: library tables are read-only",
                key.to_string().unwrap_or_default()
            )))
        })?,
    )?;
    let proxies = lua.app_data_ref::<Proxies>().map(|p| (p.0.clone(), p.1.clone()));
    let Some((set, pairs_of)) = proxies else {
        return Err(mlua::Error::runtime("the sandbox is not built"));
    };
    meta.raw_set("__pairs", pairs_of.call::<mlua::Function>(real.clone())?)?;
    meta.raw_set("__metatable", false)?;
    p.set_metatable(Some(meta))?;
    set.raw_set(p.clone(), true)?;
    Ok(p)
}

/// The base's `__index`: loads a standard library on its first use and caches its proxy in the base.
fn load_library(lua: &Lua, (base, key): (Table, LuaValue)) -> mlua::Result<LuaValue> {
    let LuaValue::String(key) = key else { return Ok(LuaValue::Nil) };
    let name = key.to_str()?.to_owned();
    if let Some((v, keep)) = super::globals::lookup(lua, &name)? {
        if keep {
            base.raw_set(name, v.clone())?;
        }
        return Ok(v);
    }
    if let Some(f) = casts::function(lua, &name)? {
        base.raw_set(name, f.clone())?;
        return Ok(LuaValue::Function(f));
    }
    let (lib, real): (&'static str, Table) = match name.as_str() {
        "table" | "unpack" => ("table", table_library(lua)?),
        "package" => ("package", package(lua)?),
        "math" => ("math", std_lib(lua, StdLib::MATH, "math")?),
        "utf8" => ("utf8", std_lib(lua, StdLib::UTF8, "utf8")?),
        "os" => {
            let os = std_lib(lua, StdLib::OS, "os")?;
            let safe = lua.create_table()?;
            for f in ["time", "clock", "date", "difftime"] {
                safe.raw_set(f, os.raw_get::<LuaValue>(f)?)?;
            }
            safe.raw_set("platform", "wippy")?;
            ("os", safe)
        }
        _ => return Ok(LuaValue::Nil),
    };
    if name == "unpack" {
        let unpack: LuaValue = real.raw_get("unpack")?;
        base.raw_set("unpack", unpack.clone())?;
        return Ok(unpack);
    }
    let p = proxy(lua, lib, real)?;
    base.raw_set(lib, p.clone())?;
    Ok(LuaValue::Table(p))
}

/// The table library with Lua 5.1's `table.getn` and `table.maxn`, which Wippy's programs still use.
fn table_library(lua: &Lua) -> mlua::Result<Table> {
    let table = std_lib(lua, StdLib::TABLE, "table")?;
    if table.raw_get::<LuaValue>("getn")?.is_nil() {
        table.raw_set("getn", lua.create_function(|_, t: Table| Ok(t.raw_len()))?)?;
        table.raw_set(
            "maxn",
            lua.create_function(|_, t: Table| {
                let number = |v: &LuaValue| match v {
                    LuaValue::Integer(i) => Some(*i as f64),
                    LuaValue::Number(n) => Some(*n),
                    _ => None,
                };
                let mut max = LuaValue::Integer(0);
                for pair in t.pairs::<LuaValue, LuaValue>() {
                    let key = pair?.0;
                    if number(&key).is_some_and(|k| k > number(&max).unwrap_or(0.0)) {
                        max = key;
                    }
                }
                Ok(max)
            })?,
        )?;
    }
    Ok(table)
}

/// `package`: no search path and no native libraries (`require` returns globals only).
fn package(lua: &Lua) -> mlua::Result<Table> {
    let package = lua.create_table()?;
    package.raw_set("path", "")?;
    package.raw_set("cpath", "")?;
    package.raw_set(
        "loadlib",
        lua.create_function(|_, _: MultiValue| Ok((LuaValue::Nil, "dynamic libraries are not enabled", "absent")))?,
    )?;
    Ok(package)
}

fn std_lib(lua: &Lua, lib: StdLib, name: &str) -> mlua::Result<Table> {
    let globals = lua.globals();
    if let LuaValue::Table(t) = globals.raw_get::<LuaValue>(name)? {
        return Ok(t);
    }
    lua.load_std_libs(lib)?;
    globals.raw_get(name)
}

/// `setmetatable`, ignoring `__gc`: Lua marks an object for finalization only when its metatable has `__gc` at
/// the time it is set, so the field is hidden for that moment and put back. Wippy's Lua has no finalizers either;
/// here one would run inside whichever invocation the collector happened to run in.
fn setmetatable(lua: &Lua, native: mlua::Function) -> mlua::Result<mlua::Function> {
    lua.create_function(move |_, args: MultiValue| {
        let meta = match args.get(1) {
            Some(LuaValue::Table(meta)) => meta.clone(),
            _ => return native.call::<LuaValue>(args),
        };
        let gc = meta.raw_get::<LuaValue>("__gc")?;
        if gc.is_nil() {
            return native.call::<LuaValue>(args);
        }
        meta.raw_set("__gc", LuaValue::Nil)?;
        let r = native.call::<LuaValue>(args);
        meta.raw_set("__gc", gc)?;
        r
    })
}

/// `collectgarbage(opt)`: only what affects nobody but the caller's own state.
fn collectgarbage(lua: &Lua, (opt, _arg): (Option<String>, LuaValue)) -> mlua::Result<LuaValue> {
    match opt.as_deref().unwrap_or("collect") {
        // In a state processes share, a full collection would stop all of them for as long as it takes (it cannot
        // be preempted): a process gets an incremental step.
        "collect" if current().is_ok_and(|ctx| ctx.shares_state()) => {
            lua.gc_step()?;
            Ok(LuaValue::Integer(0))
        }
        "collect" => {
            lua.gc_collect()?;
            Ok(LuaValue::Integer(0))
        }
        "step" => Ok(LuaValue::Boolean(lua.gc_step()?)),
        "count" => {
            let bytes = current().map_or_else(|_| lua.used_memory(), |ctx| ctx.memory());
            Ok(LuaValue::Number(bytes as f64 / 1024.0))
        }
        "isrunning" => Ok(LuaValue::Boolean(true)),
        other => Err(mlua::Error::runtime(format!(
            "collectgarbage(\"{other}\") is not available: only \"count\", \"collect\", \"step\" and \"isrunning\" are"
        ))),
    }
}
