//! The lifecycle of a process identity, owned by one type: [`Identity`].
//!
//! Everything that has a PID holds exactly one `Identity`: a spawned process (inside its actor's state), a Rust
//! [`Client`](super::Client), and a Lua function call that needed a PID. An identity is
//! 1. **opened** ([`Identity::open`]): a fresh PID, a mailbox and a [`Record`], and for a process a reserved slot
//!    on its process host (`max_processes`). Nobody can see it yet;
//! 2. **published** ([`Identity::publish`]): it enters the process table, so it can be found, sent to, monitored
//!    and linked;
//! 3. **finalized** exactly once: by [`Identity::finish`] with the outcome, by dropping it (a normal end), or, for
//!    an identity without an actor, by being killed ([`super::System::terminate`]). Later attempts do nothing.
//!
//! # Exit ordering
//! Finalizing runs in this order:
//! 1. the record is marked exited under its lock (from here on `monitor`, `link`, `register` and `join` see a dead
//!    process);
//! 2. it leaves the process table and its mailbox closes, so sends to it are dropped;
//! 3. its slot on its process host is given back (a monitor can spawn a replacement on a full host at once);
//! 4. EXIT reaches every monitor, then LINK_DOWN every link (killing those that do not trap links, when the exit was
//!    abnormal);
//! 5. its names are released and it leaves its groups.
//!
//! A name or group membership of an exited process is already invisible at step 2 (lookups and member lists only
//! show processes in the table), and a name held by an exited process counts as free, so a monitor that receives
//! EXIT can register the same name at once.
//!
//! An identity opened for a spawn whose Init fails is never published: dropping it gives its slot back and
//! notifies nobody, because nobody could have monitored or linked it.

use std::sync::Arc;
use std::time::SystemTime;

use super::hosts::ProcessHost;
use super::mailbox::{Event, Exit, Inbox};
use super::record::Record;
use super::remote::ExitSignal;
use super::{Pid, System};
use crate::error::ProcessError;
use crate::id::EntryId;
use crate::security::SecurityContext;
use crate::telemetry::Outcome;
use crate::value::Value;

/// The owner of one PID, from open to finalize.
pub(crate) struct Identity {
    system: Arc<System>,
    record: Arc<Record>,
}

impl Identity {
    /// Opens an identity on `host` (`None` for a participant without an actor): a PID, a mailbox and, on a host, a
    /// reserved slot. Not visible to anyone until [`Identity::publish`].
    pub(crate) fn open(
        system: &Arc<System>,
        entry: EntryId,
        host: Option<Arc<ProcessHost>>,
        context: Arc<SecurityContext>,
        depth: u32,
    ) -> Result<(Identity, Inbox), ProcessError> {
        if let Some(h) = &host {
            h.reserve()?;
        }
        let pid = system.next_pid(host.as_ref().map_or("client", |h| h.id.as_str()));
        let (record, inbox) = Record::new(pid, Some(entry), host, context, depth);
        Ok((Identity { system: system.clone(), record }, inbox))
    }

    /// Opens and publishes an identity without an actor (a client, a Lua function call).
    pub(crate) fn open_published(system: &Arc<System>, context: Arc<SecurityContext>) -> (Identity, Inbox) {
        let pid = system.next_pid("client");
        let (record, inbox) = Record::new(pid, None, None, context, 0);
        let identity = Identity { system: system.clone(), record };
        identity.publish();
        (identity, inbox)
    }

    /// The PID.
    pub(crate) fn pid(&self) -> &Pid {
        &self.record.pid
    }

    /// The record.
    pub(crate) fn record(&self) -> &Arc<Record> {
        &self.record
    }

    /// The process system it belongs to.
    pub(crate) fn system(&self) -> &Arc<System> {
        &self.system
    }

    /// From here on the PID can be found, sent to, monitored and linked.
    pub(crate) fn publish(&self) {
        self.system.table.insert(self.record.pid.clone(), self.record.clone());
    }

    /// Finalizes with the outcome: `error` is `None` for a normal end. Runs once; later calls do nothing.
    pub(crate) fn finish(&self, value: Value, error: Option<Value>) {
        finalize(&self.system, &self.record, value, error);
    }
}

impl Drop for Identity {
    /// An identity that was not finished ends normally.
    fn drop(&mut self) {
        self.finish(Value::Nil, None);
    }
}

/// Ends a record in the documented order (see the module docs). Runs once per record.
pub(super) fn finalize(system: &System, record: &Record, value: Value, error: Option<Value>) {
    let (monitors, links, names, groups) = {
        let mut ctl = record.ctl();
        if ctl.exited {
            return;
        }
        ctl.exited = true;
        record.stats.set_exiting();
        (
            std::mem::take(&mut ctl.monitors),
            std::mem::take(&mut ctl.links),
            std::mem::take(&mut ctl.names),
            std::mem::take(&mut ctl.groups),
        )
    };
    let published = system.table.remove(&record.pid).is_some();
    record.mailbox.close();
    // A process whose Init failed was never published (nor counted as spawned): its end is not an exit.
    if published && record.entry.is_some() {
        count_exit(system, record, error.is_some());
    }
    if let Some(h) = &record.host {
        h.release();
    }
    let exit = Exit { from: record.pid.clone(), value, error: error.clone(), at: SystemTime::now() };
    for m in monitors {
        if let Some(watcher) = system.record(m.as_str()) {
            watcher.mailbox.event(Event::Exit(exit.clone()));
        } else if let Some(remote) = system.remote_of(&m) {
            remote.exit_signal(&m, &record.pid, ExitSignal::Exit(Event::Exit(exit.clone())));
        }
    }
    for l in links {
        if let Some(peer) = system.record(l.as_str()) {
            system.link_exit(&peer, &record.pid, error.as_ref());
        } else if let Some(remote) = system.remote_of(&l) {
            remote.exit_signal(&l, &record.pid, ExitSignal::Link(error.clone()));
        }
    }
    system.release_names(&record.pid, names);
    system.release_groups(&record.pid, groups);
}

/// Counts a process's end in the host's totals.
fn count_exit(system: &System, record: &Record, failed: bool) {
    let totals = &system.telemetry().totals;
    let outcome = match (failed, record.ctl().kill_reason.is_some()) {
        (false, _) => Outcome::Normal,
        (true, true) => Outcome::Killed,
        (true, false) => Outcome::Error,
    };
    totals.exited(outcome);
    if let Some(fuel) = record.stats.fuel() {
        totals.fuel.fetch_add(fuel, std::sync::atomic::Ordering::Relaxed);
    }
}
