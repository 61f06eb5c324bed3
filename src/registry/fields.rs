//! Reading typed fields out of positioned YAML mappings, reporting every problem with its position.
//!
//! A [`Fields`] reader wraps one mapping. Each getter marks its key as known and used and, when the value has the
//! wrong type, records a diagnostic at the value's position and returns `None`, so parsing goes on and the user
//! sees every problem at once. [`Fields::finish`] reports the keys nobody asked for as unknown fields, with the list
//! of known ones and a "did you mean" where a known name is close.

use std::ops::RangeInclusive;
use std::time::Duration;

use super::yaml::{Node, NodeKind, Pos};
use super::{Diagnostic, EntryId, Origin};

/// Where diagnostics go, and the file and entry they belong to.
pub(crate) struct Sink<'a> {
    /// The file being read (its `pos` is replaced per diagnostic).
    pub origin: Origin,
    /// The entry being read, once its ID is known.
    pub entry: Option<EntryId>,
    /// The collected diagnostics.
    pub out: &'a mut Vec<Diagnostic>,
}

impl Sink<'_> {
    /// Records a problem at `pos`.
    pub(crate) fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.out.push(Diagnostic::new(Some(self.origin.at(pos)), self.entry.clone(), message));
    }

    /// Records a problem at `pos` with a hint.
    pub(crate) fn error_hint(&mut self, pos: Pos, message: impl Into<String>, hint: impl Into<String>) {
        self.out.push(Diagnostic::new(Some(self.origin.at(pos)), self.entry.clone(), message).with_hint(hint));
    }
}

/// A reader over one YAML mapping.
pub(crate) struct Fields<'n> {
    entries: &'n [(Node, Node)],
    used: Vec<bool>,
    known: Vec<&'static str>,
    /// Where the mapping starts.
    pub pos: Pos,
    what: String,
}

impl<'n> Fields<'n> {
    /// Wraps `node`, which must be a mapping; `what` names it in messages (`entry`, "`limits`").
    pub(crate) fn new(node: &'n Node, what: &str, sink: &mut Sink<'_>) -> Option<Fields<'n>> {
        match &node.kind {
            NodeKind::Map(entries) => Some(Fields {
                entries,
                used: vec![false; entries.len()],
                known: Vec::new(),
                pos: node.pos,
                what: what.to_owned(),
            }),
            NodeKind::Null => {
                Some(Fields { entries: &[], used: Vec::new(), known: Vec::new(), pos: node.pos, what: what.to_owned() })
            }
            _ => {
                sink.error(node.pos, format!("{what} must be a mapping, got a {}", node.type_name()));
                None
            }
        }
    }

    /// The raw node of `key`, if present (a `null` value counts as absent).
    pub(crate) fn node(&mut self, key: &'static str) -> Option<&'n Node> {
        self.known.push(key);
        let i = self.entries.iter().position(|(k, _)| k.as_str() == Some(key))?;
        self.used[i] = true;
        let v = &self.entries[i].1;
        (!matches!(v.kind, NodeKind::Null)).then_some(v)
    }

    /// True when `key` is present with a non-null value.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, v)| k.as_str() == Some(key) && !matches!(v.kind, NodeKind::Null))
    }

    /// A string field. Numbers and bools are not silently turned into strings.
    pub(crate) fn string(&mut self, key: &'static str, sink: &mut Sink<'_>) -> Option<(String, Pos)> {
        let n = self.node(key)?;
        match &n.kind {
            NodeKind::Str(s) => Some((s.clone(), n.pos)),
            _ => {
                sink.error(n.pos, format!("field `{key}` must be a string, got a {}", n.type_name()));
                None
            }
        }
    }

    /// A string field that must be present.
    pub(crate) fn required_string(&mut self, key: &'static str, sink: &mut Sink<'_>) -> Option<(String, Pos)> {
        if !self.has(key) {
            self.node(key);
            sink.error(self.pos, format!("missing required field `{key}` in {}", self.what));
            return None;
        }
        self.string(key, sink)
    }

    /// A bool field.
    pub(crate) fn bool(&mut self, key: &'static str, sink: &mut Sink<'_>) -> Option<bool> {
        let n = self.node(key)?;
        match n.kind {
            NodeKind::Bool(b) => Some(b),
            _ => {
                sink.error(n.pos, format!("field `{key}` must be `true` or `false`, got a {}", n.type_name()));
                None
            }
        }
    }

    /// A non-negative integer field.
    pub(crate) fn uint(&mut self, key: &'static str, sink: &mut Sink<'_>) -> Option<u64> {
        let n = self.node(key)?;
        match n.kind {
            NodeKind::Int(i) if i >= 0 => Some(i as u64),
            _ => {
                sink.error(n.pos, format!("field `{key}` must be a non-negative integer, got {}", describe(n)));
                None
            }
        }
    }

    /// A non-negative integer field within `range` (SPEC §10: a value out of range is an error naming it).
    pub(crate) fn uint_in(
        &mut self,
        key: &'static str,
        range: RangeInclusive<u64>,
        sink: &mut Sink<'_>,
    ) -> Option<u64> {
        self.ranged(key, range, Self::uint, &group, sink)
    }

    /// A byte size within `range`.
    pub(crate) fn byte_size_in(
        &mut self,
        key: &'static str,
        range: RangeInclusive<u64>,
        sink: &mut Sink<'_>,
    ) -> Option<u64> {
        self.ranged(key, range, Self::byte_size, &show_size, sink)
    }

    /// A duration within `range`.
    pub(crate) fn duration_in(
        &mut self,
        key: &'static str,
        range: RangeInclusive<Duration>,
        sink: &mut Sink<'_>,
    ) -> Option<Duration> {
        self.ranged(key, range, Self::duration, &|d| crate::duration::format(*d), sink)
    }

    /// A float field within `range`.
    pub(crate) fn float_in(
        &mut self,
        key: &'static str,
        range: RangeInclusive<f64>,
        sink: &mut Sink<'_>,
    ) -> Option<f64> {
        self.ranged(key, range, Self::float, &|x| x.to_string(), sink)
    }

    /// Reads `key` with `get`, then checks it against `range`.
    fn ranged<T: PartialOrd>(
        &mut self,
        key: &'static str,
        range: RangeInclusive<T>,
        get: fn(&mut Self, &'static str, &mut Sink<'_>) -> Option<T>,
        show: &dyn Fn(&T) -> String,
        sink: &mut Sink<'_>,
    ) -> Option<T> {
        let pos = self.node(key)?.pos;
        let v = get(self, key, sink)?;
        in_range(key, v, &range, show, pos, sink)
    }

    /// A float field (integers accepted).
    pub(crate) fn float(&mut self, key: &'static str, sink: &mut Sink<'_>) -> Option<f64> {
        let n = self.node(key)?;
        match n.kind {
            NodeKind::Int(i) => Some(i as f64),
            NodeKind::Float(f) if f.is_finite() => Some(f),
            _ => {
                sink.error(n.pos, format!("field `{key}` must be a number, got {}", describe(n)));
                None
            }
        }
    }

    /// A duration field: `10s`, `250ms`, `1h30m`, or a number of milliseconds.
    pub(crate) fn duration(&mut self, key: &'static str, sink: &mut Sink<'_>) -> Option<Duration> {
        let n = self.node(key)?;
        let parsed = match &n.kind {
            NodeKind::Int(i) if *i >= 0 => Ok(Duration::from_millis(*i as u64)),
            NodeKind::Float(f) => crate::duration::from_millis_f64(*f).ok_or_else(|| "must not be negative".to_owned()),
            NodeKind::Str(s) => crate::duration::parse(s),
            _ => Err(format!("got {}", describe(n))),
        };
        match parsed {
            Ok(d) => Some(d),
            Err(e) => {
                sink.error_hint(
                    n.pos,
                    format!("field `{key}` is not a valid duration: {e}"),
                    "write it like `10s`, `250ms` or `1m30s`",
                );
                None
            }
        }
    }

    /// A byte size: an integer, or text like `64MiB`, `512KiB`, `1GiB`, `10MB`.
    pub(crate) fn byte_size(&mut self, key: &'static str, sink: &mut Sink<'_>) -> Option<u64> {
        let n = self.node(key)?;
        let parsed = match &n.kind {
            NodeKind::Int(i) if *i >= 0 => Some(*i as u64),
            NodeKind::Str(s) => parse_byte_size(s),
            _ => None,
        };
        if parsed.is_none() {
            sink.error_hint(
                n.pos,
                format!("field `{key}` is not a valid size: got {}", describe(n)),
                "write a number of bytes or a size like `64MiB`, `512KiB`, `1GiB`",
            );
        }
        parsed
    }

    /// A list of strings, each with its position.
    pub(crate) fn string_list(&mut self, key: &'static str, sink: &mut Sink<'_>) -> Option<Vec<(String, Pos)>> {
        let n = self.node(key)?;
        let NodeKind::Seq(items) = &n.kind else {
            sink.error(n.pos, format!("field `{key}` must be a list of strings, got a {}", n.type_name()));
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match &item.kind {
                NodeKind::Str(s) => out.push((s.clone(), item.pos)),
                _ => sink.error(item.pos, format!("items of `{key}` must be strings, got {}", describe(item))),
            }
        }
        Some(out)
    }

    /// A list of nodes.
    pub(crate) fn list(&mut self, key: &'static str, sink: &mut Sink<'_>) -> Option<&'n [Node]> {
        let n = self.node(key)?;
        match &n.kind {
            NodeKind::Seq(items) => Some(items),
            _ => {
                sink.error(n.pos, format!("field `{key}` must be a list, got a {}", n.type_name()));
                None
            }
        }
    }

    /// Reports every key that no getter asked for.
    pub(crate) fn finish(self, sink: &mut Sink<'_>) {
        for ((k, _), used) in self.entries.iter().zip(&self.used) {
            if *used {
                continue;
            }
            let name = match &k.kind {
                NodeKind::Str(s) => s.clone(),
                _ => k.to_value().to_string(),
            };
            let mut known = self.known.clone();
            known.sort_unstable();
            known.dedup();
            let hint = match closest(&name, &known) {
                Some(c) => format!("did you mean `{c}`? known fields: {}", known.join(", ")),
                None => format!("known fields: {}", known.join(", ")),
            };
            sink.error_hint(k.pos, format!("unknown field `{name}` in {}", self.what), hint);
        }
    }
}

/// `v` if it is within `range`; an error naming the range otherwise.
fn in_range<T: PartialOrd>(
    key: &str,
    v: T,
    range: &RangeInclusive<T>,
    show: &dyn Fn(&T) -> String,
    pos: Pos,
    sink: &mut Sink<'_>,
) -> Option<T> {
    if range.contains(&v) {
        return Some(v);
    }
    sink.error(
        pos,
        format!("field `{key}` must be between {} and {}, got {}", show(range.start()), show(range.end()), show(&v)),
    );
    None
}

/// An integer with thousands separators (`65,536`).
fn group(n: &u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A byte size as text: `64 MiB` when it is a whole number of KiB, MiB, GiB or TiB, else bytes.
fn show_size(n: &u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if *n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{} {unit}", group(&(n >> shift)));
        }
    }
    format!("{} bytes", group(n))
}

/// Describes a node for messages: its type, and a short rendering of scalars.
pub(crate) fn describe(n: &Node) -> String {
    match &n.kind {
        NodeKind::Str(s) => format!("the string `{s}`"),
        NodeKind::Int(i) => format!("the integer {i}"),
        NodeKind::Float(f) => format!("the number {f}"),
        NodeKind::Bool(b) => format!("`{b}`"),
        _ => format!("a {}", n.type_name()),
    }
}

/// Parses `64MiB`, `512KiB`, `1GiB`, `10MB`, `1024` (bytes). `KB`/`MB`/`GB` are decimal, `KiB`/`MiB`/`GiB` binary.
pub(crate) fn parse_byte_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// The known name closest to `name`, if it is within two edits.
pub(crate) fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known.iter().map(|k| (edit_distance(name, k), *k)).filter(|(d, _)| *d <= 2).min_by_key(|(d, _)| *d).map(|(_, k)| k)
}

/// Edit distance where swapping two neighbours counts as one edit (optimal string alignment).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_byte_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_byte_size("10MB"), Some(10_000_000));
        assert_eq!(parse_byte_size("4096"), Some(4096));
        assert_eq!(parse_byte_size("lots"), None);
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("metod", &["method", "source"]), Some("method"));
        assert_eq!(closest("xyzzy", &["method", "source"]), None);
        assert_eq!(closest("function.wsam", &["function.wat", "function.wasm"]), Some("function.wasm"));
    }
}
