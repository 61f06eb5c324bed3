//! The built-in Lua modules, one file each, and the userdata types they share.
//!
//! A module's table is built in a state the first time an invocation there asks for it ([`get`]), kept for the
//! state's later invocations, and handed out as a read-only proxy; its functions find the calling invocation
//! through [`super::invocation::current`].

pub(super) mod channel;
pub(super) mod funcs;
pub(super) mod process;
pub(super) mod time;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mlua::{AnyUserData, Lua, MetaMethod, Table, UserData, UserDataMethods, Value as LuaValue};

use super::channel::{Case, Chan, Item};
use crate::process::{Message, Payload};
use crate::value::lua as conv;

/// The module tables built in a state so far.
#[derive(Default)]
struct Built(RefCell<HashMap<&'static str, Table>>);

/// The (read-only) table of the built-in module `name` in `lua`, built on first use.
pub(super) fn get(lua: &Lua, name: &str) -> mlua::Result<Table> {
    if lua.app_data_ref::<Built>().is_none() {
        lua.set_app_data(Built::default());
    }
    if let Some(t) = lua.app_data_ref::<Built>().and_then(|b| b.0.borrow().get(name).cloned()) {
        return Ok(t);
    }
    let (key, real): (&'static str, Table) = match name {
        "funcs" => ("funcs", funcs::module(lua)?),
        "process" => ("process", process::module(lua)?),
        "time" => ("time", time::module(lua)?),
        "channel" => ("channel", channel::module(lua)?),
        other => return Err(mlua::Error::runtime(format!("no built-in module `{other}`"))),
    };
    let table = super::sandbox::proxy(lua, key, real)?;
    if let Some(b) = lua.app_data_ref::<Built>() {
        b.0.borrow_mut().insert(key, table.clone());
    }
    Ok(table)
}

/// A channel item as a Lua value.
pub(super) fn item_to_lua(lua: &Lua, item: Item) -> mlua::Result<LuaValue> {
    Ok(match item {
        Item::Lua(v) => v,
        Item::Value(v) => conv::to_lua(lua, &v)?,
        Item::Message(m) => LuaValue::UserData(lua.create_userdata(LuaMessage(m))?),
        Item::Payload(p) => LuaValue::UserData(lua.create_userdata(LuaPayload(p))?),
        Item::Event(e) => conv::to_lua(lua, &event_value(&e))?,
    })
}

/// An event as Lua sees it (SPEC §5.4, "Event tables"): `kind`, `type`, `from`, `at` (Unix seconds), and for EXIT
/// and LINK_DOWN `result = {value, error}` and a top-level `value`, with no top-level `error` (Wippy's programs
/// read `event.result.error`); for CANCEL `reason`.
fn event_value(e: &crate::process::Event) -> crate::value::Value {
    use crate::process::Event;
    use crate::value::{Map, Value};
    let seconds = |t: std::time::SystemTime| {
        Value::Int(t.duration_since(std::time::SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64))
    };
    let mut m = Map::new();
    m.insert("kind".into(), Value::from(e.kind()));
    m.insert("type".into(), Value::from(e.type_name()));
    m.insert("from".into(), e.from().map_or(Value::Nil, |p| Value::from(p.as_str())));
    match e {
        Event::Exit(x) => {
            let error = x.error.clone().unwrap_or(Value::Nil);
            m.insert("result".into(), Value::map([("value", x.value.clone()), ("error", error)]));
            m.insert("value".into(), x.value.clone());
            m.insert("at".into(), seconds(x.at));
        }
        Event::LinkDown { error, .. } => {
            m.insert("result".into(), Value::map([("value", Value::Nil), ("error", error.clone())]));
            m.insert("value".into(), Value::Nil);
            m.insert("at".into(), seconds(std::time::SystemTime::now()));
        }
        Event::Cancel { reason, .. } => {
            let reason = if reason.is_nil() { Value::from("") } else { reason.clone() };
            m.insert("reason".into(), reason);
            m.insert("at".into(), seconds(std::time::SystemTime::now()));
        }
    }
    Value::Map(m)
}

/// A duration argument: milliseconds as a number, or text like `250ms`, `1.5s`.
pub(super) fn duration(v: &LuaValue) -> mlua::Result<Duration> {
    match v {
        LuaValue::Integer(i) if *i >= 0 => Ok(Duration::from_millis(*i as u64)),
        LuaValue::Number(n) => crate::duration::from_millis_f64(*n).ok_or_else(|| {
            mlua::Error::runtime(format!("invalid duration {n}: use milliseconds >= 0 or text like \"250ms\""))
        }),
        LuaValue::String(s) => crate::duration::parse(&s.to_string_lossy()).map_err(mlua::Error::runtime),
        other => Err(mlua::Error::runtime(format!(
            "expected a duration (milliseconds or text like \"250ms\"), got a {}",
            other.type_name()
        ))),
    }
}

/// Converts a Lua value for the host, as a Lua error naming `what` when it cannot leave Lua.
pub(super) fn to_value(v: &LuaValue, what: &str) -> mlua::Result<crate::value::Value> {
    conv::from_lua(v, what).map_err(mlua::Error::runtime)
}

/// A channel, as Lua sees it.
#[derive(Clone)]
pub(super) struct LuaChannel(pub Arc<Chan>);

impl UserData for LuaChannel {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_async_method("send", |_, this, v: LuaValue| async move {
            this.0.send(Item::Lua(v)).await.map_err(|_| mlua::Error::runtime("send on closed channel"))?;
            Ok(true)
        });
        methods.add_async_method("receive", |lua, this, ()| async move {
            match this.0.receive().await {
                Some(item) => Ok((item_to_lua(&lua, item)?, true)),
                None => Ok((LuaValue::Nil, false)),
            }
        });
        methods.add_method("close", |_, this, ()| {
            this.0.close();
            Ok(())
        });
        methods.add_method("len", |_, this, ()| Ok(this.0.len()));
        methods.add_method("case_receive", |_, this, ()| Ok(LuaCase(Arc::new(Case::Receive(this.0.clone())))));
        methods.add_method("case_send", |_, this, v: LuaValue| {
            Ok(LuaCase(Arc::new(Case::Send(this.0.clone(), Arc::new(Mutex::new(Some(Item::Lua(v))))))))
        });
        methods.add_meta_method(MetaMethod::Eq, |_, this, other: AnyUserData| {
            Ok(other.borrow::<LuaChannel>().is_ok_and(|o| Arc::ptr_eq(&o.0, &this.0)))
        });
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| Ok(format!("channel({} queued)", this.0.len())));
    }
}

/// A `select` case.
#[derive(Clone)]
pub(super) struct LuaCase(pub Arc<Case>);

impl UserData for LuaCase {}

/// A received message: `msg:topic()`, `msg:from()`, `msg:payload():data()`.
pub(super) struct LuaMessage(pub Message);

impl UserData for LuaMessage {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("topic", |_, this, ()| Ok(this.0.topic.clone()));
        methods.add_method("from", |_, this, ()| Ok(this.0.from.as_ref().map(|p| p.to_string())));
        methods.add_method("payload", |_, this, ()| Ok(LuaPayload(this.0.payload.clone())));
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| Ok(format!("message({})", this.0.topic)));
    }
}

/// A message payload: `:data()` returns the sent value.
pub(super) struct LuaPayload(pub Payload);

impl UserData for LuaPayload {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("data", |lua, this, ()| conv::to_lua(lua, &this.0.to_value()));
    }
}
