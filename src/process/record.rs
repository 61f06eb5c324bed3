//! The record of one live process or client: what the rest of the host may see and change while it runs.
//!
//! A [`Record`] sits in the process table from the moment its identity is published until it is finalized
//! ([`super::lifecycle`]). Its monitors, links, names and groups live here behind a small mutex, not inside the
//! actor, so `monitor`, `link`, `register`, `terminate` and `cancel` work while the process is blocked in a host
//! call or spinning in guest code. Nothing outside `process` can reach a record.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::hosts::ProcessHost;
use super::mailbox::{mailbox, Inbox, Mailbox};
use super::stats::Stats;
use super::Pid;
use crate::id::EntryId;
use crate::security::SecurityContext;
use crate::value::Value;

/// The mutable part of a record.
#[derive(Default)]
pub(crate) struct Control {
    /// Set once, when the record is finalized.
    pub(crate) exited: bool,
    /// Who receives this process's EXIT.
    pub(crate) monitors: Vec<Pid>,
    /// The processes linked to this one.
    pub(crate) links: Vec<Pid>,
    /// Whether LINK_DOWN is an event (true) or a kill (false).
    pub(crate) trap_links: bool,
    /// The names it holds.
    pub(crate) names: Vec<String>,
    /// The groups it is in.
    pub(crate) groups: Vec<String>,
    /// Why the process is being killed, when it is.
    pub(crate) kill_reason: Option<Value>,
}

/// One live process or client.
pub(crate) struct Record {
    /// Its PID.
    pub(crate) pid: Pid,
    /// The process entry it runs; `None` for a participant without an actor.
    pub(crate) entry: Option<EntryId>,
    /// What it is doing and what it consumed ([`super::stats`]).
    pub(crate) stats: Stats,
    /// Where its messages and events go.
    pub(crate) mailbox: Mailbox,
    /// The process host it runs on; `None` for a participant without an actor (a Rust client, or a Lua function
    /// call that needed a PID).
    pub(crate) host: Option<Arc<ProcessHost>>,
    /// The security context it runs under.
    pub(crate) context: Arc<SecurityContext>,
    /// How deep in `funcs` calls it was started (a process called as a function through `meta.default_host`
    /// counts as one level deeper than its caller): its own calls continue from there.
    pub(crate) depth: u32,
    ctl: Mutex<Control>,
    /// Wakes the process's Step when it is terminated (a permit is kept if Step is not waiting yet).
    pub(crate) killed: Notify,
}

impl Record {
    /// A record and the inbox of its mailbox.
    pub(super) fn new(
        pid: Pid,
        entry: Option<EntryId>,
        host: Option<Arc<ProcessHost>>,
        context: Arc<SecurityContext>,
        depth: u32,
    ) -> (Arc<Record>, Inbox) {
        let (mailbox, inbox) = mailbox(host.as_ref().map(|h| h.limits.mailbox).unwrap_or_default());
        let record = Arc::new(Record {
            pid,
            entry,
            stats: Stats::default(),
            mailbox,
            host,
            context,
            depth,
            ctl: Mutex::new(Control::default()),
            killed: Notify::new(),
        });
        (record, inbox)
    }

    /// The mutable part, locked.
    pub(crate) fn ctl(&self) -> MutexGuard<'_, Control> {
        // Every critical section only pushes, takes or flips plain data, so a panic cannot leave it inconsistent:
        // recover the guard instead of propagating the poison.
        self.ctl.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the process runs on the terminal host (its output goes to the real terminal).
    pub(crate) fn on_terminal(&self) -> bool {
        self.host.as_ref().is_some_and(|h| h.limits.terminal)
    }
}
