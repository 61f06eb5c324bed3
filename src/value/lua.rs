//! Lua <-> [`Value`].
//!
//! Into Lua: nil, booleans, integers (Lua integers), floats (Lua numbers), strings, bytes (Lua strings, which are
//! byte strings), lists (tables with keys 1..n) and maps (tables with string keys).
//!
//! Out of Lua, a table is a list when its keys are exactly the integers 1..n, or integers 1..max with holes where
//! at least half the slots are filled (holes become nil); otherwise it is a map, whose integer and float keys are
//! written as text. An empty table is an empty list (the WIT mapping accepts it where a map or record is expected).
//! A Lua string that is valid UTF-8 is a string, otherwise bytes. Functions, coroutines and userdata cannot leave
//! Lua: converting one is an error that says where it is (`args[2].handler`). Nesting is bounded by
//! [`super::wit::MAX_DEPTH`], which also stops self-referencing tables, and the size of one conversion by
//! [`MAX_NODES`] (a table shared many times over is copied each time).
//!
//! Errors ([`Value::Error`]) are Lua error objects ([`LuaErrorObject`], SPEC §5.2) both ways; an error Lua raised
//! from host code (mlua's error value) leaves Lua as an error too, with its text as the message.

use mlua::{Lua, MetaMethod, Table, UserData, UserDataMethods, Value as LuaValue};

use super::wit::MAX_DEPTH;
use super::{kind, ErrorValue, Map, Value};

/// The most values (tables and their items, counted each time they are reached) one conversion out of Lua may
/// produce: a table referenced many times over is copied each time, and this bounds the copy (SPEC §10).
pub(crate) const MAX_NODES: usize = 1 << 22;

/// The most stack frames an error object records.
const MAX_FRAMES: usize = 32;

/// One frame of the stack where an error object was made.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// The chunk (file).
    pub(crate) source: String,
    /// The line, or -1 for a host function.
    pub(crate) line: i64,
    /// The function's name, if Lua knows it.
    pub(crate) name: String,
    /// `Lua`, `C` or `main`.
    pub(crate) what: &'static str,
}

/// An error object: `e:message()`, `e:kind()`, `e:retryable()`, `e:details()`, `e:stack()`; `tostring(e)` is the
/// message and `..` works with an error on either side (SPEC §5.2).
#[derive(Debug, Clone)]
pub(crate) struct LuaErrorObject {
    /// The error.
    pub(crate) error: ErrorValue,
    /// Where it was made (into Lua): the Lua frames of the current coroutine at that moment.
    pub(crate) frames: Vec<Frame>,
}

impl LuaErrorObject {
    /// An error object for `error`, with the stack of the running Lua code.
    pub(crate) fn new(lua: &Lua, error: ErrorValue) -> LuaErrorObject {
        let mut frames = Vec::new();
        for level in 1..=MAX_FRAMES {
            let Some(frame) = lua.inspect_stack(level, |d| {
                let src = d.source();
                Frame {
                    source: src.short_src.as_deref().unwrap_or("?").to_owned(),
                    line: d.current_line().map_or(-1, |l| l as i64),
                    name: d.names().name.as_deref().unwrap_or("?").to_owned(),
                    what: src.what,
                }
            }) else {
                break;
            };
            // The host's own trampolines are not the user's stack.
            if !frame.source.starts_with("wippy ") {
                frames.push(frame);
            }
        }
        LuaErrorObject { error, frames }
    }

    /// The stack as text, `stack traceback:` and one line per frame.
    fn stack(&self) -> String {
        let mut out = String::from("stack traceback:");
        for f in &self.frames {
            match f.what {
                "C" => out.push_str(&format!("\n\t[host]: in function '{}'", f.name)),
                "main" => out.push_str(&format!("\n\t{}:{}: in main chunk", f.source, f.line)),
                _ => out.push_str(&format!("\n\t{}:{}: in function '{}'", f.source, f.line, f.name)),
            }
        }
        if self.frames.is_empty() {
            out.push_str("\n\t[host]");
        }
        out
    }
}

impl UserData for LuaErrorObject {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("message", |_, e, ()| Ok(e.error.message.clone()));
        methods.add_method("kind", |_, e, ()| Ok(e.error.kind.clone()));
        methods.add_method("retryable", |_, e, ()| Ok(e.error.retryable));
        methods.add_method("details", |lua, e, ()| match &e.error.details {
            Some(d) if !d.is_empty() => to_lua(lua, &Value::Map(d.clone())),
            _ => Ok(LuaValue::Nil),
        });
        methods.add_method("stack", |_, e, ()| Ok(e.stack()));
        methods.add_meta_method(MetaMethod::ToString, |_, e, ()| Ok(e.error.message.clone()));
        methods.add_meta_function(MetaMethod::Concat, |lua, (a, b): (LuaValue, LuaValue)| {
            let mut out = text_of(&a)?;
            out.extend_from_slice(&text_of(&b)?);
            lua.create_string(out)
        });
    }
}

/// A side of `..` with an error object: the error's message, or a string or number as Lua writes it.
fn text_of(v: &LuaValue) -> mlua::Result<Vec<u8>> {
    match v {
        LuaValue::String(s) => Ok(s.as_bytes().to_vec()),
        LuaValue::Integer(i) => Ok(i.to_string().into_bytes()),
        LuaValue::Number(n) => Ok(n.to_string().into_bytes()),
        LuaValue::UserData(u) => match u.borrow::<LuaErrorObject>() {
            Ok(e) => Ok(e.error.message.clone().into_bytes()),
            Err(_) => Err(mlua::Error::runtime("attempt to concatenate a userdata value")),
        },
        other => Err(mlua::Error::runtime(format!("attempt to concatenate a {} value", other.type_name()))),
    }
}

/// The error object `v` is, if it is one.
pub(crate) fn error_of(v: &LuaValue) -> Option<ErrorValue> {
    match v {
        LuaValue::UserData(u) => u.borrow::<LuaErrorObject>().ok().map(|e| e.error.clone()),
        LuaValue::Error(e) => Some(error_from_mlua(e)),
        _ => None,
    }
}

/// The [`ErrorValue`] a host function raised, however mlua wrapped it on the way; `None` for other errors.
pub(crate) fn raised_error_value(e: &mlua::Error) -> Option<ErrorValue> {
    match e {
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => raised_error_value(cause),
        mlua::Error::ExternalError(ext) => ext.downcast_ref::<ErrorValue>().cloned(),
        _ => None,
    }
}

/// A host error Lua raised (mlua's error value) as an error: the [`ErrorValue`] a host function raised, or its
/// text (without the traceback mlua adds) as an INTERNAL error.
pub(crate) fn error_from_mlua(e: &mlua::Error) -> ErrorValue {
    if let Some(ev) = raised_error_value(e) {
        return ev;
    }
    match e {
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => error_from_mlua(cause),
        mlua::Error::ExternalError(ext) => ErrorValue::new(ext.to_string()).with_kind(kind::INTERNAL),
        mlua::Error::RuntimeError(m) | mlua::Error::SyntaxError { message: m, .. } => {
            ErrorValue::new(m.split("\nstack traceback:").next().unwrap_or(m).trim()).with_kind(kind::INTERNAL)
        }
        other => {
            let text = other.to_string();
            ErrorValue::new(text.split("\nstack traceback:").next().unwrap_or(&text).trim()).with_kind(kind::INTERNAL)
        }
    }
}

/// Converts a [`Value`] into a Lua value.
pub(crate) fn to_lua(lua: &Lua, v: &Value) -> mlua::Result<LuaValue> {
    Ok(match v {
        Value::Nil => LuaValue::Nil,
        Value::Bool(b) => LuaValue::Boolean(*b),
        Value::Int(i) => LuaValue::Integer(*i),
        Value::Float(f) => LuaValue::Number(*f),
        Value::Str(s) => LuaValue::String(lua.create_string(s)?),
        Value::Bytes(b) => LuaValue::String(lua.create_string(b)?),
        Value::List(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, item)?)?;
            }
            LuaValue::Table(t)
        }
        Value::Map(m) => {
            let t = lua.create_table_with_capacity(0, m.len())?;
            for (k, item) in m {
                t.raw_set(k.as_str(), to_lua(lua, item)?)?;
            }
            LuaValue::Table(t)
        }
        Value::Error(e) => LuaValue::UserData(lua.create_userdata(LuaErrorObject::new(lua, (**e).clone()))?),
    })
}

/// Converts a Lua value into a [`Value`]; `what` names it in errors (`args[1]`).
pub(crate) fn from_lua(v: &LuaValue, what: &str) -> Result<Value, String> {
    convert(v, what, 0, &mut 0)
}

fn convert(v: &LuaValue, path: &str, depth: usize, nodes: &mut usize) -> Result<Value, String> {
    *nodes += 1;
    if *nodes > MAX_NODES {
        return Err(format!("`{path}`: the value has more than {MAX_NODES} parts (a table shared many times over?)"));
    }
    if depth > MAX_DEPTH {
        return Err(format!("`{path}` nests deeper than {MAX_DEPTH} levels (a table that contains itself?)"));
    }
    Ok(match v {
        LuaValue::Nil => Value::Nil,
        LuaValue::Boolean(b) => Value::Bool(*b),
        LuaValue::Integer(i) => Value::Int(*i),
        LuaValue::Number(f) => Value::Float(*f),
        LuaValue::String(s) => match s.to_str() {
            Ok(text) => Value::Str(text.to_owned()),
            Err(_) => Value::Bytes(s.as_bytes().to_vec()),
        },
        LuaValue::Table(t) => table(t, path, depth, nodes)?,
        LuaValue::Function(_) => return Err(format!("`{path}` is a function, which cannot leave Lua")),
        LuaValue::Thread(_) => return Err(format!("`{path}` is a coroutine, which cannot leave Lua")),
        LuaValue::UserData(u) => match u.borrow::<LuaErrorObject>() {
            Ok(e) => Value::Error(Box::new(e.error.clone())),
            Err(_) => exported(u, path, depth, nodes)?,
        },
        LuaValue::Error(e) => Value::Error(Box::new(error_from_mlua(e))),
        LuaValue::LightUserData(_) => return Err(format!("`{path}` is a userdata value, which cannot leave Lua")),
        other => return Err(format!("`{path}` is a {}, which cannot leave Lua", other.type_name())),
    })
}

/// A host object leaving Lua: what its `__export` metamethod gives (a payload its data, a Time its RFC 3339 text,
/// a Duration its nanoseconds), or `nil` for objects without one (channels, futures: SPEC §5.2, as Wippy drops
/// them).
fn exported(u: &mlua::AnyUserData, path: &str, depth: usize, nodes: &mut usize) -> Result<Value, String> {
    let export = u.metatable().and_then(|m| m.get::<mlua::Function>("__export"));
    match export {
        Ok(f) => {
            let v: LuaValue = f.call(u.clone()).map_err(|e| format!("`{path}`: {e}"))?;
            convert(&v, path, depth + 1, nodes)
        }
        Err(_) => {
            tracing::debug!(path, "a host object left Lua as nil");
            Ok(Value::Nil)
        }
    }
}

fn table(t: &Table, path: &str, depth: usize, nodes: &mut usize) -> Result<Value, String> {
    let mut ints: Vec<(i64, LuaValue)> = Vec::new();
    let mut others: Vec<(LuaValue, LuaValue)> = Vec::new();
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair.map_err(|e| format!("`{path}`: {e}"))?;
        match k {
            LuaValue::Integer(i) => ints.push((i, v)),
            k => others.push((k, v)),
        }
    }
    if others.is_empty() {
        let max = ints.iter().map(|(i, _)| *i).max().unwrap_or(0);
        let all_positive = ints.iter().all(|(i, _)| *i >= 1);
        if all_positive && (max as usize) <= ints.len() * 2 {
            let mut out = vec![Value::Nil; max.max(0) as usize];
            for (i, v) in &ints {
                out[(*i - 1) as usize] = convert(v, &format!("{path}[{i}]"), depth + 1, nodes)?;
            }
            return Ok(Value::List(out));
        }
    }
    // Lua tables have no order; a map leaves Lua in a stable one (integer keys ascending, then the others sorted),
    // so the same table always prints and compares the same way.
    ints.sort_unstable_by_key(|(i, _)| *i);
    let mut map = Map::with_capacity(ints.len() + others.len());
    for (i, v) in &ints {
        map.insert(i.to_string(), convert(v, &format!("{path}[{i}]"), depth + 1, nodes)?);
    }
    // Keys that read the same as text (`1` and `"1"`, `true` and `"true"`) would overwrite each other.
    let clash = |key: &str| format!("`{path}` has two keys that read `{key}` (e.g. `1` and `\"1\"`); keep one");
    let mut named = Vec::with_capacity(others.len());
    for (k, v) in others {
        let key = match &k {
            LuaValue::String(s) => s.to_string_lossy(),
            LuaValue::Number(n) => n.to_string(),
            LuaValue::Boolean(b) => b.to_string(),
            other => {
                return Err(format!(
                    "`{path}` has a {} key; only string and number keys can leave Lua",
                    other.type_name()
                ))
            }
        };
        named.push((key, v));
    }
    named.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for (key, v) in &named {
        let item = convert(v, &format!("{path}.{key}"), depth + 1, nodes)?;
        if map.insert(key.clone(), item).is_some() {
            return Err(clash(key));
        }
    }
    Ok(Value::Map(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str) -> Result<Value, String> {
        let lua = Lua::new();
        let v: LuaValue = lua.load(src).eval().map_err(|e| e.to_string())?;
        from_lua(&v, "v")
    }

    #[test]
    fn tables_become_lists_or_maps() {
        assert_eq!(eval("return {1, 2, 3}"), Ok(Value::List(vec![1.into(), 2.into(), 3.into()])));
        assert_eq!(eval("return {}"), Ok(Value::List(vec![])));
        assert_eq!(eval("return {1, nil, 3}"), Ok(Value::List(vec![1.into(), Value::Nil, 3.into()])));
        assert_eq!(eval("return {a = 1}"), Ok(Value::map([("a", Value::Int(1))])));
        assert_eq!(
            eval("return {[1] = 'x', [100] = 'y'}"),
            Ok(Value::map([("1", Value::from("x")), ("100", Value::from("y"))]))
        );
        assert_eq!(eval("return {1, 2, name = 'n'}").map(|v| v.get("name").cloned()), Ok(Some(Value::from("n"))));
    }

    #[test]
    fn map_keys_leave_lua_in_a_stable_order() {
        let keys = |src: &str| match eval(src) {
            Ok(Value::Map(m)) => m.keys().cloned().collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        let want = ["2", "10", "100", "a", "b", "zed"];
        assert_eq!(keys("return {zed = 1, [100] = 1, b = 1, [2] = 1, a = 1, [10] = 1}"), want);
        assert_eq!(keys("local t = {} t.a = 1 t[10] = 1 t.zed = 1 t[2] = 1 t.b = 1 t[100] = 1 return t"), want);
        for src in [
            "return {[1] = 'a', ['1'] = 'b', x = 1}",
            "return {[true] = 1, ['true'] = 2}",
            "return {[1.5] = 1, ['1.5'] = 2}",
        ] {
            let e = eval(src).expect_err(src);
            assert!(e.contains("two keys that read"), "{src}: {e}");
        }
    }

    #[test]
    fn numbers_keep_their_kind() {
        assert_eq!(eval("return 3"), Ok(Value::Int(3)));
        assert_eq!(eval("return 3.0"), Ok(Value::Float(3.0)));
        assert_eq!(eval("return 2^53"), Ok(Value::Float(9007199254740992.0)));
    }

    #[test]
    fn functions_and_cycles_are_errors() {
        let e = eval("return {handler = function() end}").expect_err("a function");
        assert!(e.contains("`v.handler` is a function"), "{e}");
        let e = eval("local t = {}; t.self = t; return t").expect_err("a cycle");
        assert!(e.contains("nests deeper"), "{e}");
    }

    #[test]
    fn round_trip() {
        let lua = Lua::new();
        let v = Value::map([
            ("list", Value::List(vec![1.into(), "two".into(), Value::Float(3.5)])),
            ("bytes", Value::Bytes(vec![0xff, 0x00])),
            ("nested", Value::map([("ok", Value::Bool(true))])),
        ]);
        let back = from_lua(&to_lua(&lua, &v).expect("to lua"), "v").expect("from lua");
        assert_eq!(back.get("list"), v.get("list"));
        assert_eq!(back.get("bytes"), v.get("bytes"));
        assert_eq!(back.get("nested"), v.get("nested"));
    }
}
