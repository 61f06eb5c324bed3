//! The `errors` module (SPEC §5.8, a global everywhere): `errors.new`, `errors.wrap`, `errors.is`,
//! `errors.call_stack` and the kind constants; and [`fail`], how every other module returns `nil, err`.
//!
//! Error objects themselves ([`LuaErrorObject`]: methods, `tostring`, `..`) live beside the value conversions, as
//! they cross calls, messages and EXIT events as [`Value::Error`](crate::Value).

use mlua::{Lua, Table, Value as LuaValue};

use crate::value::lua::{error_of, to_lua, LuaErrorObject};
use crate::value::{kind, ErrorValue, Map, Value};

/// `nil, err` for a Lua caller: an error object of `kind` with `message`.
pub(crate) fn fail(lua: &Lua, kind: &str, message: impl Into<String>) -> mlua::Result<(LuaValue, LuaValue)> {
    Ok((LuaValue::Nil, object(lua, ErrorValue::new(message).with_kind(kind))?))
}

/// An error object in Lua.
pub(crate) fn object(lua: &Lua, e: ErrorValue) -> mlua::Result<LuaValue> {
    Ok(LuaValue::UserData(lua.create_userdata(LuaErrorObject::new(lua, e))?))
}

/// A raised error (not `nil, err`) of `kind`: reaches `pcall` as an error object.
pub(crate) fn raise(kind: &str, message: impl Into<String>) -> mlua::Error {
    mlua::Error::external(ErrorValue::new(message).with_kind(kind))
}

/// `errors.new(text)` or `errors.new{message=, kind=, retryable=, details=}`.
fn new(lua: &Lua, arg: LuaValue) -> mlua::Result<LuaValue> {
    let e = match arg {
        LuaValue::String(s) => ErrorValue::new(s.to_string_lossy()),
        LuaValue::Table(t) => {
            let message = match t.raw_get::<LuaValue>("message")? {
                LuaValue::String(s) => s.to_string_lossy(),
                LuaValue::Nil => {
                    return Err(raise(kind::INVALID, "bad argument #1 to 'new' (message field is required)"))
                }
                _ => return Err(raise(kind::INVALID, "bad argument #1 to 'new' (message must be a string)")),
            };
            let mut e = ErrorValue::new(message);
            if let LuaValue::String(k) = t.raw_get::<LuaValue>("kind")? {
                e.kind = k.to_string_lossy();
            }
            if let LuaValue::Boolean(b) = t.raw_get::<LuaValue>("retryable")? {
                e.retryable = Some(b);
            }
            if let LuaValue::Table(d) = t.raw_get::<LuaValue>("details")? {
                let mut details = Map::new();
                for pair in d.pairs::<LuaValue, LuaValue>() {
                    let (k, v) = pair?;
                    if let LuaValue::String(k) = k {
                        let key = k.to_string_lossy();
                        let v =
                            crate::value::lua::from_lua(&v, &format!("details.{key}")).map_err(mlua::Error::runtime)?;
                        details.insert(key, v);
                    }
                }
                details.sort_keys();
                e.details = (!details.is_empty()).then_some(details);
            }
            e
        }
        other => {
            return Err(raise(
                kind::INVALID,
                format!("bad argument #1 to 'new' (expected string or table, got {})", other.type_name()),
            ))
        }
    };
    object(lua, e)
}

/// `errors.wrap(e_or_text, context)`: kind, retry hint and details kept; the message is the inner one.
fn wrap(lua: &Lua, (inner, context): (LuaValue, LuaValue)) -> mlua::Result<LuaValue> {
    let inner = match (&inner, error_of(&inner)) {
        (_, Some(e)) => e,
        (LuaValue::String(s), None) => ErrorValue::new(s.to_string_lossy()),
        (other, None) => {
            return Err(raise(
                kind::INVALID,
                format!("bad argument #1 to 'wrap' (expected string or error object, got {})", other.type_name()),
            ))
        }
    };
    let context = match (&context, error_of(&context)) {
        (_, Some(e)) => e.message,
        (LuaValue::String(s), None) => s.to_string_lossy(),
        (other, None) => {
            return Err(raise(
                kind::INVALID,
                format!("bad argument #2 to 'wrap' (expected string or error object, got {})", other.type_name()),
            ))
        }
    };
    object(lua, inner.wrapped(context))
}

/// `errors.call_stack(e)`: `{thread, frames = {{level, source, line, name, type}...}}`, or `nil`.
fn call_stack(lua: &Lua, v: LuaValue) -> mlua::Result<LuaValue> {
    let LuaValue::UserData(u) = &v else { return Ok(LuaValue::Nil) };
    let Ok(e) = u.borrow::<LuaErrorObject>() else { return Ok(LuaValue::Nil) };
    if e.frames.is_empty() {
        return Ok(LuaValue::Nil);
    }
    let frames = lua.create_table()?;
    for (i, f) in e.frames.iter().enumerate() {
        let t = lua.create_table()?;
        t.raw_set("level", i as i64 + 1)?;
        t.raw_set("source", f.source.as_str())?;
        t.raw_set("line", f.line)?;
        t.raw_set("name", f.name.as_str())?;
        t.raw_set("type", f.what)?;
        frames.raw_push(t)?;
    }
    let out = lua.create_table()?;
    out.raw_set("thread", "main")?;
    out.raw_set("frames", frames)?;
    Ok(LuaValue::Table(out))
}

/// Builds the module table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.raw_set("new", lua.create_function(new)?)?;
    m.raw_set("wrap", lua.create_function(wrap)?)?;
    m.raw_set(
        "is",
        lua.create_function(|_, (v, k): (LuaValue, String)| Ok(error_of(&v).is_some_and(|e| e.kind == k)))?,
    )?;
    m.raw_set("call_stack", lua.create_function(call_stack)?)?;
    for (name, value) in kind::ALL {
        m.raw_set(*name, *value)?;
    }
    Ok(m)
}

/// The message of an error object, for the `string` library's shim; `v` itself when it is no error.
pub(crate) fn text_or_self(lua: &Lua, v: LuaValue) -> mlua::Result<LuaValue> {
    match error_of(&v) {
        Some(e) => to_lua(lua, &Value::Str(e.message)),
        None => Ok(v),
    }
}
