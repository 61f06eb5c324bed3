//! Host values into guest values, by the WIT type.

use wasmtime::component::{Type, Val};

use super::{ConvertError, Path, Seg};
use crate::value::{Map, Value};

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

pub(super) fn same_name(wit: &str, key: &str) -> bool {
    wit == key
        || (wit.len() == key.len() && wit.bytes().zip(key.bytes()).all(|(a, b)| a == b || (a == b'-' && b == b'_')))
}

pub(super) fn lower_at(value: &Value, ty: &Type, path: &mut Path) -> Result<Val, ConvertError> {
    // An error has no WIT type of its own: its text where a string is expected, its map anywhere else.
    match value {
        Value::Error(e) if matches!(ty, Type::String) => Ok(Val::String(e.to_string())),
        Value::Error(e) => lower_plain(&Value::Map(e.to_map()), ty, path),
        other => lower_plain(other, ty, path),
    }
}

fn lower_plain(value: &Value, ty: &Type, path: &mut Path) -> Result<Val, ConvertError> {
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
