//! The payload of a message ([`Payload`]): a [`Value`], or JSON text (from a WASM guest) that becomes one only when
//! a reader wants a value, so WASM-to-WASM traffic is never parsed by the host.

use super::Value;

/// The payload of a message: a [`Value`], or JSON text that becomes one on demand.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Payload {
    /// A value.
    Value(Value),
    /// JSON text of a value (from a WASM guest).
    Json(String),
}

impl Payload {
    /// The payload as a value (JSON text is parsed; text that is not JSON becomes a string).
    pub fn to_value(&self) -> Value {
        match self {
            Payload::Value(v) => v.clone(),
            Payload::Json(text) => super::json::parse(text).unwrap_or_else(|_| Value::Str(text.clone())),
        }
    }

    /// The payload as JSON text.
    pub fn to_json(&self) -> String {
        match self {
            Payload::Value(v) => super::json::to_json_string(v),
            Payload::Json(text) => text.clone(),
        }
    }

    /// About how many bytes the payload holds (the length of JSON text; [`Value::weight`] of a value): what it
    /// counts against a mailbox's byte bound.
    pub fn weight(&self) -> usize {
        match self {
            Payload::Value(v) => v.weight(),
            Payload::Json(text) => text.len(),
        }
    }
}
