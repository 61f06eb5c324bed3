//! An error as a value ([`ErrorValue`]): what Lua's error objects carry across calls, messages and EXIT events
//! (SPEC §5.2 "Error objects", §5.8).
//!
//! An error has a message, a kind (one of [`kind`], or `""` when unset), whether retrying may help (unknown when
//! `None`), optional details, and the contexts it was wrapped in (`errors.wrap`), innermost last. Its host-side
//! text is `context: message`; Lua's `tostring` and `:message()` show the message alone.
//!
//! Conversions: into Lua an error object; out of Lua the same; into JSON an object
//! `{"message", "kind", "retryable"?, "details"?}` (JSON has no error type, so an error that leaves the host as
//! JSON, to a WASM guest or the CLI, arrives as that map); into a WIT `string` its text, anywhere else that map.

use std::fmt;

use super::{Map, Value};

/// The kinds Wippy names (the `errors.*` constants of SPEC §5.8).
pub mod kind {
    /// Something asked for does not exist.
    pub const NOT_FOUND: &str = "NotFound";
    /// Something to be created exists already.
    pub const ALREADY_EXISTS: &str = "AlreadyExists";
    /// A bad argument.
    pub const INVALID: &str = "Invalid";
    /// Not allowed.
    pub const PERMISSION_DENIED: &str = "PermissionDenied";
    /// Not available now; retrying later may help.
    pub const UNAVAILABLE: &str = "Unavailable";
    /// Anything else.
    pub const INTERNAL: &str = "Internal";
    /// Canceled or terminated.
    pub const CANCELED: &str = "Canceled";
    /// A conflicting change.
    pub const CONFLICT: &str = "Conflict";
    /// A deadline passed.
    pub const TIMEOUT: &str = "Timeout";
    /// Too many requests.
    pub const RATE_LIMITED: &str = "RateLimited";
    /// No kind.
    pub const UNKNOWN: &str = "";

    /// The constant for a kind's text (`"Unavailable"` -> [`UNAVAILABLE`]); [`INTERNAL`] for text that is none
    /// (an error kind that came from another node).
    pub fn intern(text: &str) -> &'static str {
        ALL.iter().map(|(_, k)| *k).find(|k| *k == text).unwrap_or(INTERNAL)
    }

    /// Every kind with its Lua constant name.
    pub const ALL: &[(&str, &str)] = &[
        ("NOT_FOUND", NOT_FOUND),
        ("ALREADY_EXISTS", ALREADY_EXISTS),
        ("INVALID", INVALID),
        ("PERMISSION_DENIED", PERMISSION_DENIED),
        ("UNAVAILABLE", UNAVAILABLE),
        ("INTERNAL", INTERNAL),
        ("CANCELED", CANCELED),
        ("CONFLICT", CONFLICT),
        ("TIMEOUT", TIMEOUT),
        ("RATE_LIMITED", RATE_LIMITED),
        ("UNKNOWN", UNKNOWN),
    ];
}

/// An error with a kind, a retry hint and details.
///
/// ```
/// use wippy::{ErrorValue, Value};
///
/// let e = ErrorValue::new("user 7 not found").with_kind("NotFound").wrapped("loading the profile");
/// assert_eq!(e.to_string(), "loading the profile: user 7 not found");
/// assert_eq!(Value::Error(Box::new(e)).to_json(), r#"{"message":"user 7 not found","kind":"NotFound"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ErrorValue {
    /// The message.
    pub message: String,
    /// The kind; `""` when unset.
    pub kind: String,
    /// Whether retrying may help; `None` when unknown.
    pub retryable: Option<bool>,
    /// Structured details.
    pub details: Option<Map>,
    /// Contexts it was wrapped in, innermost first.
    pub context: Vec<String>,
}

impl ErrorValue {
    /// An error with a message and nothing else.
    pub fn new(message: impl Into<String>) -> ErrorValue {
        ErrorValue { message: message.into(), ..ErrorValue::default() }
    }

    /// The same error with `kind`.
    pub fn with_kind(mut self, kind: &str) -> ErrorValue {
        kind.clone_into(&mut self.kind);
        self
    }

    /// The same error with a retry hint.
    pub fn with_retryable(mut self, retryable: bool) -> ErrorValue {
        self.retryable = Some(retryable);
        self
    }

    /// The error wrapped in `context` (kind, retry hint and details kept).
    pub fn wrapped(mut self, context: impl Into<String>) -> ErrorValue {
        self.context.push(context.into());
        self
    }

    /// The JSON-shaped map of the error (message, kind, and retryable and details when set).
    pub fn to_map(&self) -> Map {
        let mut m = Map::new();
        m.insert("message".into(), Value::Str(self.message.clone()));
        m.insert("kind".into(), Value::Str(self.kind.clone()));
        if let Some(r) = self.retryable {
            m.insert("retryable".into(), Value::Bool(r));
        }
        if let Some(d) = &self.details {
            m.insert("details".into(), Value::Map(d.clone()));
        }
        m
    }
}

/// The host-side text: `outer: inner: message`.
impl fmt::Display for ErrorValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.context.iter().rev() {
            write!(f, "{c}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ErrorValue {}

impl From<ErrorValue> for Value {
    fn from(e: ErrorValue) -> Value {
        Value::Error(Box::new(e))
    }
}
