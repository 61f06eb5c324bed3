//! The `time` module (SPEC §5.5): Time, Duration and Location objects, timers and tickers, Go layouts.
//!
//! Durations are nanoseconds ([`duration::arg`]: a number, Go's text, or a Duration object). `now()` is a Time in
//! the host's zone; `sleep(D)` suspends only the calling coroutine (`D <= 0` returns at once); `after(D)` is a
//! channel that receives one Time and closes; `timer(D)` a channel that receives a Time when it fires (left open,
//! so `reset` can fire it again) with `stop` and `reset`; `ticker(D)` a channel
//! of Times (buffer 16; ticks are dropped while the reader lags, as Go's ticker does). Timers and tickers are
//! tracked by the invocation and stop when it ends. Bad durations give `nil, err` (INVALID) where the SPEC says
//! so, and raise in `reset`.

mod duration;
mod layout;
mod objects;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;
use mlua::{Lua, Table, UserData, UserDataMethods, Value as LuaValue};
use tokio::task::JoinHandle;

use super::errors::fail;
use super::LuaChannel;
use crate::lua::channel::{Chan, Item};
use crate::value::kind;
pub(crate) use duration::{arg as duration_arg, parse as parse_duration_text};
pub(crate) use objects::{time_value, Location, LuaDuration, LuaTime};

/// How many ticks a ticker's channel holds before it drops them.
pub(crate) const TICKER_BUFFER: usize = 16;

/// A positive duration argument, or the INVALID error text.
fn positive(v: &LuaValue) -> Result<Duration, String> {
    match duration::arg(v)? {
        ns if ns <= 0 => Err(format!("duration must be positive, got {}", duration::format(ns))),
        ns => Ok(Duration::from_nanos(ns as u64)),
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

/// Sends the time once after `d` (then closes the channel when `close`: `time.after`; a timer's channel stays open
/// for `reset`).
fn fire_after(chan: &Arc<Chan>, d: Duration, close: bool) -> JoinHandle<()> {
    let weak = Arc::downgrade(chan);
    crate::lua::invocation::spawn_tracked(async move {
        tokio::time::sleep(d).await;
        if let Some(c) = weak.upgrade() {
            c.push(Item::Time(Timestamp::now()));
            if close {
                c.close();
            }
        }
    })
}

/// A one-shot timer.
struct LuaTimer(Fed);

impl UserData for LuaTimer {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("channel", |_, t, ()| Ok(LuaChannel(t.0.chan.clone())));
        methods.add_method("response", |_, t, ()| Ok(LuaChannel(t.0.chan.clone())));
        methods.add_method("stop", |_, t, ()| Ok(t.0.stop()));
        methods.add_method("reset", |_, t, d: LuaValue| {
            let d = positive(&d).map_err(mlua::Error::runtime)?;
            let mut task = t.0.task();
            if let Some(h) = task.take() {
                h.abort();
            }
            *task = Some(fire_after(&t.0.chan, d, false));
            Ok(true)
        });
    }
}

/// A repeating ticker.
struct LuaTicker(Fed);

impl UserData for LuaTicker {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("channel", |_, t, ()| Ok(LuaChannel(t.0.chan.clone())));
        methods.add_method("response", |_, t, ()| Ok(LuaChannel(t.0.chan.clone())));
        methods.add_method("stop", |_, t, ()| {
            t.0.stop();
            Ok(true)
        });
    }
}

fn ticker(period: Duration) -> LuaTicker {
    let chan = Chan::new(TICKER_BUFFER);
    let weak = Arc::downgrade(&chan);
    let task = crate::lua::invocation::spawn_tracked(async move {
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            every.tick().await;
            let Some(c) = weak.upgrade() else { return };
            // A full channel drops the tick (Go's ticker does the same).
            let _ = c.try_send(Item::Time(Timestamp::now()));
        }
    });
    LuaTicker(Fed::new(chan, task))
}

type Out = mlua::Result<(LuaValue, LuaValue)>;

fn ok(lua: &Lua, v: impl mlua::IntoLua) -> Out {
    Ok((v.into_lua(lua)?, LuaValue::Nil))
}

fn add_timers(lua: &Lua, m: &Table) -> mlua::Result<()> {
    m.raw_set("now", lua.create_function(|_, ()| Ok(LuaTime::now()))?)?;
    m.raw_set(
        "sleep",
        lua.create_async_function(|lua, d: LuaValue| async move {
            match duration::arg(&d) {
                Err(why) => fail(&lua, kind::INVALID, why),
                Ok(ns) => {
                    if ns > 0 {
                        tokio::time::sleep(Duration::from_nanos(ns as u64)).await;
                    }
                    Ok((LuaValue::Nil, LuaValue::Nil))
                }
            }
        })?,
    )?;
    m.raw_set(
        "after",
        lua.create_function(|lua, d: LuaValue| match positive(&d) {
            Err(why) => fail(lua, kind::INVALID, why),
            Ok(d) => {
                crate::lua::invocation::task_room()?;
                let chan = Chan::new(1);
                fire_after(&chan, d, true);
                ok(lua, LuaChannel(chan))
            }
        })?,
    )?;
    m.raw_set(
        "timer",
        lua.create_function(|lua, d: LuaValue| match positive(&d) {
            Err(why) => fail(lua, kind::INVALID, why),
            Ok(d) => {
                crate::lua::invocation::task_room()?;
                let chan = Chan::new(1);
                let task = fire_after(&chan, d, false);
                ok(lua, LuaTimer(Fed::new(chan, task)))
            }
        })?,
    )?;
    m.raw_set(
        "ticker",
        lua.create_function(|lua, d: LuaValue| match positive(&d) {
            Err(why) => fail(lua, kind::INVALID, why),
            Ok(d) => {
                crate::lua::invocation::task_room()?;
                ok(lua, ticker(d))
            }
        })?,
    )?;
    Ok(())
}

/// `time.date(y, mo, d, h, mi, s, ns, loc?)`: Go's `time.Date`, out-of-range fields carried over.
fn date(_: &Lua, a: (i64, i64, i64, i64, i64, i64, i64, Option<mlua::UserDataRef<Location>>)) -> mlua::Result<LuaTime> {
    let (y, mo, d, h, mi, s, ns, loc) = a;
    let loc = loc.map_or_else(Location::local, |l| l.clone());
    let midnight = jiff::civil::DateTime::constant(2000, 1, 1, 0, 0, 0, 0);
    let day = objects::civil(y, mo, d, midnight).map_err(mlua::Error::runtime)?;
    let offset = jiff::SignedDuration::from_nanos(
        h.saturating_mul(3_600_000_000_000)
            .saturating_add(mi.saturating_mul(60_000_000_000))
            .saturating_add(s.saturating_mul(1_000_000_000))
            .saturating_add(ns),
    );
    let at = day.checked_add(offset).map_err(|e| mlua::Error::runtime(e.to_string()))?;
    let z = at.to_zoned(loc.tz.clone()).map_err(|e| mlua::Error::runtime(e.to_string()))?;
    Ok(LuaTime { ts: z.timestamp(), loc })
}

fn add_constructors(lua: &Lua, m: &Table) -> mlua::Result<()> {
    m.raw_set("date", lua.create_function(date)?)?;
    m.raw_set(
        "unix",
        lua.create_function(|_, (sec, nsec): (i64, Option<i64>)| {
            let ns = i128::from(sec) * 1_000_000_000 + i128::from(nsec.unwrap_or(0));
            let ts = Timestamp::from_nanosecond(ns).map_err(|e| mlua::Error::runtime(e.to_string()))?;
            Ok(LuaTime { ts, loc: Location::local() })
        })?,
    )?;
    m.raw_set(
        "parse",
        lua.create_function(|lua, (l, text, loc): (String, String, Option<mlua::UserDataRef<Location>>)| {
            let loc = loc.map_or_else(Location::utc, |l| l.clone());
            match layout::parse(&l, &text, &loc.tz) {
                Ok(z) => {
                    let same = z.time_zone() == &loc.tz;
                    let loc = if same {
                        loc
                    } else {
                        let name = layout::abbreviation(&z, "");
                        Location { name: name.into(), tz: z.time_zone().clone() }
                    };
                    ok(lua, LuaTime { ts: z.timestamp(), loc })
                }
                Err(why) => fail(lua, kind::INVALID, why),
            }
        })?,
    )?;
    m.raw_set(
        "parse_duration",
        lua.create_function(|lua, v: LuaValue| match duration::arg(&v) {
            Ok(ns) => ok(lua, LuaDuration(ns)),
            Err(why) => fail(lua, kind::INVALID, why),
        })?,
    )?;
    m.raw_set(
        "load_location",
        lua.create_function(|lua, name: String| match name.as_str() {
            "" => fail(lua, kind::INVALID, "location name is empty"),
            "UTC" => ok(lua, Location::utc()),
            "Local" => ok(lua, Location::local()),
            _ => match jiff::tz::db().get(&name) {
                Ok(tz) => ok(lua, Location { name: name.as_str().into(), tz }),
                Err(_) => fail(lua, kind::NOT_FOUND, format!("unknown time zone {name}")),
            },
        })?,
    )?;
    m.raw_set(
        "fixed_zone",
        lua.create_function(|_, (name, secs): (String, i32)| {
            let offset = Offset::from_seconds(secs).map_err(|e| mlua::Error::runtime(e.to_string()))?;
            Ok(Location { name: name.into(), tz: TimeZone::fixed(offset) })
        })?,
    )?;
    m.raw_set(
        "since",
        lua.create_function(|_, t: mlua::UserDataRef<LuaTime>| {
            let ns = Timestamp::now().as_nanosecond() - t.ts.as_nanosecond();
            Ok(LuaDuration(ns.clamp(i64::MIN.into(), i64::MAX.into()) as i64))
        })?,
    )?;
    Ok(())
}

const LAYOUTS: &[(&str, &str)] = &[
    ("RFC3339", "2006-01-02T15:04:05Z07:00"),
    ("RFC3339NANO", "2006-01-02T15:04:05.999999999Z07:00"),
    ("RFC822", "02 Jan 06 15:04 MST"),
    ("RFC822Z", "02 Jan 06 15:04 -0700"),
    ("RFC850", "Monday, 02-Jan-06 15:04:05 MST"),
    ("RFC1123", "Mon, 02 Jan 2006 15:04:05 MST"),
    ("RFC1123Z", "Mon, 02 Jan 2006 15:04:05 -0700"),
    ("KITCHEN", "3:04PM"),
    ("STAMP", "Jan _2 15:04:05"),
    ("STAMP_MILLI", "Jan _2 15:04:05.000"),
    ("STAMP_MICRO", "Jan _2 15:04:05.000000"),
    ("STAMP_NANO", "Jan _2 15:04:05.000000000"),
    ("DATE_TIME", "2006-01-02 15:04:05"),
    ("DATE_ONLY", "2006-01-02"),
    ("TIME_ONLY", "15:04:05"),
];

const UNITS: &[(&str, i64)] = &[
    ("NANOSECOND", 1),
    ("MICROSECOND", 1_000),
    ("MILLISECOND", 1_000_000),
    ("SECOND", 1_000_000_000),
    ("MINUTE", 60_000_000_000),
    ("HOUR", 3_600_000_000_000),
];

fn add_constants(lua: &Lua, m: &Table) -> mlua::Result<()> {
    for (name, value) in LAYOUTS {
        m.raw_set(*name, *value)?;
    }
    for (name, ns) in UNITS {
        m.raw_set(*name, *ns)?;
    }
    let months = ["JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE", "JULY", "AUGUST", "SEPTEMBER", "OCTOBER"];
    for (i, name) in months.iter().chain(["NOVEMBER", "DECEMBER"].iter()).enumerate() {
        m.raw_set(*name, i as i64 + 1)?;
    }
    for (i, name) in ["SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"].iter().enumerate() {
        m.raw_set(*name, i as i64)?;
    }
    m.raw_set("utc", Location::utc())?;
    m.raw_set("localtz", Location::local())?;
    // [ours, seed] whole units as integer nanoseconds.
    let scaled = |lua: &Lua, per: i64| lua.create_function(move |_, n: f64| Ok((n * per as f64) as i64));
    m.raw_set("milliseconds", scaled(lua, 1_000_000)?)?;
    m.raw_set("seconds", scaled(lua, 1_000_000_000)?)?;
    m.raw_set("minutes", scaled(lua, 60_000_000_000)?)?;
    Ok(())
}

/// Builds the module table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    add_timers(lua, &m)?;
    add_constructors(lua, &m)?;
    add_constants(lua, &m)?;
    Ok(m)
}
