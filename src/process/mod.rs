//! Processes: guests running as ractor actors with PIDs, mailboxes, monitors, links, names and groups, owned by one
//! [`crate::Host`]. This layer knows no guest language: it runs [`Program`]s that the engines provide and reaches
//! functions through the [`Functions`] table that the host provides ([`guest`]).
//!
//! - [`pid`]: [`Pid`], printed `{host|0x0001a}`.
//! - [`mailbox`]: [`Message`]s, [`Event`]s (EXIT, LINK_DOWN, CANCEL) and the two-queue mailbox.
//! - [`record`]: what the host knows of one live process; [`lifecycle`]: the [`Identity`] that opens, publishes
//!   and finalizes it, and the exit ordering.
//! - [`system`]: the process table and the signals between processes; [`links`], [`names`] and [`groups`] add
//!   monitors and links, the name registry and process groups.
//! - [`hosts`]: process hosts (`max_processes`, `workers`, `queue_size`) and the worker gate.
//! - [`spawn`] and [`actor`]: the path from an entry ID to a running actor (Init, Step, Close).
//! - [`stats`]: per-process accounting (state, age, CPU, memory) and the snapshots of the process table.
//! - [`client`]: [`Client`], the Rust-side participant: it has a PID and a mailbox, so orchestration code can
//!   spawn, monitor, link, send and receive like a process.
//!
//! Guarantees: delivery is FIFO per sender; events are never queued behind messages; a PID is never visible before
//! its process exists; every identity is finalized exactly once, in the order [`lifecycle`] documents; monitors,
//! links, names, `terminate` and `cancel` work while the target runs guest code or waits.

mod actor;
mod budget;
mod client;
mod groups;
mod guest;
mod hosts;
mod lifecycle;
mod links;
mod mailbox;
mod names;
mod pid;
mod record;
mod remote;
mod spawn;
mod stats;
mod system;

pub use client::Client;
pub use guest::MAX_CALL_DEPTH;
pub use mailbox::{Event, Exit, Message, Payload, Received};
pub use names::Scope;
pub use pid::Pid;
pub use stats::{ProcessInfo, ProcessState};

pub(crate) use budget::{default_memory_budget, MemoryBudget};
pub(crate) use guest::{BoxFuture, CallEnv, Function, Functions, Launch, ProcessContext, Program, Running};
pub(crate) use hosts::{HostLimits, ProcessHost};
pub(crate) use lifecycle::Identity;
pub(crate) use mailbox::{Inbox, MailboxBounds};
pub(crate) use record::Record;
pub(crate) use remote::{ExitSignal, Remote, RemoteSpawn, Shared};
pub(crate) use spawn::SpawnRequest;
pub(crate) use system::System;

use crate::error::ProcessError;
use crate::value::Value;

/// How a spawn attaches the new process to its parent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpawnOptions {
    /// The parent receives the child's EXIT.
    pub monitor: bool,
    /// Parent and child are linked.
    pub link: bool,
}

/// Topics starting with `@` are the host's (events); nobody may send on them.
fn check_topic(topic: &str) -> Result<(), ProcessError> {
    if topic.starts_with('@') {
        return Err(ProcessError::ReservedTopic { topic: topic.to_owned() });
    }
    Ok(())
}

/// A value for messages: strings as they are, anything else as JSON.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    }
}
