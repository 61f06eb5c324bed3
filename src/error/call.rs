//! Errors of calls into guests: [`CallError`], with the limits ([`LimitExceeded`]) and capabilities
//! ([`CapabilityDenied`]) a guest can run into.
//!
//! Every way a call can fail is a variant that names the entry and says what happened. Traps, limits, denied
//! capabilities and guest `err(..)` results are ordinary errors: the host and every other instance keep running.

use crate::value::ErrorValue;
use std::fmt;

use crate::capability::Group;
use crate::id::EntryId;
use crate::value::wit::ConvertError;
use crate::value::Value;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// No entry has that ID.
    #[error("no entry `{id}` in the registry")]
    UnknownEntry {
        /// The ID asked for.
        id: String,
        /// A close existing ID.
        suggestion: Option<String>,
    },
    /// The entry exists but is not callable as a function.
    #[error("entry `{id}` is a `{kind}`, not a function")]
    NotAFunction {
        /// The entry.
        id: EntryId,
        /// Its kind.
        kind: &'static str,
        /// What to do instead.
        hint: String,
    },
    /// Wrong number of arguments.
    #[error("call to `{entry}`: expected {expected} argument(s), got {got}")]
    ArgumentCount {
        /// The entry.
        entry: EntryId,
        /// How many the function takes.
        expected: usize,
        /// How many were given.
        got: usize,
        /// The function's WIT signature.
        signature: String,
    },
    /// An argument does not fit its WIT type.
    #[error("call to `{entry}` function `{function}`: bad argument {error}")]
    Argument {
        /// The entry.
        entry: EntryId,
        /// The function.
        function: String,
        /// Where and what.
        error: ConvertError,
    },
    /// The guest returned a value the host cannot represent.
    #[error("`{entry}` returned a value the host cannot represent: {error}")]
    Result {
        /// The entry.
        entry: EntryId,
        /// Where and what.
        error: ConvertError,
    },
    /// The guest returned `err(value)` from a function whose result is a WIT `result`.
    #[error("`{entry}` returned an error: {value}")]
    Guest {
        /// The entry.
        entry: EntryId,
        /// The error payload.
        value: Value,
    },
    /// A configured limit was exceeded.
    #[error("`{entry}`: {limit}")]
    Limit {
        /// The entry.
        entry: EntryId,
        /// Which limit.
        limit: LimitExceeded,
    },
    /// The guest called an import its entry was not granted.
    #[error("{0}")]
    Capability(CapabilityDenied),
    /// The guest trapped.
    #[error("`{entry}` trapped: {message}")]
    Trap {
        /// The entry.
        entry: EntryId,
        /// The trap, e.g. "wasm trap: wasm `unreachable` instruction executed".
        message: String,
    },
    /// The guest called `exit` with a non-zero status.
    #[error("`{entry}` exited with exit status {status}")]
    Exit {
        /// The entry.
        entry: EntryId,
        /// The status.
        status: i32,
    },
    /// The entry's pool has no free slot and its queue is full.
    #[error("`{entry}` is busy: every pool slot is in use and {queued} calls are already waiting")]
    Busy {
        /// The entry.
        entry: EntryId,
        /// The queue length that was reached.
        queued: usize,
    },
    /// Every instance slot of the host's WASM engine is in use (UNAVAILABLE, retryable).
    #[error("`{entry}` could not be instantiated: every instance slot of the host is in use ({detail})")]
    NoSlot {
        /// The entry.
        entry: EntryId,
        /// What wasmtime's pool said.
        detail: String,
    },
    /// The instance could not be created (for example, an import failed to resolve at runtime).
    #[error("`{entry}` could not be instantiated: {message}")]
    Instantiate {
        /// The entry.
        entry: EntryId,
        /// Why.
        message: String,
    },
    /// A Lua function raised a value that is not a string (a table, an error object): the value, with its data.
    #[error("{}", raised_text(entry, value))]
    Raised {
        /// The entry.
        entry: EntryId,
        /// The raised value.
        value: Value,
    },
    /// A Lua error, with the file and line (`src/worker.lua:12: attempt to index a nil value`).
    #[error("`{entry}`: {message}")]
    Lua {
        /// The entry.
        entry: EntryId,
        /// The Lua message.
        message: String,
    },
    /// A required environment variable is not set.
    #[error("`{entry}` needs the environment variable `{os_name}` (entry `{variable}`), which is not set")]
    MissingEnv {
        /// The entry being instantiated.
        entry: EntryId,
        /// The `env.variable` entry.
        variable: EntryId,
        /// The OS variable name.
        os_name: String,
    },
    /// Calls through `funcs` nested deeper than the limit.
    #[error("`{entry}`: calls through `funcs` nest deeper than {limit} levels")]
    TooDeep {
        /// The entry that made the call.
        entry: EntryId,
        /// The limit.
        limit: u32,
    },
    /// The call was cancelled or the process terminated.
    #[error("`{entry}`: {message}")]
    Cancelled {
        /// The entry.
        entry: EntryId,
        /// What ended it.
        message: String,
    },
}

/// `app:f raised {...}`; an error object that already says where it was raised (`app:f`: file:line: message) as
/// it is.
fn raised_text(entry: &EntryId, value: &Value) -> String {
    match value {
        Value::Error(e) if !e.context.is_empty() => e.to_string(),
        other => format!("`{entry}` raised {other}"),
    }
}

impl CallError {
    /// The entry the error belongs to, if it has one.
    pub fn entry(&self) -> Option<&EntryId> {
        match self {
            CallError::UnknownEntry { .. } => None,
            CallError::Capability(c) => Some(&c.entry),
            CallError::NotAFunction { id, .. } => Some(id),
            CallError::ArgumentCount { entry, .. }
            | CallError::Argument { entry, .. }
            | CallError::Result { entry, .. }
            | CallError::Guest { entry, .. }
            | CallError::Raised { entry, .. }
            | CallError::Limit { entry, .. }
            | CallError::Trap { entry, .. }
            | CallError::Exit { entry, .. }
            | CallError::Busy { entry, .. }
            | CallError::NoSlot { entry, .. }
            | CallError::Instantiate { entry, .. }
            | CallError::MissingEnv { entry, .. }
            | CallError::Lua { entry, .. }
            | CallError::TooDeep { entry, .. }
            | CallError::Cancelled { entry, .. } => Some(entry),
        }
    }

    /// What the user can do about it, for the CLI (never part of the message a guest sees).
    pub fn hint(&self) -> Option<String> {
        match self {
            CallError::UnknownEntry { suggestion: Some(s), .. } => Some(format!("did you mean `{s}`?")),
            CallError::NotAFunction { hint, .. } => Some(hint.clone()),
            CallError::ArgumentCount { signature, .. } => Some(format!("the signature is `{signature}`")),
            CallError::Busy { .. } => {
                Some("raise `pool.max_size` (or `pool.workers`) or `pool.buffer` of the entry".to_owned())
            }
            CallError::NoSlot { .. } => Some(
                "short commands (`wippy call`, `run`, `test`) have 4,096 instance slots: set `WIPPY_INSTANCE_SLOTS`; \
                 `wippy start` sizes them from `host.max_processes` and the pools; embedders use \
                 `HostBuilder::instance_slots`"
                    .to_owned(),
            ),
            CallError::MissingEnv { os_name, variable, .. } => {
                Some(format!("set `{os_name}`, or give `{variable}` a `default`"))
            }
            _ => None,
        }
    }

    /// The error as a [`Value`]: the payload of a guest `err(..)`, the message text otherwise.
    pub fn to_value(&self) -> Value {
        match self {
            CallError::Guest { value, .. } | CallError::Raised { value, .. } => value.clone(),
            other => Value::Str(other.to_string()),
        }
    }

    /// The error with its kind (SPEC §5.2), as a Lua caller gets it: an error a guest returned or raised as it is
    /// (an error object, or the data of a raised table); a guest's error text as an INTERNAL error that is not
    /// retryable; the host's errors with the kind that says what went wrong.
    pub fn to_error_value(&self) -> Value {
        use crate::value::kind;
        let k = match self {
            CallError::Guest { value: Value::Str(s), .. } => {
                return ErrorValue::new(s.clone()).with_kind(kind::INTERNAL).with_retryable(false).into()
            }
            CallError::Guest { value, .. } | CallError::Raised { value, .. } => return value.clone(),
            CallError::UnknownEntry { .. } => kind::NOT_FOUND,
            CallError::NotAFunction { .. } | CallError::ArgumentCount { .. } | CallError::Argument { .. } => {
                kind::INVALID
            }
            CallError::Capability(_) => kind::PERMISSION_DENIED,
            CallError::Busy { .. } | CallError::NoSlot { .. } => {
                return ErrorValue::new(self.to_string()).with_kind(kind::UNAVAILABLE).with_retryable(true).into()
            }
            CallError::Limit { limit: LimitExceeded::Time { .. }, .. } => kind::TIMEOUT,
            CallError::Cancelled { .. } => kind::CANCELED,
            _ => kind::INTERNAL,
        };
        ErrorValue::new(self.to_string()).with_kind(k).into()
    }
}

/// A limit that a guest exceeded. Returned as the error of a call or as the EXIT error of a process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    /// `max_memory`.
    #[error("limit `max_memory` exceeded: the guest asked for {desired} bytes of memory, the limit is {limit} bytes")]
    Memory {
        /// The size the guest asked for.
        desired: u64,
        /// The configured limit.
        limit: u64,
    },
    /// A memory budget (SPEC §10): the guest memory reserved across instances would pass it. Only an
    /// instantiation fails this way; a growth past a budget fails inside the guest, like any failed `memory.grow`.
    #[error(
        "memory budget exceeded ({setting}): instantiating needs {desired} more bytes, and {used} of its {limit} bytes are in use"
    )]
    MemoryBudget {
        /// The setting (`host.memory_budget` of `app:processes`, or the host's own budget).
        setting: String,
        /// The bytes asked for.
        desired: u64,
        /// The bytes already reserved.
        used: u64,
        /// The budget.
        limit: u64,
    },
    /// `max_execution_ms`.
    #[error("limit `max_execution_ms` exceeded: the guest ran longer than {ms} ms")]
    Time {
        /// The configured limit.
        ms: u64,
    },
    /// `max_fuel`.
    #[error("limit `max_fuel` exceeded: the guest used all of its {fuel} units of fuel")]
    Fuel {
        /// The configured limit.
        fuel: u64,
    },
    /// A Lua invocation needed more memory than `max_memory` (default 64 MiB).
    #[error("limit `max_memory` exceeded: the Lua code needed more than {limit} bytes")]
    LuaMemory {
        /// The configured limit.
        limit: u64,
    },
    /// A table grew past the host's table limit.
    #[error("the guest tried to grow a table to {desired} elements; the host allows at most {limit}")]
    Table {
        /// The size the guest asked for.
        desired: usize,
        /// The host limit.
        limit: usize,
    },
}

/// A guest called an import that its entry was not granted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CapabilityDenied {
    /// The group that would provide the import, if any does.
    pub group: Option<Group>,
    /// The entry whose guest made the call.
    pub entry: EntryId,
    /// The import, `interface#function` or `module::name`.
    pub import: String,
}

impl fmt::Display for CapabilityDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.group {
            Some(g) => write!(
                f,
                "capability `{g}` is not granted to `{}`: add it to imports (the guest called `{}`)",
                self.entry, self.import
            ),
            None => write!(
                f,
                "import `{}` is not provided by this host: no capability group grants it to `{}`",
                self.import, self.entry
            ),
        }
    }
}
