//! Go's time layouts (SPEC §5.5): a layout is an example of the reference time `Mon Jan 2 15:04:05 MST 2006`, and
//! each part of it stands for that field (`2006` the year, `01` the zero-padded month, `.000` milliseconds, `Z07:00`
//! the offset or `Z`, ...). [`tokens`] splits a layout the way Go's `nextStdChunk` does; [`format`] writes a time
//! with it, [`parse`] reads one (with Go's rules: fixed-width numbers where the layout pads, names in any case,
//! a fraction after the seconds even when the layout has none, UTC when the text has no zone).

use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};
use jiff::Zoned;

/// One element of a layout.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Lit(String),
    Year4,
    Year2,
    Month,
    Month2,
    MonthAbbr,
    MonthName,
    Day,
    Day2,
    DaySpace,
    YearDay3,
    WeekdayAbbr,
    WeekdayName,
    Hour24,
    Hour12,
    Hour12Zero,
    Minute,
    Minute2,
    Second,
    Second2,
    PmUpper,
    PmLower,
    ZoneName,
    /// A numeric offset: `z` = `Z` for UTC, `colon`, and how many parts (1 hours, 2 +minutes, 3 +seconds).
    Offset {
        z: bool,
        colon: bool,
        parts: u8,
    },
    /// A fraction: its separator, its digits, and whether trailing zeros are dropped (`.999`).
    Frac {
        sep: char,
        digits: usize,
        trim: bool,
    },
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// The std chunk at the start of `s`, and its length.
fn chunk(s: &str) -> Option<(Tok, usize)> {
    const FIXED: &[(&str, Tok)] = &[
        ("January", Tok::MonthName),
        ("Jan", Tok::MonthAbbr),
        ("Monday", Tok::WeekdayName),
        ("Mon", Tok::WeekdayAbbr),
        ("MST", Tok::ZoneName),
        ("2006", Tok::Year4),
        ("002", Tok::YearDay3),
        ("01", Tok::Month2),
        ("02", Tok::Day2),
        ("03", Tok::Hour12Zero),
        ("04", Tok::Minute2),
        ("05", Tok::Second2),
        ("06", Tok::Year2),
        ("15", Tok::Hour24),
        ("_2", Tok::DaySpace),
        ("1", Tok::Month),
        ("2", Tok::Day),
        ("3", Tok::Hour12),
        ("4", Tok::Minute),
        ("5", Tok::Second),
        ("PM", Tok::PmUpper),
        ("pm", Tok::PmLower),
    ];
    const OFFSETS: &[(&str, bool, u8)] =
        &[("070000", false, 3), ("07:00:00", true, 3), ("0700", false, 2), ("07:00", true, 2), ("07", false, 1)];
    if let Some(rest) = s.strip_prefix('-').or_else(|| s.strip_prefix('Z')) {
        for (text, colon, parts) in OFFSETS {
            if rest.starts_with(text) {
                let tok = Tok::Offset { z: s.starts_with('Z'), colon: *colon, parts: *parts };
                return Some((tok, 1 + text.len()));
            }
        }
    }
    if let Some(sep @ ('.' | ',')) = s.chars().next() {
        let rest = &s[1..];
        if let Some(d @ ('0' | '9')) = rest.chars().next() {
            let digits = rest.chars().take_while(|c| *c == d).count();
            if !rest[digits..].starts_with(|c: char| c.is_ascii_digit()) {
                return Some((Tok::Frac { sep, digits, trim: d == '9' }, 1 + digits));
            }
        }
    }
    FIXED.iter().find(|(text, _)| s.starts_with(text)).map(|(text, tok)| (tok.clone(), text.len()))
}

/// Splits a layout into literals and fields.
pub(crate) fn tokens(layout: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < layout.len() {
        // `_2006` is a literal `_` and the year (Go's rule).
        if layout[i..].starts_with("_2006") {
            lit.push('_');
            i += 1;
            continue;
        }
        match chunk(&layout[i..]) {
            Some((tok, n)) => {
                if !lit.is_empty() {
                    out.push(Tok::Lit(std::mem::take(&mut lit)));
                }
                out.push(tok);
                i += n;
            }
            None => {
                let c = layout[i..].chars().next().unwrap_or(' ');
                lit.push(c);
                i += c.len_utf8();
            }
        }
    }
    if !lit.is_empty() {
        out.push(Tok::Lit(lit));
    }
    out
}

fn offset_text(secs: i32, z: bool, colon: bool, parts: u8) -> String {
    if z && secs == 0 {
        return "Z".into();
    }
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, (a / 60) % 60, a % 60);
    let sep = if colon { ":" } else { "" };
    match parts {
        1 => format!("{sign}{h:02}"),
        2 => format!("{sign}{h:02}{sep}{m:02}"),
        _ => format!("{sign}{h:02}{sep}{m:02}{sep}{s:02}"),
    }
}

/// The zone's abbreviation at `z` (`MST`, `UTC`), or Go's numeric stand-in when it has none.
pub(crate) fn abbreviation(z: &Zoned, name: &str) -> String {
    let info = z.time_zone().to_offset_info(z.timestamp());
    let abbr = info.abbreviation();
    if !abbr.is_empty() && !abbr.starts_with(['+', '-']) {
        return abbr.to_owned();
    }
    if z.time_zone().iana_name().is_none() && !name.is_empty() && name != "Local" {
        return name.to_owned();
    }
    offset_text(z.offset().seconds(), false, false, 2)
}

/// Writes `z` with `layout`; `zone` names its location (for `MST` of a fixed zone).
pub(crate) fn format(z: &Zoned, layout: &str, zone: &str) -> String {
    let mut out = String::new();
    let hour12 = |h: i8| if h % 12 == 0 { 12 } else { h % 12 };
    for tok in tokens(layout) {
        let piece = match tok {
            Tok::Lit(s) => s,
            Tok::Year4 => format!("{:04}", z.year()),
            Tok::Year2 => format!("{:02}", z.year().rem_euclid(100)),
            Tok::Month => z.month().to_string(),
            Tok::Month2 => format!("{:02}", z.month()),
            Tok::MonthAbbr => MONTHS[(z.month() - 1) as usize][..3].to_owned(),
            Tok::MonthName => MONTHS[(z.month() - 1) as usize].to_owned(),
            Tok::Day => z.day().to_string(),
            Tok::Day2 => format!("{:02}", z.day()),
            Tok::DaySpace => format!("{:>2}", z.day()),
            Tok::YearDay3 => format!("{:03}", z.day_of_year()),
            Tok::WeekdayAbbr => DAYS[z.weekday().to_sunday_zero_offset() as usize][..3].to_owned(),
            Tok::WeekdayName => DAYS[z.weekday().to_sunday_zero_offset() as usize].to_owned(),
            Tok::Hour24 => format!("{:02}", z.hour()),
            Tok::Hour12 => hour12(z.hour()).to_string(),
            Tok::Hour12Zero => format!("{:02}", hour12(z.hour())),
            Tok::Minute => z.minute().to_string(),
            Tok::Minute2 => format!("{:02}", z.minute()),
            Tok::Second => z.second().to_string(),
            Tok::Second2 => format!("{:02}", z.second()),
            Tok::PmUpper => (if z.hour() >= 12 { "PM" } else { "AM" }).to_owned(),
            Tok::PmLower => (if z.hour() >= 12 { "pm" } else { "am" }).to_owned(),
            Tok::ZoneName => abbreviation(z, zone),
            Tok::Offset { z: zulu, colon, parts } => offset_text(z.offset().seconds(), zulu, colon, parts),
            Tok::Frac { sep, digits, trim } => {
                let all = format!("{:09}", z.subsec_nanosecond());
                let mut d = all[..digits.min(9)].to_owned();
                if trim {
                    d = d.trim_end_matches('0').to_owned();
                }
                if d.is_empty() {
                    String::new()
                } else {
                    format!("{sep}{d}")
                }
            }
        };
        out.push_str(&piece);
    }
    out
}

/// What [`parse`] read.
#[derive(Default)]
struct Fields {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    yday: Option<i64>,
    hour: i64,
    minute: i64,
    second: i64,
    nanos: i64,
    pm: Option<bool>,
    offset: Option<i32>,
    zone: Option<String>,
}

/// A number of `min..=max` digits at the start of `s`.
fn number(s: &str, min: usize, max: usize) -> Option<(i64, usize)> {
    let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if n < min {
        return None;
    }
    Some((s[..n].parse().ok()?, n))
}

/// The index of the name in `names` that `s` starts with (any case), and its length; `abbr` compares 3 letters.
fn name(s: &str, names: &[&str], abbr: bool) -> Option<(usize, usize)> {
    names.iter().enumerate().find_map(|(i, n)| {
        let n = if abbr { &n[..3] } else { n };
        let head = s.get(..n.len())?;
        head.eq_ignore_ascii_case(n).then_some((i, n.len()))
    })
}

fn parse_offset(s: &str, z: bool, colon: bool, parts: u8) -> Option<(i32, usize)> {
    if z && s.starts_with('Z') {
        return Some((0, 1));
    }
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let mut at = 1;
    let mut secs = 0i64;
    for (i, scale) in [3600, 60, 1].into_iter().take(parts as usize).enumerate() {
        if i > 0 && colon {
            s[at..].strip_prefix(':')?;
            at += 1;
        }
        let (v, n) = number(&s[at..], 2, 2)?;
        secs += v * scale;
        at += n;
    }
    Some(((sign * secs) as i32, at))
}

fn fraction_nanos(digits: &str) -> i64 {
    let mut padded: String = digits.chars().take(9).collect();
    while padded.len() < 9 {
        padded.push('0');
    }
    padded.parse().unwrap_or(0)
}

/// Stores a number read into `slot`; the bytes it took.
fn set(slot: &mut Option<i64>, (v, n): (i64, usize)) -> usize {
    *slot = Some(v);
    n
}

/// Reads one field of `tok` at the start of `s` into `f`; the bytes used, or `None` when `s` does not fit.
fn field(tok: &Tok, s: &str, f: &mut Fields, next_is_frac: bool) -> Option<usize> {
    Some(match tok {
        Tok::Lit(l) => {
            s.strip_prefix(l.as_str())?;
            l.len()
        }
        Tok::Year4 => set(&mut f.year, number(s, 4, 4)?),
        Tok::Year2 => {
            let (v, n) = number(s, 2, 2)?;
            f.year = Some(if v >= 69 { 1900 + v } else { 2000 + v });
            n
        }
        Tok::Month => set(&mut f.month, number(s, 1, 2)?),
        Tok::Month2 => set(&mut f.month, number(s, 2, 2)?),
        Tok::MonthAbbr | Tok::MonthName => {
            let (i, n) = name(s, &MONTHS, *tok == Tok::MonthAbbr)?;
            f.month = Some(i as i64 + 1);
            n
        }
        Tok::Day => set(&mut f.day, number(s, 1, 2)?),
        Tok::Day2 => set(&mut f.day, number(s, 2, 2)?),
        Tok::DaySpace => {
            let skip = usize::from(s.starts_with(' '));
            skip + set(&mut f.day, number(&s[skip..], 1, 2)?)
        }
        Tok::YearDay3 => set(&mut f.yday, number(s, 3, 3)?),
        Tok::WeekdayAbbr | Tok::WeekdayName => name(s, &DAYS, *tok == Tok::WeekdayAbbr)?.1,
        Tok::Hour24 | Tok::Hour12Zero => {
            let (v, n) = number(s, 2, 2)?;
            f.hour = v;
            n
        }
        Tok::Hour12 => {
            let (v, n) = number(s, 1, 2)?;
            f.hour = v;
            n
        }
        Tok::Minute | Tok::Minute2 => {
            let (v, n) = number(s, if *tok == Tok::Minute2 { 2 } else { 1 }, 2)?;
            f.minute = v;
            n
        }
        Tok::Second | Tok::Second2 => {
            let (v, mut n) = number(s, if *tok == Tok::Second2 { 2 } else { 1 }, 2)?;
            f.second = v;
            // Go reads a fraction after the seconds even when the layout has none.
            if !next_is_frac && s[n..].starts_with(['.', ',']) {
                let digits = s[n + 1..].bytes().take_while(u8::is_ascii_digit).count();
                if digits > 0 {
                    f.nanos = fraction_nanos(&s[n + 1..n + 1 + digits]);
                    n += 1 + digits;
                }
            }
            n
        }
        Tok::PmUpper | Tok::PmLower => {
            let head = s.get(..2)?;
            f.pm = Some(match head.to_ascii_uppercase().as_str() {
                "PM" => true,
                "AM" => false,
                _ => return None,
            });
            2
        }
        Tok::ZoneName => {
            let n = s.bytes().take_while(u8::is_ascii_uppercase).count();
            if !(3..=5).contains(&n) {
                return None;
            }
            f.zone = Some(s[..n].to_owned());
            n
        }
        Tok::Offset { z, colon, parts } => {
            let (secs, n) = parse_offset(s, *z, *colon, *parts)?;
            f.offset = Some(secs);
            n
        }
        Tok::Frac { sep, digits, trim } => {
            let Some(rest) = s.strip_prefix(*sep) else {
                return if *trim { Some(0) } else { None };
            };
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            if (!trim && n != *digits) || n == 0 {
                return None;
            }
            f.nanos = fraction_nanos(&rest[..n]);
            1 + n
        }
    })
}

/// Reads `text` with `layout`. A time without a zone is in `default`; one with an offset in a fixed zone of that
/// offset (or `default` when it has the same offset then); `UTC` in UTC.
pub(crate) fn parse(layout: &str, text: &str, default: &TimeZone) -> Result<Zoned, String> {
    let fail = |rest: &str, what: &str| {
        format!("parsing time \"{text}\" as \"{layout}\": cannot parse \"{rest}\" as \"{what}\"")
    };
    let toks = tokens(layout);
    let mut f = Fields::default();
    let mut at = 0;
    for (i, tok) in toks.iter().enumerate() {
        let next_is_frac = matches!(toks.get(i + 1), Some(Tok::Frac { .. }));
        match field(tok, &text[at..], &mut f, next_is_frac) {
            Some(n) => at += n,
            None => return Err(fail(&text[at..], &layout_piece(tok))),
        }
    }
    if at < text.len() {
        return Err(format!("parsing time \"{text}\": extra text: \"{}\"", &text[at..]));
    }
    let range = |what: &str| format!("parsing time \"{text}\": {what} out of range");
    match f.pm {
        Some(true) if f.hour < 12 => f.hour += 12,
        Some(false) if f.hour == 12 => f.hour = 0,
        _ => {}
    }
    let year = f.year.unwrap_or(0) as i16;
    let date = match (f.yday, f.month, f.day) {
        (Some(yd), None, None) => Date::new(year, 1, 1)
            .ok()
            .and_then(|d| d.checked_add(jiff::Span::new().days(yd - 1)).ok())
            .ok_or_else(|| range("day of year"))?,
        _ => Date::new(year, f.month.unwrap_or(1) as i8, f.day.unwrap_or(1) as i8).map_err(|_| range("day"))?,
    };
    let dt = DateTime::new(
        date.year(),
        date.month(),
        date.day(),
        f.hour as i8,
        f.minute as i8,
        f.second as i8,
        f.nanos as i32,
    )
    .map_err(|_| range("time"))?;
    let tz = match (f.offset, f.zone.as_deref()) {
        (Some(secs), _) => {
            let fixed = TimeZone::fixed(Offset::from_seconds(secs).map_err(|_| range("offset"))?);
            match dt.to_zoned(default.clone()) {
                Ok(z) if z.offset().seconds() == secs => default.clone(),
                _ => fixed,
            }
        }
        (None, Some("UTC" | "GMT")) => TimeZone::UTC,
        _ => default.clone(),
    };
    dt.to_zoned(tz).map_err(|e| format!("parsing time \"{text}\": {e}"))
}

/// The layout text of a field, for error messages.
fn layout_piece(tok: &Tok) -> String {
    match tok {
        Tok::Lit(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zoned(text: &str) -> Zoned {
        text.parse().expect("a zoned time")
    }

    #[test]
    fn formats_like_go() {
        let z = zoned("2024-03-05T07:08:09.120+01:00[+01:00]");
        assert_eq!(format(&z, "2006-01-02T15:04:05Z07:00", ""), "2024-03-05T07:08:09+01:00");
        assert_eq!(format(&z, "2006-01-02T15:04:05.999999999Z07:00", ""), "2024-03-05T07:08:09.12+01:00");
        assert_eq!(format(&z, "Jan _2 15:04:05.000", ""), "Mar  5 07:08:09.120");
        assert_eq!(format(&z, "Monday, 02-Jan-06 3:04PM", ""), "Tuesday, 05-Mar-24 7:08AM");
        assert_eq!(format(&z, "002 -0700 -07", ""), "065 +0100 +01");
        let utc = zoned("2024-03-05T17:08:09Z[UTC]");
        assert_eq!(format(&utc, "2006-01-02T15:04:05Z07:00 MST", ""), "2024-03-05T17:08:09Z UTC");
    }

    #[test]
    fn parses_like_go() {
        let z = parse("2006-01-02T15:04:05Z07:00", "2024-03-05T07:08:09.5+01:00", &TimeZone::UTC).expect("parses");
        assert_eq!((z.hour(), z.subsec_nanosecond(), z.offset().seconds()), (7, 500_000_000, 3600));
        let z = parse("02 Jan 06 15:04 MST", "05 mar 24 17:08 UTC", &TimeZone::UTC).expect("parses");
        assert_eq!((z.year(), z.month(), z.day()), (2024, 3, 5));
        let z = parse("3:04PM", "7:08PM", &TimeZone::UTC).expect("parses");
        assert_eq!((z.hour(), z.minute()), (19, 8));
        for (layout, text) in [("2006-01-02", "2024-1-05"), ("2006-01-02", "2024-02-30"), ("15:04", "7:08 extra")] {
            assert!(parse(layout, text, &TimeZone::UTC).is_err(), "{layout} {text}");
        }
    }
}
