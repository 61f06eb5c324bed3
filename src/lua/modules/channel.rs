//! The `channel` module: `channel.new(size)` and `channel.select{cases}` (SPEC §5.6).
//!
//! `select` takes cases made by `ch:case_receive()` and `ch:case_send(v)`, waits until one can proceed (trying them
//! in order), performs it, and returns `{channel = ch, value = v, ok = true}`; `ok` is false (and `value` nil) when
//! the channel was closed. With a default (`select{..., default = true}` or `select(cases, true)`) it does not wait:
//! when no case can proceed it returns `{default = true, ok = true}`.

use std::sync::Arc;

use mlua::{Lua, Table, Value as LuaValue};

use super::{item_to_lua, LuaCase, LuaChannel};
use crate::lua::channel::{select, try_select, Case, Chan, Selected};

/// The largest channel capacity.
pub(crate) const MAX_CAPACITY: usize = 1 << 20;

/// Builds the module table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set(
        "new",
        lua.create_function(|_, size: Option<i64>| {
            let size = size.unwrap_or(0);
            if !(0..=MAX_CAPACITY as i64).contains(&size) {
                return Err(mlua::Error::runtime(format!(
                    "channel size must be between 0 and {MAX_CAPACITY}, got {size}"
                )));
            }
            Ok(LuaChannel(Chan::new_local(size as usize)))
        })?,
    )?;
    m.set(
        "select",
        lua.create_async_function(|lua, (cases, default): (Table, Option<bool>)| async move {
            let default = default.unwrap_or(false) || cases.raw_get::<Option<bool>>("default")?.unwrap_or(false);
            let mut list: Vec<Arc<Case>> = Vec::new();
            for v in cases.sequence_values::<LuaValue>() {
                match v? {
                    LuaValue::UserData(ud) => match ud.borrow::<LuaCase>() {
                        Ok(c) => list.push(c.0.clone()),
                        Err(_) => {
                            return Err(mlua::Error::runtime(
                                "channel.select takes cases made by `ch:case_receive()` or `ch:case_send(v)`",
                            ))
                        }
                    },
                    other => {
                        return Err(mlua::Error::runtime(format!(
                            "channel.select takes a list of cases, got a {} in it",
                            other.type_name()
                        )))
                    }
                }
            }
            if list.is_empty() && !default {
                return Err(mlua::Error::runtime("channel.select needs at least one case"));
            }
            let owned: Vec<Case> = list
                .iter()
                .map(|c| match &**c {
                    Case::Receive(ch) => Case::Receive(ch.clone()),
                    Case::Send(ch, slot) => Case::Send(ch.clone(), slot.clone()),
                })
                .collect();
            let (i, selected) = if default {
                match try_select(&owned) {
                    Some(done) => done,
                    None => {
                        let out = lua.create_table()?;
                        out.set("default", true)?;
                        out.set("ok", true)?;
                        return Ok(out);
                    }
                }
            } else {
                let _wait = crate::lua::invocation::local_wait(&lua, owned.iter().all(|c| c.chan().is_local()));
                select(&owned).await
            };
            let chan = match &owned[i] {
                Case::Receive(c) | Case::Send(c, _) => c.clone(),
            };
            let out = lua.create_table()?;
            out.set("channel", LuaChannel(chan))?;
            match selected {
                Selected::Received(Some(item)) => {
                    out.set("value", item_to_lua(&lua, item)?)?;
                    out.set("ok", true)?;
                }
                Selected::Received(None) => out.set("ok", false)?,
                Selected::Sent => out.set("ok", true)?,
            }
            Ok(out)
        })?,
    )?;
    Ok(m)
}
