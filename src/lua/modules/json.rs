//! The `json` module (SPEC §5.13): `json.encode(v) → text | nil, err` and `json.decode(text) → v | nil, err`.
//!
//! Encoding follows Wippy's rules, which differ from the host's [`Value`](crate::Value) conversion: `nil` is
//! `null`, an empty table `[]`, a table with keys 1..n an array, a table with string keys an object (keys sorted),
//! NaN and infinities `null`; a cyclic table, a sparse array, mixed keys or nesting deeper than [`MAX_DEPTH`] is an
//! INTERNAL error. Integral floats are written without a fraction (as Go does). Error objects encode as their
//! message; other host objects, functions and coroutines are errors. Decoding: `null` is `nil` (so arrays may have
//! holes), integers are Lua integers, other numbers floats; `""` or a non-string is INVALID, malformed text INTERNAL.

use mlua::{Lua, Table, Value as LuaValue};
use serde_json::Value as Json;

use super::errors::fail;
use crate::value::json::from_json;
use crate::value::{kind, lua as conv};

/// How deep a value may nest, encoding or decoding.
pub(crate) const MAX_DEPTH: usize = 128;

/// What one encoding has seen: the tables on the current path (cycles) and how many values it wrote.
struct Walk {
    path: Vec<*const std::ffi::c_void>,
    nodes: usize,
}

fn encode_value(v: &LuaValue, depth: usize, walk: &mut Walk) -> Result<Json, String> {
    walk.nodes += 1;
    if walk.nodes > crate::value::lua::MAX_NODES {
        let max = crate::value::lua::MAX_NODES;
        return Err(format!("value has more than {max} parts (a table shared many times over?)"));
    }
    if depth > MAX_DEPTH {
        return Err(format!("value nests deeper than {MAX_DEPTH} levels"));
    }
    Ok(match v {
        LuaValue::Nil => Json::Null,
        LuaValue::Boolean(b) => Json::Bool(*b),
        LuaValue::Integer(i) => Json::from(*i),
        LuaValue::Number(n) if !n.is_finite() => Json::Null,
        LuaValue::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Json::from(*n as i64),
        LuaValue::Number(n) => serde_json::Number::from_f64(*n).map_or(Json::Null, Json::Number),
        LuaValue::String(s) => Json::String(s.to_string_lossy()),
        LuaValue::Table(t) => {
            let ptr = t.to_pointer();
            if walk.path.contains(&ptr) {
                return Err("cannot encode a cyclic table".into());
            }
            walk.path.push(ptr);
            let out = table(t, depth, walk);
            walk.path.pop();
            out?
        }
        LuaValue::UserData(_) | LuaValue::Error(_) => match crate::value::lua::error_of(v) {
            Some(e) => Json::String(e.message),
            None => return Err("cannot encode a userdata value".into()),
        },
        other => return Err(format!("cannot encode a {} value", other.type_name())),
    })
}

fn table(t: &Table, depth: usize, walk: &mut Walk) -> Result<Json, String> {
    let mut ints: Vec<(i64, LuaValue)> = Vec::new();
    let mut named: Vec<(String, LuaValue)> = Vec::new();
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        match k {
            LuaValue::Integer(i) => ints.push((i, v)),
            LuaValue::String(s) => named.push((s.to_string_lossy(), v)),
            other => return Err(format!("cannot encode a table with a {} key", other.type_name())),
        }
    }
    match (ints.is_empty(), named.is_empty()) {
        (true, true) => Ok(Json::Array(Vec::new())),
        (false, false) => Err("cannot encode a table with mixed keys (array and object)".into()),
        (false, true) => {
            ints.sort_unstable_by_key(|(i, _)| *i);
            if ints.iter().enumerate().any(|(n, (i, _))| *i != n as i64 + 1) {
                return Err("cannot encode a sparse array".into());
            }
            ints.iter().map(|(_, v)| encode_value(v, depth + 1, walk)).collect::<Result<_, _>>().map(Json::Array)
        }
        (true, false) => {
            named.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            let mut m = serde_json::Map::with_capacity(named.len());
            for (k, v) in &named {
                m.insert(k.clone(), encode_value(v, depth + 1, walk)?);
            }
            Ok(Json::Object(m))
        }
    }
}

/// `json.encode(v)` as text, or why not.
pub(crate) fn encode(v: &LuaValue) -> Result<String, String> {
    encode_value(v, 0, &mut Walk { path: Vec::new(), nodes: 0 }).map(|j| j.to_string())
}

/// Builds the module table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.raw_set(
        "encode",
        lua.create_function(|lua, v: LuaValue| match encode(&v) {
            Ok(text) => Ok((LuaValue::String(lua.create_string(text)?), LuaValue::Nil)),
            Err(why) => fail(lua, kind::INTERNAL, why),
        })?,
    )?;
    m.raw_set(
        "decode",
        lua.create_function(|lua, v: LuaValue| {
            let LuaValue::String(s) = v else {
                return fail(lua, kind::INVALID, format!("json.decode takes a string, got a {}", v.type_name()));
            };
            if s.as_bytes().is_empty() {
                return fail(lua, kind::INVALID, "empty input");
            }
            match serde_json::from_slice::<Json>(&s.as_bytes()) {
                Ok(j) => Ok((conv::to_lua(lua, &from_json(j))?, LuaValue::Nil)),
                Err(e) => fail(lua, kind::INTERNAL, format!("invalid JSON: {e}")),
            }
        })?,
    )?;
    Ok(m)
}
