//! JSON <-> [`Value`]: CLI arguments (`wippy call ns:f 6 '{"a":1}'`), CLI output, and the JSON payloads of the
//! `wippy:process` interface.
//!
//! JSON has no bytes: [`Value::Bytes`] becomes a list of numbers on the way out, and no errors: a [`Value::Error`]
//! becomes its map (`{"message", "kind", ...}`, [`super::ErrorValue`]). JSON numbers become integers when
//! they are integral and fit an `i64`, floats otherwise. Non-finite floats become `null`.

use super::{Map, Value};

/// Converts a `serde_json::Value` into a [`Value`].
pub(crate) fn from_json(j: serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::Str(s),
        serde_json::Value::Array(a) => Value::List(a.into_iter().map(from_json).collect()),
        serde_json::Value::Object(o) => Value::Map(o.into_iter().map(|(k, v)| (k, from_json(v))).collect::<Map>()),
    }
}

/// Converts a [`Value`] into a `serde_json::Value`.
pub(crate) fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Nil => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Str(s) => serde_json::Value::String(s.clone()),
        Value::Bytes(b) => serde_json::Value::Array(b.iter().map(|x| serde_json::Value::from(*x)).collect()),
        Value::List(l) => serde_json::Value::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Value::Error(e) => to_json(&Value::Map(e.to_map())),
    }
}

/// Parses JSON text into a [`Value`].
pub(crate) fn parse(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str(text).map(from_json)
}

/// Renders a [`Value`] as compact JSON text.
pub(crate) fn to_json_string(v: &Value) -> String {
    to_json(v).to_string()
}

/// Parses a command-line argument (`docs/cli.md`): JSON when it is valid JSON, the literal string otherwise; but
/// text that starts like a JSON object, list or string (`{`, `[`, `"`) must be valid JSON, so a typo in it is an
/// error rather than a string the callee did not expect.
pub(crate) fn parse_arg(arg: &str) -> Result<Value, serde_json::Error> {
    match parse(arg) {
        Ok(v) => Ok(v),
        Err(e) if arg.trim_start().starts_with(['{', '[', '"']) => Err(e),
        Err(_) => Ok(Value::Str(arg.to_owned())),
    }
}

impl Value {
    /// Parses JSON text.
    pub fn from_json(text: &str) -> Result<Value, serde_json::Error> {
        parse(text)
    }

    /// A command-line argument: JSON when it is valid JSON, the literal string otherwise; text starting with `{`,
    /// `[` or `"` must be valid JSON.
    ///
    /// ```
    /// use wippy::Value;
    /// assert_eq!(Value::from_arg("42").unwrap(), Value::Int(42));
    /// assert_eq!(Value::from_arg("hello").unwrap(), Value::from("hello"));
    /// assert!(Value::from_arg("{\"a\": 1").is_err());
    /// ```
    pub fn from_arg(arg: &str) -> Result<Value, serde_json::Error> {
        parse_arg(arg)
    }

    /// Compact JSON text (bytes become a list of numbers; non-finite floats `null`).
    pub fn to_json(&self) -> String {
        to_json_string(self)
    }

    /// Indented JSON text, as the CLI prints results.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(&to_json(self)).unwrap_or_else(|_| self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let text = r#"{"b":[1,2.5,"x",null,true],"a":{"z":-3}}"#;
        let v = parse(text).expect("valid json");
        assert_eq!(to_json_string(&v), text);
    }

    #[test]
    fn args_fall_back_to_strings() {
        assert_eq!(parse_arg("42").ok(), Some(Value::Int(42)));
        assert_eq!(parse_arg("World").ok(), Some(Value::Str("World".into())));
        assert_eq!(parse_arg("1.2.3").ok(), Some(Value::Str("1.2.3".into())));
        assert_eq!(parse_arg("\"quoted\"").ok(), Some(Value::Str("quoted".into())));
        assert_eq!(parse_arg("[1, 2]").ok(), Some(Value::List(vec![1.into(), 2.into()])));
        assert!(parse_arg("[1, 2").is_err() && parse_arg(" {\"a\":").is_err() && parse_arg("\"open").is_err());
    }

    #[test]
    fn floats_round_trip() {
        // Found by the `json_args` fuzz target: without serde_json's exact float parsing, an integer too large for
        // i64 read as a float printed differently on every round trip.
        let v = parse_arg(" 11111111111111111111111").expect("a number");
        let json = to_json_string(&v);
        assert_eq!(to_json_string(&parse(&json).expect("reads back")), json);
    }

    #[test]
    fn bytes_become_number_lists() {
        assert_eq!(to_json_string(&Value::Bytes(vec![1, 255])), "[1,255]");
    }
}
