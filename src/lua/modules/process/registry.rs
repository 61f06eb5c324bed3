//! `process.registry`: `register(name, pid?)`, `lookup(name)` and `unregister(name)`.

use mlua::{Lua, Table};

use super::outcome;
use crate::lua::invocation::current;

/// The `process.registry` table.
pub(super) fn table(lua: &Lua) -> mlua::Result<Table> {
    let registry = lua.create_table()?;
    registry.set(
        "register",
        lua.create_function(|lua, (name, pid): (String, Option<String>)| {
            let ctx = current()?;
            let pid = pid.unwrap_or_else(|| ctx.proc().record.pid.to_string());
            outcome(lua, ctx.system().register(&name, &pid))
        })?,
    )?;
    registry.set(
        "lookup",
        lua.create_function(|_, name: String| Ok(current()?.system().lookup(&name).map(|p| p.to_string())))?,
    )?;
    registry.set("unregister", lua.create_function(|_, name: String| Ok(current()?.system().unregister(&name)))?)?;
    Ok(registry)
}
