//! The `process` module (also the global `process` in `process.lua`).
//!
//! PIDs are strings (`{app:processes|0x0001a}`): comparable and usable as table keys. Operations that can fail for
//! reasons outside the caller's code (a dead PID, a taken name, an unknown host) return `nil, err`; mistakes in the
//! call itself (a payload with a function in it, a reserved topic) raise.
//!
//! Receiving: `process.receive(timeout?)` returns the next event (a table: `kind`, `type`, `from`, `value`,
//! `result = {value, error}`, ...) or message (`msg:topic()`, `msg:from()`, `msg:payload():data()`), events first,
//! or nil on timeout. `inbox()`, `events()` and `listen(topic)` return channels for `channel.select`; a message
//! whose topic is listened to goes to that channel only.

use mlua::{Lua, MultiValue, Table, Value as LuaValue};

use super::{duration, item_to_lua, to_value, LuaChannel};
use crate::error::ProcessError;
use crate::lua::channel::{select, Case, Selected};
use crate::lua::current;
use crate::process::{spawn, Payload, SpawnOptions};
use crate::value::{lua as conv, Value};

fn payload(rest: MultiValue) -> mlua::Result<Value> {
    let mut values: Vec<Value> = rest
        .iter()
        .enumerate()
        .map(|(i, v)| to_value(v, &format!("payload value {}", i + 1)))
        .collect::<mlua::Result<_>>()?;
    Ok(if values.len() == 1 { values.remove(0) } else { Value::List(values) })
}

/// `true`, or `nil, err`.
fn outcome(lua: &Lua, r: Result<(), ProcessError>) -> mlua::Result<(LuaValue, LuaValue)> {
    match r {
        Ok(()) => Ok((LuaValue::Boolean(true), LuaValue::Nil)),
        Err(ProcessError::ReservedTopic { topic }) => {
            Err(mlua::Error::runtime(ProcessError::ReservedTopic { topic }.to_string()))
        }
        Err(e) => Ok((LuaValue::Nil, LuaValue::String(lua.create_string(e.to_string())?))),
    }
}

fn spawn_fn(lua: &Lua, opts: SpawnOptions) -> mlua::Result<mlua::Function> {
    lua.create_async_function(move |lua, (id, host, rest): (String, String, MultiValue)| async move {
        let ctx = current()?;
        let args: Vec<Value> = rest
            .iter()
            .enumerate()
            .map(|(i, v)| to_value(v, &format!("argument {}", i + 3)))
            .collect::<mlua::Result<_>>()?;
        let parent = (opts.monitor || opts.link).then(|| ctx.proc().entry.pid.clone());
        match spawn(&ctx.system, parent.as_ref(), &id, &host, args, opts, ctx.context.clone()).await {
            Ok(pid) => Ok((LuaValue::String(lua.create_string(pid.as_str())?), LuaValue::Nil)),
            Err(e) => Ok((LuaValue::Nil, LuaValue::String(lua.create_string(e.to_string())?))),
        }
    })
}

/// Builds the module table.
pub fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set("pid", lua.create_function(|_, ()| Ok(current()?.proc().entry.pid.to_string()))?)?;
    m.set("id", lua.create_function(|_, ()| Ok(current()?.code.id.to_string()))?)?;
    m.set(
        "send",
        lua.create_function(|lua, (dest, topic, rest): (String, String, MultiValue)| {
            let ctx = current()?;
            let payload = payload(rest)?;
            let from = ctx.proc_if_any().map(|p| p.entry.pid.clone());
            outcome(lua, ctx.system.send(from.as_ref(), &dest, &topic, Payload::Value(payload)))
        })?,
    )?;
    m.set("spawn", spawn_fn(lua, SpawnOptions { monitor: false, link: false })?)?;
    m.set("spawn_monitored", spawn_fn(lua, SpawnOptions { monitor: true, link: false })?)?;
    m.set("spawn_linked", spawn_fn(lua, SpawnOptions { monitor: false, link: true })?)?;
    m.set("spawn_linked_monitored", spawn_fn(lua, SpawnOptions { monitor: true, link: true })?)?;
    m.set(
        "terminate",
        lua.create_function(|_, pid: String| {
            current()?.system.terminate(&pid, Value::from("terminated"));
            Ok(true)
        })?,
    )?;
    m.set(
        "cancel",
        lua.create_function(|lua, (pid, timeout): (String, Option<LuaValue>)| {
            let ctx = current()?;
            let timeout = timeout.map(|t| duration(&t)).transpose()?;
            let from = ctx.proc_if_any().map(|p| p.entry.pid.clone());
            let sys = ctx.system.clone();
            outcome(lua, sys.cancel(from.as_ref(), &pid, Value::from("cancelled"), timeout))
        })?,
    )?;
    m.set(
        "monitor",
        lua.create_function(|lua, pid: String| {
            let ctx = current()?;
            let me = ctx.proc().entry.pid.clone();
            outcome(lua, ctx.system.monitor(&me, &pid))
        })?,
    )?;
    m.set(
        "unmonitor",
        lua.create_function(|_, pid: String| {
            let ctx = current()?;
            let me = ctx.proc().entry.pid.clone();
            ctx.system.unmonitor(&me, &pid);
            Ok(true)
        })?,
    )?;
    m.set(
        "link",
        lua.create_function(|lua, pid: String| {
            let ctx = current()?;
            let me = ctx.proc().entry.pid.clone();
            outcome(lua, ctx.system.link(&me, &pid))
        })?,
    )?;
    m.set(
        "unlink",
        lua.create_function(|_, pid: String| {
            let ctx = current()?;
            let me = ctx.proc().entry.pid.clone();
            ctx.system.unlink(&me, &pid);
            Ok(true)
        })?,
    )?;
    m.set(
        "set_options",
        lua.create_function(|_, opts: Table| {
            let ctx = current()?;
            if let Some(trap) = opts.get::<Option<bool>>("trap_links")? {
                let me = ctx.proc().entry.pid.clone();
                ctx.system.set_trap_links(&me, trap);
            }
            Ok(true)
        })?,
    )?;
    m.set(
        "get_options",
        lua.create_function(|lua, ()| {
            let ctx = current()?;
            let me = ctx.proc().entry.pid.clone();
            let t = lua.create_table()?;
            t.set("trap_links", ctx.system.trap_links(&me))?;
            Ok(t)
        })?,
    )?;
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

    let registry = lua.create_table()?;
    registry.set(
        "register",
        lua.create_function(|lua, (name, pid): (String, Option<String>)| {
            let ctx = current()?;
            let pid = pid.unwrap_or_else(|| ctx.proc().entry.pid.to_string());
            outcome(lua, ctx.system.register(&name, &pid))
        })?,
    )?;
    registry.set(
        "lookup",
        lua.create_function(|_, name: String| Ok(current()?.system.lookup(&name).map(|p| p.to_string())))?,
    )?;
    registry.set("unregister", lua.create_function(|_, name: String| Ok(current()?.system.unregister(&name)))?)?;
    m.set("registry", registry)?;

    let event = lua.create_table()?;
    event.set("EXIT", "pid.exit")?;
    event.set("CANCEL", "pid.cancel")?;
    event.set("LINK_DOWN", "pid.link.down")?;
    m.set("event", event)?;

    let pg = lua.create_table()?;
    pg.set(
        "join",
        lua.create_function(|lua, (group, pid): (String, Option<String>)| {
            let ctx = current()?;
            let pid = pid.unwrap_or_else(|| ctx.proc().entry.pid.to_string());
            outcome(lua, ctx.system.join(&group, &pid))
        })?,
    )?;
    pg.set(
        "leave",
        lua.create_function(|_, (group, pid): (String, Option<String>)| {
            let ctx = current()?;
            let pid = pid.unwrap_or_else(|| ctx.proc().entry.pid.to_string());
            ctx.system.leave(&group, &pid);
            Ok(true)
        })?,
    )?;
    pg.set(
        "members",
        lua.create_function(|lua, group: String| {
            let members: Vec<Value> =
                current()?.system.members(&group).iter().map(|p| Value::from(p.as_str())).collect();
            conv::to_lua(lua, &Value::List(members))
        })?,
    )?;
    pg.set(
        "broadcast",
        lua.create_function(|_, (group, topic, rest): (String, String, MultiValue)| {
            let ctx = current()?;
            let payload = payload(rest)?;
            let from = ctx.proc_if_any().map(|p| p.entry.pid.clone());
            match ctx.system.broadcast(from.as_ref(), &group, &topic, Payload::Value(payload)) {
                Ok(n) => Ok((LuaValue::Integer(n as i64), LuaValue::Nil)),
                Err(e) => Err(mlua::Error::runtime(e.to_string())),
            }
        })?,
    )?;
    m.set("pg", pg)?;
    Ok(m)
}
