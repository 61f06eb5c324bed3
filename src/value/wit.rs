//! [`Value`] <-> component-model `Val`, driven by the callee's WIT types (SPEC §3).
//!
//! [`lower`] turns a host value into a guest value of a given [`Type`]; [`lift`] turns a guest value back. Both walk
//! the type and the value together and keep a path (`users[1].tags[0]`) so that an error names exactly where the value
//! and the WIT type disagree. Nothing here panics on bad input: every mismatch is a [`ConvertError`].
//!
//! Mapping decisions beyond the SPEC table, all symmetric:
//! - a `result` or `variant` case with no payload is the case name as a string (`"ok"`, `"none-left"`), because a
//!   Lua table `{ok = nil}` cannot be told apart from `{}`;
//! - a record accepts kebab-case or snake_case field names and rejects fields it does not have (typos surface);
//! - an empty list and an empty map are interchangeable (Lua has one empty table);
//! - `list<u8>` also accepts a list of integers, since JSON has no bytes;
//! - resources, futures and streams cannot cross the host boundary and are a clear error.

use std::fmt;

use wasmtime::component::{Type, Val};

use super::{Map, Value};

/// How deep a value may nest before conversion gives up (guards the host stack against hostile data).
pub const MAX_DEPTH: usize = 128;

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
struct Path {
    segs: Vec<Seg>,
}

#[derive(Debug, Clone)]
enum Seg {
    Root(String),
    Field(String),
    Index(usize),
}

impl Path {
    fn new(root: &str) -> Self {
        Path { segs: vec![Seg::Root(root.to_owned())] }
    }

    fn render(&self) -> String {
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

    fn err(&self, ty: &Type, message: impl Into<String>) -> ConvertError {
        ConvertError { path: self.render(), expected: type_name(ty), message: message.into() }
    }

    fn with<R>(&mut self, seg: Seg, f: impl FnOnce(&mut Self) -> R) -> R {
        self.segs.push(seg);
        let r = f(self);
        self.segs.pop();
        r
    }

    fn depth_check(&self, ty: &Type) -> Result<(), ConvertError> {
        if self.segs.len() > MAX_DEPTH {
            return Err(self.err(ty, format!("value nests deeper than the limit of {MAX_DEPTH} levels")));
        }
        Ok(())
    }
}

/// Renders a WIT type for messages: `list<string>`, `record { id: u32, name: string }`, `option<s32>`.
pub fn type_name(ty: &Type) -> String {
    let mut s = String::new();
    write_type(&mut s, ty, 0);
    s
}

fn write_type(s: &mut String, ty: &Type, depth: usize) {
    use std::fmt::Write;
    let simple = match ty {
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
        _ => "",
    };
    if !simple.is_empty() {
        s.push_str(simple);
        return;
    }
    if depth > 2 {
        s.push_str("...");
        return;
    }
    match ty {
        Type::List(l) => {
            s.push_str("list<");
            write_type(s, &l.ty(), depth + 1);
            s.push('>');
        }
        Type::FixedLengthList(l) => {
            s.push_str("list<");
            write_type(s, &l.ty(), depth + 1);
            let _ = write!(s, ", {}>", l.len());
        }
        Type::Map(m) => {
            s.push_str("map<");
            write_type(s, &m.key(), depth + 1);
            s.push_str(", ");
            write_type(s, &m.value(), depth + 1);
            s.push('>');
        }
        Type::Record(r) => {
            s.push_str("record { ");
            for (i, f) in r.fields().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push_str(f.name);
                s.push_str(": ");
                write_type(s, &f.ty, depth + 1);
            }
            s.push_str(" }");
        }
        Type::Tuple(t) => {
            s.push_str("tuple<");
            for (i, t) in t.types().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write_type(s, &t, depth + 1);
            }
            s.push('>');
        }
        Type::Variant(v) => {
            s.push_str("variant { ");
            for (i, c) in v.cases().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push_str(c.name);
                if let Some(t) = &c.ty {
                    s.push('(');
                    write_type(s, t, depth + 1);
                    s.push(')');
                }
            }
            s.push_str(" }");
        }
        Type::Enum(e) => {
            let _ = write!(s, "enum {{ {} }}", e.names().collect::<Vec<_>>().join(", "));
        }
        Type::Flags(f) => {
            let _ = write!(s, "flags {{ {} }}", f.names().collect::<Vec<_>>().join(", "));
        }
        Type::Option(o) => {
            s.push_str("option<");
            write_type(s, &o.ty(), depth + 1);
            s.push('>');
        }
        Type::Result(r) => {
            s.push_str("result<");
            match r.ok() {
                Some(t) => write_type(s, &t, depth + 1),
                None => s.push('_'),
            }
            if let Some(t) = r.err() {
                s.push_str(", ");
                write_type(s, &t, depth + 1);
            }
            s.push('>');
        }
        Type::Own(_) => s.push_str("own<resource>"),
        Type::Borrow(_) => s.push_str("borrow<resource>"),
        Type::Future(_) => s.push_str("future"),
        Type::Stream(_) => s.push_str("stream"),
        _ => s.push('?'),
    }
}

/// Converts `value` into a guest value of type `ty`; `root` names the parameter for error paths.
pub fn lower(value: &Value, ty: &Type, root: &str) -> Result<Val, ConvertError> {
    lower_at(value, ty, &mut Path::new(root))
}

/// Converts a guest value of type `ty` back into a [`Value`]; `root` names the place for error paths (`result`).
pub fn lift(val: &Val, ty: &Type, root: &str) -> Result<Value, ConvertError> {
    lift_at(val, ty, &mut Path::new(root))
}

fn int_in_range(value: &Value, ty: &Type, path: &Path, min: i128, max: i128) -> Result<i128, ConvertError> {
    let n: i128 = match *value {
        Value::Int(i) => i128::from(i),
        Value::Float(f) if f.is_finite() && f.fract() == 0.0 => {
            if f < min as f64 || f > max as f64 {
                return Err(path.err(ty, format!("number {f} is out of range {min}..={max}")));
            }
            f as i128
        }
        Value::Float(f) => return Err(path.err(ty, format!("expected an integer, got the float {f}"))),
        ref other => return Err(path.err(ty, format!("expected an integer, got {}", other.type_name()))),
    };
    if n < min || n > max {
        return Err(path.err(ty, format!("integer {n} is out of range {min}..={max}")));
    }
    Ok(n)
}

fn mismatch(value: &Value, ty: &Type, path: &Path, what: &str) -> ConvertError {
    path.err(ty, format!("expected {what}, got {}", value.type_name()))
}

/// Accepts both `kebab-case` and `snake_case` spellings of a field or case name.
fn find_key<'m>(map: &'m Map, name: &str) -> Option<(&'m String, &'m Value)> {
    if let Some((k, v)) = map.get_key_value(name) {
        return Some((k, v));
    }
    if name.contains('-') {
        let snake = name.replace('-', "_");
        return map.get_key_value(snake.as_str());
    }
    None
}

fn same_name(wit: &str, key: &str) -> bool {
    wit == key
        || (wit.len() == key.len() && wit.bytes().zip(key.bytes()).all(|(a, b)| a == b || (a == b'-' && b == b'_')))
}

fn lower_at(value: &Value, ty: &Type, path: &mut Path) -> Result<Val, ConvertError> {
    path.depth_check(ty)?;
    Ok(match ty {
        Type::Bool => match value {
            Value::Bool(b) => Val::Bool(*b),
            other => return Err(mismatch(other, ty, path, "a bool")),
        },
        Type::S8 => Val::S8(int_in_range(value, ty, path, i8::MIN.into(), i8::MAX.into())? as i8),
        Type::U8 => Val::U8(int_in_range(value, ty, path, 0, u8::MAX.into())? as u8),
        Type::S16 => Val::S16(int_in_range(value, ty, path, i16::MIN.into(), i16::MAX.into())? as i16),
        Type::U16 => Val::U16(int_in_range(value, ty, path, 0, u16::MAX.into())? as u16),
        Type::S32 => Val::S32(int_in_range(value, ty, path, i32::MIN.into(), i32::MAX.into())? as i32),
        Type::U32 => Val::U32(int_in_range(value, ty, path, 0, u32::MAX.into())? as u32),
        Type::S64 => Val::S64(int_in_range(value, ty, path, i64::MIN.into(), i64::MAX.into())? as i64),
        Type::U64 => Val::U64(int_in_range(value, ty, path, 0, u64::MAX.into())? as u64),
        Type::Float32 => Val::Float32(value.as_f64().ok_or_else(|| mismatch(value, ty, path, "a number"))? as f32),
        Type::Float64 => Val::Float64(value.as_f64().ok_or_else(|| mismatch(value, ty, path, "a number"))?),
        Type::Char => match value {
            Value::Str(s) => {
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Val::Char(c),
                    _ => {
                        return Err(path
                            .err(ty, format!("expected a one-character string, got {} characters", s.chars().count())))
                    }
                }
            }
            other => return Err(mismatch(other, ty, path, "a one-character string")),
        },
        Type::String => match value {
            Value::Str(s) => Val::String(s.clone()),
            other => return Err(mismatch(other, ty, path, "a string")),
        },
        Type::List(l) => {
            let elem = l.ty();
            match (value, &elem) {
                (Value::Bytes(b), Type::U8) => Val::List(b.iter().map(|x| Val::U8(*x)).collect()),
                (Value::Str(s), Type::U8) => Val::List(s.bytes().map(Val::U8).collect()),
                (Value::List(items), _) => Val::List(lower_items(items, &elem, path)?),
                (Value::Map(m), _) if m.is_empty() => Val::List(Vec::new()),
                (other, Type::U8) => return Err(mismatch(other, ty, path, "bytes, a string or a list")),
                (other, _) => return Err(mismatch(other, ty, path, "a list")),
            }
        }
        Type::FixedLengthList(l) => match value {
            Value::List(items) if items.len() == l.len() as usize => {
                Val::FixedLengthList(lower_items(items, &l.ty(), path)?)
            }
            Value::List(items) => {
                return Err(path.err(ty, format!("expected a list of {} elements, got {}", l.len(), items.len())))
            }
            other => return Err(mismatch(other, ty, path, "a list")),
        },
        Type::Tuple(t) => {
            let types: Vec<Type> = t.types().collect();
            match value {
                Value::List(items) if items.len() == types.len() => {
                    let mut out = Vec::with_capacity(items.len());
                    for (i, (item, ty)) in items.iter().zip(&types).enumerate() {
                        out.push(path.with(Seg::Index(i), |p| lower_at(item, ty, p))?);
                    }
                    Val::Tuple(out)
                }
                Value::List(items) => {
                    return Err(
                        path.err(ty, format!("expected a list of {} elements, got {}", types.len(), items.len()))
                    )
                }
                other => return Err(mismatch(other, ty, path, "a list")),
            }
        }
        Type::Record(r) => {
            let empty = Map::new();
            let map = match value {
                Value::Map(m) => m,
                Value::List(l) if l.is_empty() => &empty,
                other => return Err(mismatch(other, ty, path, "a map with the record's fields")),
            };
            let mut out = Vec::with_capacity(r.fields().len());
            for field in r.fields() {
                match find_key(map, field.name) {
                    Some((_, v)) => out.push((
                        field.name.to_owned(),
                        path.with(Seg::Field(field.name.to_owned()), |p| lower_at(v, &field.ty, p))?,
                    )),
                    None if matches!(field.ty, Type::Option(_)) => out.push((field.name.to_owned(), Val::Option(None))),
                    None => {
                        return Err(path.with(Seg::Field(field.name.to_owned()), |p| {
                            p.err(&field.ty, format!("missing record field `{}`", field.name))
                        }))
                    }
                }
            }
            if let Some(extra) = map.keys().find(|k| !r.fields().any(|f| same_name(f.name, k))) {
                let names: Vec<&str> = r.fields().map(|f| f.name).collect();
                return Err(
                    path.err(ty, format!("unknown record field `{extra}`; the record has: {}", names.join(", ")))
                );
            }
            Val::Record(out)
        }
        Type::Variant(v) => {
            let cases: Vec<(String, Option<Type>)> = v.cases().map(|c| (c.name.to_owned(), c.ty.clone())).collect();
            let names = || cases.iter().map(|c| c.0.as_str()).collect::<Vec<_>>().join(", ");
            let (case, payload) = one_case(value, ty, path, &names())?;
            let Some((name, case_ty)) = cases.iter().find(|(n, _)| same_name(n, case)) else {
                return Err(path.err(ty, format!("unknown variant case `{case}`; cases are: {}", names())));
            };
            let payload = lower_payload(payload, case_ty.as_ref(), name, ty, path)?;
            Val::Variant(name.clone(), payload)
        }
        Type::Enum(e) => {
            let names: Vec<&str> = e.names().collect();
            match value {
                Value::Str(s) => match names.iter().find(|n| same_name(n, s)) {
                    Some(n) => Val::Enum((*n).to_owned()),
                    None => {
                        return Err(path.err(ty, format!("unknown enum case `{s}`; cases are: {}", names.join(", "))))
                    }
                },
                Value::Int(_) | Value::Float(_) => {
                    let i = int_in_range(value, ty, path, 0, names.len() as i128 - 1)?;
                    Val::Enum(names[i as usize].to_owned())
                }
                other => return Err(mismatch(other, ty, path, "an enum case name or index")),
            }
        }
        Type::Flags(f) => {
            let names: Vec<&str> = f.names().collect();
            match value {
                Value::List(items) => {
                    let mut out = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        let name = path.with(Seg::Index(i), |p| match item {
                            Value::Str(s) => {
                                names.iter().find(|n| same_name(n, s)).map(|n| (*n).to_owned()).ok_or_else(|| {
                                    p.err(ty, format!("unknown flag `{s}`; flags are: {}", names.join(", ")))
                                })
                            }
                            other => Err(mismatch(other, ty, p, "a flag name")),
                        })?;
                        if !out.contains(&name) {
                            out.push(name);
                        }
                    }
                    Val::Flags(out)
                }
                Value::Map(m) if m.is_empty() => Val::Flags(Vec::new()),
                Value::Int(_) | Value::Float(_) => {
                    let max = if names.len() >= 64 { i128::from(u64::MAX) } else { (1i128 << names.len()) - 1 };
                    let bits = int_in_range(value, ty, path, 0, max)?;
                    Val::Flags(
                        names
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| bits & (1 << i) != 0)
                            .map(|(_, n)| (*n).to_owned())
                            .collect(),
                    )
                }
                other => return Err(mismatch(other, ty, path, "a list of flag names or a bitmask")),
            }
        }
        Type::Option(o) => match value {
            Value::Nil => Val::Option(None),
            v => Val::Option(Some(Box::new(lower_at(v, &o.ty(), path)?))),
        },
        Type::Result(r) => {
            let (case, payload) = one_case(value, ty, path, "ok, err")?;
            match case {
                "ok" => Val::Result(Ok(lower_payload(payload, r.ok().as_ref(), "ok", ty, path)?)),
                "err" => Val::Result(Err(lower_payload(payload, r.err().as_ref(), "err", ty, path)?)),
                other => return Err(path.err(ty, format!("unknown result case `{other}`; use `ok` or `err`"))),
            }
        }
        Type::Map(m) => {
            let (kt, vt) = (m.key(), m.value());
            match value {
                Value::Map(map) => {
                    let mut out = Vec::with_capacity(map.len());
                    for (k, v) in map {
                        let key = path.with(Seg::Field(k.clone()), |p| lower_at(&Value::Str(k.clone()), &kt, p))?;
                        let val = path.with(Seg::Field(k.clone()), |p| lower_at(v, &vt, p))?;
                        out.push((key, val));
                    }
                    Val::Map(out)
                }
                Value::List(l) if l.is_empty() => Val::Map(Vec::new()),
                other => return Err(mismatch(other, ty, path, "a map")),
            }
        }
        Type::Own(_) | Type::Borrow(_) | Type::Future(_) | Type::Stream(_) | Type::ErrorContext => {
            return Err(path.err(ty, "resources, futures and streams cannot be passed from the host"))
        }
    })
}

fn lower_items(items: &[Value], elem: &Type, path: &mut Path) -> Result<Vec<Val>, ConvertError> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        out.push(path.with(Seg::Index(i), |p| lower_at(item, elem, p))?);
    }
    Ok(out)
}

/// Reads a `{case = payload}` map or a bare `"case"` string.
fn one_case<'v>(
    value: &'v Value,
    ty: &Type,
    path: &Path,
    cases: &str,
) -> Result<(&'v str, Option<&'v Value>), ConvertError> {
    match value {
        Value::Str(s) => Ok((s.as_str(), None)),
        Value::Map(m) if m.len() == 1 => {
            let (k, v) = m.iter().next().expect("a map of length one has a first entry");
            Ok((k.as_str(), Some(v)))
        }
        Value::Map(m) => Err(path.err(
            ty,
            format!("expected a map with exactly one case key (one of: {cases}), got a map with {} keys", m.len()),
        )),
        other => {
            Err(mismatch(other, ty, path, &format!("a case map `{{case = payload}}` or a case name (one of: {cases})")))
        }
    }
}

fn lower_payload(
    payload: Option<&Value>,
    case_ty: Option<&Type>,
    case: &str,
    ty: &Type,
    path: &mut Path,
) -> Result<Option<Box<Val>>, ConvertError> {
    match (case_ty, payload) {
        (None, None | Some(Value::Nil)) => Ok(None),
        (None, Some(_)) => Err(path.err(ty, format!("case `{case}` has no payload, but one was given"))),
        (Some(t), Some(p)) => Ok(Some(Box::new(path.with(Seg::Field(case.to_owned()), |pp| lower_at(p, t, pp))?))),
        (Some(Type::Option(_)), None) => Ok(Some(Box::new(Val::Option(None)))),
        (Some(_), None) => Err(path.err(ty, format!("case `{case}` needs a payload: write `{{{case} = value}}`"))),
    }
}

fn lift_at(val: &Val, ty: &Type, path: &mut Path) -> Result<Value, ConvertError> {
    path.depth_check(ty)?;
    Ok(match (val, ty) {
        (Val::Bool(b), _) => Value::Bool(*b),
        (Val::S8(i), _) => Value::Int((*i).into()),
        (Val::U8(i), _) => Value::Int((*i).into()),
        (Val::S16(i), _) => Value::Int((*i).into()),
        (Val::U16(i), _) => Value::Int((*i).into()),
        (Val::S32(i), _) => Value::Int((*i).into()),
        (Val::U32(i), _) => Value::Int((*i).into()),
        (Val::S64(i), _) => Value::Int(*i),
        (Val::U64(i), _) => Value::Int(i64::try_from(*i).map_err(|_| {
            path.err(
                ty,
                format!("the guest returned {i}, which does not fit a 64-bit signed integer (max {})", i64::MAX),
            )
        })?),
        (Val::Float32(f), _) => Value::Float(f64::from(*f)),
        (Val::Float64(f), _) => Value::Float(*f),
        (Val::Char(c), _) => Value::Str(c.to_string()),
        (Val::String(s), _) => Value::Str(s.clone()),
        (Val::List(items), Type::List(l)) => lift_list(items, &l.ty(), path)?,
        (Val::FixedLengthList(items), Type::FixedLengthList(l)) => lift_list(items, &l.ty(), path)?,
        (Val::Tuple(items), Type::Tuple(t)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, ty)) in items.iter().zip(t.types()).enumerate() {
                out.push(path.with(Seg::Index(i), |p| lift_at(item, &ty, p))?);
            }
            Value::List(out)
        }
        (Val::Record(fields), Type::Record(r)) => {
            let mut out = Map::with_capacity(fields.len());
            for ((name, v), field) in fields.iter().zip(r.fields()) {
                let lifted = path.with(Seg::Field(name.clone()), |p| lift_at(v, &field.ty, p))?;
                out.insert(name.clone(), lifted);
            }
            Value::Map(out)
        }
        (Val::Map(pairs), Type::Map(m)) => {
            let (kt, vt) = (m.key(), m.value());
            let mut out = Map::with_capacity(pairs.len());
            for (k, v) in pairs {
                let key = match lift_at(k, &kt, path)? {
                    Value::Str(s) => s,
                    other => other.to_string(),
                };
                let lifted = path.with(Seg::Field(key.clone()), |p| lift_at(v, &vt, p))?;
                out.insert(key, lifted);
            }
            Value::Map(out)
        }
        (Val::Variant(case, payload), Type::Variant(v)) => {
            let case_ty = v.cases().find(|c| c.name == case).and_then(|c| c.ty);
            lift_case(case, payload.as_deref(), case_ty.as_ref(), ty, path)?
        }
        (Val::Enum(case), _) => Value::Str(case.clone()),
        (Val::Option(None), _) => Value::Nil,
        (Val::Option(Some(v)), Type::Option(o)) => lift_at(v, &o.ty(), path)?,
        (Val::Result(Ok(payload)), Type::Result(r)) => lift_case("ok", payload.as_deref(), r.ok().as_ref(), ty, path)?,
        (Val::Result(Err(payload)), Type::Result(r)) => {
            lift_case("err", payload.as_deref(), r.err().as_ref(), ty, path)?
        }
        (Val::Flags(names), _) => Value::List(names.iter().map(|n| Value::Str(n.clone())).collect()),
        (Val::Resource(_) | Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_), _) => {
            return Err(path.err(ty, "the guest returned a resource, future or stream, which cannot leave the guest"))
        }
        (other, _) => return Err(path.err(ty, format!("the guest value {other:?} does not match its declared type"))),
    })
}

fn lift_list(items: &[Val], elem: &Type, path: &mut Path) -> Result<Value, ConvertError> {
    if *elem == Type::U8 {
        return Ok(Value::Bytes(items.iter().map(|v| if let Val::U8(b) = v { *b } else { 0 }).collect()));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        out.push(path.with(Seg::Index(i), |p| lift_at(item, elem, p))?);
    }
    Ok(Value::List(out))
}

fn lift_case(
    case: &str,
    payload: Option<&Val>,
    case_ty: Option<&Type>,
    ty: &Type,
    path: &mut Path,
) -> Result<Value, ConvertError> {
    Ok(match (payload, case_ty) {
        (Some(v), Some(t)) => {
            let lifted = path.with(Seg::Field(case.to_owned()), |p| lift_at(v, t, p))?;
            Value::map([(case, lifted)])
        }
        (None, _) => Value::Str(case.to_owned()),
        (Some(_), None) => {
            return Err(path.err(ty, format!("case `{case}` carries a payload its type does not declare")))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
