//! The `security` module (SPEC §5.10): the actor and scope the invocation runs under, new ones for executors and
//! spawners to pass on, and `can`, which allows everything until policies are evaluated (Wippy's non-strict
//! default when the actor or scope is missing; no policy is enforced yet).

use mlua::{Lua, MultiValue, Table, UserData, UserDataMethods, Value as LuaValue};

use crate::lua::invocation::current;
use crate::security::SecurityContext;
use crate::value::{lua as conv, Map, Value};

/// An actor: `actor:id()`, `actor:meta()`.
#[derive(Clone)]
pub(crate) struct LuaActor {
    pub(crate) id: String,
    pub(crate) meta: Map,
}

impl UserData for LuaActor {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("id", |_, a, ()| Ok(a.id.clone()));
        methods.add_method("meta", |lua, a, ()| conv::to_lua(lua, &Value::Map(a.meta.clone())));
        methods.add_meta_method(mlua::MetaMethod::ToString, |_, a, ()| Ok(format!("actor({})", a.id)));
    }
}

/// A scope: `scope:policies()`.
#[derive(Clone)]
pub(crate) struct LuaScope {
    pub(crate) name: String,
    pub(crate) policies: Vec<Value>,
}

impl UserData for LuaScope {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("policies", |lua, s, ()| conv::to_lua(lua, &Value::List(s.policies.clone())));
        methods.add_meta_method(mlua::MetaMethod::ToString, |_, s, ()| Ok(format!("scope({})", s.name)));
    }
}

/// A table argument as a map (`nil` is empty); `what` names it in errors.
pub(crate) fn map_arg(v: &LuaValue, what: &str) -> mlua::Result<Map> {
    match conv::from_lua(v, what).map_err(mlua::Error::runtime)? {
        Value::Map(m) => Ok(m),
        Value::Nil => Ok(Map::new()),
        Value::List(l) if l.is_empty() => Ok(Map::new()),
        other => {
            Err(mlua::Error::runtime(format!("{what} must be a table with string keys, got a {}", other.type_name())))
        }
    }
}

/// Sets the actor of `context` from an Actor object; anything else raises.
pub(crate) fn set_actor(context: &mut SecurityContext, v: &LuaValue) -> mlua::Result<()> {
    let actor: LuaActor = object(v, "an Actor")?;
    context.actor = Some(actor.id);
    context.actor_meta = actor.meta;
    Ok(())
}

/// Sets the scope of `context` from a Scope object; anything else raises.
pub(crate) fn set_scope(context: &mut SecurityContext, v: &LuaValue) -> mlua::Result<()> {
    let scope: LuaScope = object(v, "a Scope")?;
    context.scope = Some(scope.name);
    context.policies = scope.policies;
    Ok(())
}

/// Merges the string-keyed values of table `t` over the request context of `context`.
pub(crate) fn merge_values(context: &mut SecurityContext, t: &LuaValue) -> mlua::Result<()> {
    for (k, v) in map_arg(t, "context")? {
        context.request.insert(k, v);
    }
    Ok(())
}

/// The Actor or Scope in `v`, or a raised error naming what was expected.
fn object<T: Clone + 'static>(v: &LuaValue, what: &str) -> mlua::Result<T> {
    match v {
        LuaValue::UserData(u) => u.borrow::<T>().map(|t| t.clone()).map_err(|_| {
            mlua::Error::runtime(format!("expected {what} (from the security module), got another userdata"))
        }),
        other => {
            Err(mlua::Error::runtime(format!("expected {what} (from the security module), got {}", other.type_name())))
        }
    }
}

/// Builds the module table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.raw_set(
        "actor",
        lua.create_function(|_, ()| {
            let ctx = current()?;
            let c = &ctx.env.context;
            Ok(c.actor.clone().map(|id| LuaActor { id, meta: c.actor_meta.clone() }))
        })?,
    )?;
    m.raw_set(
        "scope",
        lua.create_function(|_, ()| {
            let ctx = current()?;
            let c = &ctx.env.context;
            Ok(c.scope.clone().map(|name| LuaScope { name, policies: c.policies.clone() }))
        })?,
    )?;
    m.raw_set(
        "new_actor",
        lua.create_function(|_, (id, meta): (String, LuaValue)| Ok(LuaActor { id, meta: map_arg(&meta, "meta")? }))?,
    )?;
    m.raw_set(
        "new_scope",
        lua.create_function(|_, policies: LuaValue| {
            let policies = match conv::from_lua(&policies, "policies").map_err(mlua::Error::runtime)? {
                Value::List(l) => l,
                Value::Nil => Vec::new(),
                Value::Map(m) if m.is_empty() => Vec::new(),
                other => vec![other],
            };
            Ok(LuaScope { name: String::new(), policies })
        })?,
    )?;
    // No policy is evaluated yet: every check passes (SPEC §5.10).
    m.raw_set("can", lua.create_function(|_, _: MultiValue| Ok(true))?)?;
    Ok(m)
}
