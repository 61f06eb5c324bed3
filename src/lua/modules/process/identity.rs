//! `process.pid()`, `process.id()` and `process.send(dest, topic, ...)`.

use mlua::{Lua, MultiValue, Table};

use super::{outcome, payload};
use crate::lua::invocation::current;
use crate::lua::modules::errors::fail;
use crate::process::Payload;
use crate::value::kind;

/// Adds the functions to `m`.
pub(super) fn add(lua: &Lua, m: &Table) -> mlua::Result<()> {
    m.set("pid", lua.create_function(|_, ()| Ok(current()?.proc().record.pid.to_string()))?)?;
    m.set("id", lua.create_function(|_, ()| Ok(current()?.code.id.to_string()))?)?;
    m.set(
        "send",
        lua.create_function(|lua, (dest, topic, rest): (Option<String>, Option<String>, MultiValue)| {
            let (Some(dest), Some(topic)) = (dest, topic) else {
                return fail(lua, kind::INVALID, "process.send needs a destination and a topic");
            };
            let ctx = current()?;
            let payload = payload(rest)?;
            let from = ctx.proc_if_any().map(|p| p.record.pid.clone());
            outcome(lua, ctx.system().send(from.as_ref(), &dest, &topic, Payload::Value(payload)))
        })?,
    )?;
    Ok(())
}
