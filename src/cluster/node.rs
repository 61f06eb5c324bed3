//! This node's side of the cluster: the [`Remote`] the process system calls for other nodes' PIDs, and the handler
//! of what other nodes send ([`Node::receive`]).
//!
//! # Ordering
//! Everything for one peer waits in one outbox, in order; one flusher task per peer takes whatever waits and casts
//! it as one frame through one ractor_cluster stub actor and one TCP session, and the peer's agent actor handles
//! the frames one at a time, so messages and signals between two nodes keep their order. Under load a frame
//! carries many messages, which is what makes cross-node throughput (BENCHMARKS.md). At most [`WINDOW_BYTES`] of
//! frames are on their way to a peer unacknowledged (it acknowledges per [`ACK_EVERY`] handled, straight to our
//! stub), and an outbox holds at most [`MAX_OUTBOX_BYTES`] of messages; a send past it fails UNAVAILABLE, so a
//! peer that does not keep up never makes memory grow without bound. Signals are never refused. A remote
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
use tokio::sync::{mpsc, oneshot};

mod inbound;

use super::wire::{encode, encode_frame, Frame, Item, Wire, MAX_MESSAGE_BYTES};
use super::NodeEvent;
use crate::error::ProcessError;
use crate::process::{
    BoxFuture, Event, Exit, ExitSignal, Payload, Pid, Remote, RemoteSpawn, Shared, SpawnOptions, System,
};
use crate::value::{kind, ErrorValue, Value};

/// A spawn waiting for its answer.
struct Pending {
    node: String,
    parent: Option<(Pid, SpawnOptions)>,
    reply: oneshot::Sender<Result<Pid, ProcessError>>,
}

/// How many encoded bytes may wait to be sent to one peer (SPEC §10, `cluster.max_outbox_bytes`).
pub(crate) const MAX_OUTBOX_BYTES: usize = 64 * 1024 * 1024;

/// Where a remote spawn's answer is: not sent yet, sent, or not sendable (the asking node is gone).
const UNANSWERED: u8 = 0;
const ANSWERED: u8 = 1;
const LOST: u8 = 2;

/// Whether a posted body is a message (bounded by the outbox) or a signal (never refused).
enum BodyKind {
    Message,
    Signal,
}

/// How many frames, and how many bytes of them, from a peer that is connected but not adopted yet wait for its
/// adoption; past either, later frames are dropped (logged).
const MAX_EARLY_FRAMES: usize = 4096;
const MAX_EARLY_BYTES: usize = 64 * 1024 * 1024;

/// The frames waiting from one peer not adopted yet, each with its size, and their total size.
type Early = (Vec<(Frame, usize)>, usize);

/// How many bytes of frames may be on their way to one peer, unacknowledged.
const WINDOW_BYTES: usize = 32 * 1024 * 1024;

/// After how many bytes of handled frames a node acknowledges them to their sender.
const ACK_EVERY: usize = 1024 * 1024;

/// What one item adds to a frame besides its bytes (its length prefix, at most a 10-byte varint).
const ITEM_OVERHEAD: usize = 10;

/// A connected peer: what waits to be sent to it, and the task that sends it.
struct Peer {
    /// The stub of the peer's agent.
    stub: ActorRef<Vec<u8>>,
    out: Mutex<Outbox>,
    wake: tokio::sync::Notify,
    flusher: std::sync::OnceLock<tokio::task::AbortHandle>,
    /// Bytes of frames sent and not acknowledged yet (at most [`WINDOW_BYTES`] plus one frame).
    in_flight: std::sync::atomic::AtomicUsize,
    acked: tokio::sync::Notify,
    /// Bytes of frames received from the peer and handled, not acknowledged yet (acknowledged per [`ACK_EVERY`]).
    unacked: std::sync::atomic::AtomicUsize,
}

#[derive(Default)]
struct Outbox {
    items: Vec<Item>,
    bytes: usize,
}

impl Peer {
    fn new(stub: ActorRef<Vec<u8>>) -> Peer {
        Peer {
            stub,
            out: Mutex::default(),
            wake: tokio::sync::Notify::new(),
            flusher: Default::default(),
            in_flight: Default::default(),
            acked: tokio::sync::Notify::new(),
            unacked: Default::default(),
        }
    }

    /// The peer handled `bytes` of our frames.
    fn ack(&self, bytes: usize) {
        let _ = self.in_flight.fetch_update(Ordering::AcqRel, Ordering::Acquire, |f| Some(f.saturating_sub(bytes)));
        self.acked.notify_one();
    }

    /// Sends what waits, frame by frame, until the peer is gone; at most [`WINDOW_BYTES`] of frames are on their
    /// way at once, so when the peer does not keep up, messages wait in the outbox, whose bound then applies.
    async fn flush(self: Arc<Self>, from: String) {
        loop {
            self.wake.notified().await;
            loop {
                let items = {
                    let mut o = lock(&self.out);
                    // A frame stays under the receiver's frame limit: each item also costs its length prefix.
                    let framed = o.bytes + o.items.len() * ITEM_OVERHEAD;
                    if framed <= MAX_MESSAGE_BYTES {
                        o.bytes = 0;
                        std::mem::take(&mut o.items)
                    } else {
                        let (mut n, mut size, mut framed) = (0, 0, 0);
                        while n < o.items.len()
                            && (n == 0 || framed + o.items[n].0.len() + ITEM_OVERHEAD <= MAX_MESSAGE_BYTES)
                        {
                            size += o.items[n].0.len();
                            framed += o.items[n].0.len() + ITEM_OVERHEAD;
                            n += 1;
                        }
                        o.bytes -= size;
                        o.items.drain(..n).collect()
                    }
                };
                if items.is_empty() {
                    break;
                }
                let frame = encode_frame(&Frame { from: from.clone(), items });
                loop {
                    let f = self.in_flight.load(Ordering::Acquire);
                    if f == 0 || f + frame.len() <= WINDOW_BYTES {
                        break;
                    }
                    self.acked.notified().await;
                }
                self.in_flight.fetch_add(frame.len(), Ordering::AcqRel);
                if self.stub.cast(frame).is_err() {
                    return;
                }
            }
        }
    }
}

/// A change to this node's gossiped keys, applied in order by the membership's key task.
pub(super) enum KeyOp {
    Set(String, String),
    Delete(String),
}

/// What the other nodes publish: EVENTUAL names (resolved) and group members.
#[derive(Default)]
struct View {
    names: HashMap<String, Pid>,
    groups: HashMap<String, Vec<Pid>>,
}

/// The gossip key of an EVENTUAL name; its value is `<pid> <registered at, ms since the epoch>`.
pub(super) const NAME_KEY: &str = "n/";
/// The gossip key prefix of a group membership: `g/<pid>/<group>` (a PID holds no `/`).
pub(super) const MEMBER_KEY: &str = "g/";

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
    /// The connected peers.
    peers: RwLock<HashMap<String, Arc<Peer>>>,
    pending: Mutex<HashMap<u64, Pending>>,
    /// Local watchers of remote targets: (watcher, target).
    watches: Mutex<HashSet<(Pid, Pid)>>,
    next_id: AtomicU64,
    events: Box<dyn Fn(NodeEvent) + Send + Sync>,
    /// Where this node's gossiped keys change.
    keys: Mutex<Option<mpsc::UnboundedSender<KeyOp>>>,
    view: RwLock<View>,
    /// Frames from peers whose session is up but who are not adopted yet (their side adopted us first).
    early: Mutex<HashMap<String, Early>>,
    /// This node's own agent, which replays early frames in order once their peer is adopted.
    agent: Mutex<Option<ActorRef<Vec<u8>>>>,
    live: std::sync::atomic::AtomicUsize,
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
            keys: Mutex::default(),
            view: RwLock::default(),
            early: Mutex::default(),
            agent: Mutex::default(),
            live: Default::default(),
        }
    }

    /// Forgets the frames waiting from `node` (its session closed before it was adopted).
    pub(super) fn forget_early(&self, node: &str) {
        lock(&self.early).remove(node);
    }

    /// This node's agent.
    pub(super) fn set_agent(&self, agent: ActorRef<Vec<u8>>) {
        *lock(&self.agent) = Some(agent);
    }

    /// Where [`Remote::share`] sends key changes.
    pub(super) fn set_keys(&self, tx: mpsc::UnboundedSender<KeyOp>) {
        *lock(&self.keys) = Some(tx);
    }

    fn key(&self, op: KeyOp) {
        if let Some(tx) = lock(&self.keys).as_ref() {
            let _ = tx.send(op);
        }
    }

    /// Rebuilds the view of the other nodes' names and groups from the gossip's key-value state of every live node
    /// (`(node, key, value)`), and resolves conflicting EVENTUAL names: the earliest registration wins, then the
    /// node name that sorts first. A name this node held and lost is taken from its holder here.
    pub(super) fn update_view<'a>(&self, entries: impl Iterator<Item = (&'a str, &'a str, &'a str)>) {
        let mut candidates: HashMap<String, Vec<(u64, String, Pid)>> = HashMap::new();
        let mut groups: HashMap<String, Vec<Pid>> = HashMap::new();
        for (node, key, value) in entries {
            if let Some(name) = key.strip_prefix(NAME_KEY) {
                let Some((pid, at)) = value.split_once(' ') else { continue };
                let (Some(pid), Ok(at)) = (Pid::parse(pid), at.parse::<u64>()) else { continue };
                candidates.entry(name.to_owned()).or_default().push((at, node.to_owned(), pid));
            } else if let Some(rest) = key.strip_prefix(MEMBER_KEY) {
                let Some((pid, group)) = rest.split_once('/') else { continue };
                if node != self.name {
                    if let Some(pid) = Pid::parse(pid) {
                        groups.entry(group.to_owned()).or_default().push(pid);
                    }
                }
            }
        }
        let mut names = HashMap::new();
        let mut lost = Vec::new();
        for (name, mut holders) in candidates {
            holders.sort();
            let (_, winner_node, winner) = holders[0].clone();
            for (_, node, pid) in &holders[1..] {
                if *node == self.name {
                    lost.push((name.clone(), pid.clone(), winner.clone()));
                }
            }
            if winner_node != self.name {
                names.insert(name, winner);
            }
        }
        *self.view.write().unwrap_or_else(|p| p.into_inner()) = View { names, groups };
        if let Some(system) = self.system.upgrade() {
            for (name, pid, winner) in lost {
                tracing::info!(name, %pid, holder = %winner, "an EVENTUAL name was registered earlier on another node");
                self.key(KeyOp::Delete(format!("{NAME_KEY}{name}")));
                system.name_lost(&name, &pid, &winner);
            }
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

    /// How many other nodes the gossip lists as alive.
    pub(super) fn live_count(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Sets how many other nodes the gossip lists as alive.
    pub(super) fn set_live_count(&self, n: usize) {
        self.live.store(n, Ordering::Relaxed);
    }

    /// Whether `node` is connected.
    pub(super) fn is_connected(&self, node: &str) -> bool {
        self.peers.read().unwrap_or_else(|p| p.into_inner()).contains_key(node)
    }

    /// `node` is connected through `stub` (its agent's stub on our session with it).
    pub(super) fn node_up(&self, node: &str, stub: ActorRef<Vec<u8>>) {
        let peer = Arc::new(Peer::new(stub));
        let task = tokio::spawn(peer.clone().flush(self.name.clone()));
        let _ = peer.flusher.set(task.abort_handle());
        let old = self.peers.write().unwrap_or_else(|p| p.into_inner()).insert(node.to_owned(), peer);
        if let Some(old) = old.and_then(|o| o.flusher.get().cloned()) {
            old.abort();
        }
        // The agent replays what the peer sent before this point, before anything it sends after.
        if let Some(agent) = lock(&self.agent).as_ref() {
            let _ = agent.cast(encode_frame(&Frame { from: node.to_owned(), items: Vec::new() }));
        }
        (self.events)(NodeEvent::Up(node.to_owned()));
    }

    /// `node` is lost (see the module docs). Does nothing when it was not connected.
    pub(super) fn node_down(&self, node: &str) {
        lock(&self.early).remove(node);
        let Some(peer) = self.peers.write().unwrap_or_else(|p| p.into_inner()).remove(node) else { return };
        if let Some(task) = peer.flusher.get() {
            task.abort();
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

    /// Drops the monitors of remote processes whose local watcher has ended (its EXIT has nobody to reach).
    pub(super) fn forget_dead_watchers(&self) {
        let Some(system) = self.system.upgrade() else { return };
        lock(&self.watches).retain(|(watcher, _)| system.is_alive(watcher.as_str()));
    }

    /// Sends `body` to `node`.
    fn post(&self, node: &str, body: Wire) -> Result<(), ProcessError> {
        let peer = self.peers.read().unwrap_or_else(|p| p.into_inner()).get(node).cloned();
        let Some(peer) = peer else { return Err(ProcessError::NoConnection { node: node.to_owned() }) };
        let body_kind = if matches!(body, Wire::Send { .. }) { BodyKind::Message } else { BodyKind::Signal };
        let item = encode(&body).map_err(|bytes| ProcessError::MessageTooLarge { bytes, max: MAX_MESSAGE_BYTES })?;
        // Only messages are refused when too much waits: a signal (EXIT, LINK_DOWN, a spawn's answer) that were
        // dropped would leave a monitor, link or spawn waiting forever.
        let capped = matches!(body_kind, BodyKind::Message);
        let was_empty = {
            let mut o = lock(&peer.out);
            if capped && o.bytes + item.0.len() > MAX_OUTBOX_BYTES {
                return Err(ProcessError::NodeBusy { node: node.to_owned(), bytes: o.bytes });
            }
            o.bytes += item.0.len();
            o.items.push(item);
            o.items.len() == 1
        };
        if was_empty {
            peer.wake.notify_one();
        }
        Ok(())
    }

    /// `peer` handled `bytes` of our frames.
    fn acked(&self, peer: &str, bytes: usize) {
        if let Some(p) = self.peers.read().unwrap_or_else(|p| p.into_inner()).get(peer) {
            p.ack(bytes);
        }
    }

    /// Counts `bytes` of a handled frame from `peer` and acknowledges them once [`ACK_EVERY`] have gathered; the
    /// acknowledgement goes straight to the peer's stub (never behind a full window, so two nodes flooding each
    /// other cannot wait on each other).
    fn handled(&self, peer: &str, bytes: usize) {
        let Some(p) = self.peers.read().unwrap_or_else(|p| p.into_inner()).get(peer).cloned() else { return };
        let total = p.unacked.fetch_add(bytes, Ordering::AcqRel) + bytes;
        if total >= ACK_EVERY {
            p.unacked.fetch_sub(total, Ordering::AcqRel);
            if let Ok(item) = encode(&Wire::Ack { bytes: total as u64 }) {
                let _ = p.stub.cast(encode_frame(&Frame { from: self.name.clone(), items: vec![item] }));
            }
        }
    }

    /// Sends `body` to the node of `pid`.
    fn post_to(&self, pid: &Pid, body: Wire) -> Result<(), ProcessError> {
        let node = pid.node().unwrap_or_default();
        self.post(node, body)
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

    fn share(&self, item: Shared, present: bool) {
        let (key, value) = match item {
            Shared::Name(name, pid) => (format!("{NAME_KEY}{name}"), format!("{pid} {}", now_ms())),
            Shared::Member(group, pid) => (format!("{MEMBER_KEY}{pid}/{group}"), String::new()),
        };
        self.key(if present { KeyOp::Set(key, value) } else { KeyOp::Delete(key) });
    }

    fn name(&self, name: &str) -> Option<Pid> {
        let pid = self.view.read().unwrap_or_else(|p| p.into_inner()).names.get(name).cloned()?;
        pid.node().is_some_and(|n| self.is_connected(n)).then_some(pid)
    }

    fn members(&self, group: &str) -> Vec<Pid> {
        let view = self.view.read().unwrap_or_else(|p| p.into_inner());
        let members = view.groups.get(group).cloned().unwrap_or_default();
        drop(view);
        members.into_iter().filter(|p| p.node().is_some_and(|n| self.is_connected(n))).collect()
    }
}
