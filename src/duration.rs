//! Duration text as users write it in YAML (`start_timeout: 10s`) and Lua (`time.parse_duration("250ms")`).
//!
//! The grammar is Go's `time.ParseDuration`, which Wippy users know: a sequence of decimal numbers with units
//! `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`, e.g. `1h30m`, `1.5s`, `250ms`. A bare number means milliseconds.

use std::time::Duration;

/// Parses a duration such as `250ms`, `1.5s` or `1h2m3s`; a bare number is milliseconds. Negative durations and
/// values beyond `u64` nanoseconds are rejected.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(ms) = t.parse::<f64>() {
        return from_millis_f64(ms).ok_or_else(|| format!("invalid duration `{text}`"));
    }
    let mut rest = t;
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!("invalid duration `{text}`: expected a number at `{rest}`"));
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| format!("invalid duration `{text}`: bad number"))?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let nanos_per = match unit {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("invalid duration `{text}`: missing unit (use ns, us, ms, s, m or h)")),
            other => {
                return Err(format!("invalid duration `{text}`: unknown unit `{other}` (use ns, us, ms, s, m or h)"))
            }
        };
        total += n * nanos_per;
    }
    if !total.is_finite() || total > u64::MAX as f64 {
        return Err(format!("duration `{text}` is too large"));
    }
    Ok(Duration::from_nanos(total as u64))
}

/// A duration from a (possibly fractional) number of milliseconds; `None` for negative or non-finite input.
pub(crate) fn from_millis_f64(ms: f64) -> Option<Duration> {
    if !ms.is_finite() || ms < 0.0 || ms * 1e6 > u64::MAX as f64 {
        return None;
    }
    Some(Duration::from_nanos((ms * 1e6) as u64))
}

/// A duration as text in the largest unit that shows it whole (`8760h`, `90s`, `250ms`, `0s`).
pub(crate) fn format(d: Duration) -> String {
    let n = d.as_nanos();
    if n == 0 {
        return "0s".into();
    }
    for (per, unit) in
        [(3_600_000_000_000u128, "h"), (60_000_000_000, "m"), (1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us")]
    {
        if n.is_multiple_of(per) {
            return format!("{}{unit}", n / per);
        }
    }
    format!("{n}ns")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("1h2m3s"), Ok(Duration::from_secs(3723)));
        assert_eq!(parse("10"), Ok(Duration::from_millis(10)));
        assert_eq!(parse("90us"), Ok(Duration::from_micros(90)));
        assert!(parse("5 parsecs").is_err());
        assert!(parse("-1s").is_err());
        assert_eq!(format(Duration::from_secs(365 * 86_400)), "8760h");
        assert_eq!(format(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format(Duration::ZERO), "0s");
        assert!(parse("s").is_err());
    }
}
