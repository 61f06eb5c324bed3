//! The one dynamic [`Value`] that crosses every boundary of the host.
//!
//! WIT values going into and out of guests, Lua values, CLI arguments, YAML `input` lists and JSON output are all
//! converted to and from this type, and those conversions live next to it:
//!
//! - [`json`]: JSON text and `serde_json::Value` (CLI arguments, CLI output, `wippy:process` payloads);
//! - [`lua`]: Lua values (tables as lists or maps, strings or bytes);
//! - [`wit`]: the component model's dynamic `Val`, driven by the callee's WIT types (`docs/values.md`), with errors that name
//!   the function, the parameter path (`users[2].tags[0]`) and the expected WIT type;
//! - [`yaml`](crate::registry::yaml): YAML nodes from registry files (`meta`, `input`).
//!
//! A [`Map`] keeps insertion order and has string keys, so a record that goes out of a guest and back in keeps its
//! field order.

mod error;
pub(crate) mod json;
pub(crate) mod lua;
mod payload;
pub(crate) mod wit;

use std::fmt;

pub use error::{kind, ErrorValue};
pub(crate) use indexmap::IndexMap;
pub use payload::Payload;

/// An ordered map with string keys.
pub type Map = IndexMap<String, Value>;

/// A dynamically typed value: nil, bool, integer, float, string, bytes, list, map or error.
///
/// Its serde form is exact and tagged (every variant keeps its type): it is what crosses between the nodes of a
/// cluster (module `cluster`, encoded with postcard). JSON for users goes through [`Value::to_json`] instead.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Value {
    /// The absent value (`nil` in Lua, `null` in JSON, `none` for a WIT option).
    #[default]
    Nil,
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// A UTF-8 string.
    Str(String),
    /// Raw bytes (a WIT `list<u8>`).
    Bytes(Vec<u8>),
    /// An ordered list.
    List(Vec<Value>),
    /// An ordered map with string keys.
    Map(Map),
    /// An error with a kind (Lua's error objects; [`ErrorValue`]).
    Error(Box<ErrorValue>),
}

impl Value {
    /// About how many bytes the value holds: 8 per scalar, the length of text and bytes, and the sum over lists
    /// and maps (keys included). Cheap, and never less than what the value takes as JSON without punctuation.
    pub fn weight(&self) -> usize {
        match self {
            Value::Str(s) => s.len() + 8,
            Value::Bytes(b) => b.len() + 8,
            Value::List(items) => items.iter().fold(8, |n, v| n.saturating_add(v.weight())),
            Value::Map(m) => m.iter().fold(8, |n, (k, v)| n.saturating_add(k.len() + v.weight())),
            Value::Error(e) => {
                let details = e.details.as_ref().map_or(0, |d| d.iter().map(|(k, v)| k.len() + v.weight()).sum());
                e.message.len() + e.kind.len() + e.context.iter().map(String::len).sum::<usize>() + details + 8
            }
            _ => 8,
        }
    }

    /// A short name of the value's type, used in error messages (`integer`, `string`, `map`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Error(_) => "error",
        }
    }

    /// True for [`Value::Nil`].
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The string inside a [`Value::Str`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer inside a [`Value::Int`], or a float with no fractional part that fits an `i64`.
    pub fn as_int(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::Float(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => Some(f as i64),
            _ => None,
        }
    }

    /// The number inside a [`Value::Int`] or [`Value::Float`], as a float.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::Float(f) => Some(f),
            _ => None,
        }
    }

    /// The boolean inside a [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The map inside a [`Value::Map`].
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The list inside a [`Value::List`].
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// Looks up `key` in a map; `None` for a missing key or a value that is not a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// Builds a map value from `(key, value)` pairs.
    pub fn map<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

/// Values print as compact JSON (bytes as a list of numbers), which is also what the CLI shows; an error prints
/// as its text (`context: message`).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Error(e) => e.fmt(f),
            other => f.write_str(&json::to_json_string(other)),
        }
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::Int(i64::from(v))
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float(f64::from(v))
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(v)
    }
}
impl From<Map> for Value {
    fn from(v: Map) -> Self {
        Value::Map(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Nil, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_floats_count_as_integers() {
        assert_eq!(Value::Float(42.0).as_int(), Some(42));
        assert_eq!(Value::Float(42.5).as_int(), None);
        assert_eq!(Value::Float(1e300).as_int(), None);
    }

    #[test]
    fn display_is_json() {
        let v = Value::map([("a", Value::from(1)), ("b", Value::List(vec![Value::Nil, "x".into()]))]);
        assert_eq!(v.to_string(), r#"{"a":1,"b":[null,"x"]}"#);
    }
}
