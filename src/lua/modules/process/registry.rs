//! `process.registry`: `register(name, pid?, scope?)`, `lookup(name)`, `unregister(name)` and the scope constants
//! `LOCAL`, `CONSISTENT`, `EVENTUAL`, `STRONG` (SPEC §5.4; on one host every scope behaves as `LOCAL`; in a
//! cluster EVENTUAL names are cluster-wide and CONSISTENT / STRONG are not supported yet, SPEC §8).

use mlua::{Lua, Table, Value as LuaValue};

use super::outcome;
use crate::lua::invocation::current;
use crate::lua::modules::errors::fail;
use crate::process::Scope;
use crate::value::kind;

/// The `process.registry` table.
pub(super) fn table(lua: &Lua) -> mlua::Result<Table> {
    let registry = lua.create_table()?;
    registry.set(
        "register",
        lua.create_function(|lua, (name, pid, scope): (String, Option<String>, Option<i64>)| {
            let ctx = current()?;
            let pid = pid.unwrap_or_else(|| ctx.proc().record.pid.to_string());
            let Some(scope) = Scope::from_number(scope.unwrap_or(0)) else {
                return fail(lua, kind::INVALID, "unknown registry scope: use LOCAL, CONSISTENT, EVENTUAL or STRONG");
            };
            outcome(lua, ctx.system().register_in(&name, &pid, scope))
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
