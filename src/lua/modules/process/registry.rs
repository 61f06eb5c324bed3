//! `process.registry`: `register(name, pid?, scope?)`, `lookup(name)`, `unregister(name)` and the scope constants
//! `LOCAL`, `CONSISTENT`, `EVENTUAL`, `STRONG` (SPEC §5.4; on one host every scope behaves as `LOCAL`).

use mlua::{Lua, Table, Value as LuaValue};

use super::outcome;
use crate::lua::invocation::current;
use crate::lua::modules::errors::fail;
use crate::value::kind;

/// The `process.registry` table.
pub(super) fn table(lua: &Lua) -> mlua::Result<Table> {
    let registry = lua.create_table()?;
    registry.set(
        "register",
        lua.create_function(|lua, (name, pid, _scope): (String, Option<String>, Option<i64>)| {
            let ctx = current()?;
            let pid = pid.unwrap_or_else(|| ctx.proc().record.pid.to_string());
            outcome(lua, ctx.system().register(&name, &pid))
        })?,
    )?;
    registry.set(
        "lookup",
        lua.create_function(|lua, name: String| match current()?.system().lookup(&name) {
            Some(pid) => Ok((LuaValue::String(lua.create_string(pid.to_string())?), LuaValue::Nil)),
            None => fail(lua, kind::NOT_FOUND, "name not registered"),
        })?,
    )?;
    for (scope, n) in [("LOCAL", 0), ("CONSISTENT", 1), ("EVENTUAL", 2), ("STRONG", 3)] {
        registry.set(scope, n)?;
    }
    registry.set("unregister", lua.create_function(|_, name: String| Ok(current()?.system().unregister(&name)))?)?;
    Ok(registry)
}
