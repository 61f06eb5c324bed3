//! Processes (SPEC §4): WASM instances and Lua coroutines running as ractor actors with PIDs, mailboxes, monitors, links, names and
//! groups, owned by one [`crate::Host`].
//!
//! - [`pid`]: [`Pid`], printed `{host|0x0001a}`.
//! - [`mailbox`]: [`Message`]s, [`Event`]s (EXIT, LINK_DOWN, CANCEL) and the two-queue mailbox.
//! - [`system`]: the process table, names, groups, monitors and links, and the exit ordering guarantees.
//! - [`actor`]: the ractor actor: Init = `pre_start`, Step = `handle`, Close = `post_stop`; the worker gate.
//! - [`Client`]: the Rust-side handle for orchestration code and tests: it has a PID and a mailbox, so it can
//!   spawn, monitor, link, send and receive like a process.
//!
//! Spawning ([`spawn`]): the entry and host are looked up and the arguments converted by the method's WIT types
//! before anything is created (a bad spawn costs nothing); a slot on the host is reserved (`max_processes`); the
//! actor is spawned, which runs Init; only then is the PID published, attached to its parent (monitor, link) and
//! sent Step. A PID is never visible before its process exists.

pub mod actor;
pub mod mailbox;
pub mod pid;
pub mod system;

use std::sync::Arc;
use std::time::Duration;

pub use mailbox::{Event, Exit, Inbox, Message, Payload, Received};
pub use pid::Pid;
pub use system::{Domain, SpawnOptions, System};

use crate::error::{CallError, ProcessError};
use crate::registry::fields::closest;
use crate::value::{Map, Value};
use system::ProcEntry;

/// Who a call or a process acts for: inherited by every call and spawn unless the caller sets another (SPEC §4).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecurityContext {
    /// The actor identity (a user, a service).
    pub actor: Option<String>,
    /// The scope the actor acts in.
    pub scope: Option<String>,
    /// Request context: free key/value pairs.
    pub request: Map,
}

impl SecurityContext {
    /// A context for `actor`.
    pub fn actor(actor: impl Into<String>) -> Self {
        SecurityContext { actor: Some(actor.into()), ..Default::default() }
    }
}

/// What a process runs: a prepared WASM entry or a compiled Lua entry.
#[derive(Clone)]
pub enum Program {
    /// `process.wasm`.
    Wasm(Arc<crate::function::Code>),
    /// `process.lua`.
    Lua(Arc<crate::lua::LuaCode>),
}

/// What a WASM process keeps in its store: its identity, its inbox, and the system it belongs to.
pub struct ProcessCtx {
    /// The process system.
    pub system: Arc<System>,
    /// This process.
    pub entry: Arc<ProcEntry>,
    /// Its inbox.
    pub inbox: Inbox,
}

/// Spawns the process entry `entry_id` on the process host `host` with `args`, as a child of `parent`.
pub async fn spawn(
    system: &Arc<System>,
    parent: Option<&Pid>,
    entry_id: &str,
    host: &str,
    args: Vec<Value>,
    opts: SpawnOptions,
    context: Arc<SecurityContext>,
) -> Result<Pid, ProcessError> {
    let req = SpawnRequest { parent, entry_id, host, args, opts, context, supervisor: None, name: None };
    spawn_inner(system, req).await.map(|(pid, _)| pid)
}

/// Like [`spawn`], with the process's actor linked to a ractor `supervisor`, and registered as `name` before it
/// runs. The supervisor receives the actor's exit as a supervision event: no reason for a normal exit, `error: ...`
/// for an error or a termination, `shutdown: ...` when someone ended it with a reason starting with `shutdown`.
/// Returns the PID and the actor.
pub async fn spawn_supervised(
    system: &Arc<System>,
    entry_id: &str,
    host: &str,
    args: Vec<Value>,
    context: Arc<SecurityContext>,
    supervisor: ractor::ActorCell,
    name: Option<&str>,
) -> Result<(Pid, ractor::ActorCell), ProcessError> {
    let req = SpawnRequest {
        parent: None,
        entry_id,
        host,
        args,
        opts: SpawnOptions::default(),
        context,
        supervisor: Some(supervisor),
        name,
    };
    spawn_inner(system, req).await
}

/// Everything a spawn needs.
struct SpawnRequest<'a> {
    parent: Option<&'a Pid>,
    entry_id: &'a str,
    host: &'a str,
    args: Vec<Value>,
    opts: SpawnOptions,
    context: Arc<SecurityContext>,
    supervisor: Option<ractor::ActorCell>,
    name: Option<&'a str>,
}

async fn spawn_inner(system: &Arc<System>, req: SpawnRequest<'_>) -> Result<(Pid, ractor::ActorCell), ProcessError> {
    let SpawnRequest { parent, entry_id, host, args, opts, context, supervisor, name } = req;
    let program = match system.programs.get(entry_id) {
        Some(p) => p.clone(),
        None => return Err(not_a_process(system, entry_id)),
    };
    let domain = system.domain(host)?;
    let launch = actor::Launch::new(program, args).map_err(ProcessError::Arguments)?;
    domain.reserve()?;
    let pid = system.next_pid(domain.id.as_str());
    let (entry, inbox) = system.new_entry(pid.clone(), Some(domain.clone()), context);
    let args = actor::ProcArgs { system: system.clone(), entry: entry.clone(), launch, inbox };
    let spawned = match supervisor {
        Some(sup) => ractor::Actor::spawn_linked(None, actor::ProcessActor, args, sup).await,
        None => ractor::Actor::spawn(None, actor::ProcessActor, args).await,
    };
    let actor = match spawned {
        Ok((actor, _join)) => actor,
        Err(e) => {
            // Init failed: nothing was published, so nobody can have monitored or linked it.
            entry.ctl().exited = true;
            domain.release();
            return Err(ProcessError::Init(init_error(e, entry_id)));
        }
    };
    system.publish(&entry);
    if let Some(name) = name {
        if let Err(e) = system.register(name, pid.as_str()) {
            tracing::warn!(pid = %pid, error = %e, "could not register the process under `{name}`");
        }
    }
    if let Some(parent) = parent {
        system.attach(parent, &entry, opts);
    }
    // Step. A send to a stopped actor fails only when it was killed in between; its Close already ran.
    let _ = actor.cast(actor::ProcMsg::Step);
    Ok((pid, actor.get_cell()))
}

fn init_error(e: ractor::SpawnErr, entry_id: &str) -> CallError {
    if let ractor::SpawnErr::StartupFailed(inner) = &e {
        if let Some(c) = inner.downcast_ref::<Box<CallError>>() {
            return (**c).clone();
        }
        if let Some(c) = inner.downcast_ref::<CallError>() {
            return c.clone();
        }
    }
    CallError::Instantiate {
        entry: crate::registry::EntryId::parse(entry_id)
            .unwrap_or_else(|_| crate::registry::EntryId::from_parts("unknown", "entry")),
        message: e.to_string(),
    }
}

fn not_a_process(system: &System, id: &str) -> ProcessError {
    if let Some(e) = system.registry.get(id) {
        return ProcessError::NotAProcess { id: id.to_owned(), kind: e.kind.name() };
    }
    let ids: Vec<&str> = system.programs.keys().map(|k| k.as_str()).collect();
    ProcessError::UnknownEntry { id: id.to_owned(), suggestion: closest(id, &ids).map(str::to_owned) }
}

/// A Rust-side participant in the process system: it has a PID and a mailbox, so orchestration code can spawn,
/// monitor, link, send and receive exactly like a process. Dropping it ends it normally (its links are not
/// triggered; its monitors see a normal EXIT).
pub struct Client {
    system: Arc<System>,
    entry: Arc<ProcEntry>,
    inbox: Inbox,
}

impl Client {
    pub(crate) fn new(system: Arc<System>, context: SecurityContext) -> Client {
        let pid = system.next_pid("client");
        let (entry, inbox) = system.new_entry(pid, None, Arc::new(context));
        system.publish(&entry);
        Client { system, entry, inbox }
    }

    /// This client's PID.
    pub fn pid(&self) -> &Pid {
        &self.entry.pid
    }

    /// The process system (table, names, groups) this client belongs to.
    pub fn system(&self) -> &Arc<System> {
        &self.system
    }

    fn alive(&self) -> Result<(), ProcessError> {
        let ctl = self.entry.ctl();
        if ctl.exited {
            let reason = ctl.kill_reason.as_ref().map_or_else(|| "exited".to_owned(), system::describe);
            return Err(ProcessError::Terminated { reason });
        }
        Ok(())
    }

    /// Spawns with explicit options; the child runs under this client's security context.
    pub async fn spawn_with(
        &self,
        entry: &str,
        host: &str,
        args: Vec<Value>,
        opts: SpawnOptions,
    ) -> Result<Pid, ProcessError> {
        self.spawn_in(self.entry.context.clone(), entry, host, args, opts).await
    }

    /// Spawns under another security context.
    pub async fn spawn_as(
        &self,
        context: SecurityContext,
        entry: &str,
        host: &str,
        args: Vec<Value>,
        opts: SpawnOptions,
    ) -> Result<Pid, ProcessError> {
        self.spawn_in(Arc::new(context), entry, host, args, opts).await
    }

    async fn spawn_in(
        &self,
        context: Arc<SecurityContext>,
        entry: &str,
        host: &str,
        args: Vec<Value>,
        opts: SpawnOptions,
    ) -> Result<Pid, ProcessError> {
        self.alive()?;
        spawn(&self.system, Some(self.pid()), entry, host, args, opts, context).await
    }

    /// Spawns a process.
    pub async fn spawn(&self, entry: &str, host: &str, args: Vec<Value>) -> Result<Pid, ProcessError> {
        self.spawn_with(entry, host, args, SpawnOptions::default()).await
    }

    /// Spawns a process whose EXIT this client receives.
    pub async fn spawn_monitored(&self, entry: &str, host: &str, args: Vec<Value>) -> Result<Pid, ProcessError> {
        self.spawn_with(entry, host, args, SpawnOptions { monitor: true, link: false }).await
    }

    /// Spawns a process linked to this client.
    pub async fn spawn_linked(&self, entry: &str, host: &str, args: Vec<Value>) -> Result<Pid, ProcessError> {
        self.spawn_with(entry, host, args, SpawnOptions { monitor: false, link: true }).await
    }

    /// Spawns a process that is both linked and monitored.
    pub async fn spawn_linked_monitored(&self, entry: &str, host: &str, args: Vec<Value>) -> Result<Pid, ProcessError> {
        self.spawn_with(entry, host, args, SpawnOptions { monitor: true, link: true }).await
    }

    /// Sends `payload` on `topic` to a PID or a registered name.
    pub fn send(&self, dest: &str, topic: &str, payload: impl Into<Value>) -> Result<(), ProcessError> {
        self.system.send(Some(self.pid()), dest, topic, Payload::Value(payload.into()))
    }

    /// The next event or message (events first); `None` only if the client was terminated and drained.
    pub async fn recv(&mut self) -> Option<Received> {
        self.inbox.recv().await
    }

    /// Like [`Client::recv`], giving up after `timeout`.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Option<Received> {
        self.inbox.recv_timeout(timeout).await
    }

    /// The next event (messages stay queued).
    pub async fn next_event(&mut self) -> Option<Event> {
        self.inbox.recv_event().await
    }

    /// The next message (events stay queued).
    pub async fn next_message(&mut self) -> Option<Message> {
        self.inbox.recv_message().await
    }

    /// An event, if one is queued now.
    pub fn try_event(&mut self) -> Option<Event> {
        self.inbox.try_recv_event()
    }

    /// A message, if one is queued now.
    pub fn try_message(&mut self) -> Option<Message> {
        self.inbox.try_recv_message()
    }

    /// Receives `pid`'s EXIT when it ends (at once if it is already dead).
    pub fn monitor(&self, pid: &Pid) -> Result<(), ProcessError> {
        self.system.monitor(self.pid(), pid.as_str())
    }

    /// Stops receiving `pid`'s EXIT.
    pub fn unmonitor(&self, pid: &Pid) {
        self.system.unmonitor(self.pid(), pid.as_str());
    }

    /// Links this client and `pid`.
    pub fn link(&self, pid: &Pid) -> Result<(), ProcessError> {
        self.system.link(self.pid(), pid.as_str())
    }

    /// Removes the link to `pid`.
    pub fn unlink(&self, pid: &Pid) {
        self.system.unlink(self.pid(), pid.as_str());
    }

    /// Receive LINK_DOWN as an event instead of being terminated when a linked process fails.
    pub fn set_trap_links(&self, trap: bool) {
        self.system.set_trap_links(self.pid(), trap);
    }

    /// Terminates `pid` at once; its EXIT error is "terminated".
    pub fn terminate(&self, pid: &Pid) {
        self.system.terminate(pid.as_str(), Value::from("terminated"));
    }

    /// Asks `pid` to finish (a CANCEL event); terminates it after `timeout` (default: its host's `cancel_timeout`).
    pub fn cancel(&self, pid: &Pid, reason: impl Into<Value>, timeout: Option<Duration>) -> Result<(), ProcessError> {
        self.system.cancel(Some(self.pid()), pid.as_str(), reason.into(), timeout)
    }

    /// Registers `name` for `pid`.
    pub fn register(&self, name: &str, pid: &Pid) -> Result<(), ProcessError> {
        self.system.register(name, pid.as_str())
    }

    /// The PID registered as `name`.
    pub fn lookup(&self, name: &str) -> Option<Pid> {
        self.system.lookup(name)
    }

    /// Removes a name.
    pub fn unregister(&self, name: &str) -> bool {
        self.system.unregister(name)
    }

    /// Adds `pid` to `group`.
    pub fn join(&self, group: &str, pid: &Pid) -> Result<(), ProcessError> {
        self.system.join(group, pid.as_str())
    }

    /// Removes `pid` from `group`.
    pub fn leave(&self, group: &str, pid: &Pid) {
        self.system.leave(group, pid.as_str());
    }

    /// The members of `group`.
    pub fn members(&self, group: &str) -> Vec<Pid> {
        self.system.members(group)
    }

    /// Sends to every member of `group`; returns how many.
    pub fn broadcast(&self, group: &str, topic: &str, payload: impl Into<Value>) -> Result<usize, ProcessError> {
        self.system.broadcast(Some(self.pid()), group, topic, Payload::Value(payload.into()))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.system.finalize(&self.entry, Value::Nil, None);
    }
}
