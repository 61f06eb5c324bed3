//! `process.receive(timeout?)`, `inbox()`, `events()`, `listen(topic, opts?)` and `unlisten(channel)`.
//!
//! `receive` returns the next event (a table: `kind`, `type`, `from`, `value`, `result = {value, error}`, ...) or
//! message (`msg:topic()`, `msg:from()`, `msg:payload():data()`), events first, or nil on timeout. The channels
//! feed `channel.select`; a message whose topic is listened to goes to that channel only, as its data (one payload:
//! its value; several: a list), or as the message object with `listen(topic, {message = true})`.

use mlua::{Lua, Table, Value as LuaValue};

use super::super::{duration, item_to_lua, LuaChannel};
use crate::lua::channel::{select, Case, Selected};
use crate::lua::invocation::current;
use crate::lua::modules::errors::fail;
use crate::value::kind;

/// Adds the functions to `m`.
pub(super) fn add(lua: &Lua, m: &Table) -> mlua::Result<()> {
    m.set("inbox", lua.create_function(|_, ()| Ok(LuaChannel(current()?.proc().inbox.clone())))?)?;
    m.set("events", lua.create_function(|_, ()| Ok(LuaChannel(current()?.proc().events.clone())))?)?;
    m.set(
        "listen",
        lua.create_function(|lua, (topic, opts): (String, Option<Table>)| {
            if topic.is_empty() || topic.starts_with('@') {
                let why = format!("invalid topic `{topic}`: topics are not empty and do not start with `@`");
                return fail(lua, kind::INVALID, why);
            }
            let messages = match opts {
                Some(t) => t.get::<Option<bool>>("message")?.unwrap_or(false),
                None => false,
            };
            let chan = LuaChannel(current()?.proc().listen(&topic, messages));
            Ok((LuaValue::UserData(lua.create_userdata(chan)?), LuaValue::Nil))
        })?,
    )?;
    m.set(
        "unlisten",
        lua.create_function(|lua, ch: mlua::AnyUserData| {
            let chan = ch
                .borrow::<LuaChannel>()
                .map_err(|_| mlua::Error::runtime("process.unlisten takes the channel `process.listen` returned"))?
                .0
                .clone();
            if current()?.proc().unlisten(&chan) {
                Ok((LuaValue::Boolean(true), LuaValue::Nil))
            } else {
                Ok((LuaValue::Boolean(false), fail(lua, kind::NOT_FOUND, "channel not found")?.1))
            }
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
