//! Errors of calls into guests.
//!
//! Every way a call can fail is a [`CallError`] variant that names the entry and says what happened; where a fix is
//! obvious the message ends with a `hint:`. Traps, limits, denied capabilities and guest `err(..)` results are
//! ordinary errors: the host and every other instance keep running.

use crate::imports::CapabilityDenied;
use crate::registry::EntryId;
use crate::store::LimitExceeded;
use crate::value::wit::ConvertError;
use crate::value::Value;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// No entry has that ID.
    #[error("no entry `{id}` in the registry{}", suggestion.as_ref().map(|s| format!("\n  hint: did you mean `{s}`?")).unwrap_or_default())]
    UnknownEntry {
        /// The ID asked for.
        id: String,
        /// A close existing ID.
        suggestion: Option<String>,
    },
    /// The entry exists but is not callable as a function.
    #[error("entry `{id}` is a `{kind}`, not a function\n  hint: {hint}")]
    NotAFunction {
        /// The entry.
        id: EntryId,
        /// Its kind.
        kind: &'static str,
        /// What to do instead.
        hint: String,
    },
    /// Wrong number of arguments.
    #[error("call to `{entry}`: expected {expected} argument(s), got {got}\n  hint: the signature is `{signature}`")]
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
    #[error("`{entry}` is busy: every pool slot is in use and {queued} calls are already waiting\n  hint: raise `pool.max_size` (or `pool.workers`) or `pool.buffer` of the entry")]
    Busy {
        /// The entry.
        entry: EntryId,
        /// The queue length that was reached.
        queued: usize,
    },
    /// The instance could not be created (for example, an import failed to resolve at runtime).
    #[error("`{entry}` could not be instantiated: {message}")]
    Instantiate {
        /// The entry.
        entry: EntryId,
        /// Why.
        message: String,
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
    #[error("`{entry}` needs the environment variable `{os_name}` (entry `{variable}`), which is not set\n  hint: set `{os_name}`, or give `{variable}` a `default`")]
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
            | CallError::Limit { entry, .. }
            | CallError::Trap { entry, .. }
            | CallError::Exit { entry, .. }
            | CallError::Busy { entry, .. }
            | CallError::Instantiate { entry, .. }
            | CallError::MissingEnv { entry, .. }
            | CallError::Lua { entry, .. }
            | CallError::TooDeep { entry, .. }
            | CallError::Cancelled { entry, .. } => Some(entry),
        }
    }

    /// The error as a [`Value`]: the payload of a guest `err(..)`, the message text otherwise.
    pub fn to_value(&self) -> Value {
        match self {
            CallError::Guest { value, .. } => value.clone(),
            other => Value::Str(other.to_string()),
        }
    }
}

/// Why a process operation (spawn, send, register, link...) failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProcessError {
    /// No entry has that ID.
    #[error("no entry `{id}` in the registry{}", suggestion.as_ref().map(|s| format!("\n  hint: did you mean `{s}`?")).unwrap_or_default())]
    UnknownEntry {
        /// The ID asked for.
        id: String,
        /// A close process entry.
        suggestion: Option<String>,
    },
    /// The entry is not a process.
    #[error("entry `{id}` is a `{kind}`, not a process\n  hint: only `process.wasm` (and `process.lua`) entries can be spawned")]
    NotAProcess {
        /// The entry.
        id: String,
        /// Its kind.
        kind: &'static str,
    },
    /// The host to spawn on is not a process host.
    #[error("no process host `{host}`\n  hint: {hint}")]
    UnknownHost {
        /// The host asked for.
        host: String,
        /// What exists.
        hint: String,
    },
    /// The host already runs `max_processes` processes.
    #[error("process host `{host}` is at its limit of {max} processes (`max_processes`)\n  hint: wait for processes to exit, or raise `host.max_processes`")]
    MaxProcesses {
        /// The host.
        host: EntryId,
        /// Its limit.
        max: usize,
    },
    /// Too many processes wait for a worker on the host.
    #[error("process host `{host}` has {queue_size} processes waiting for a worker (`queue_size`)\n  hint: raise `host.workers` or `host.queue_size`")]
    QueueFull {
        /// The host.
        host: EntryId,
        /// Its queue limit.
        queue_size: usize,
    },
    /// The arguments do not fit the process method.
    #[error("bad arguments for the process: {0}")]
    Arguments(CallError),
    /// The instance could not be created (Init failed).
    #[error("the process could not start: {0}")]
    Init(CallError),
    /// The PID is not alive.
    #[error("no such process `{pid}` (it has exited, or never existed)")]
    NoProcess {
        /// The PID.
        pid: String,
    },
    /// The text is not a PID.
    #[error("`{text}` is not a PID (they look like `{{app:processes|0x0001a}}`)")]
    BadPid {
        /// The text.
        text: String,
    },
    /// No process is registered under that name.
    #[error("no process is registered as `{name}`")]
    UnknownName {
        /// The name.
        name: String,
    },
    /// The name is held by another process.
    #[error("the name `{name}` is already registered to {pid}\n  hint: unregister it first, or pick another name")]
    NameTaken {
        /// The name.
        name: String,
        /// Who holds it.
        pid: String,
    },
    /// The name is not usable.
    #[error("invalid process name `{name}`: names are non-empty and do not start with `{{`")]
    BadName {
        /// The name.
        name: String,
    },
    /// Topics starting with `@` belong to the host.
    #[error("the topic `{topic}` is reserved: topics starting with `@` are for host events")]
    ReservedTopic {
        /// The topic.
        topic: String,
    },
    /// The payload is not valid.
    #[error("invalid payload: {reason}")]
    BadPayload {
        /// Why.
        reason: String,
    },
    /// The caller itself was terminated (a client whose linked process failed).
    #[error("this process was terminated: {reason}")]
    Terminated {
        /// Why.
        reason: String,
    },
}
