//! The `uuid` module (SPEC §5.12), on the `uuid` crate: generation (`v1 v3 v4 v5 v7`), `validate`, `version`,
//! `variant`, `parse` and `format`. Text is lower-case with hyphens (36 characters); input may also be braced,
//! `urn:uuid:` or 32 hex digits. Errors are INVALID (INTERNAL for generation), never retryable. A v1 UUID's node
//! is a random one chosen once per host process (with the multicast bit set, as RFC 9562 asks of random nodes).

use std::sync::OnceLock;

use mlua::{Lua, Table, Value as LuaValue};
use uuid::{Uuid, Variant};

use super::errors::fail;
use crate::value::kind;

type Out = mlua::Result<(LuaValue, LuaValue)>;

fn text(lua: &Lua, s: String) -> Out {
    Ok((LuaValue::String(lua.create_string(s)?), LuaValue::Nil))
}

/// The UUID in `v`, or the `nil, err` to return.
fn parse(lua: &Lua, v: &LuaValue) -> Result<Uuid, Out> {
    let LuaValue::String(s) = v else { return Err(fail(lua, kind::INVALID, "input must be a string")) };
    Uuid::try_parse(&s.to_string_lossy()).map_err(|_| fail(lua, kind::INVALID, "invalid UUID format"))
}

fn variant_name(u: &Uuid) -> &'static str {
    match u.get_variant() {
        Variant::RFC4122 => "RFC4122",
        Variant::Microsoft => "Microsoft",
        Variant::NCS => "NCS",
        _ => "Invalid",
    }
}

fn node() -> &'static [u8; 6] {
    static NODE: OnceLock<[u8; 6]> = OnceLock::new();
    NODE.get_or_init(|| {
        let r = Uuid::new_v4();
        let b = r.as_bytes();
        [b[0] | 0x01, b[1], b[2], b[3], b[4], b[5]]
    })
}

/// `v3`/`v5`: a namespace UUID and a name.
fn named(lua: &Lua, (ns, name): (LuaValue, LuaValue), make: fn(&Uuid, &[u8]) -> Uuid) -> Out {
    let LuaValue::String(ns) = ns else { return fail(lua, kind::INVALID, "namespace must be a string") };
    let LuaValue::String(name) = name else { return fail(lua, kind::INVALID, "name must be a string") };
    match Uuid::try_parse(&ns.to_string_lossy()) {
        Ok(ns) => text(lua, make(&ns, &name.as_bytes()).to_string()),
        Err(_) => fail(lua, kind::INVALID, "invalid namespace UUID"),
    }
}

/// Builds the module table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.raw_set("v1", lua.create_function(|lua, ()| text(lua, Uuid::now_v1(node()).to_string()))?)?;
    m.raw_set("v4", lua.create_function(|lua, ()| text(lua, Uuid::new_v4().to_string()))?)?;
    m.raw_set("v7", lua.create_function(|lua, ()| text(lua, Uuid::now_v7().to_string()))?)?;
    m.raw_set("v3", lua.create_function(|lua, a| named(lua, a, Uuid::new_v3))?)?;
    m.raw_set("v5", lua.create_function(|lua, a| named(lua, a, Uuid::new_v5))?)?;
    m.raw_set(
        "validate",
        lua.create_function(|_, v: LuaValue| {
            Ok(matches!(&v, LuaValue::String(s) if Uuid::try_parse(&s.to_string_lossy()).is_ok()))
        })?,
    )?;
    m.raw_set(
        "version",
        lua.create_function(|lua, v: LuaValue| match parse(lua, &v) {
            Ok(u) => Ok((LuaValue::Integer(u.get_version_num() as i64), LuaValue::Nil)),
            Err(out) => out,
        })?,
    )?;
    m.raw_set(
        "variant",
        lua.create_function(|lua, v: LuaValue| match parse(lua, &v) {
            Ok(u) => text(lua, variant_name(&u).to_owned()),
            Err(out) => out,
        })?,
    )?;
    m.raw_set(
        "parse",
        lua.create_function(|lua, v: LuaValue| {
            let u = match parse(lua, &v) {
                Ok(u) => u,
                Err(out) => return out,
            };
            let t = lua.create_table()?;
            t.raw_set("version", u.get_version_num() as i64)?;
            t.raw_set("variant", variant_name(&u))?;
            if let Some(ts) = u.get_timestamp() {
                t.raw_set("timestamp", ts.to_unix().0 as i64)?;
            }
            if let Some(node) = u.get_node_id() {
                let hex: Vec<String> = node.iter().map(|b| format!("{b:02x}")).collect();
                t.raw_set("node", hex.join(":"))?;
            }
            Ok((LuaValue::Table(t), LuaValue::Nil))
        })?,
    )?;
    m.raw_set(
        "format",
        lua.create_function(|lua, (v, fmt): (LuaValue, Option<String>)| {
            let u = match parse(lua, &v) {
                Ok(u) => u,
                Err(out) => return out,
            };
            match fmt.as_deref().unwrap_or("standard") {
                "standard" => text(lua, u.hyphenated().to_string()),
                "simple" => text(lua, u.simple().to_string()),
                "urn" => text(lua, u.urn().to_string()),
                other => fail(lua, kind::INVALID, format!("unsupported format `{other}`: use standard, simple or urn")),
            }
        })?,
    )?;
    Ok(m)
}
