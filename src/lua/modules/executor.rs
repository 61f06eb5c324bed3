//! Executors (`funcs.new()`, SPEC §5.3 "Executor"): immutable call settings. `with_context(t)` merges values over
//! the inherited request context (explicit wins), `with_actor(a)` and `with_scope(s)` set who the callee acts for
//! (raising for anything but an Actor or Scope from `security`), `with_options(t)` replaces the options (of which
//! `timeout`, a duration, is honoured); each returns a new executor. `ex:call` and `ex:async` are `funcs.call` and
//! `funcs.async` under those settings. An executor starts from the context of the invocation that made it.

use std::sync::Arc;
use std::time::Duration;

use mlua::{AnyUserData, MultiValue, UserData, UserDataMethods, Value as LuaValue};

use super::funcs::{async_with, call_with, CallSettings};
use super::security::{map_arg, merge_values, set_actor, set_scope};
use crate::lua::invocation::current;
use crate::security::SecurityContext;
use crate::value::Value;

/// An executor.
#[derive(Clone)]
pub(crate) struct Executor {
    context: SecurityContext,
    timeout: Option<Duration>,
}

impl Executor {
    /// An executor with the current invocation's context.
    pub(crate) fn new() -> mlua::Result<Executor> {
        Ok(Executor { context: (*current()?.env.context).clone(), timeout: None })
    }

    fn settings(&self) -> CallSettings {
        CallSettings { context: Some(Arc::new(self.context.clone())), timeout: self.timeout }
    }
}

/// The `timeout` option in nanoseconds: a number, Go's duration text, or a Duration (which left Lua as a number).
fn timeout_ns(v: &Value) -> mlua::Result<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Float(f) => Ok(*f as i64),
        Value::Str(s) => super::time::parse_duration_text(s).map_err(mlua::Error::runtime),
        other => Err(mlua::Error::runtime(format!("option timeout must be a duration, got a {}", other.type_name()))),
    }
}

impl UserData for Executor {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("with_context", |_, ex, t: LuaValue| {
            let mut next = ex.clone();
            merge_values(&mut next.context, &t)?;
            Ok((next, LuaValue::Nil))
        });
        methods.add_method("with_actor", |_, ex, a: LuaValue| {
            let mut next = ex.clone();
            set_actor(&mut next.context, &a)?;
            Ok(next)
        });
        methods.add_method("with_scope", |_, ex, s: LuaValue| {
            let mut next = ex.clone();
            set_scope(&mut next.context, &s)?;
            Ok(next)
        });
        methods.add_method("with_options", |_, ex, t: LuaValue| {
            let options = map_arg(&t, "options")?;
            let timeout = match options.get("timeout") {
                None => None,
                Some(v) => Some(Duration::from_nanos(timeout_ns(v)?.max(0) as u64)),
            };
            Ok(Executor { timeout, ..ex.clone() })
        });
        methods.add_async_function("call", |lua, (this, id, rest): (AnyUserData, String, MultiValue)| async move {
            let settings = this.borrow::<Executor>()?.settings();
            call_with(lua, settings, id, rest).await
        });
        methods.add_function("async", |lua, (this, id, rest): (AnyUserData, String, MultiValue)| {
            let settings = this.borrow::<Executor>()?.settings();
            async_with(lua, &settings, id, rest)
        });
    }
}
