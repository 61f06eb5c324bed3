//! The `time` module. Durations are milliseconds (numbers), and every function that takes one also accepts text
//! (`"250ms"`, `"1.5s"`, `"1m"`).
//!
//! `now()` returns a time value (`:unix()`, `:unix_milli()`, `:sub(t)` in ms, `:add(ms)`, comparable, printable);
//! `sleep(d)` waits; `after(d)` returns a channel that receives the time once, after `d`; `timer(d)` is the same
//! with `:channel()`, `:stop()` and `:reset(d)`; `ticker(d)` delivers every `d` until `:stop()`. `parse_duration`,
//! `seconds(n)`, `milliseconds(n)`, `minutes(n)` convert; `NANOSECOND` ... `HOUR` are constants (in ms).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mlua::{Lua, MetaMethod, Table, UserData, UserDataMethods, Value as LuaValue};
use tokio::task::JoinHandle;

use super::{duration, LuaChannel};
use crate::lua::channel::{Chan, Item};
use crate::value::Value;

/// A point in time, in milliseconds since the Unix epoch.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
pub(crate) struct LuaTime(pub f64);

impl LuaTime {
    fn now() -> LuaTime {
        LuaTime(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0))
    }
}

impl UserData for LuaTime {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("unix", |_, t, ()| Ok(t.0 / 1000.0));
        methods.add_method("unix_milli", |_, t, ()| Ok(t.0.floor() as i64));
        methods.add_method("sub", |_, t, other: mlua::UserDataRef<LuaTime>| Ok(t.0 - other.0));
        methods.add_method("add", |_, t, d: LuaValue| Ok(LuaTime(t.0 + duration(&d)?.as_secs_f64() * 1000.0)));
        methods.add_meta_method(MetaMethod::Eq, |_, t, o: mlua::UserDataRef<LuaTime>| Ok(t.0 == o.0));
        methods.add_meta_method(MetaMethod::Lt, |_, t, o: mlua::UserDataRef<LuaTime>| Ok(t.0 < o.0));
        methods.add_meta_method(MetaMethod::Le, |_, t, o: mlua::UserDataRef<LuaTime>| Ok(t.0 <= o.0));
        methods.add_meta_method(MetaMethod::ToString, |_, t, ()| Ok(format!("{:.3}", t.0 / 1000.0)));
    }
}

/// A channel fed by a background task; the task ends with `stop` or when this is dropped.
struct Fed {
    chan: Arc<Chan>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Fed {
    fn new(chan: Arc<Chan>, task: JoinHandle<()>) -> Fed {
        Fed { chan, task: Mutex::new(Some(task)) }
    }

    fn task(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        self.task.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops the task; true if it had not finished yet.
    fn stop(&self) -> bool {
        self.task().take().is_some_and(|h| {
            let pending = !h.is_finished();
            h.abort();
            pending
        })
    }
}

impl Drop for Fed {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A one-shot timer.
pub(crate) struct LuaTimer(Fed);

fn fire_after(chan: &Arc<Chan>, d: Duration) -> JoinHandle<()> {
    let weak = Arc::downgrade(chan);
    crate::lua::invocation::spawn_tracked(async move {
        tokio::time::sleep(d).await;
        if let Some(c) = weak.upgrade() {
            c.push(Item::Value(Value::Float(LuaTime::now().0)));
        }
    })
}

impl UserData for LuaTimer {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("channel", |_, t, ()| Ok(LuaChannel(t.0.chan.clone())));
        methods.add_method("stop", |_, t, ()| Ok(t.0.stop()));
        methods.add_method("reset", |_, t, d: LuaValue| {
            let d = duration(&d)?;
            let mut task = t.0.task();
            if let Some(h) = task.take() {
                h.abort();
            }
            *task = Some(fire_after(&t.0.chan, d));
            Ok(())
        });
    }
}

/// A repeating ticker.
pub(crate) struct LuaTicker(Fed);

impl UserData for LuaTicker {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("channel", |_, t, ()| Ok(LuaChannel(t.0.chan.clone())));
        methods.add_method("stop", |_, t, ()| {
            t.0.stop();
            Ok(())
        });
    }
}

/// Builds the module table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set("now", lua.create_function(|_, ()| Ok(LuaTime::now()))?)?;
    m.set("since", lua.create_function(|_, t: mlua::UserDataRef<LuaTime>| Ok(LuaTime::now().0 - t.0))?)?;
    m.set(
        "sleep",
        lua.create_async_function(|_, d: LuaValue| async move {
            tokio::time::sleep(duration(&d)?).await;
            Ok(())
        })?,
    )?;
    m.set(
        "after",
        lua.create_function(|_, d: LuaValue| {
            let chan = Chan::new(1);
            fire_after(&chan, duration(&d)?);
            Ok(LuaChannel(chan))
        })?,
    )?;
    m.set(
        "timer",
        lua.create_function(|_, d: LuaValue| {
            let chan = Chan::new(1);
            let task = fire_after(&chan, duration(&d)?);
            Ok(LuaTimer(Fed::new(chan, task)))
        })?,
    )?;
    m.set(
        "ticker",
        lua.create_function(|_, d: LuaValue| {
            let period = duration(&d)?;
            if period.is_zero() {
                return Err(mlua::Error::runtime("a ticker needs a period above zero"));
            }
            let chan = Chan::new(1);
            let weak = Arc::downgrade(&chan);
            let task = crate::lua::invocation::spawn_tracked(async move {
                let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    every.tick().await;
                    let Some(c) = weak.upgrade() else { return };
                    // A tick nobody took yet is not doubled (like Go's ticker).
                    let _ = c.try_send(Item::Value(Value::Float(LuaTime::now().0)));
                }
            });
            Ok(LuaTicker(Fed::new(chan, task)))
        })?,
    )?;
    m.set(
        "parse_duration",
        lua.create_function(|_, text: String| {
            crate::duration::parse(&text).map(|d| d.as_secs_f64() * 1000.0).map_err(mlua::Error::runtime)
        })?,
    )?;
    m.set("milliseconds", lua.create_function(|_, n: f64| Ok(n))?)?;
    m.set("seconds", lua.create_function(|_, n: f64| Ok(n * 1000.0))?)?;
    m.set("minutes", lua.create_function(|_, n: f64| Ok(n * 60_000.0))?)?;
    m.set("NANOSECOND", 1e-6)?;
    m.set("MICROSECOND", 1e-3)?;
    m.set("MILLISECOND", 1)?;
    m.set("SECOND", 1000)?;
    m.set("MINUTE", 60_000)?;
    m.set("HOUR", 3_600_000)?;
    Ok(m)
}
