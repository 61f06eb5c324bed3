//! `process.receive(timeout?)`, `inbox()`, `events()`, `listen(topic)` and `unlisten(topic)`.
//!
//! `receive` returns the next event (a table: `kind`, `type`, `from`, `value`, `result = {value, error}`, ...) or
//! message (`msg:topic()`, `msg:from()`, `msg:payload():data()`), events first, or nil on timeout. The channels
//! feed `channel.select`; a message whose topic is listened to goes to that channel only.

use mlua::{Lua, Table, Value as LuaValue};

use super::super::{duration, item_to_lua, LuaChannel};
use crate::lua::channel::{select, Case, Selected};
use crate::lua::invocation::current;

/// Adds the functions to `m`.
pub(super) fn add(lua: &Lua, m: &Table) -> mlua::Result<()> {
    m.set("inbox", lua.create_function(|_, ()| Ok(LuaChannel(current()?.proc().inbox.clone())))?)?;
    m.set("events", lua.create_function(|_, ()| Ok(LuaChannel(current()?.proc().events.clone())))?)?;
    m.set("listen", lua.create_function(|_, topic: String| Ok(LuaChannel(current()?.proc().listen(&topic))))?)?;
    m.set(
        "unlisten",
        lua.create_function(|_, topic: String| {
            current()?.proc().unlisten(&topic);
            Ok(true)
        })?,
    )?;
    m.set(
        "receive",
        lua.create_async_function(|lua, timeout: Option<LuaValue>| async move {
            let ctx = current()?;
            let proc = ctx.proc();
            let cases = [Case::Receive(proc.events.clone()), Case::Receive(proc.inbox.clone())];
            let got = match timeout {
                Some(t) => tokio::time::timeout(duration(&t)?, select(&cases)).await.ok(),
                None => Some(select(&cases).await),
            };
            match got {
                Some((_, Selected::Received(Some(item)))) => item_to_lua(&lua, item),
                _ => Ok(LuaValue::Nil),
            }
        })?,
    )?;
    Ok(())
}
