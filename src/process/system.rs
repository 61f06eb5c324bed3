//! The process system of one host: the process table, its process hosts and programs, and the signals between
//! processes (messages, kills, cancels). Names, groups, monitors and links have their own files and add their
//! methods to [`System`].
//!
//! Everything here belongs to one [`crate::Host`]; nothing is process-global, so two hosts in one test process never
//! see each other's PIDs, names or groups.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use dashmap::DashMap;

use super::groups::Groups;
use super::guest::{Functions, Program};
use super::hosts::ProcessHost;
use super::lifecycle::finalize;
use super::mailbox::{Event, MailboxFull, Message, Payload};
use super::names::Names;
use super::record::Record;
use super::remote::Remote;
use super::Pid;
use crate::error::ProcessError;
use crate::id::{EntryId, EntryMap};
use crate::registry::Registry;
use crate::telemetry::{Telemetry, Totals};
use crate::value::Value;

/// The process table, names and groups of one host.
pub(crate) struct System {
    pub(super) table: DashMap<Pid, Arc<Record>, rustc_hash::FxBuildHasher>,
    pub(super) names: Names,
    pub(super) groups: Groups,
    hosts: EntryMap<Arc<ProcessHost>>,
    programs: EntryMap<Arc<dyn Program>>,
    functions: Arc<dyn Functions>,
    registry: Arc<Registry>,
    serial: AtomicU64,
    /// The host's metrics.
    telemetry: Arc<Telemetry>,
    /// This node's name and the way to the others, once the host joined a cluster.
    cluster: OnceLock<(Arc<str>, Arc<dyn Remote>)>,
}

/// Where a PID lives.
pub(crate) enum Place<'a> {
    /// On this host.
    Local,
    /// On another node of the cluster.
    Remote(&'a Arc<dyn Remote>),
}

impl System {
    /// A system over the process hosts and programs of `registry`; guests reach functions through `functions`.
    pub(crate) fn new(
        registry: Arc<Registry>,
        hosts: EntryMap<Arc<ProcessHost>>,
        programs: EntryMap<Arc<dyn Program>>,
        functions: Arc<dyn Functions>,
        telemetry: Arc<Telemetry>,
    ) -> System {
        System {
            table: DashMap::default(),
            names: Names::default(),
            groups: Groups::default(),
            hosts,
            programs,
            functions,
            registry,
            serial: AtomicU64::new(1),
            telemetry,
            cluster: OnceLock::new(),
        }
    }

    /// Joins the system to a cluster as `node`: from here on its PIDs carry the node, and operations on other
    /// nodes' PIDs go through `remote`. Returns false when it already joined one.
    pub(crate) fn set_remote(&self, node: &str, remote: Arc<dyn Remote>) -> bool {
        self.cluster.set((Arc::from(node), remote)).is_ok()
    }

    /// The way to the other nodes, once the host joined a cluster.
    pub(crate) fn remote(&self) -> Option<&Arc<dyn Remote>> {
        self.cluster.get().map(|(_, r)| r)
    }

    /// This node's name, once the host joined a cluster.
    pub(crate) fn node(&self) -> Option<&str> {
        self.cluster.get().map(|(n, _)| &**n)
    }

    /// Where `pid` lives: a PID of another node goes through the cluster. A PID naming another node on a host
    /// that is in no cluster is an error (no connection to that node).
    pub(crate) fn place(&self, pid: &Pid) -> Result<Place<'_>, ProcessError> {
        match (pid.node(), self.cluster.get()) {
            (None, _) => Ok(Place::Local),
            (Some(n), Some((me, remote))) => Ok(if n == &**me { Place::Local } else { Place::Remote(remote) }),
            (Some(n), None) => Err(ProcessError::NoConnection { node: n.to_owned() }),
        }
    }

    /// The remote port when `pid` lives on another connected node; `None` for a local PID (or an unknown node on
    /// a host in no cluster, which then behaves as a dead local PID).
    pub(crate) fn remote_of(&self, pid: &Pid) -> Option<&Arc<dyn Remote>> {
        match self.place(pid) {
            Ok(Place::Remote(r)) => Some(r),
            _ => None,
        }
    }

    /// The PID of `name` when it is an EVENTUAL name held on another node (not a PID, not a local name).
    fn remote_name(&self, name: &str) -> Option<Pid> {
        if name.starts_with('{') {
            return None;
        }
        self.lookup(name).filter(|p| self.remote_of(p).is_some())
    }

    /// A fresh PID on `host`.
    pub(super) fn next_pid(&self, host: &str) -> Pid {
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        Pid::with_node(self.node(), host, serial)
    }

    /// The function table guests call through.
    pub(crate) fn functions(&self) -> &Arc<dyn Functions> {
        &self.functions
    }

    /// The registry the system was built from.
    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The program of a process entry.
    pub(crate) fn program(&self, id: &str) -> Option<&Arc<dyn Program>> {
        self.programs.get(id)
    }

    /// A process entry's ID and program.
    pub(super) fn program_entry(&self, id: &str) -> Option<(&EntryId, &Arc<dyn Program>)> {
        self.programs.get_key_value(id)
    }

    /// The IDs of every process entry.
    pub(super) fn program_ids(&self) -> impl Iterator<Item = &EntryId> {
        self.programs.keys()
    }

    /// The record of a live PID.
    pub(crate) fn record(&self, pid: &str) -> Option<Arc<Record>> {
        self.table.get(pid).map(|e| e.value().clone())
    }

    /// The live process `dest` names: a PID (`{node|id}`) or a registered name. Text that is neither is INVALID,
    /// a PID or name with no live process NOT_FOUND (SPEC §4).
    pub(crate) fn resolve(&self, dest: &str) -> Result<Arc<Record>, ProcessError> {
        if dest.starts_with('{') {
            if Pid::parse(dest).is_none() {
                return Err(ProcessError::BadPid { text: dest.to_owned() });
            }
            return self.record(dest).ok_or_else(|| ProcessError::NoProcess { pid: dest.to_owned() });
        }
        let pid = self.lookup(dest).ok_or_else(|| ProcessError::UnknownName { name: dest.to_owned() })?;
        self.record(pid.as_str()).ok_or_else(|| ProcessError::NoProcess { pid: pid.to_string() })
    }

    /// Terminates the process `dest` names (a PID or a name), or says why there is none.
    pub(crate) fn terminate_named(&self, dest: &str, reason: Value) -> Result<(), ProcessError> {
        if let Some(pid) = Pid::parse(dest).or_else(|| self.remote_name(dest)) {
            if let Place::Remote(remote) = self.place(&pid)? {
                return remote.terminate(&pid, reason);
            }
        }
        let record = self.resolve(dest)?;
        self.kill(&record, reason);
        Ok(())
    }

    /// True while `pid` is alive.
    pub(crate) fn is_alive(&self, pid: &str) -> bool {
        self.table.contains_key(pid)
    }

    /// How many processes and clients are alive.
    pub(crate) fn count(&self) -> usize {
        self.table.len()
    }

    /// Every process host.
    pub(crate) fn process_hosts(&self) -> impl Iterator<Item = &Arc<ProcessHost>> {
        self.hosts.values()
    }

    /// The process host of a `process.host` (or `terminal.host`) entry.
    pub(crate) fn host(&self, host: &str) -> Result<Arc<ProcessHost>, ProcessError> {
        if let Some(h) = self.hosts.get(host) {
            return Ok(h.clone());
        }
        let hint = match self.registry.get(host) {
            Some(e) => format!("`{host}` is a `{}`; processes run on `process.host` entries", e.kind.name()),
            None => {
                let mut hosts: Vec<&str> = self.hosts.keys().map(EntryId::as_str).collect();
                hosts.sort_unstable();
                match hosts.as_slice() {
                    [] => "declare a `process.host` entry in the project".to_owned(),
                    _ => format!("the process hosts are: {}", hosts.join(", ")),
                }
            }
        };
        Err(ProcessError::UnknownHost { host: host.to_owned(), hint })
    }

    /// Ends `pid` now; its EXIT carries `reason` as the error. Unknown or dead PIDs are ignored.
    pub(crate) fn terminate(&self, pid: &str, reason: Value) {
        if let Some(remote) = Pid::parse(pid).and_then(|p| self.remote_of(&p).map(|r| (p, r))) {
            let _ = remote.1.terminate(&remote.0, reason);
            return;
        }
        if let Some(r) = self.record(pid) {
            self.kill(&r, reason);
        }
    }

    pub(super) fn kill(&self, record: &Arc<Record>, reason: Value) {
        {
            let mut ctl = record.ctl();
            if ctl.exited {
                return;
            }
            if ctl.kill_reason.is_none() {
                ctl.kill_reason = Some(reason.clone());
            }
        }
        if record.host.is_some() {
            // Step drops the guest call at once if the guest waits in a host call, or at its next preemption point
            // if it computes; the actor then closes with the kill reason.
            record.killed.notify_one();
        } else {
            // No actor: it ends here.
            finalize(self, record, Value::Nil, Some(reason));
        }
    }

    /// Delivers CANCEL to `pid`; terminates it if it is still alive after `timeout` (default: its host's
    /// `cancel_timeout`).
    pub(crate) fn cancel(
        self: &Arc<Self>,
        from: Option<&Pid>,
        pid: &str,
        reason: Value,
        timeout: Option<Duration>,
    ) -> Result<(), ProcessError> {
        if let Some(p) = Pid::parse(pid).or_else(|| self.remote_name(pid)) {
            if let Place::Remote(remote) = self.place(&p)? {
                return remote.cancel(from, &p, reason, timeout);
            }
        }
        let record = self.resolve(pid)?;
        let timeout =
            timeout.or_else(|| record.host.as_ref().map(|h| h.limits.cancel_timeout)).unwrap_or(Duration::from_secs(5));
        record.mailbox.event(Event::Cancel { from: from.cloned(), reason: reason.clone(), timeout });
        let weak = Arc::downgrade(self);
        let pid = record.pid.clone();
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if let Some(system) = weak.upgrade() {
                let message =
                    format!("cancelled: did not finish within {} ms of the cancel request", timeout.as_millis());
                system.terminate(pid.as_str(), Value::from(message));
            }
        });
        Ok(())
    }

    /// Sends a message to a PID or a registered name. A message to a dead PID is dropped (still `Ok`).
    pub(crate) fn send(
        &self,
        from: Option<&Pid>,
        dest: &str,
        topic: &str,
        payload: Payload,
    ) -> Result<(), ProcessError> {
        super::check_topic(topic)?;
        let message = Message::new(from.cloned(), topic, payload);
        if dest.starts_with('{') {
            let Some(pid) = Pid::parse(dest) else {
                return Err(ProcessError::BadPid { text: dest.to_owned() });
            };
            if let Place::Remote(remote) = self.place(&pid)? {
                return remote.send(message.from.as_ref(), &pid, &message.topic, message.payload);
            }
            // Delivered under the table's shard guard: pushing into an unbounded queue never waits. A PID that is
            // not alive is an error (SPEC §4).
            match self.table.get(dest) {
                Some(r) => self.queue(&r, message).map_err(|full| mailbox_full(dest, full)),
                None => Err(ProcessError::NoProcess { pid: dest.to_owned() }),
            }
        } else {
            let pid = self.lookup(dest).ok_or_else(|| ProcessError::UnknownName { name: dest.to_owned() })?;
            if let Some(remote) = self.remote_of(&pid) {
                return remote.send(message.from.as_ref(), &pid, &message.topic, message.payload);
            }
            match self.table.get(&pid) {
                Some(r) => self.queue(&r, message).map_err(|full| mailbox_full(pid.as_str(), full)),
                None => Err(ProcessError::NoProcess { pid: pid.to_string() }),
            }
        }
    }

    /// Queues a message into a record's mailbox, counting it as sent or dropped.
    pub(super) fn queue(&self, r: &Record, mut m: Message) -> Result<(), MailboxFull> {
        let t = &self.telemetry.totals;
        m.link = super::mailbox::sent(&m.topic, &r.pid);
        let r = r.mailbox.message(m);
        Totals::bump(if r.is_ok() { &t.messages_sent } else { &t.messages_dropped });
        r
    }

    /// The host's metrics.
    pub(crate) fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    /// Terminates every live process (the host is going away). Participants without an actor end normally.
    pub(crate) fn shutdown(&self) {
        self.terminate_all("terminated: the host shut down");
    }

    /// Terminates every live process with `reason`; returns how many there were.
    pub(crate) fn terminate_all(&self, reason: &str) -> usize {
        let records: Vec<Arc<Record>> = self.table.iter().map(|e| e.value().clone()).collect();
        let mut n = 0;
        for r in records {
            if r.host.is_some() {
                self.kill(&r, Value::from(reason));
                n += 1;
            }
        }
        n
    }
}

/// The error for a message refused by the full mailbox of `pid`.
fn mailbox_full(pid: &str, full: MailboxFull) -> ProcessError {
    let bound = match full {
        MailboxFull::Messages(n) => format!("{n} messages are waiting (`host.mailbox_size`)"),
        MailboxFull::Bytes(n) => format!("the waiting messages hold {n} bytes (`host.mailbox_bytes`)"),
    };
    ProcessError::MailboxFull { pid: pid.to_owned(), bound }
}
