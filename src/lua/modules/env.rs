//! The `env` module (SPEC §5.16): the host's environment variables, read from the OS environment of the host
//! process with an in-memory overlay on top. `env.set` writes the overlay of this host only (each host has its
//! own, in its Lua engine), never the OS environment; `env.get_all` merges both, the overlay winning.

use mlua::{Lua, Table, Value as LuaValue};

use super::errors::fail;
use crate::lua::invocation::current;
use crate::value::kind;

/// The most variables `env.set` may add to a host's overlay.
pub(crate) const MAX_OVERLAY: usize = 10_000;

/// Builds the module table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.raw_set(
        "get",
        lua.create_function(|lua, key: String| {
            if key.is_empty() {
                return fail(lua, kind::INVALID, "environment variable name is empty");
            }
            let overlay = current()?.engine.env_overlay(&key);
            match overlay.or_else(|| std::env::var(&key).ok()) {
                Some(v) => Ok((LuaValue::String(lua.create_string(v)?), LuaValue::Nil)),
                None => fail(lua, kind::NOT_FOUND, format!("environment variable `{key}` is not set")),
            }
        })?,
    )?;
    m.raw_set(
        "set",
        lua.create_function(|lua, (key, value): (String, LuaValue)| {
            if key.is_empty() {
                return fail(lua, kind::INVALID, "environment variable name is empty");
            }
            let value = match value {
                LuaValue::String(s) => s.to_string_lossy(),
                LuaValue::Integer(i) => i.to_string(),
                LuaValue::Number(n) => n.to_string(),
                LuaValue::Boolean(b) => b.to_string(),
                other => {
                    return fail(
                        lua,
                        kind::INVALID,
                        format!("environment values are text, got a {}", other.type_name()),
                    )
                }
            };
            if !current()?.engine.set_env_overlay(key, value) {
                let why = format!("the host's environment overlay holds {MAX_OVERLAY} variables, the most it allows");
                return fail(lua, kind::UNAVAILABLE, why);
            }
            Ok((LuaValue::Boolean(true), LuaValue::Nil))
        })?,
    )?;
    m.raw_set(
        "get_all",
        lua.create_function(|lua, ()| {
            let t = lua.create_table()?;
            for (k, v) in std::env::vars_os() {
                if let (Some(k), Some(v)) = (k.to_str(), v.to_str()) {
                    t.raw_set(k, v)?;
                }
            }
            for (k, v) in current()?.engine.env_overlay_all() {
                t.raw_set(k, v)?;
            }
            Ok(t)
        })?,
    )?;
    Ok(m)
}
