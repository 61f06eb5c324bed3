//! This node's side of the cluster: the [`Remote`] the process system calls for other nodes' PIDs, and the handler
//! of what other nodes send ([`Node::receive`]).
//!
//! # Ordering
//! Everything for one peer leaves through one ractor_cluster stub actor and one TCP session and is handled by the
//! peer's agent actor one message at a time, so messages and signals between two nodes keep their order. A remote
//! spawn is answered before the child runs ([`SpawnRequest::announce`]), so the answer reaches the parent's node
//! before the child's EXIT or messages.
//!
//! # Loss
//! [`Node::node_down`] runs once per lost connection: pending spawns to the node fail, every local monitor of one
//! of its processes receives EXIT with UNAVAILABLE `noconnection`, every link into it fires the same way, and its
//! processes' monitors of local processes are dropped. From then on operations towards the node fail with
//! [`ProcessError::NoConnection`] until it is connected again.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ractor::ActorRef;
use tokio::sync::oneshot;

use super::wire::{decode, encode, Envelope, Wire};
use super::NodeEvent;
use crate::error::ProcessError;
use crate::process::{
    BoxFuture, Event, Exit, ExitSignal, Payload, Pid, Remote, RemoteSpawn, SpawnOptions, SpawnRequest, System,
};
use crate::value::{kind, ErrorValue, Value};

/// A spawn waiting for its answer.
struct Pending {
    node: String,
    parent: Option<(Pid, SpawnOptions)>,
    reply: oneshot::Sender<Result<Pid, ProcessError>>,
}

/// The error every monitor and link into a lost node receives.
pub(crate) fn noconnection() -> Value {
    ErrorValue::new("noconnection").with_kind(kind::UNAVAILABLE).with_retryable(true).into()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// This node, as the process system and the peers see it.
pub(crate) struct Node {
    name: String,
    system: Weak<System>,
    /// The connected peers: the stub of each one's agent.
    peers: RwLock<HashMap<String, ActorRef<Vec<u8>>>>,
    pending: Mutex<HashMap<u64, Pending>>,
    /// Local watchers of remote targets: (watcher, target).
    watches: Mutex<HashSet<(Pid, Pid)>>,
    next_id: AtomicU64,
    events: Box<dyn Fn(NodeEvent) + Send + Sync>,
}

impl Node {
    pub(super) fn new(name: &str, system: &Arc<System>, events: Box<dyn Fn(NodeEvent) + Send + Sync>) -> Node {
        Node {
            name: name.to_owned(),
            system: Arc::downgrade(system),
            peers: RwLock::default(),
            pending: Mutex::default(),
            watches: Mutex::default(),
            next_id: AtomicU64::new(1),
            events,
        }
    }

    /// This node's name.
    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// The connected peers, sorted.
    pub(super) fn peers(&self) -> Vec<String> {
        let mut names: Vec<String> = self.peers.read().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect();
        names.sort();
        names
    }

    /// Whether `node` is connected.
    pub(super) fn is_connected(&self, node: &str) -> bool {
        self.peers.read().unwrap_or_else(|p| p.into_inner()).contains_key(node)
    }

    /// `node` is connected through `stub` (its agent's stub on our session with it).
    pub(super) fn node_up(&self, node: &str, stub: ActorRef<Vec<u8>>) {
        self.peers.write().unwrap_or_else(|p| p.into_inner()).insert(node.to_owned(), stub);
        (self.events)(NodeEvent::Up(node.to_owned()));
    }

    /// `node` is lost (see the module docs). Does nothing when it was not connected.
    pub(super) fn node_down(&self, node: &str) {
        if self.peers.write().unwrap_or_else(|p| p.into_inner()).remove(node).is_none() {
            return;
        }
        let failed: Vec<Pending> = {
            let mut pending = lock(&self.pending);
            let ids: Vec<u64> = pending.iter().filter(|(_, p)| p.node == node).map(|(id, _)| *id).collect();
            ids.into_iter().filter_map(|id| pending.remove(&id)).collect()
        };
        for p in failed {
            let _ = p.reply.send(Err(ProcessError::NoConnection { node: node.to_owned() }));
        }
        let lost: Vec<(Pid, Pid)> = {
            let mut watches = lock(&self.watches);
            let lost: Vec<(Pid, Pid)> = watches.iter().filter(|(_, t)| t.node() == Some(node)).cloned().collect();
            for w in &lost {
                watches.remove(w);
            }
            lost
        };
        if let Some(system) = self.system.upgrade() {
            let at = SystemTime::now();
            for (watcher, target) in lost {
                let exit = Exit { from: target.clone(), value: Value::Nil, error: Some(noconnection()), at };
                system.deliver_exit_signal(watcher.as_str(), &target, ExitSignal::Exit(Event::Exit(exit)));
            }
            system.node_lost(node, &noconnection());
        }
        (self.events)(NodeEvent::Down(node.to_owned()));
    }

    /// Sends `body` to `node`.
    fn post(&self, node: &str, body: Wire) -> Result<(), ProcessError> {
        let stub = self.peers.read().unwrap_or_else(|p| p.into_inner()).get(node).cloned();
        let Some(stub) = stub else { return Err(ProcessError::NoConnection { node: node.to_owned() }) };
        let bytes = encode(&Envelope { from: self.name.clone(), body })
            .map_err(|bytes| ProcessError::MessageTooLarge { bytes, max: super::wire::MAX_MESSAGE_BYTES })?;
        stub.cast(bytes).map_err(|_| ProcessError::NoConnection { node: node.to_owned() })
    }

    /// Sends `body` to the node of `pid`.
    fn post_to(&self, pid: &Pid, body: Wire) -> Result<(), ProcessError> {
        let node = pid.node().unwrap_or_default();
        self.post(node, body)
    }

    /// Handles what a peer sent.
    pub(super) fn receive(self: &Arc<Self>, bytes: &[u8]) {
        let Some(Envelope { from: peer, body }) = decode(bytes) else {
            tracing::warn!(node = %self.name, "dropped a cluster message that does not decode");
            return;
        };
        let Some(system) = self.system.upgrade() else { return };
        let pid = |text: &str| Pid::parse(text);
        match body {
            Wire::Send { from, to, topic, payload } => {
                let from = from.as_deref().and_then(pid);
                if let Err(e) = system.send(from.as_ref(), &to, &topic, payload) {
                    tracing::debug!(to, error = %e, "a message from node `{peer}` was not delivered");
                }
            }
            Wire::Spawn { id, parent, monitor, link, host, entry, args, context } => {
                let node = self.clone();
                tokio::spawn(async move {
                    let parent = parent.as_deref().and_then(Pid::parse);
                    let answered = Arc::new(std::sync::atomic::AtomicBool::new(false));
                    let mut req = SpawnRequest::new(&entry, &host, args, Arc::new(context));
                    if let Some(p) = &parent {
                        req = req.child_of(p, SpawnOptions { monitor, link });
                    }
                    let (n, a, to) = (node.clone(), answered.clone(), peer.clone());
                    req.announce = Some(Box::new(move |child: &Pid| {
                        a.store(true, Ordering::Relaxed);
                        let _ = n.post(&to, Wire::Spawned { id, result: Ok(child.to_string()) });
                    }));
                    if let Err(e) = system.spawn(req).await {
                        if !answered.load(Ordering::Relaxed) {
                            let result = Err((e.kind().to_owned(), e.to_string()));
                            let _ = node.post(&peer, Wire::Spawned { id, result });
                        }
                    }
                });
            }
            Wire::Spawned { id, result } => {
                let Some(p) = lock(&self.pending).remove(&id) else { return };
                let result = match result {
                    Ok(text) => match Pid::parse(&text) {
                        Some(child) => {
                            self.attach_remote_child(&system, p.parent.as_ref(), &child);
                            Ok(child)
                        }
                        None => Err(ProcessError::BadPid { text }),
                    },
                    Err((k, message)) => Err(ProcessError::Remote { node: peer, kind: kind::intern(&k), message }),
                };
                let _ = p.reply.send(result);
            }
            Wire::Monitor { watcher, target } => {
                let Some(w) = pid(&watcher) else { return };
                if !system.add_remote_monitor(&w, &target) {
                    let error =
                        Value::from("no such process: it had already exited (or never existed) when it was monitored");
                    let _ = self.post(
                        &peer,
                        Wire::Exit {
                            to: watcher,
                            from: target,
                            value: Value::Nil,
                            error: Some(error),
                            at_ms: now_ms(),
                        },
                    );
                }
            }
            Wire::Unmonitor { watcher, target } => {
                if let Some(w) = pid(&watcher) {
                    system.unmonitor(&w, &target);
                }
            }
            Wire::Link { remote, local } => {
                let Some(r) = pid(&remote) else { return };
                if !system.add_remote_link(&r, &local) {
                    let error = Value::from(format!("no such process: {local} is not alive"));
                    let _ = self.post(&peer, Wire::LinkExit { to: remote, from: local, error: Some(error) });
                }
            }
            Wire::Unlink { remote, local } => {
                if let (Some(r), Some(record)) = (pid(&remote), system.record(&local)) {
                    record.ctl().links.retain(|p| p != &r);
                }
            }
            Wire::Cancel { from, to, reason, timeout_ms } => {
                let from = from.as_deref().and_then(pid);
                let timeout = timeout_ms.map(Duration::from_millis);
                if let Err(e) = system.cancel(from.as_ref(), &to, reason, timeout) {
                    tracing::debug!(to, error = %e, "a cancel from node `{peer}` found no process");
                }
            }
            Wire::Terminate { to, reason } => system.terminate(&to, reason),
            Wire::Exit { to, from, value, error, at_ms } => {
                let (Some(w), Some(f)) = (pid(&to), pid(&from)) else { return };
                lock(&self.watches).remove(&(w, f.clone()));
                let at = UNIX_EPOCH + Duration::from_millis(at_ms);
                let exit = Exit { from: f.clone(), value, error, at };
                system.deliver_exit_signal(&to, &f, ExitSignal::Exit(Event::Exit(exit)));
            }
            Wire::LinkExit { to, from, error } => {
                let Some(f) = pid(&from) else { return };
                system.deliver_exit_signal(&to, &f, ExitSignal::Link(error));
            }
        }
    }

    /// A remote spawn returned `child`: the parent's side of its monitor and link.
    fn attach_remote_child(&self, system: &System, parent: Option<&(Pid, SpawnOptions)>, child: &Pid) {
        let Some((parent, opts)) = parent else { return };
        if opts.monitor {
            lock(&self.watches).insert((parent.clone(), child.clone()));
        }
        if opts.link {
            let linked = system.record(parent.as_str()).is_some_and(|r| {
                let mut ctl = r.ctl();
                if !ctl.exited && !ctl.links.contains(child) {
                    ctl.links.push(child.clone());
                }
                !ctl.exited
            });
            if !linked {
                // The parent is gone: the child's link fires as it would have on one node.
                let error = Some(Value::from(format!("no such process: {parent} is not alive")));
                let _ = self.post_to(child, Wire::LinkExit { to: child.to_string(), from: parent.to_string(), error });
            }
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Remote for Node {
    fn send(&self, from: Option<&Pid>, dest: &Pid, topic: &str, payload: Payload) -> Result<(), ProcessError> {
        let body =
            Wire::Send { from: from.map(Pid::to_string), to: dest.to_string(), topic: topic.to_owned(), payload };
        self.post_to(dest, body)
    }

    fn spawn(&self, spawn: RemoteSpawn) -> BoxFuture<'static, Result<Pid, ProcessError>> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let node = spawn.node.clone();
        let (parent, monitor, link) = match &spawn.parent {
            Some((p, o)) => (Some(p.to_string()), o.monitor, o.link),
            None => (None, false, false),
        };
        lock(&self.pending).insert(id, Pending { node: node.clone(), parent: spawn.parent, reply: tx });
        let body = Wire::Spawn {
            id,
            parent,
            monitor,
            link,
            host: spawn.host,
            entry: spawn.entry,
            args: spawn.args,
            context: (*spawn.context).clone(),
        };
        let posted = self.post(&node, body);
        if posted.is_err() {
            lock(&self.pending).remove(&id);
        }
        Box::pin(async move {
            posted?;
            rx.await.unwrap_or(Err(ProcessError::NoConnection { node }))
        })
    }

    fn monitor(&self, watcher: &Pid, target: &Pid) -> Result<(), ProcessError> {
        lock(&self.watches).insert((watcher.clone(), target.clone()));
        let body = Wire::Monitor { watcher: watcher.to_string(), target: target.to_string() };
        let posted = self.post_to(target, body);
        if posted.is_err() {
            lock(&self.watches).remove(&(watcher.clone(), target.clone()));
        }
        posted
    }

    fn unmonitor(&self, watcher: &Pid, target: &Pid) {
        lock(&self.watches).remove(&(watcher.clone(), target.clone()));
        let _ = self.post_to(target, Wire::Unmonitor { watcher: watcher.to_string(), target: target.to_string() });
    }

    fn link(&self, local: &Pid, remote: &Pid) -> Result<(), ProcessError> {
        self.post_to(remote, Wire::Link { remote: local.to_string(), local: remote.to_string() })
    }

    fn unlink(&self, local: &Pid, remote: &Pid) {
        let _ = self.post_to(remote, Wire::Unlink { remote: local.to_string(), local: remote.to_string() });
    }

    fn cancel(
        &self,
        from: Option<&Pid>,
        dest: &Pid,
        reason: Value,
        timeout: Option<Duration>,
    ) -> Result<(), ProcessError> {
        let timeout_ms = timeout.map(|t| t.as_millis() as u64);
        self.post_to(dest, Wire::Cancel { from: from.map(Pid::to_string), to: dest.to_string(), reason, timeout_ms })
    }

    fn terminate(&self, dest: &Pid, reason: Value) -> Result<(), ProcessError> {
        self.post_to(dest, Wire::Terminate { to: dest.to_string(), reason })
    }

    fn exit_signal(&self, to: &Pid, from: &Pid, signal: ExitSignal) {
        let body = match signal {
            ExitSignal::Exit(Event::Exit(e)) => {
                let at_ms = e.at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
                Wire::Exit { to: to.to_string(), from: from.to_string(), value: e.value, error: e.error, at_ms }
            }
            ExitSignal::Exit(_) => return,
            ExitSignal::Link(error) => Wire::LinkExit { to: to.to_string(), from: from.to_string(), error },
        };
        // A lost node has nobody left to tell.
        let _ = self.post_to(to, body);
    }
}
