//! [`Value`] <-> component-model `Val`, driven by the callee's WIT types (`docs/values.md`).
//!
//! [`lower()`] turns a host value into a guest value of a given [`Type`]; [`lift()`] turns a guest value back. Both walk
//! the type and the value together and keep a path (`users[1].tags[0]`) so that an error names exactly where the value
//! and the WIT type disagree. Nothing here panics on bad input: every mismatch is a [`ConvertError`].
//!
//! Mapping decisions beyond the table in `docs/values.md`, all symmetric:
//! - a `result` or `variant` case with no payload is the case name as a string (`"ok"`, `"none-left"`), because a
//!   Lua table `{ok = nil}` cannot be told apart from `{}`;
//! - a record accepts kebab-case or snake_case field names and rejects fields it does not have (typos surface);
//! - an empty list and an empty map are interchangeable (Lua has one empty table);
//! - `list<u8>` also accepts a list of integers, since JSON has no bytes;
//! - resources, futures and streams cannot cross the host boundary and are a clear error.

use std::fmt;

use wasmtime::component::{Type, Val};

use super::Value;

mod lift;
mod lower;

use lift::lift_at;
use lower::lower_at;

/// How deep a value may nest before conversion gives up (guards the host stack against hostile data).
pub(crate) const MAX_DEPTH: usize = 128;

/// A value that does not fit the WIT type it is converted to or from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertError {
    /// Where in the value the problem is, e.g. `users[1].tags`.
    pub path: String,
    /// The WIT type expected at that place, e.g. `list<string>`.
    pub expected: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {} (expected WIT type `{}`)", self.path, self.message, self.expected)
    }
}

impl std::error::Error for ConvertError {}

/// A path into a value, rendered as `root.field[3].other`.
#[derive(Debug, Clone)]
pub(super) struct Path {
    pub(super) segs: Vec<Seg>,
}

#[derive(Debug, Clone)]
pub(super) enum Seg {
    Root(String),
    Field(String),
    Index(usize),
}

impl Path {
    pub(super) fn new(root: &str) -> Self {
        Path { segs: vec![Seg::Root(root.to_owned())] }
    }

    pub(super) fn render(&self) -> String {
        let mut s = String::new();
        for seg in &self.segs {
            match seg {
                Seg::Root(r) => s.push_str(r),
                Seg::Field(f) => {
                    s.push('.');
                    s.push_str(f);
                }
                Seg::Index(i) => {
                    s.push('[');
                    s.push_str(&i.to_string());
                    s.push(']');
                }
            }
        }
        s
    }

    pub(super) fn err(&self, ty: &Type, message: impl Into<String>) -> ConvertError {
        ConvertError { path: self.render(), expected: type_name(ty), message: message.into() }
    }

    pub(super) fn with<R>(&mut self, seg: Seg, f: impl FnOnce(&mut Self) -> R) -> R {
        self.segs.push(seg);
        let r = f(self);
        self.segs.pop();
        r
    }

    pub(super) fn depth_check(&self, ty: &Type) -> Result<(), ConvertError> {
        if self.segs.len() > MAX_DEPTH {
            return Err(self.err(ty, format!("value nests deeper than the limit of {MAX_DEPTH} levels")));
        }
        Ok(())
    }
}

/// Renders a WIT type for messages: `list<string>`, `record { id: u32, name: string }`, `option<s32>`.
pub(crate) fn type_name(ty: &Type) -> String {
    let mut s = String::new();
    write_type(&mut s, ty, 0);
    s
}

/// The name of a type without parameters (`s32`, `string`), or `None`.
fn simple_name(ty: &Type) -> Option<&'static str> {
    Some(match ty {
        Type::Bool => "bool",
        Type::S8 => "s8",
        Type::U8 => "u8",
        Type::S16 => "s16",
        Type::U16 => "u16",
        Type::S32 => "s32",
        Type::U32 => "u32",
        Type::S64 => "s64",
        Type::U64 => "u64",
        Type::Float32 => "f32",
        Type::Float64 => "f64",
        Type::Char => "char",
        Type::String => "string",
        Type::ErrorContext => "error-context",
        Type::Own(_) => "own<resource>",
        Type::Borrow(_) => "borrow<resource>",
        Type::Future(_) => "future",
        Type::Stream(_) => "stream",
        _ => return None,
    })
}

fn write_type(s: &mut String, ty: &Type, depth: usize) {
    if let Some(name) = simple_name(ty) {
        s.push_str(name);
    } else if depth > 2 {
        s.push_str("...");
    } else {
        write_compound(s, ty, depth + 1);
    }
}

/// Writes `open`, the items separated by `, ` (each written by `item`), and `close`.
fn write_items<T>(
    s: &mut String,
    open: &str,
    items: impl Iterator<Item = T>,
    close: &str,
    mut item: impl FnMut(&mut String, T),
) {
    s.push_str(open);
    for (i, x) in items.enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        item(s, x);
    }
    s.push_str(close);
}

fn write_compound(s: &mut String, ty: &Type, depth: usize) {
    let names = |it: &mut dyn Iterator<Item = &str>| it.collect::<Vec<_>>().join(", ");
    match ty {
        Type::List(l) => write_items(s, "list<", std::iter::once(l.ty()), ">", |s, t| write_type(s, &t, depth)),
        Type::FixedLengthList(l) => {
            write_items(s, "list<", std::iter::once(l.ty()), &format!(", {}>", l.len()), |s, t| {
                write_type(s, &t, depth)
            })
        }
        Type::Map(m) => write_items(s, "map<", [m.key(), m.value()].into_iter(), ">", |s, t| write_type(s, &t, depth)),
        Type::Record(r) => write_items(s, "record { ", r.fields(), " }", |s, f| {
            s.push_str(f.name);
            s.push_str(": ");
            write_type(s, &f.ty, depth);
        }),
        Type::Tuple(t) => write_items(s, "tuple<", t.types(), ">", |s, t| write_type(s, &t, depth)),
        Type::Variant(v) => write_items(s, "variant { ", v.cases(), " }", |s, c| {
            s.push_str(c.name);
            if let Some(t) = &c.ty {
                write_items(s, "(", std::iter::once(t), ")", |s, t| write_type(s, t, depth));
            }
        }),
        Type::Enum(e) => s.push_str(&format!("enum {{ {} }}", names(&mut e.names()))),
        Type::Flags(f) => s.push_str(&format!("flags {{ {} }}", names(&mut f.names()))),
        Type::Option(o) => write_items(s, "option<", std::iter::once(o.ty()), ">", |s, t| write_type(s, &t, depth)),
        Type::Result(r) => {
            s.push_str("result<");
            match r.ok() {
                Some(t) => write_type(s, &t, depth),
                None => s.push('_'),
            }
            if let Some(t) = r.err() {
                s.push_str(", ");
                write_type(s, &t, depth);
            }
            s.push('>');
        }
        _ => s.push('?'),
    }
}

/// Converts `value` into a guest value of type `ty`; `root` names the parameter for error paths.
pub(crate) fn lower(value: &Value, ty: &Type, root: &str) -> Result<Val, ConvertError> {
    lower_at(value, ty, &mut Path::new(root))
}

/// Converts a guest value of type `ty` back into a [`Value`]; `root` names the place for error paths (`result`).
pub(crate) fn lift(val: &Val, ty: &Type, root: &str) -> Result<Value, ConvertError> {
    lift_at(val, ty, &mut Path::new(root))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lower::same_name;

    #[test]
    fn paths_render() {
        let mut p = Path::new("users");
        p.segs.push(Seg::Index(1));
        p.segs.push(Seg::Field("tags".into()));
        p.segs.push(Seg::Index(0));
        assert_eq!(p.render(), "users[1].tags[0]");
    }

    #[test]
    fn names_compare_across_cases() {
        assert!(same_name("first-name", "first_name"));
        assert!(same_name("a", "a"));
        assert!(!same_name("first-name", "firstname"));
    }

    #[test]
    fn u64_overflow_is_an_error() {
        let err = lift(&Val::U64(u64::MAX), &Type::U64, "result").expect_err("overflow");
        assert!(err.message.contains("18446744073709551615"), "{err}");
        assert_eq!(lift(&Val::U64(7), &Type::U64, "result"), Ok(Value::Int(7)));
    }

    #[test]
    fn primitives_range_check() {
        assert_eq!(lower(&Value::Int(127), &Type::S8, "x"), Ok(Val::S8(127)));
        let err = lower(&Value::Int(128), &Type::S8, "x").expect_err("out of range");
        assert!(err.to_string().contains("128 is out of range -128..=127"), "{err}");
        assert_eq!(lower(&Value::Float(3.0), &Type::U16, "x"), Ok(Val::U16(3)));
        assert!(lower(&Value::Float(3.5), &Type::U16, "x").is_err());
        assert!(lower(&Value::Int(-1), &Type::U64, "x").is_err());
        assert_eq!(lower(&Value::from("é"), &Type::Char, "x"), Ok(Val::Char('é')));
        assert!(lower(&Value::from("ab"), &Type::Char, "x").is_err());
    }
}
