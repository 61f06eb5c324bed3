//! `process.pg`: process groups, `join(group, pid?)`, `leave(group, pid?)`, `members(group)` and
//! `broadcast(group, topic, ...)`.

use mlua::{Lua, MultiValue, Table, Value as LuaValue};

use super::{outcome, payload};
use crate::lua::invocation::current;
use crate::process::Payload;
use crate::value::{lua as conv, Value};

/// The `process.pg` table.
pub(super) fn table(lua: &Lua) -> mlua::Result<Table> {
    let pg = lua.create_table()?;
    pg.set(
        "join",
        lua.create_function(|lua, (group, pid): (String, Option<String>)| {
            let ctx = current()?;
            let pid = pid.unwrap_or_else(|| ctx.proc().record.pid.to_string());
            outcome(lua, ctx.system().join(&group, &pid))
        })?,
    )?;
    pg.set(
        "leave",
        lua.create_function(|_, (group, pid): (String, Option<String>)| {
            let ctx = current()?;
            let pid = pid.unwrap_or_else(|| ctx.proc().record.pid.to_string());
            ctx.system().leave(&group, &pid);
            Ok(true)
        })?,
    )?;
    pg.set(
        "members",
        lua.create_function(|lua, group: String| {
            let members: Vec<Value> =
                current()?.system().members(&group).iter().map(|p| Value::from(p.as_str())).collect();
            conv::to_lua(lua, &Value::List(members))
        })?,
    )?;
    pg.set(
        "broadcast",
        lua.create_function(|lua, (group, topic, rest): (String, String, MultiValue)| {
            let ctx = current()?;
            let payload = payload(rest)?;
            let from = ctx.proc_if_any().map(|p| p.record.pid.clone());
            match ctx.system().broadcast(from.as_ref(), &group, &topic, Payload::Value(payload)) {
                Ok(n) => Ok((LuaValue::Integer(n as i64), LuaValue::Nil)),
                Err(e) => Ok((LuaValue::Nil, conv::to_lua(lua, &e.to_error_value())?)),
            }
        })?,
    )?;
    Ok(pg)
}
