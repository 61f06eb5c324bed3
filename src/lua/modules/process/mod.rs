//! The `process` module (also the global `process` in `process.lua`).
//!
//! PIDs are strings (`{app:processes|0x0001a}`): comparable and usable as table keys. Operations that can fail for
//! reasons outside the caller's code (a dead PID, a taken name, an unknown host) return `nil, err`; mistakes in the
//! call itself (a payload with a function in it, a reserved topic) raise.
//!
//! The table is built in named parts, one file each: [`identity`] (`pid`, `id`, `send`), [`spawning`] (the four
//! spawns), [`signals`] (terminate, cancel, monitors, links, options), [`receiving`] (`receive`, `inbox`, `events`,
//! `listen`), [`registry`] (`process.registry`) and [`groups`] (`process.pg`), plus the `process.event` constants.

mod groups;
mod identity;
mod receiving;
mod registry;
mod signals;
mod spawning;

use mlua::{Lua, MultiValue, Table, Value as LuaValue};

use super::to_value;
use crate::error::ProcessError;
use crate::value::lua as conv;
use crate::value::Value;

/// Builds the module table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    identity::add(lua, &m)?;
    spawning::add(lua, &m)?;
    signals::add(lua, &m)?;
    receiving::add(lua, &m)?;
    m.set("registry", crate::lua::sandbox::proxy(lua, "process.registry", registry::table(lua)?)?)?;
    m.set("pg", crate::lua::sandbox::proxy(lua, "process.pg", groups::table(lua)?)?)?;
    m.set("event", crate::lua::sandbox::proxy(lua, "process.event", events(lua)?)?)?;
    Ok(m)
}

/// `process.event`: the event kinds.
fn events(lua: &Lua) -> mlua::Result<Table> {
    let event = lua.create_table()?;
    event.set("EXIT", "pid.exit")?;
    event.set("CANCEL", "pid.cancel")?;
    event.set("LINK_DOWN", "pid.link.down")?;
    Ok(event)
}

/// The payload of a message: one value as it is, several as a list.
fn payload(rest: MultiValue) -> mlua::Result<Value> {
    let mut values: Vec<Value> = rest
        .iter()
        .enumerate()
        .map(|(i, v)| to_value(v, &format!("payload value {}", i + 1)))
        .collect::<mlua::Result<_>>()?;
    Ok(if values.len() == 1 { values.remove(0) } else { Value::List(values) })
}

/// `true`, or `nil, err` (with the error's kind).
fn outcome(lua: &Lua, r: Result<(), ProcessError>) -> mlua::Result<(LuaValue, LuaValue)> {
    match r {
        Ok(()) => Ok((LuaValue::Boolean(true), LuaValue::Nil)),
        Err(e) => Ok((LuaValue::Nil, conv::to_lua(lua, &e.to_error_value())?)),
    }
}
