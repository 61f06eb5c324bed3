//! The port through which the process system reaches processes on other nodes of a cluster (SPEC §8).
//!
//! The process model knows no network: when a host joins a cluster, the cluster layer (module `cluster`) installs
//! a [`Remote`] in the [`System`](super::System), and every operation whose PID or host names another node
//! (`{b@app:processes|0x1f}`, `b@app:processes`) goes through it instead of the process table. Operations on local
//! PIDs never touch it.
//!
//! # Ordering and failure
//! A `Remote` delivers in call order per destination node, so messages and signals from one sender to one
//! process arrive in the order they were sent (per-sender FIFO, as on one node). Operations are asynchronous
//! across nodes: a send, monitor, link, cancel or terminate of a PID on a connected node is accepted (`Ok`) and
//! applied on that node; a dead target answers as on one node (an EXIT "no such process" to a monitor, LINK_DOWN
//! to a link). An operation towards a node that is not connected fails at once with
//! [`ProcessError::NoConnection`] (UNAVAILABLE), and when a node is lost every monitor and link into it fires with
//! UNAVAILABLE `noconnection` (Erlang's rule), so nothing waits forever.

use std::sync::Arc;
use std::time::Duration;

use super::guest::BoxFuture;
use super::mailbox::{Event, Payload};
use super::{Pid, SpawnOptions};
use crate::error::ProcessError;
use crate::security::SecurityContext;
use crate::value::Value;

/// A spawn on another node.
pub(crate) struct RemoteSpawn {
    /// The node to spawn on.
    pub(crate) node: String,
    /// The process host there (without the node).
    pub(crate) host: String,
    /// The process entry.
    pub(crate) entry: String,
    /// The arguments of the method.
    pub(crate) args: Vec<Value>,
    /// The security context the process runs under.
    pub(crate) context: Arc<SecurityContext>,
    /// The parent, and how the child attaches to it.
    pub(crate) parent: Option<(Pid, SpawnOptions)>,
}

/// What the process system needs from the cluster.
pub(crate) trait Remote: Send + Sync + 'static {
    /// Sends a message to a process on another node.
    fn send(&self, from: Option<&Pid>, dest: &Pid, topic: &str, payload: Payload) -> Result<(), ProcessError>;
    /// Spawns a process on another node; resolves to its PID once it runs (after its parent is attached).
    fn spawn(&self, spawn: RemoteSpawn) -> BoxFuture<'static, Result<Pid, ProcessError>>;
    /// `watcher` (local) receives EXIT when `target` (remote) ends.
    fn monitor(&self, watcher: &Pid, target: &Pid) -> Result<(), ProcessError>;
    /// Stops a monitor made by [`Remote::monitor`].
    fn unmonitor(&self, watcher: &Pid, target: &Pid);
    /// Links `local` to `remote` on the remote side (the local side records the link itself).
    fn link(&self, local: &Pid, remote: &Pid) -> Result<(), ProcessError>;
    /// Removes the remote side of a link.
    fn unlink(&self, local: &Pid, remote: &Pid);
    /// Delivers CANCEL to a remote process.
    fn cancel(
        &self,
        from: Option<&Pid>,
        dest: &Pid,
        reason: Value,
        timeout: Option<Duration>,
    ) -> Result<(), ProcessError>;
    /// Terminates a remote process.
    fn terminate(&self, dest: &Pid, reason: Value) -> Result<(), ProcessError>;
    /// Delivers an event of a local process (EXIT to a monitor, LINK_DOWN to a link) to a process on another node.
    /// `event` is `None` for the normal exit of a linked process: the link is only removed there.
    fn exit_signal(&self, to: &Pid, from: &Pid, kind: ExitSignal);
    /// Publishes (`present`) or withdraws a cluster-wide name or group membership of a local process.
    fn share(&self, item: Shared, present: bool);
    /// The process on another connected node that holds the EVENTUAL name `name`, as the cluster resolved it.
    fn name(&self, name: &str) -> Option<Pid>;
    /// The members of `group` on other connected nodes.
    fn members(&self, group: &str) -> Vec<Pid>;
}

/// Something of a local process the whole cluster sees.
pub(crate) enum Shared {
    /// An EVENTUAL name.
    Name(String, Pid),
    /// A group membership.
    Member(String, Pid),
}

/// What a local process's end means to a process on another node.
pub(crate) enum ExitSignal {
    /// It monitored the process: this is its EXIT.
    Exit(Event),
    /// It was linked: the error (`None` for a normal end, which only removes the link).
    Link(Option<Value>),
}
