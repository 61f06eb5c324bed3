//! `process.terminate`, `cancel`, `monitor`, `unmonitor`, `link`, `unlink`, `set_options` and `get_options`.

use mlua::{Lua, Table, Value as LuaValue};

use super::super::duration;
use super::outcome;
use crate::error::ProcessError;
use crate::lua::invocation::current;
use crate::lua::modules::errors::fail;
use crate::process::{Pid, System};
use crate::value::kind;
use crate::value::Value;

/// Adds the functions to `m`.
pub(super) fn add(lua: &Lua, m: &Table) -> mlua::Result<()> {
    m.set(
        "terminate",
        lua.create_function(|lua, pid: String| {
            outcome(lua, current()?.system().terminate_named(&pid, Value::from("terminated")))
        })?,
    )?;
    m.set(
        "cancel",
        lua.create_function(|lua, (pid, timeout): (String, Option<LuaValue>)| {
            let ctx = current()?;
            let timeout = timeout.map(|t| duration(&t)).transpose()?;
            let from = ctx.proc_if_any().map(|p| p.record.pid.clone());
            outcome(lua, ctx.system().cancel(from.as_ref(), &pid, Value::from("cancelled"), timeout))
        })?,
    )?;
    add_monitors_and_links(lua, m)?;
    add_options(lua, m)
}

/// An operation between the calling process and the process `pid`.
type Between = fn(&System, &Pid, &str) -> Result<(), ProcessError>;

fn add_monitors_and_links(lua: &Lua, m: &Table) -> mlua::Result<()> {
    let ops: [(&str, Between); 4] = [
        ("monitor", |s, me, pid| s.monitor(me, pid)),
        ("unmonitor", |s, me, pid| {
            s.unmonitor(me, pid);
            Ok(())
        }),
        ("link", |s, me, pid| s.link(me, pid)),
        ("unlink", |s, me, pid| {
            s.unlink(me, pid);
            Ok(())
        }),
    ];
    for (name, op) in ops {
        m.set(
            name,
            lua.create_function(move |lua, pid: String| {
                let ctx = current()?;
                let me = ctx.proc().record.pid.clone();
                outcome(lua, op(ctx.system(), &me, &pid))
            })?,
        )?;
    }
    Ok(())
}

fn add_options(lua: &Lua, m: &Table) -> mlua::Result<()> {
    m.set(
        "set_options",
        lua.create_function(|lua, opts: LuaValue| {
            let refuse = |why: String| Ok((LuaValue::Boolean(false), fail(lua, kind::INVALID, why)?.1));
            let LuaValue::Table(opts) = opts else {
                return refuse(format!("options must be a table, got a {}", opts.type_name()));
            };
            let mut trap = None;
            for pair in opts.pairs::<LuaValue, LuaValue>() {
                let (k, v) = pair?;
                match (k.to_string()?.as_str(), v) {
                    ("trap_links", LuaValue::Boolean(b)) => trap = Some(b),
                    ("trap_links", other) => {
                        return refuse(format!("option trap_links must be a boolean, got a {}", other.type_name()))
                    }
                    (other, _) => return refuse(format!("option {other} is not supported")),
                }
            }
            let ctx = current()?;
            if let Some(trap) = trap {
                let me = ctx.proc().record.pid.clone();
                ctx.system().set_trap_links(&me, trap);
            }
            Ok((LuaValue::Boolean(true), LuaValue::Nil))
        })?,
    )?;
    m.set(
        "get_options",
        lua.create_function(|lua, ()| {
            let ctx = current()?;
            let me = ctx.proc().record.pid.clone();
            let t = lua.create_table()?;
            t.set("trap_links", ctx.system().trap_links(&me))?;
            Ok(t)
        })?,
    )?;
    Ok(())
}
