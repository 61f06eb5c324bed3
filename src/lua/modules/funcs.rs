//! The `funcs` module: calling registry functions (WASM or Lua) from Lua (SPEC §5.3).
//!
//! `funcs.call(id, ...)` returns `result, nil` or `nil, err` (the error is the guest's `err` value for a WASM
//! `result`, the message otherwise). `funcs.async(id, ...)` starts the call and returns a future, or `nil, err` for
//! a malformed ID: `:response()` and `:channel()` (the same channel, which receives one item: a payload on success,
//! the error on failure), `:is_complete()`, `:is_canceled()`, `:result()` (`payload, nil`; `nil, nil` while
//! pending; `nil, err` once failed or canceled), `:error()` (`err, true` or `nil, false`) and `:cancel()` (`true`).
//! Calls run under the caller's security context, one `funcs` level deeper.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mlua::{Lua, MultiValue, Table, UserData, UserDataMethods, Value as LuaValue};
use tokio::task::JoinHandle;

use super::errors::fail;
use super::{to_value, LuaChannel, LuaPayload};
use crate::error::CallError;
use crate::lua::channel::{Chan, Item};
use crate::lua::invocation::current;
use crate::process::Payload;
use crate::security::SecurityContext;
use crate::value::{kind, lua as conv, ErrorValue, Value};

fn args(rest: MultiValue) -> mlua::Result<Vec<Value>> {
    rest.iter().enumerate().map(|(i, v)| to_value(v, &format!("argument {}", i + 2))).collect()
}

/// What an executor (`funcs.new()`, SPEC §5.3) changes about the calls it makes: the security context they run
/// under and a timeout.
#[derive(Clone, Default)]
pub(crate) struct CallSettings {
    /// The context the callee gets instead of the caller's.
    pub(crate) context: Option<Arc<SecurityContext>>,
    /// A deadline this long after the call starts (the caller's own deadline still applies).
    pub(crate) timeout: Option<Duration>,
}

/// Starts a call from the current invocation.
fn start(
    id: String,
    rest: MultiValue,
    settings: &CallSettings,
) -> mlua::Result<impl std::future::Future<Output = Result<Value, CallError>> + Send> {
    let ctx = current()?;
    let args = args(rest)?;
    let (mut env, caller) = (ctx.call_env(), ctx.code.id.clone());
    if let Some(c) = &settings.context {
        env.context = c.clone();
    }
    if let Some(t) = settings.timeout {
        let own = Instant::now() + t;
        env.deadline = Some(env.deadline.map_or(own, |d| d.min(own)));
    }
    Ok(async move { env.call_nested(&caller, &id, args).await })
}

/// Why a function ID cannot name a function, as Wippy words it.
fn malformed(id: &str) -> Option<&'static str> {
    match id.split_once(':') {
        _ if id.is_empty() => Some("function ID required"),
        None => Some("namespace required in function ID"),
        Some((_, "")) => Some("name required in function ID"),
        Some(_) => None,
    }
}

#[derive(Default)]
struct FutureState {
    done: Option<Result<Value, CallError>>,
    canceled: bool,
}

/// `nil, err` for a Lua caller.
fn failure(lua: &Lua, e: &CallError) -> mlua::Result<(LuaValue, LuaValue)> {
    Ok((LuaValue::Nil, conv::to_lua(lua, &e.to_error_value())?))
}

/// A call in flight.
pub(crate) struct LuaFuture {
    state: Arc<Mutex<FutureState>>,
    response: Arc<Chan>,
    task: JoinHandle<()>,
}

impl UserData for LuaFuture {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("response", |_, f, ()| Ok(LuaChannel(f.response.clone())));
        methods.add_method("channel", |_, f, ()| Ok(LuaChannel(f.response.clone())));
        methods.add_method("is_complete", |_, f, ()| Ok(f.lock().done.is_some()));
        methods.add_method("is_canceled", |_, f, ()| Ok(f.lock().canceled));
        methods.add_method("result", |lua, f, ()| {
            let state = f.lock();
            match &state.done {
                Some(Ok(v)) => Ok((
                    LuaValue::UserData(lua.create_userdata(LuaPayload::new(Payload::Value(v.clone())))?),
                    LuaValue::Nil,
                )),
                Some(Err(e)) => failure(lua, e),
                None if state.canceled => fail(lua, kind::CANCELED, "canceled"),
                None => Ok((LuaValue::Nil, LuaValue::Nil)),
            }
        });
        methods.add_method("error", |lua, f, ()| match &f.lock().done {
            // Wippy's `error()` reports any failure as INTERNAL "async call failed: ...".
            Some(Err(e)) => {
                let inner = match e.to_error_value() {
                    Value::Error(inner) => *inner,
                    other => ErrorValue::new(other.to_string()),
                };
                let e = ErrorValue { kind: kind::INTERNAL.to_owned(), ..inner }.wrapped("async call failed");
                Ok((conv::to_lua(lua, &e.into())?, true))
            }
            _ => Ok((LuaValue::Nil, false)),
        });
        methods.add_method("cancel", |_, f, ()| {
            let pending = !f.task.is_finished();
            f.task.abort();
            if pending {
                f.lock().canceled = true;
                f.response.close();
            }
            Ok((true, LuaValue::Nil))
        });
    }
}

impl LuaFuture {
    fn lock(&self) -> std::sync::MutexGuard<'_, FutureState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `funcs.call` (or an executor's `call`): `v, nil` or `nil, err`.
pub(crate) async fn call_with(lua: Lua, settings: CallSettings, id: String, rest: MultiValue) -> Out {
    if let Some(why) = malformed(&id) {
        return fail(&lua, kind::INVALID, why);
    }
    let call = start(id, rest, &settings)?;
    match call.await {
        Ok(v) => Ok((conv::to_lua(&lua, &v)?, LuaValue::Nil)),
        Err(e) => failure(&lua, &e),
    }
}

/// `funcs.async` (or an executor's `async`): a future, or `nil, err`.
pub(crate) fn async_with(lua: &Lua, settings: &CallSettings, id: String, rest: MultiValue) -> Out {
    if let Some(why) = malformed(&id) {
        return fail(lua, kind::INVALID, why);
    }
    crate::lua::invocation::task_room()?;
    let call = start(id, rest, settings)?;
    let state = Arc::new(Mutex::new(FutureState::default()));
    let response = Chan::new(1);
    let (s, r) = (state.clone(), response.clone());
    let task = crate::lua::invocation::spawn_tracked(async move {
        let result = call.await;
        let item = match &result {
            Ok(v) => Item::Payload(Payload::Value(v.clone())),
            Err(e) => Item::Value(e.to_error_value()),
        };
        s.lock().unwrap_or_else(|p| p.into_inner()).done = Some(result);
        r.push(item);
        r.close();
    });
    Ok((LuaValue::UserData(lua.create_userdata(LuaFuture { state, response, task })?), LuaValue::Nil))
}

type Out = mlua::Result<(LuaValue, LuaValue)>;

/// Builds the module table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set(
        "call",
        lua.create_async_function(|lua, (id, rest): (String, MultiValue)| {
            call_with(lua, CallSettings::default(), id, rest)
        })?,
    )?;
    m.set(
        "async",
        lua.create_function(|lua, (id, rest): (String, MultiValue)| {
            async_with(lua, &CallSettings::default(), id, rest)
        })?,
    )?;
    m.set("new", lua.create_function(|_, ()| super::executor::Executor::new())?)?;
    Ok(m)
}
