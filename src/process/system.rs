//! The process system of one host: the process table, the name registry, process groups, monitors and links.
//!
//! Everything here belongs to one [`crate::Host`]; nothing is process-global, so two hosts in one test process never
//! see each other's PIDs, names or groups.
//!
//! Each live process (or Rust client) is a [`ProcEntry`] in the table. Its monitors, links, names and groups live in
//! the entry behind a small mutex, not inside the actor, so `monitor`, `link`, `register`, `terminate` and `cancel`
//! work while the process is blocked in a host call or spinning in guest code.
//!
//! # Exit ordering
//! When a process ends, [`System::finalize`] runs exactly once and in this order:
//! 1. the entry is marked exited under its lock (later `monitor`/`link`/`register` see a dead process);
//! 2. it leaves the table, so sends to it are dropped from here on;
//! 3. its names are released and it leaves all its groups, and its host's live count drops;
//! 4. EXIT is delivered to every monitor, then LINK_DOWN to every linked process (killing those that do not trap
//!    links, when the exit was abnormal).
//!
//! So a monitor that receives EXIT can immediately register the same name again or spawn a replacement on a full
//! host (as Erlang's supervisors rely on). The instance itself (its store and pool slot) is released before step 1
//! (see [`super::actor`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use dashmap::DashMap;
use tokio::sync::Semaphore;

use super::mailbox::{mailbox, Event, Exit, Inbox, Mailbox, Message, Payload};
use super::Program;
use super::{Pid, ProcessError, SecurityContext};
use crate::function::Functions;
use crate::lua::LuaRuntime;
use crate::registry::{EntryId, Registry};
use crate::value::Value;

/// A scheduling domain: one `process.host` (or the `terminal.host`).
pub struct Domain {
    /// The host entry.
    pub id: EntryId,
    /// How many processes may be alive at once.
    pub max_processes: usize,
    /// How many spawned processes may wait for a worker before spawns are refused.
    pub queue_size: usize,
    /// How long a cancelled process has before it is terminated.
    pub cancel_timeout: Duration,
    /// Whether processes here get the real terminal as stdio.
    pub terminal: bool,
    live: AtomicUsize,
    /// Permits to run guest code: `workers` processes execute at the same moment.
    pub(crate) workers: Semaphore,
    pub(crate) waiting: AtomicUsize,
}

impl Domain {
    /// A domain for a host entry.
    pub fn new(
        id: EntryId,
        workers: usize,
        max_processes: usize,
        queue_size: usize,
        cancel_timeout: Duration,
        terminal: bool,
    ) -> Self {
        Domain {
            id,
            max_processes,
            queue_size,
            cancel_timeout,
            terminal,
            live: AtomicUsize::new(0),
            workers: Semaphore::new(workers.max(1)),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Processes alive on this host now.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// Reserves room for one more process (`max_processes`), unless too many wait for a worker (`queue_size`).
    pub(crate) fn reserve(&self) -> Result<(), ProcessError> {
        if self.waiting.load(Ordering::Acquire) >= self.queue_size {
            return Err(ProcessError::QueueFull { host: self.id.clone(), queue_size: self.queue_size });
        }
        let mut cur = self.live.load(Ordering::Acquire);
        loop {
            if cur >= self.max_processes {
                return Err(ProcessError::MaxProcesses { host: self.id.clone(), max: self.max_processes });
            }
            match self.live.compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok(()),
                Err(now) => cur = now,
            }
        }
    }

    /// Gives back a reservation: the process ended, or never became one.
    pub(crate) fn release(&self) {
        self.live.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The mutable part of a process entry.
#[derive(Default)]
pub(crate) struct Control {
    pub(crate) exited: bool,
    /// Who receives this process's EXIT.
    pub(crate) monitors: Vec<Pid>,
    pub(crate) links: Vec<Pid>,
    pub(crate) trap_links: bool,
    pub(crate) names: Vec<String>,
    pub(crate) groups: Vec<String>,
    /// Why the process is being killed, when it is.
    pub(crate) kill_reason: Option<Value>,
}

/// One live process or client.
pub struct ProcEntry {
    /// Its PID.
    pub pid: Pid,
    /// Where its messages and events go.
    pub mailbox: Mailbox,
    /// The host it runs on (`None` for a Rust client).
    pub domain: Option<Arc<Domain>>,
    /// The security context it runs under.
    pub context: Arc<SecurityContext>,
    pub(crate) ctl: Mutex<Control>,
    /// Wakes the process's Step when it is terminated (a permit is kept if Step is not waiting yet).
    pub(crate) killed: tokio::sync::Notify,
}

impl ProcEntry {
    pub(crate) fn ctl(&self) -> MutexGuard<'_, Control> {
        // A panic while holding this lock cannot leave it inconsistent: every critical section only pushes, takes
        // or flips plain data. Recover the guard instead of propagating the poison.
        self.ctl.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The process table, names and groups of one host.
pub struct System {
    pub(crate) table: DashMap<Pid, Arc<ProcEntry>>,
    names: DashMap<String, Pid>,
    groups: DashMap<String, Vec<Pid>>,
    pub(crate) domains: HashMap<EntryId, Arc<Domain>>,
    pub(crate) programs: HashMap<EntryId, Program>,
    pub(crate) lua: Option<Arc<LuaRuntime>>,
    pub(crate) engine: wasmtime::Engine,
    pub(crate) registry: Arc<Registry>,
    pub(crate) functions: Arc<Functions>,
    serial: AtomicU64,
}

/// How a spawn attaches the new process to its parent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpawnOptions {
    /// The parent receives the child's EXIT.
    pub monitor: bool,
    /// Parent and child are linked.
    pub link: bool,
}

impl System {
    pub(crate) fn new(
        registry: Arc<Registry>,
        engine: wasmtime::Engine,
        programs: HashMap<EntryId, Program>,
        domains: HashMap<EntryId, Arc<Domain>>,
        functions: Arc<Functions>,
        lua: Option<Arc<LuaRuntime>>,
    ) -> System {
        System {
            table: DashMap::new(),
            names: DashMap::new(),
            groups: DashMap::new(),
            domains,
            programs,
            lua,
            engine,
            registry,
            functions,
            serial: AtomicU64::new(1),
        }
    }

    /// A fresh PID on `host`.
    pub(crate) fn next_pid(&self, host: &str) -> Pid {
        Pid::new(host, self.serial.fetch_add(1, Ordering::Relaxed))
    }

    /// The live entry of `pid`.
    pub fn entry(&self, pid: &str) -> Option<Arc<ProcEntry>> {
        self.table.get(pid).map(|e| e.value().clone())
    }

    /// True while `pid` is alive.
    pub fn is_alive(&self, pid: &str) -> bool {
        self.table.contains_key(pid)
    }

    /// How many processes and clients are alive.
    pub fn count(&self) -> usize {
        self.table.len()
    }

    /// The scheduling domain of a `process.host` (or `terminal.host`) entry.
    pub fn domain(&self, host: &str) -> Result<Arc<Domain>, ProcessError> {
        if let Some(d) = self.domains.get(host) {
            return Ok(d.clone());
        }
        let hint = match self.registry.get(host) {
            Some(e) => format!("`{host}` is a `{}`; processes run on `process.host` entries", e.kind.name()),
            None => {
                let hosts: Vec<&str> = self.domains.keys().map(EntryId::as_str).collect();
                match hosts.as_slice() {
                    [] => "declare a `process.host` entry in the project".to_owned(),
                    _ => format!("the process hosts are: {}", hosts.join(", ")),
                }
            }
        };
        Err(ProcessError::UnknownHost { host: host.to_owned(), hint })
    }

    /// Registers a new entry (a client, or a process whose actor is already started).
    pub(crate) fn new_entry(
        &self,
        pid: Pid,
        domain: Option<Arc<Domain>>,
        context: Arc<SecurityContext>,
    ) -> (Arc<ProcEntry>, Inbox) {
        let (mb, inbox) = mailbox();
        let entry = Arc::new(ProcEntry {
            pid,
            mailbox: mb,
            domain,
            context,
            ctl: Mutex::new(Control::default()),
            killed: tokio::sync::Notify::new(),
        });
        (entry, inbox)
    }

    /// Publishes an entry: from here on it can be found, sent to, monitored and linked.
    pub(crate) fn publish(&self, entry: &Arc<ProcEntry>) {
        self.table.insert(entry.pid.clone(), entry.clone());
    }

    /// Attaches a freshly started child to its parent (monitor and/or link). A dead parent kills the child.
    pub(crate) fn attach(&self, parent: &Pid, child: &Arc<ProcEntry>, opts: SpawnOptions) {
        if opts.monitor {
            child.ctl().monitors.push(parent.clone());
        }
        if opts.link {
            if let Err(e) = self.link(parent, child.pid.as_str()) {
                self.kill(child, Value::from(format!("spawn_linked: {e}")));
            }
        }
    }

    /// `watcher` receives EXIT when `target` ends; immediately when `target` is already dead.
    pub fn monitor(&self, watcher: &Pid, target: &str) -> Result<(), ProcessError> {
        let watcher_entry =
            self.entry(watcher.as_str()).ok_or_else(|| ProcessError::NoProcess { pid: watcher.to_string() })?;
        let target_pid = Pid::parse(target).ok_or_else(|| ProcessError::BadPid { text: target.to_owned() })?;
        if let Some(t) = self.entry(target) {
            let mut ctl = t.ctl();
            if !ctl.exited {
                if !ctl.monitors.contains(watcher) {
                    ctl.monitors.push(watcher.clone());
                }
                return Ok(());
            }
        }
        watcher_entry.mailbox.event(Event::Exit(Exit {
            from: target_pid,
            value: Value::Nil,
            error: Some(Value::from("no such process: it had already exited (or never existed) when it was monitored")),
            at: SystemTime::now(),
        }));
        Ok(())
    }

    /// Stops delivery of `target`'s EXIT to `watcher`.
    pub fn unmonitor(&self, watcher: &Pid, target: &str) {
        if let Some(t) = self.entry(target) {
            t.ctl().monitors.retain(|p| p != watcher);
        }
    }

    /// Links two live processes. Linking to a dead process is an error.
    pub fn link(&self, a: &Pid, b: &str) -> Result<(), ProcessError> {
        if a.as_str() == b {
            return Ok(());
        }
        let ea = self.entry(a.as_str()).ok_or_else(|| ProcessError::NoProcess { pid: a.to_string() })?;
        let eb = self.entry(b).ok_or_else(|| ProcessError::NoProcess { pid: b.to_owned() })?;
        // Lock in PID order so two concurrent links never deadlock.
        let (first, second) = if ea.pid < eb.pid { (&ea, &eb) } else { (&eb, &ea) };
        let mut c1 = first.ctl();
        let mut c2 = second.ctl();
        if c1.exited || c2.exited {
            let dead = if c1.exited { &first.pid } else { &second.pid };
            return Err(ProcessError::NoProcess { pid: dead.to_string() });
        }
        if !c1.links.contains(&second.pid) {
            c1.links.push(second.pid.clone());
        }
        if !c2.links.contains(&first.pid) {
            c2.links.push(first.pid.clone());
        }
        Ok(())
    }

    /// Removes a link (both directions).
    pub fn unlink(&self, a: &Pid, b: &str) {
        if let Some(ea) = self.entry(a.as_str()) {
            ea.ctl().links.retain(|p| p.as_str() != b);
        }
        if let Some(eb) = self.entry(b) {
            eb.ctl().links.retain(|p| p != a);
        }
    }

    /// Whether LINK_DOWN is delivered as an event (true) or kills the process (false, the default).
    pub fn set_trap_links(&self, pid: &Pid, trap: bool) {
        if let Some(e) = self.entry(pid.as_str()) {
            e.ctl().trap_links = trap;
        }
    }

    /// Whether `pid` traps links.
    pub fn trap_links(&self, pid: &Pid) -> bool {
        self.entry(pid.as_str()).is_some_and(|e| e.ctl().trap_links)
    }

    /// Ends `pid` now; its EXIT carries `reason` as the error. Unknown or dead PIDs are ignored.
    pub fn terminate(&self, pid: &str, reason: Value) {
        if let Some(e) = self.entry(pid) {
            self.kill(&e, reason);
        }
    }

    pub(crate) fn kill(&self, entry: &Arc<ProcEntry>, reason: Value) {
        {
            let mut ctl = entry.ctl();
            if ctl.exited {
                return;
            }
            if ctl.kill_reason.is_none() {
                ctl.kill_reason = Some(reason.clone());
            }
        }
        if entry.domain.is_some() {
            // Step drops the guest call (and its fiber) at once if the guest waits in a host call, or at its next
            // epoch yield if it computes; the actor then closes with the kill reason.
            entry.killed.notify_one();
        } else {
            // A client has no actor: it ends here.
            self.finalize(entry, Value::Nil, Some(reason));
        }
    }

    /// Delivers CANCEL to `pid`; terminates it if it is still alive after `timeout` (default: its host's
    /// `cancel_timeout`).
    pub fn cancel(
        self: &Arc<Self>,
        from: Option<&Pid>,
        pid: &str,
        reason: Value,
        timeout: Option<Duration>,
    ) -> Result<(), ProcessError> {
        let Some(entry) = self.entry(pid) else { return Ok(()) };
        let timeout =
            timeout.or_else(|| entry.domain.as_ref().map(|d| d.cancel_timeout)).unwrap_or(Duration::from_secs(5));
        entry.mailbox.event(Event::Cancel { from: from.cloned(), reason: reason.clone(), timeout });
        let weak = Arc::downgrade(self);
        let pid = entry.pid.clone();
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
    pub fn send(&self, from: Option<&Pid>, dest: &str, topic: &str, payload: Payload) -> Result<(), ProcessError> {
        if topic.starts_with('@') {
            return Err(ProcessError::ReservedTopic { topic: topic.to_owned() });
        }
        let message = |from: Option<&Pid>| Message { from: from.cloned(), topic: topic.to_owned(), payload };
        if dest.starts_with('{') {
            if Pid::parse(dest).is_none() {
                return Err(ProcessError::BadPid { text: dest.to_owned() });
            }
            // Delivered under the table's shard guard: pushing into an unbounded queue never waits.
            if let Some(e) = self.table.get(dest) {
                e.mailbox.message(message(from));
            }
        } else {
            let pid = self
                .names
                .get(dest)
                .map(|p| p.clone())
                .ok_or_else(|| ProcessError::UnknownName { name: dest.to_owned() })?;
            if let Some(e) = self.table.get(&pid) {
                e.mailbox.message(message(from));
            }
        }
        Ok(())
    }

    /// Registers `name` for `pid`. A name held by another live process is an error.
    pub fn register(&self, name: &str, pid: &str) -> Result<(), ProcessError> {
        if name.is_empty() || name.starts_with('{') {
            return Err(ProcessError::BadName { name: name.to_owned() });
        }
        let entry = self.entry(pid).ok_or_else(|| ProcessError::NoProcess { pid: pid.to_owned() })?;
        let mut ctl = entry.ctl();
        if ctl.exited {
            return Err(ProcessError::NoProcess { pid: pid.to_owned() });
        }
        match self.names.entry(name.to_owned()) {
            dashmap::Entry::Occupied(o) if o.get() != &entry.pid => {
                return Err(ProcessError::NameTaken { name: name.to_owned(), pid: o.get().to_string() })
            }
            dashmap::Entry::Occupied(_) => return Ok(()),
            dashmap::Entry::Vacant(v) => {
                v.insert(entry.pid.clone());
            }
        }
        ctl.names.push(name.to_owned());
        Ok(())
    }

    /// The PID registered as `name`.
    pub fn lookup(&self, name: &str) -> Option<Pid> {
        self.names.get(name).map(|p| p.clone())
    }

    /// Removes a name; returns whether it was registered.
    pub fn unregister(&self, name: &str) -> bool {
        match self.names.remove(name) {
            Some((_, pid)) => {
                if let Some(e) = self.entry(pid.as_str()) {
                    e.ctl().names.retain(|n| n != name);
                }
                true
            }
            None => false,
        }
    }

    /// Adds `pid` to `group`.
    pub fn join(&self, group: &str, pid: &str) -> Result<(), ProcessError> {
        let entry = self.entry(pid).ok_or_else(|| ProcessError::NoProcess { pid: pid.to_owned() })?;
        let mut ctl = entry.ctl();
        if ctl.exited {
            return Err(ProcessError::NoProcess { pid: pid.to_owned() });
        }
        let mut members = self.groups.entry(group.to_owned()).or_default();
        if !members.contains(&entry.pid) {
            members.push(entry.pid.clone());
            ctl.groups.push(group.to_owned());
        }
        Ok(())
    }

    /// Removes `pid` from `group`.
    pub fn leave(&self, group: &str, pid: &str) {
        if let Some(mut members) = self.groups.get_mut(group) {
            members.retain(|p| p.as_str() != pid);
        }
        self.groups.remove_if(group, |_, m| m.is_empty());
        if let Some(e) = self.entry(pid) {
            e.ctl().groups.retain(|g| g != group);
        }
    }

    /// The members of `group`, in join order.
    pub fn members(&self, group: &str) -> Vec<Pid> {
        self.groups.get(group).map(|m| m.clone()).unwrap_or_default()
    }

    /// Sends to every member of `group`; returns how many were sent to.
    pub fn broadcast(
        &self,
        from: Option<&Pid>,
        group: &str,
        topic: &str,
        payload: Payload,
    ) -> Result<usize, ProcessError> {
        if topic.starts_with('@') {
            return Err(ProcessError::ReservedTopic { topic: topic.to_owned() });
        }
        let members = self.members(group);
        for m in &members {
            if let Some(e) = self.entry(m.as_str()) {
                e.mailbox.message(Message { from: from.cloned(), topic: topic.to_owned(), payload: payload.clone() });
            }
        }
        Ok(members.len())
    }

    /// Terminates every live process (the host is going away). Clients end normally.
    pub fn shutdown(&self) {
        let entries: Vec<Arc<ProcEntry>> = self.table.iter().map(|e| e.value().clone()).collect();
        for e in entries {
            if e.domain.is_some() {
                self.kill(&e, Value::from("terminated: the host shut down"));
            }
        }
    }

    /// Ends an entry: see the module docs for the order. Runs once; later calls do nothing.
    pub(crate) fn finalize(&self, entry: &ProcEntry, value: Value, error: Option<Value>) {
        let (monitors, links, names, groups) = {
            let mut ctl = entry.ctl();
            if ctl.exited {
                return;
            }
            ctl.exited = true;
            (
                std::mem::take(&mut ctl.monitors),
                std::mem::take(&mut ctl.links),
                std::mem::take(&mut ctl.names),
                std::mem::take(&mut ctl.groups),
            )
        };
        self.table.remove(&entry.pid);
        entry.mailbox.close();
        for n in names {
            self.names.remove_if(&n, |_, p| p == &entry.pid);
        }
        for g in groups {
            if let Some(mut members) = self.groups.get_mut(&g) {
                members.retain(|p| p != &entry.pid);
            }
            self.groups.remove_if(&g, |_, m| m.is_empty());
        }
        if let Some(d) = &entry.domain {
            d.release();
        }
        let exit = Exit { from: entry.pid.clone(), value, error: error.clone(), at: SystemTime::now() };
        for m in monitors {
            if let Some(e) = self.entry(m.as_str()) {
                e.mailbox.event(Event::Exit(exit.clone()));
            }
        }
        for l in links {
            let Some(peer) = self.entry(l.as_str()) else { continue };
            let trap = {
                let mut c = peer.ctl();
                c.links.retain(|p| p != &entry.pid);
                c.trap_links
            };
            let Some(err) = &error else { continue };
            if trap {
                peer.mailbox.event(Event::LinkDown { from: entry.pid.clone(), error: err.clone() });
            } else {
                let reason = format!("linked process {} exited: {}", entry.pid, describe(err));
                self.kill(&peer, Value::from(reason));
            }
        }
    }
}

/// A value for messages: strings as they are, anything else as JSON.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    }
}
