//! The `ctx` module (SPEC §5.11): the request context values of the invocation, inherited from its caller or
//! spawner and merged with what an executor or spawner set (`with_context`, explicit values winning).

use mlua::{Lua, Table, Value as LuaValue};

use super::errors::fail;
use crate::lua::invocation::current;
use crate::value::{kind, lua as conv, Value};

/// Builds the module table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.raw_set(
        "get",
        lua.create_function(|lua, key: String| {
            if key.is_empty() {
                return fail(lua, kind::INVALID, "context key is empty");
            }
            let ctx = current()?;
            match ctx.env.context.request.get(&key) {
                Some(v) => Ok((conv::to_lua(lua, v)?, LuaValue::Nil)),
                None => fail(lua, kind::NOT_FOUND, format!("context value `{key}` not found")),
            }
        })?,
    )?;
    m.raw_set(
        "all",
        lua.create_function(|lua, ()| conv::to_lua(lua, &Value::Map(current()?.env.context.request.clone())))?,
    )?;
    Ok(m)
}
