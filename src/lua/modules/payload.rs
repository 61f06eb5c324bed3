//! Payload objects and the `payload` module (SPEC §5.2 "Payload objects", §5.14; a global everywhere).
//!
//! A payload is data with a format: what a message carries (`msg:payload()`: `lua/any` from Lua, `json/plain` from
//! a WASM guest, whose JSON stays text until read), what a future yields, or `payload.new(v)`. `p:data()` (and
//! `p:unmarshal()`) give the value, `p:get_format()` the format, `p:transcode(fmt)` a payload in another format
//! (between `lua/any`, `json/plain`, `text/plain` and `application/octet-stream`; YAML and MessagePack are not
//! supported yet: INTERNAL). Leaving Lua (sent, returned), a payload is its data.

use mlua::{Lua, MetaMethod, Table, UserData, UserDataMethods, Value as LuaValue};

use super::errors::fail;
use crate::value::{json, kind, lua as conv, Payload, Value};

/// The format names (`payload.format.*`).
pub(crate) mod format {
    pub(crate) const JSON: &str = "json/plain";
    pub(crate) const YAML: &str = "yaml/plain";
    pub(crate) const STRING: &str = "text/plain";
    pub(crate) const BYTES: &str = "application/octet-stream";
    pub(crate) const MSGPACK: &str = "application/msgpack";
    pub(crate) const LUA: &str = "lua/any";
    pub(crate) const GOLANG: &str = "golang/any";
    pub(crate) const ERROR: &str = "golang/error";
}

/// A payload object.
#[derive(Clone)]
pub(crate) struct LuaPayload {
    payload: Payload,
    format: &'static str,
}

impl LuaPayload {
    /// A payload as it arrived: a value from Lua or Rust (`lua/any`, `golang/error` for an error), JSON text
    /// from a WASM guest (`json/plain`).
    pub(crate) fn new(payload: Payload) -> LuaPayload {
        let format = match &payload {
            Payload::Json(_) => format::JSON,
            Payload::Value(Value::Error(_)) => format::ERROR,
            Payload::Value(_) => format::LUA,
        };
        LuaPayload { payload, format }
    }

    /// The data, or why it cannot be read.
    fn value(&self) -> Result<Value, String> {
        match &self.payload {
            Payload::Json(text) => json::parse(text).map_err(|e| format!("invalid JSON payload: {e}")),
            Payload::Value(v) => Ok(v.clone()),
        }
    }

    /// The data as text: a string as it is, JSON text for anything else.
    fn text(&self) -> Result<String, String> {
        match &self.payload {
            Payload::Json(text) => Ok(text.clone()),
            Payload::Value(Value::Str(s)) => Ok(s.clone()),
            Payload::Value(Value::Bytes(b)) => Ok(String::from_utf8_lossy(b).into_owned()),
            Payload::Value(v @ (Value::Int(_) | Value::Float(_) | Value::Bool(_))) => Ok(v.to_string()),
            Payload::Value(v) => Ok(json::to_json_string(v)),
        }
    }

    /// The payload in format `to`.
    fn transcode(&self, to: &str) -> Result<LuaPayload, String> {
        let (payload, format) = match to {
            format::LUA | format::GOLANG => (Payload::Value(self.value()?), format::LUA),
            format::JSON => (Payload::Json(json::to_json_string(&self.value()?)), format::JSON),
            format::STRING => (Payload::Value(Value::Str(self.text()?)), format::STRING),
            format::BYTES => (Payload::Value(Value::Bytes(self.text()?.into_bytes())), format::BYTES),
            format::YAML | format::MSGPACK => return Err(format!("transcoding to {to} is not supported yet")),
            other => return Err(format!("unknown payload format `{other}`")),
        };
        Ok(LuaPayload { payload, format })
    }
}

impl UserData for LuaPayload {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        for name in ["data", "unmarshal"] {
            methods.add_method(name, |lua, p, ()| match p.value() {
                Ok(v) => Ok((conv::to_lua(lua, &v)?, LuaValue::Nil)),
                Err(why) => fail(lua, kind::INTERNAL, why),
            });
        }
        methods.add_method("get_format", |_, p, ()| Ok(p.format));
        methods.add_method("transcode", |lua, p, to: String| match p.transcode(&to) {
            Ok(out) => Ok((LuaValue::UserData(lua.create_userdata(out)?), LuaValue::Nil)),
            Err(why) => fail(lua, kind::INTERNAL, why),
        });
        methods.add_meta_method(MetaMethod::ToString, |_, p, ()| Ok(format!("payload{{format={}}}", p.format)));
        methods.add_meta_method("__export", |lua, p, ()| match p.value() {
            Ok(v) => conv::to_lua(lua, &v),
            Err(e) => Err(mlua::Error::runtime(e)),
        });
    }
}

/// Builds the module table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.raw_set(
        "new",
        lua.create_function(|_, v: LuaValue| {
            let value = conv::from_lua(&v, "payload").map_err(mlua::Error::runtime)?;
            Ok(LuaPayload::new(Payload::Value(value)))
        })?,
    )?;
    let formats = lua.create_table()?;
    for (name, value) in [
        ("JSON", format::JSON),
        ("YAML", format::YAML),
        ("STRING", format::STRING),
        ("BYTES", format::BYTES),
        ("MSGPACK", format::MSGPACK),
        ("LUA", format::LUA),
        ("GOLANG", format::GOLANG),
        ("ERROR", format::ERROR),
    ] {
        formats.raw_set(name, value)?;
    }
    m.raw_set("format", crate::lua::sandbox::proxy(lua, "payload.format", formats)?)?;
    Ok(m)
}
