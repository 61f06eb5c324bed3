//! The built-in Lua modules, one file each, and the userdata types they share.
//!
//! A module's table is built in a state the first time an invocation there asks for it ([`get`]), kept for the
//! state's later invocations, and handed out as a read-only proxy; its functions find the calling invocation
//! through [`super::invocation::current`].

pub(super) mod channel;
pub(super) mod ctx;
pub(super) mod env;
pub(crate) mod errors;
pub(crate) mod events;
pub(super) mod executor;
pub(super) mod funcs;
pub(crate) mod json;
pub(super) mod logger;
pub(crate) mod payload;
pub(super) mod process;
pub(super) mod security;
pub(super) mod time;
pub(super) mod uuid;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mlua::{AnyUserData, Lua, MetaMethod, Table, UserData, UserDataMethods, Value as LuaValue};

use super::channel::{Case, Chan, Item};
use crate::process::Message;
use crate::value::lua as conv;
pub(crate) use payload::LuaPayload;

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
        "errors" => ("errors", errors::module(lua)?),
        "json" => ("json", json::module(lua)?),
        "uuid" => ("uuid", uuid::module(lua)?),
        "env" => ("env", env::module(lua)?),
        "logger" => ("logger", logger::module(lua)?),
        "payload" => ("payload", payload::module(lua)?),
        "security" => ("security", security::module(lua)?),
        "ctx" => ("ctx", ctx::module(lua)?),
        "events" => ("events", events::module(lua)?),
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
        Item::Payload(p) => LuaValue::UserData(lua.create_userdata(LuaPayload::new(p))?),
        Item::Event(e) => conv::to_lua(lua, &event_value(&e))?,
        Item::Time(ts) => time::time_value(lua, time::LuaTime { ts, loc: time::Location::local() })?,
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
            let error = x.error.as_ref().map_or(Value::Nil, error_object);
            m.insert("result".into(), Value::map([("value", x.value.clone()), ("error", error)]));
            m.insert("value".into(), x.value.clone());
            m.insert("at".into(), seconds(x.at));
        }
        Event::LinkDown { error, .. } => {
            m.insert("result".into(), Value::map([("value", Value::Nil), ("error", error_object(error))]));
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

/// The error of an EXIT or LINK_DOWN as Lua sees it: an error object (the host's text as one, CANCELED for a
/// termination or cancellation, INTERNAL otherwise), or the data a process raised.
fn error_object(e: &crate::value::Value) -> crate::value::Value {
    use crate::value::{kind, ErrorValue, Value};
    match e {
        Value::Str(s) => {
            let k = if s == "terminated" || s.contains("cancelled") { kind::CANCELED } else { kind::INTERNAL };
            ErrorValue::new(s.clone()).with_kind(k).into()
        }
        other => other.clone(),
    }
}

/// A duration argument (SPEC §5.5): nanoseconds as a number, Go's text like `250ms`, or a Duration object;
/// negative durations count as zero.
pub(super) fn duration(v: &LuaValue) -> mlua::Result<Duration> {
    let ns = time::duration_arg(v).map_err(mlua::Error::runtime)?;
    Ok(Duration::from_nanos(ns.max(0) as u64))
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
        // The channel is taken out of the userdata before waiting: another coroutine of the invocation may use
        // the same channel meanwhile (a borrow held across the wait would refuse it).
        methods.add_async_function("send", |lua, (this, v): (AnyUserData, LuaValue)| async move {
            let chan = this.borrow::<LuaChannel>()?.0.clone();
            let _wait = crate::lua::invocation::local_wait(&lua, chan.is_local());
            chan.send(Item::Lua(v)).await.map_err(|_| mlua::Error::runtime("send on closed channel"))?;
            Ok(true)
        });
        methods.add_async_function("receive", |lua, this: AnyUserData| async move {
            let chan = this.borrow::<LuaChannel>()?.0.clone();
            let _wait = crate::lua::invocation::local_wait(&lua, chan.is_local());
            match chan.receive().await {
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
        // A message from no process (the host, a Rust client without a PID) is from `""` (SPEC §5.19).
        methods.add_method("from", |_, this, ()| Ok(this.0.from.as_ref().map(|p| p.to_string()).unwrap_or_default()));
        methods.add_method("payload", |_, this, ()| Ok(LuaPayload::new(this.0.payload.clone())));
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| Ok(format!("message({})", this.0.topic)));
    }
}
