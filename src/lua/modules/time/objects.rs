//! The objects of the `time` module (SPEC §5.5, "Objects"): Time (an instant and the location it is shown in),
//! Duration (nanoseconds) and Location (a time zone with Go's name for it). None has arithmetic or comparison
//! metamethods (Wippy's have none); leaving Lua, a Time is RFC 3339 text with nanoseconds and a Duration its
//! nanoseconds (the `__export` metamethod the value conversion looks for).

use std::sync::Arc;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};
use mlua::{Lua, MetaMethod, UserData, UserDataMethods, UserDataRef, Value as LuaValue};

use super::{duration, layout};

/// A time zone and its name (`UTC`, `Local`, `Europe/Berlin`, or a fixed zone's name).
#[derive(Clone)]
pub(crate) struct Location {
    pub(crate) name: Arc<str>,
    pub(crate) tz: TimeZone,
}

impl Location {
    pub(crate) fn utc() -> Location {
        Location { name: "UTC".into(), tz: TimeZone::UTC }
    }

    /// The host's zone (UTC when the system has none).
    pub(crate) fn local() -> Location {
        Location { name: "Local".into(), tz: TimeZone::try_system().unwrap_or(TimeZone::UTC) }
    }
}

impl UserData for Location {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("string", |_, l, ()| Ok(l.name.to_string()));
        methods.add_meta_method(MetaMethod::ToString, |_, l, ()| Ok(l.name.to_string()));
    }
}

/// A Duration object.
#[derive(Clone, Copy)]
pub(crate) struct LuaDuration(pub(crate) i64);

impl UserData for LuaDuration {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("nanoseconds", |_, d, ()| Ok(d.0));
        methods.add_method("microseconds", |_, d, ()| Ok(d.0 / 1_000));
        methods.add_method("milliseconds", |_, d, ()| Ok(d.0 / 1_000_000));
        methods.add_method("seconds", |_, d, ()| Ok(d.0 as f64 / 1e9));
        methods.add_method("minutes", |_, d, ()| Ok(d.0 as f64 / 60e9));
        methods.add_method("hours", |_, d, ()| Ok(d.0 as f64 / 3600e9));
        methods.add_meta_method(MetaMethod::ToString, |_, d, ()| Ok(duration::format(d.0)));
        methods.add_meta_method("__export", |_, d, ()| Ok(d.0));
    }
}

/// A Time object.
#[derive(Clone)]
pub(crate) struct LuaTime {
    pub(crate) ts: Timestamp,
    pub(crate) loc: Location,
}

/// Go's zero time, 0001-01-01 00:00:00 UTC.
fn zero() -> Timestamp {
    Timestamp::from_second(-62_135_596_800).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn bad(e: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::runtime(e.to_string())
}

impl LuaTime {
    pub(crate) fn now() -> LuaTime {
        LuaTime { ts: Timestamp::now(), loc: Location::local() }
    }

    pub(crate) fn zoned(&self) -> Zoned {
        self.ts.to_zoned(self.loc.tz.clone())
    }

    fn with_ts(&self, ts: Timestamp) -> LuaTime {
        LuaTime { ts, loc: self.loc.clone() }
    }

    /// Nanoseconds since the Unix epoch (saturating).
    pub(crate) fn unix_nano(&self) -> i64 {
        self.ts.as_nanosecond().clamp(i64::MIN.into(), i64::MAX.into()) as i64
    }

    /// The instant `ns` nanoseconds later.
    fn plus(&self, ns: i64) -> mlua::Result<LuaTime> {
        Ok(self.with_ts(self.ts.checked_add(SignedDuration::from_nanos(ns)).map_err(bad)?))
    }

    /// Go's `AddDate`: years, months and days added to the civil date, then normalized (Jan 31 + 1 month = Mar 2/3).
    fn add_date(&self, (y, m, d): (i64, i64, i64)) -> mlua::Result<LuaTime> {
        let z = self.zoned();
        let (Some(year), Some(month), Some(day)) = (
            i64::from(z.year()).checked_add(y),
            i64::from(z.month()).checked_add(m),
            i64::from(z.day()).checked_add(d),
        ) else {
            return Err(bad("add_date: the date is out of range"));
        };
        let dt = civil(year, month, day, z.datetime()).map_err(bad)?;
        Ok(self.with_ts(dt.to_zoned(self.loc.tz.clone()).map_err(bad)?.timestamp()))
    }

    /// Go's `Round` (`up`) and `Truncate`: to a multiple of `d` since the Unix epoch (the same as Go's since the
    /// zero time for every `d` that divides a day).
    fn to_multiple(&self, d: i64, up: bool) -> mlua::Result<LuaTime> {
        if d <= 0 {
            return Ok(self.clone());
        }
        let ns = self.ts.as_nanosecond();
        let d = i128::from(d);
        let mut r = ns - ns.rem_euclid(d);
        if up && (ns - r) * 2 >= d {
            r += d;
        }
        Ok(self.with_ts(Timestamp::from_nanosecond(r).map_err(bad)?))
    }
}

/// The civil date-time `year-month-day` at the time of day of `at`, with months and days past their range carried
/// over as Go does.
pub(crate) fn civil(year: i64, month: i64, day: i64, at: DateTime) -> Result<DateTime, String> {
    let out_of_range = || format!("the date {year}-{month}-{day} is out of range");
    let months = i128::from(year) * 12 + i128::from(month) - 1;
    let (y, m) = (months.div_euclid(12), months.rem_euclid(12) + 1);
    let y = i16::try_from(y).map_err(|_| out_of_range())?;
    let first = Date::new(y, m as i8, 1).map_err(|e| e.to_string())?;
    let days = jiff::Span::new().try_days(day.saturating_sub(1)).map_err(|_| out_of_range())?;
    let date = first.checked_add(days).map_err(|_| out_of_range())?;
    Ok(date.to_datetime(at.time()))
}

impl UserData for LuaTime {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("add", |_, t, d: LuaValue| t.plus(duration::arg(&d).map_err(bad)?));
        methods.add_method("sub", |_, t, o: UserDataRef<LuaTime>| {
            let ns = t.ts.as_nanosecond() - o.ts.as_nanosecond();
            Ok(LuaDuration(ns.clamp(i64::MIN.into(), i64::MAX.into()) as i64))
        });
        methods.add_method("add_date", |_, t, ymd: (i64, i64, i64)| t.add_date(ymd));
        methods.add_method("after", |_, t, o: UserDataRef<LuaTime>| Ok(t.ts > o.ts));
        methods.add_method("before", |_, t, o: UserDataRef<LuaTime>| Ok(t.ts < o.ts));
        methods.add_method("equal", |_, t, o: UserDataRef<LuaTime>| Ok(t.ts == o.ts));
        methods.add_method("format", |_, t, l: String| Ok(layout::format(&t.zoned(), &l, &t.loc.name)));
        methods.add_method("format_rfc3339", |_, t, ()| {
            Ok(layout::format(&t.zoned(), "2006-01-02T15:04:05Z07:00", &t.loc.name))
        });
        methods.add_method("unix", |_, t, ()| Ok(t.ts.as_second()));
        methods.add_method("unix_nano", |_, t, ()| Ok(t.unix_nano()));
        methods.add_method("date", |_, t, ()| {
            let z = t.zoned();
            Ok((z.year(), z.month(), z.day()))
        });
        methods.add_method("clock", |_, t, ()| {
            let z = t.zoned();
            Ok((z.hour(), z.minute(), z.second()))
        });
        methods.add_method("year", |_, t, ()| Ok(t.zoned().year()));
        methods.add_method("month", |_, t, ()| Ok(t.zoned().month()));
        methods.add_method("day", |_, t, ()| Ok(t.zoned().day()));
        methods.add_method("hour", |_, t, ()| Ok(t.zoned().hour()));
        methods.add_method("minute", |_, t, ()| Ok(t.zoned().minute()));
        methods.add_method("second", |_, t, ()| Ok(t.zoned().second()));
        methods.add_method("nanosecond", |_, t, ()| Ok(t.zoned().subsec_nanosecond()));
        methods.add_method("weekday", |_, t, ()| Ok(t.zoned().weekday().to_sunday_zero_offset()));
        methods.add_method("year_day", |_, t, ()| Ok(t.zoned().day_of_year()));
        methods.add_method("is_zero", |_, t, ()| Ok(t.ts == zero()));
        methods.add_method("in_location", |_, t, l: UserDataRef<Location>| Ok(LuaTime { ts: t.ts, loc: l.clone() }));
        methods.add_method("location", |_, t, ()| Ok(t.loc.clone()));
        methods.add_method("utc", |_, t, ()| Ok(LuaTime { ts: t.ts, loc: Location::utc() }));
        methods.add_method("in_local", |_, t, ()| Ok(LuaTime { ts: t.ts, loc: Location::local() }));
        methods.add_method("round", |_, t, d: LuaValue| t.to_multiple(duration::arg(&d).map_err(bad)?, true));
        methods.add_method("truncate", |_, t, d: LuaValue| t.to_multiple(duration::arg(&d).map_err(bad)?, false));
        methods.add_meta_method(MetaMethod::ToString, |_, t, ()| {
            Ok(layout::format(&t.zoned(), "2006-01-02 15:04:05.999999999 -0700 MST", &t.loc.name))
        });
        methods.add_meta_method("__export", |_, t, ()| {
            Ok(layout::format(&t.zoned(), "2006-01-02T15:04:05.999999999Z07:00", &t.loc.name))
        });
    }
}

/// A Time object as a Lua value.
pub(crate) fn time_value(lua: &Lua, t: LuaTime) -> mlua::Result<LuaValue> {
    Ok(LuaValue::UserData(lua.create_userdata(t)?))
}
