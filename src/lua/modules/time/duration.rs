//! Durations as Wippy's Lua code writes them (SPEC §5.5, "Durations"): a number of nanoseconds (floats truncate),
//! Go's duration text (`"1h30m45s"`, `"1.5s"`, `"-250ms"`), or a Duration object; and Go's way of printing one
//! (`1h30m45s`, `1.5s`, `250ms`, `0s`).

use mlua::Value as LuaValue;

use super::objects::LuaDuration;

const NS_PER: [(&str, f64); 8] =
    [("ns", 1.0), ("us", 1e3), ("µs", 1e3), ("μs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)];

/// Parses Go's duration text into nanoseconds.
pub(crate) fn parse(text: &str) -> Result<i64, String> {
    let bad = || format!("invalid duration \"{text}\"");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number = &rest[..n];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(bad());
        }
        let value: f64 = number.parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let u = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..u];
        let Some((_, per)) = NS_PER.iter().find(|(name, _)| *name == unit) else {
            return Err(if unit.is_empty() {
                format!("missing unit in duration \"{text}\"")
            } else {
                format!("unknown unit \"{unit}\" in duration \"{text}\"")
            });
        };
        total += value * per;
        rest = &rest[u..];
    }
    if total > i64::MAX as f64 {
        return Err(format!("invalid duration \"{text}\": out of range"));
    }
    let ns = total.round() as i64;
    Ok(if negative { -ns } else { ns })
}

/// A duration argument in nanoseconds: a number, Go's text, or a Duration object.
pub(crate) fn arg(v: &LuaValue) -> Result<i64, String> {
    match v {
        LuaValue::Integer(i) => Ok(*i),
        LuaValue::Number(n) if n.is_finite() && n.abs() < i64::MAX as f64 => Ok(n.trunc() as i64),
        LuaValue::String(s) => parse(&s.to_string_lossy()),
        LuaValue::UserData(u) => match u.borrow::<LuaDuration>() {
            Ok(d) => Ok(d.0),
            Err(_) => {
                Err("expected a duration (nanoseconds, text like \"250ms\", or a Duration), got a userdata".into())
            }
        },
        other => Err(format!(
            "expected a duration (nanoseconds, text like \"250ms\", or a Duration), got a {}",
            other.type_name()
        )),
    }
}

/// `v` with `prec` decimal places as Go prints a fraction: trailing zeros and a bare dot dropped.
fn frac(v: u64, prec: u32) -> (String, u64) {
    let scale = 10u64.pow(prec);
    let (whole, part) = (v / scale, v % scale);
    if part == 0 {
        return (String::new(), whole);
    }
    let digits = format!("{part:0width$}", width = prec as usize);
    (format!(".{}", digits.trim_end_matches('0')), whole)
}

/// Go's `Duration.String()`.
pub(crate) fn format(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0..=999 => return format!("{sign}{u}ns"),
            1_000..=999_999 => (3, "µs"),
            _ => (6, "ms"),
        };
        let (f, whole) = frac(u, prec);
        return format!("{sign}{whole}{f}{unit}");
    }
    let (f, secs) = frac(u, 9);
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{sign}{s}{f}s"),
        (0, _) => format!("{sign}{m}m{s}{f}s"),
        _ => format!("{sign}{h}h{m}m{s}{f}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_text_parses() {
        assert_eq!(parse("1h30m45s"), Ok(5_445_000_000_000));
        assert_eq!(parse("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse("250ms"), Ok(250_000_000));
        assert_eq!(parse("-2µs"), Ok(-2_000));
        assert_eq!(parse("0"), Ok(0));
        for bad in ["", "1", "1x", "s", "1..5s", "-", "1.5"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn go_form_prints() {
        assert_eq!(format(5_445_000_000_000), "1h30m45s");
        assert_eq!(format(3_600_000_000_000), "1h0m0s");
        assert_eq!(format(1_500_000_000), "1.5s");
        assert_eq!(format(90_000_000_000), "1m30s");
        assert_eq!(format(250_000_000), "250ms");
        assert_eq!(format(1_500), "1.5µs");
        assert_eq!(format(12), "12ns");
        assert_eq!(format(0), "0s");
        assert_eq!(format(-1_500_000_000), "-1.5s");
    }
}
