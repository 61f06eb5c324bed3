//! [`Client`]: a Rust-side participant in the process system, for orchestration code, tests and embedders.

use std::sync::Arc;
use std::time::Duration;

use super::lifecycle::Identity;
use super::mailbox::{Event, Inbox, Message, Payload, Received};
use super::spawn::SpawnRequest;
use super::{describe, Pid, Scope, SpawnOptions, System};
use crate::error::ProcessError;
use crate::security::SecurityContext;
use crate::value::Value;

/// A Rust-side participant in the process system: it has a PID and a mailbox, so orchestration code can spawn,
/// monitor, link, send and receive exactly like a process. Dropping it ends it normally (its links are not
/// triggered; its monitors see a normal EXIT).
pub struct Client {
    identity: Identity,
    inbox: Inbox,
}

impl Client {
    pub(crate) fn new(system: &Arc<System>, context: SecurityContext) -> Client {
        let (identity, inbox) = Identity::open_published(system, Arc::new(context));
        Client { identity, inbox }
    }

    fn system(&self) -> &Arc<System> {
        self.identity.system()
    }

    /// This client's PID.
    pub fn pid(&self) -> &Pid {
        self.identity.pid()
    }

    fn alive(&self) -> Result<(), ProcessError> {
        let ctl = self.identity.record().ctl();
        if ctl.exited {
            let reason = ctl.kill_reason.as_ref().map_or_else(|| "exited".to_owned(), describe);
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
        self.spawn_in(self.identity.record().context.clone(), entry, host, args, opts).await
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
        let req = SpawnRequest::new(entry, host, args, context).child_of(self.pid(), opts);
        self.system().spawn_anywhere(req).await
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
        self.system().send(Some(self.pid()), dest, topic, Payload::Value(payload.into()))
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
        self.system().monitor(self.pid(), pid.as_str())
    }

    /// Stops receiving `pid`'s EXIT.
    pub fn unmonitor(&self, pid: &Pid) {
        self.system().unmonitor(self.pid(), pid.as_str());
    }

    /// Links this client and `pid`.
    pub fn link(&self, pid: &Pid) -> Result<(), ProcessError> {
        self.system().link(self.pid(), pid.as_str())
    }

    /// Removes the link to `pid`.
    pub fn unlink(&self, pid: &Pid) {
        self.system().unlink(self.pid(), pid.as_str());
    }

    /// Receive LINK_DOWN as an event instead of being terminated when a linked process fails.
    pub fn set_trap_links(&self, trap: bool) {
        self.system().set_trap_links(self.pid(), trap);
    }

    /// Terminates `pid` at once; its EXIT error is "terminated".
    pub fn terminate(&self, pid: &Pid) {
        self.terminate_with(pid, "terminated");
    }

    /// Terminates `pid` at once with `reason` as its EXIT error (Erlang's `exit(Pid, Reason)`). A reason starting
    /// with `shutdown` is an orderly shutdown to a supervisor; anything else is a failure.
    pub fn terminate_with(&self, pid: &Pid, reason: impl Into<Value>) {
        self.system().terminate(pid.as_str(), reason.into());
    }

    /// Asks `pid` to finish (a CANCEL event); terminates it after `timeout` (default: its host's `cancel_timeout`).
    pub fn cancel(&self, pid: &Pid, reason: impl Into<Value>, timeout: Option<Duration>) -> Result<(), ProcessError> {
        self.system().cancel(Some(self.pid()), pid.as_str(), reason.into(), timeout)
    }

    /// Registers `name` for `pid`.
    pub fn register(&self, name: &str, pid: &Pid) -> Result<(), ProcessError> {
        self.system().register(name, pid.as_str())
    }

    /// Registers `name` for `pid` in a registry scope: [`Scope::Eventual`] makes it cluster-wide (SPEC §8).
    pub fn register_in(&self, name: &str, pid: &Pid, scope: Scope) -> Result<(), ProcessError> {
        self.system().register_in(name, pid.as_str(), scope)
    }

    /// The PID registered as `name`.
    pub fn lookup(&self, name: &str) -> Option<Pid> {
        self.system().lookup(name)
    }

    /// Removes a name.
    pub fn unregister(&self, name: &str) -> bool {
        self.system().unregister(name)
    }

    /// Adds `pid` to `group`.
    pub fn join(&self, group: &str, pid: &Pid) -> Result<(), ProcessError> {
        self.system().join(group, pid.as_str())
    }

    /// Removes `pid` from `group`.
    pub fn leave(&self, group: &str, pid: &Pid) {
        self.system().leave(group, pid.as_str());
    }

    /// The members of `group`.
    pub fn members(&self, group: &str) -> Vec<Pid> {
        self.system().members(group)
    }

    /// Sends to every member of `group`; returns how many.
    pub fn broadcast(&self, group: &str, topic: &str, payload: impl Into<Value>) -> Result<usize, ProcessError> {
        self.system().broadcast(Some(self.pid()), group, topic, Payload::Value(payload.into()))
    }
}

impl Client {
    /// Whether `pid` is alive.
    pub fn is_alive(&self, pid: &Pid) -> bool {
        self.system().is_alive(pid.as_str())
    }
}
