//! Guest values back into host values, by the WIT type.

use wasmtime::component::{Type, Val};

use super::{ConvertError, Path, Seg};
use crate::value::{Map, Value};

pub(super) fn lift_at(val: &Val, ty: &Type, path: &mut Path) -> Result<Value, ConvertError> {
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
