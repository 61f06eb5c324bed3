//! The `funcs` module: calling registry functions (WASM or Lua) from Lua.
//!
//! `funcs.call(id, ...)` returns `result, nil` or `nil, err` (the error is the guest's `err` value for a WASM
//! `result`, the message otherwise). `funcs.async(id, ...)` starts the call and returns a future:
//! `:response()` (a channel that receives the result once), `:is_complete()`, `:result()`, `:error()`, `:cancel()`.
//! Calls run under the caller's security context, one `funcs` level deeper.

use std::sync::{Arc, Mutex};

use mlua::{Lua, MultiValue, Table, UserData, UserDataMethods, Value as LuaValue};
use tokio::task::JoinHandle;

use super::{to_value, LuaChannel};
use crate::error::CallError;
use crate::lua::channel::{Chan, Item};
use crate::lua::invocation::current;
use crate::value::{lua as conv, Value};

fn args(rest: MultiValue) -> mlua::Result<Vec<Value>> {
    rest.iter().enumerate().map(|(i, v)| to_value(v, &format!("argument {}", i + 2))).collect()
}

/// Starts a call from the current invocation.
fn start(
    id: String,
    rest: MultiValue,
) -> mlua::Result<impl std::future::Future<Output = Result<Value, CallError>> + Send> {
    let ctx = current()?;
    let args = args(rest)?;
    let (env, caller) = (ctx.call_env(), ctx.code.id.clone());
    Ok(async move { env.call_nested(&caller, &id, args).await })
}

#[derive(Default)]
struct FutureState {
    done: Option<Result<Value, CallError>>,
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
        methods
            .add_method("is_complete", |_, f, ()| Ok(f.state.lock().unwrap_or_else(|p| p.into_inner()).done.is_some()));
        methods.add_method("result", |lua, f, ()| match &f.state.lock().unwrap_or_else(|p| p.into_inner()).done {
            Some(Ok(v)) => conv::to_lua(lua, v),
            _ => Ok(LuaValue::Nil),
        });
        methods.add_method("error", |lua, f, ()| match &f.state.lock().unwrap_or_else(|p| p.into_inner()).done {
            Some(Err(e)) => conv::to_lua(lua, &e.to_value()),
            _ => Ok(LuaValue::Nil),
        });
        methods.add_method("cancel", |_, f, ()| {
            let pending = !f.task.is_finished();
            f.task.abort();
            if pending {
                f.response.close();
            }
            Ok(pending)
        });
    }
}

/// Builds the module table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set(
        "call",
        lua.create_async_function(|lua, (id, rest): (String, MultiValue)| async move {
            let call = start(id, rest)?;
            match call.await {
                Ok(v) => Ok((conv::to_lua(&lua, &v)?, LuaValue::Nil)),
                Err(e) => Ok((LuaValue::Nil, conv::to_lua(&lua, &e.to_value())?)),
            }
        })?,
    )?;
    m.set(
        "async",
        lua.create_function(|_, (id, rest): (String, MultiValue)| {
            let call = start(id, rest)?;
            let state = Arc::new(Mutex::new(FutureState::default()));
            let response = Chan::new(1);
            let (s, r) = (state.clone(), response.clone());
            let task = crate::lua::invocation::spawn_tracked(async move {
                let result = call.await;
                let item = match &result {
                    Ok(v) => Value::map([("result", v.clone()), ("error", Value::Nil)]),
                    Err(e) => Value::map([("result", Value::Nil), ("error", e.to_value())]),
                };
                s.lock().unwrap_or_else(|p| p.into_inner()).done = Some(result);
                r.push(Item::Value(item));
            });
            Ok(LuaFuture { state, response, task })
        })?,
    )?;
    Ok(m)
}
