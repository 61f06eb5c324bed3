//! The typed-syntax casts Wippy's programs call as globals (SPEC §5.1): `string(x)`, `integer(x)`, `number(x)`,
//! `boolean(x)`. A value of the type passes through, `nil` passes through, a convertible value is converted, and
//! anything else raises naming both types.

use mlua::{Function, Lua, Value as LuaValue};

/// The cast function named `name`, if it is one (`string` is the string library's `__call`, see the sandbox).
pub(super) fn function(lua: &Lua, name: &str) -> mlua::Result<Option<Function>> {
    Ok(Some(match name {
        "integer" => lua.create_function(|_, v: LuaValue| to_integer(v))?,
        "number" => lua.create_function(|_, v: LuaValue| to_number(v))?,
        "boolean" => lua.create_function(|_, v: LuaValue| to_boolean(v))?,
        _ => return Ok(None),
    }))
}

fn refuse(v: &LuaValue, to: &str) -> mlua::Error {
    mlua::Error::runtime(format!("cannot cast a {} to {to}", v.type_name()))
}

/// `string(x)`: strings as they are, numbers as text.
pub(super) fn to_string(lua: &Lua, v: LuaValue) -> mlua::Result<LuaValue> {
    match v {
        LuaValue::Nil | LuaValue::String(_) => Ok(v),
        LuaValue::Integer(_) | LuaValue::Number(_) => Ok(LuaValue::String(lua.create_string(v.to_string()?)?)),
        other => Err(refuse(&other, "string")),
    }
}

/// `integer(x)`: integers, integral floats, and text holding one.
fn to_integer(v: LuaValue) -> mlua::Result<LuaValue> {
    let from_float = |n: f64| {
        (n.fract() == 0.0 && n >= i64::MIN as f64 && n < i64::MAX as f64).then_some(LuaValue::Integer(n as i64))
    };
    let out = match &v {
        LuaValue::Nil | LuaValue::Integer(_) => Some(v.clone()),
        LuaValue::Number(n) => from_float(*n),
        LuaValue::String(s) => {
            let text = s.to_str()?;
            let text = text.trim();
            text.parse::<i64>().ok().map(LuaValue::Integer).or_else(|| text.parse::<f64>().ok().and_then(from_float))
        }
        _ => None,
    };
    out.ok_or_else(|| refuse(&v, "integer"))
}

/// `number(x)`: numbers, and text holding one.
fn to_number(v: LuaValue) -> mlua::Result<LuaValue> {
    let out = match &v {
        LuaValue::Nil | LuaValue::Integer(_) | LuaValue::Number(_) => Some(v.clone()),
        LuaValue::String(s) => {
            let text = s.to_str()?;
            let text = text.trim();
            text.parse::<i64>().ok().map(LuaValue::Integer).or_else(|| text.parse::<f64>().ok().map(LuaValue::Number))
        }
        _ => None,
    };
    out.ok_or_else(|| refuse(&v, "number"))
}

/// `boolean(x)`: booleans only.
fn to_boolean(v: LuaValue) -> mlua::Result<LuaValue> {
    match v {
        LuaValue::Nil | LuaValue::Boolean(_) => Ok(v),
        other => Err(refuse(&other, "boolean")),
    }
}
