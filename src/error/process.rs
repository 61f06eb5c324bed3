//! Errors of process operations: spawn, send, register, link, and the rest of the process model.

use super::CallError;
use crate::id::EntryId;

/// Why a process operation (spawn, send, register, link...) failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProcessError {
    /// No entry has that ID.
    #[error("no entry `{id}` in the registry")]
    UnknownEntry {
        /// The ID asked for.
        id: String,
        /// A close process entry.
        suggestion: Option<String>,
    },
    /// The entry is not a process.
    #[error("entry `{id}` is a `{kind}`, not a process")]
    NotAProcess {
        /// The entry.
        id: String,
        /// Its kind.
        kind: &'static str,
    },
    /// The host to spawn on is not a process host.
    #[error("no process host `{host}`")]
    UnknownHost {
        /// The host asked for.
        host: String,
        /// What exists.
        hint: String,
    },
    /// The host already runs `max_processes` processes.
    #[error("process host `{host}` is at its limit of {max} processes (`max_processes`)")]
    MaxProcesses {
        /// The host.
        host: EntryId,
        /// Its limit.
        max: usize,
    },
    /// Too many processes wait for a worker on the host.
    #[error("process host `{host}` has {queue_size} processes waiting for a worker (`queue_size`)")]
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
    #[error("process `{pid}` not found (it has exited, or never existed)")]
    NoProcess {
        /// The PID.
        pid: String,
    },
    /// The receiver's mailbox is full (SPEC §10): the message was refused (UNAVAILABLE, retryable).
    #[error("the mailbox of `{pid}` is full: {bound}")]
    MailboxFull {
        /// The receiver.
        pid: String,
        /// Which bound, with its value (`65536 messages are waiting (host.mailbox_size)`).
        bound: String,
    },
    /// The text is not a PID.
    #[error("`{text}` is not a PID (they look like `{{app:processes|0x0001a}}`)")]
    BadPid {
        /// The text.
        text: String,
    },
    /// No process is registered under that name.
    #[error("could not resolve `{name}`: no process is registered under that name (not found)")]
    UnknownName {
        /// The name.
        name: String,
    },
    /// The name is held by another process.
    #[error("name already registered: `{name}` belongs to {pid}")]
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
    #[error("cannot send to @ topics: `{topic}` is reserved for host events")]
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
    /// The PID or host names a node this host is not connected to (SPEC §8): it is down, unknown, or this host
    /// is in no cluster.
    #[error("noconnection: node `{node}` is not connected")]
    NoConnection {
        /// The node.
        node: String,
    },
    /// A message is too large to cross to another node.
    #[error("the message is {bytes} bytes, past the limit of {max} bytes for messages between nodes (`cluster.max_message_bytes`)")]
    MessageTooLarge {
        /// Its encoded size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// Too much waits to be sent to another node: the connection does not keep up.
    #[error("the connection to node `{node}` is busy: {bytes} bytes wait to be sent (`cluster.max_outbox_bytes`)")]
    NodeBusy {
        /// The node.
        node: String,
        /// How much waits.
        bytes: usize,
    },
    /// Another node refused the operation (a remote spawn): its error, with its kind.
    #[error("{message}")]
    Remote {
        /// The node.
        node: String,
        /// The error kind there.
        kind: &'static str,
        /// The error text there.
        message: String,
    },
    /// The registry scope needs consensus, which is not built yet.
    #[error("registry scope {scope} is not supported yet (use LOCAL or EVENTUAL)")]
    ScopeNotSupported {
        /// The scope.
        scope: &'static str,
    },
    /// The caller itself was terminated (a client whose linked process failed).
    #[error("this process was terminated: {reason}")]
    Terminated {
        /// Why.
        reason: String,
    },
}

impl ProcessError {
    /// The kind of the error (SPEC §5.2, the `errors.*` constants), for Lua's error objects.
    pub fn kind(&self) -> &'static str {
        use crate::value::kind;
        match self {
            ProcessError::UnknownEntry { .. }
            | ProcessError::UnknownHost { .. }
            | ProcessError::NoProcess { .. }
            | ProcessError::UnknownName { .. } => kind::NOT_FOUND,
            ProcessError::NotAProcess { .. }
            | ProcessError::Arguments(_)
            | ProcessError::BadPid { .. }
            | ProcessError::BadName { .. }
            | ProcessError::ReservedTopic { .. }
            | ProcessError::BadPayload { .. }
            | ProcessError::MessageTooLarge { .. }
            | ProcessError::ScopeNotSupported { .. } => kind::INVALID,
            ProcessError::Remote { kind, .. } => kind,
            ProcessError::MaxProcesses { .. }
            | ProcessError::QueueFull { .. }
            | ProcessError::MailboxFull { .. }
            | ProcessError::NoConnection { .. }
            | ProcessError::NodeBusy { .. }
            | ProcessError::Init(CallError::NoSlot { .. }) => kind::UNAVAILABLE,
            ProcessError::NameTaken { .. } => kind::ALREADY_EXISTS,
            ProcessError::Terminated { .. } => kind::CANCELED,
            ProcessError::Init(_) => kind::INTERNAL,
        }
    }

    /// The error as a [`Value::Error`](crate::Value::Error) with its kind.
    pub fn to_error_value(&self) -> crate::Value {
        let e = crate::ErrorValue::new(self.to_string()).with_kind(self.kind());
        match self.kind() {
            crate::value::kind::UNAVAILABLE => e.with_retryable(true).into(),
            _ => e.into(),
        }
    }

    /// What the user can do about it, for the CLI (never part of the message a guest sees).
    pub fn hint(&self) -> Option<String> {
        match self {
            ProcessError::UnknownEntry { suggestion: Some(s), .. } => Some(format!("did you mean `{s}`?")),
            ProcessError::NotAProcess { .. } => {
                Some("only `process.wasm` and `process.lua` entries can be spawned".to_owned())
            }
            ProcessError::UnknownHost { hint, .. } => Some(hint.clone()),
            ProcessError::MaxProcesses { .. } => {
                Some("wait for processes to exit, or raise `host.max_processes`".to_owned())
            }
            ProcessError::QueueFull { .. } => Some("raise `host.workers` or `host.queue_size`".to_owned()),
            ProcessError::MailboxFull { .. } => Some(
                "the receiver does not keep up: retry later, slow the sender down, or raise `host.mailbox_size` / \
                 `host.mailbox_bytes` of its process host"
                    .to_owned(),
            ),
            ProcessError::NameTaken { .. } => Some("unregister it first, or pick another name".to_owned()),
            ProcessError::NoConnection { node } => Some(format!(
                "check that node `{node}` runs, shares this cluster's secret and is reachable (`wippy start --join`)"
            )),
            ProcessError::Arguments(e) | ProcessError::Init(e) => e.hint(),
            _ => None,
        }
    }
}
