//! `process.spawn`, `spawn_monitored`, `spawn_linked` and `spawn_linked_monitored`: `pid | nil, err`; and
//! spawners (`process.with_context(t)`, `process.with_options(t)`, SPEC §5.4 "Spawner"), which spawn under a
//! context of their own: the caller's actor, scope and values, with values merged (explicit wins), actor or scope
//! replaced; every `with_*` returns a new spawner. Options are opaque (kept, not used).

use std::sync::Arc;

use mlua::{AnyUserData, Lua, MultiValue, Table, UserData, UserDataMethods, Value as LuaValue};

use super::super::security::{map_arg, merge_values, set_actor, set_scope};
use super::super::to_value;
use crate::lua::invocation::current;
use crate::lua::modules::errors::fail;
use crate::process::{SpawnOptions, SpawnRequest};
use crate::security::SecurityContext;
use crate::value::{kind, lua as conv, Value};

const KINDS: [(&str, SpawnOptions); 4] = [
    ("spawn", SpawnOptions { monitor: false, link: false }),
    ("spawn_monitored", SpawnOptions { monitor: true, link: false }),
    ("spawn_linked", SpawnOptions { monitor: false, link: true }),
    ("spawn_linked_monitored", SpawnOptions { monitor: true, link: true }),
];

/// Adds the four spawns and the spawner constructors to `m`.
pub(super) fn add(lua: &Lua, m: &Table) -> mlua::Result<()> {
    for (name, opts) in KINDS {
        m.set(
            name,
            lua.create_async_function(
                move |lua, (id, host, rest): (Option<String>, Option<String>, MultiValue)| async move {
                    let (Some(id), Some(host)) = (id, host) else {
                        return fail(&lua, kind::INVALID, "process.spawn needs an entry ID and a host");
                    };
                    spawn_with(lua, opts, None, id, host, rest).await
                },
            )?,
        )?;
    }
    m.set("with_context", lua.create_function(|_, t: LuaValue| Spawner::new()?.with_context(&t))?)?;
    m.set("with_options", lua.create_function(|_, t: LuaValue| Spawner::new()?.with_options(&t))?)?;
    Ok(())
}

/// Spawns `id` on `host` from the current invocation, under `context` (the caller's when `None`).
async fn spawn_with(
    lua: Lua,
    opts: SpawnOptions,
    context: Option<Arc<SecurityContext>>,
    id: String,
    host: String,
    rest: MultiValue,
) -> mlua::Result<(LuaValue, LuaValue)> {
    let ctx = current()?;
    let args: Vec<Value> = rest
        .iter()
        .enumerate()
        .map(|(i, v)| to_value(v, &format!("argument {}", i + 3)))
        .collect::<mlua::Result<_>>()?;
    let parent = (opts.monitor || opts.link).then(|| ctx.proc().record.pid.clone());
    let context = context.unwrap_or_else(|| ctx.env.context.clone());
    let mut req = SpawnRequest::new(&id, &host, args, context);
    if let Some(parent) = &parent {
        req = req.child_of(parent, opts);
    }
    match ctx.system().spawn_anywhere(req).await {
        Ok(pid) => Ok((LuaValue::String(lua.create_string(pid.as_str())?), LuaValue::Nil)),
        Err(e) => Ok((LuaValue::Nil, conv::to_lua(&lua, &e.to_error_value())?)),
    }
}

/// A spawner.
#[derive(Clone)]
struct Spawner {
    context: SecurityContext,
}

impl Spawner {
    fn new() -> mlua::Result<Spawner> {
        Ok(Spawner { context: (*current()?.env.context).clone() })
    }

    fn with_context(&self, t: &LuaValue) -> mlua::Result<Spawner> {
        let mut next = self.clone();
        merge_values(&mut next.context, t)?;
        Ok(next)
    }

    fn with_options(&self, t: &LuaValue) -> mlua::Result<Spawner> {
        map_arg(t, "options")?;
        Ok(self.clone())
    }
}

impl UserData for Spawner {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("with_context", |_, s, t: LuaValue| s.with_context(&t));
        methods.add_method("with_options", |_, s, t: LuaValue| s.with_options(&t));
        methods.add_method("with_actor", |_, s, a: LuaValue| {
            let mut next = s.clone();
            set_actor(&mut next.context, &a)?;
            Ok(next)
        });
        methods.add_method("with_scope", |_, s, v: LuaValue| {
            let mut next = s.clone();
            set_scope(&mut next.context, &v)?;
            Ok(next)
        });
        for (name, opts) in KINDS {
            methods.add_async_function(
                name,
                move |lua, (this, id, host, rest): (AnyUserData, String, String, MultiValue)| async move {
                    let context = Arc::new(this.borrow::<Spawner>()?.context.clone());
                    spawn_with(lua, opts, Some(context), id, host, rest).await
                },
            );
        }
    }
}
