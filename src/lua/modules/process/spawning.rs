//! `process.spawn`, `spawn_monitored`, `spawn_linked` and `spawn_linked_monitored`: `pid | nil, err`.

use mlua::{Lua, MultiValue, Table, Value as LuaValue};

use super::super::to_value;
use crate::lua::invocation::current;
use crate::process::{SpawnOptions, SpawnRequest};
use crate::value::{lua as conv, Value};

/// Adds the four spawns to `m`.
pub(super) fn add(lua: &Lua, m: &Table) -> mlua::Result<()> {
    m.set("spawn", spawn_fn(lua, SpawnOptions { monitor: false, link: false })?)?;
    m.set("spawn_monitored", spawn_fn(lua, SpawnOptions { monitor: true, link: false })?)?;
    m.set("spawn_linked", spawn_fn(lua, SpawnOptions { monitor: false, link: true })?)?;
    m.set("spawn_linked_monitored", spawn_fn(lua, SpawnOptions { monitor: true, link: true })?)?;
    Ok(())
}

fn spawn_fn(lua: &Lua, opts: SpawnOptions) -> mlua::Result<mlua::Function> {
    lua.create_async_function(move |lua, (id, host, rest): (String, String, MultiValue)| async move {
        let ctx = current()?;
        let args: Vec<Value> = rest
            .iter()
            .enumerate()
            .map(|(i, v)| to_value(v, &format!("argument {}", i + 3)))
            .collect::<mlua::Result<_>>()?;
        let parent = (opts.monitor || opts.link).then(|| ctx.proc().record.pid.clone());
        let mut req = SpawnRequest::new(&id, &host, args, ctx.env.context.clone());
        if let Some(parent) = &parent {
            req = req.child_of(parent, opts);
        }
        match ctx.system().spawn(req).await {
            Ok((pid, _)) => Ok((LuaValue::String(lua.create_string(pid.as_str())?), LuaValue::Nil)),
            Err(e) => Ok((LuaValue::Nil, conv::to_lua(&lua, &e.to_error_value())?)),
        }
    })
}
