//! Membership: who is in the cluster (chitchat's gossip and failure detector) and the sessions to them
//! (ractor_cluster's node server, cookie-authenticated TCP).
//!
//! Every node gossips, over UDP on its listen address, two keys: `tcp` (where its node server listens, the same
//! address over TCP) and `agent` (the ractor PID of its agent actor, which receives what peers send). The gossip's
//! cluster ID is derived from the secret, so nodes with another secret never see each other; the node server's
//! cookie is the secret, so a session from such a node is refused in its handshake.
//!
//! One task per node follows both sources:
//! - a live node without a session is dialled by the side whose name sorts first (the other waits for it), so two
//!   nodes never race two sessions;
//! - a session that is ready becomes a peer once the stub of the peer's agent is found among the session's children
//!   (ractor_cluster creates one stub per remote actor it is told about); then `node.up`;
//! - a session that closes, or a peer the failure detector declares dead, is `node.down`: the session is stopped and
//!   [`Node::node_down`] fires `noconnection` everywhere. A node that comes back is dialled again;
//! - every second (gossip only wakes the task on changes) a dial that has not led to a session is retried, and
//!   monitors of remote processes whose local watcher has ended are forgotten.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chitchat::transport::UdpTransport;
use chitchat::{spawn_chitchat, ChitchatConfig, ChitchatHandle, ChitchatId, FailureDetectorConfig, NodeState};
use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef};
use ractor_cluster::node::NodeServerSessionInformation;
use ractor_cluster::{NodeEventSubscription, NodeServer, NodeServerMessage};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, watch};

use super::node::{KeyOp, Node};
use super::{ClusterConfig, ClusterError};

/// How long a dial may go without a session before the node is dialled again.
const DIAL_RETRY: Duration = Duration::from_secs(1);

/// The agent actor: what peers send arrives here, one message at a time.
struct Agent;

impl Actor for Agent {
    type Msg = Vec<u8>;
    type State = Arc<Node>;
    type Arguments = Arc<Node>;

    async fn pre_start(&self, _: ActorRef<Vec<u8>>, node: Arc<Node>) -> Result<Arc<Node>, ActorProcessingErr> {
        Ok(node)
    }

    async fn handle(
        &self,
        _: ActorRef<Vec<u8>>,
        bytes: Vec<u8>,
        node: &mut Arc<Node>,
    ) -> Result<(), ActorProcessingErr> {
        node.receive(&bytes);
        Ok(())
    }
}

/// What the node server tells us about sessions.
enum SessionEvent {
    Ready(NodeServerSessionInformation),
    Closed(NodeServerSessionInformation),
}

struct Sessions(mpsc::UnboundedSender<SessionEvent>);

impl NodeEventSubscription for Sessions {
    fn node_session_opened(&self, _: NodeServerSessionInformation) {}
    fn node_session_authenticated(&self, _: NodeServerSessionInformation) {}
    fn node_session_ready(&self, ses: NodeServerSessionInformation) {
        let _ = self.0.send(SessionEvent::Ready(ses));
    }
    fn node_session_disconnected(&self, ses: NodeServerSessionInformation) {
        let _ = self.0.send(SessionEvent::Closed(ses));
    }
}

/// The running membership of one node; dropping it leaves the cluster.
pub(super) struct Membership {
    pub(super) listen: SocketAddr,
    server: ActorRef<NodeServerMessage>,
    agent: ActorRef<Vec<u8>>,
    chitchat: Option<ChitchatHandle>,
    task: tokio::task::JoinHandle<()>,
    key_task: tokio::task::JoinHandle<()>,
}

impl Membership {
    /// Stops gossip only (the sessions stay).
    pub(super) fn stop_gossip(&mut self) {
        self.task.abort();
        if let Some(c) = self.chitchat.take() {
            c.abort();
        }
    }

    /// Gossips with `addr` now.
    pub(super) fn contact(&self, addr: SocketAddr) {
        if let Some(c) = &self.chitchat {
            let _ = c.gossip(addr);
        }
    }

    /// Stops gossip, the sessions (peers see the connection close at once) and the agent.
    pub(super) fn stop(&mut self) {
        self.task.abort();
        self.key_task.abort();
        if let Some(c) = self.chitchat.take() {
            c.abort();
        }
        self.server.stop(None);
        self.agent.stop(None);
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The node's name as ractor_cluster spells it (`name@wippy`) back to ours.
fn peer_name(ses: &NodeServerSessionInformation) -> Option<String> {
    let full = &ses.peer_name.as_ref()?.name;
    Some(full.split_once('@').map_or(full.as_str(), |(n, _)| n).to_owned())
}

/// A free port on `ip` for both UDP (gossip) and TCP (sessions), when the configuration asks for port 0.
fn pick_port(listen: SocketAddr) -> Result<SocketAddr, ClusterError> {
    let bind = |e: std::io::Error| ClusterError::Listen { addr: listen, message: e.to_string() };
    if listen.port() != 0 {
        return Ok(listen);
    }
    for _ in 0..32 {
        let udp = std::net::UdpSocket::bind(listen).map_err(bind)?;
        let addr = udp.local_addr().map_err(bind)?;
        if std::net::TcpListener::bind(addr).is_ok() {
            return Ok(addr);
        }
    }
    Err(ClusterError::Listen { addr: listen, message: "no port free for both UDP and TCP".into() })
}

/// Starts gossip, the node server and the agent, and the task that keeps the peers of `node` current.
pub(super) async fn start(node: Arc<Node>, config: &ClusterConfig) -> Result<Membership, ClusterError> {
    let listen = pick_port(config.listen)?;
    // The node server (TCP). It binds in its own actor; binding here first makes a taken port a start error.
    drop(
        std::net::TcpListener::bind(listen)
            .map_err(|e| ClusterError::Listen { addr: listen, message: e.to_string() })?,
    );
    let server = NodeServer::new(
        listen.port(),
        config.secret.clone(),
        node.name().to_owned(),
        "wippy".to_owned(),
        None,
        Some(ractor_cluster::node::NodeConnectionMode::Isolated),
    )
    .with_listen_addr(listen.ip())
    .with_max_inbound_frame_size((super::wire::MAX_MESSAGE_BYTES + 64 * 1024) as u64);
    let (server, _) = Actor::spawn(None, server, ())
        .await
        .map_err(|e| ClusterError::Listen { addr: listen, message: e.to_string() })?;
    let (agent, _) = Actor::spawn(None, Agent, node.clone())
        .await
        .map_err(|e| ClusterError::Listen { addr: listen, message: e.to_string() })?;
    node.set_agent(agent.clone());
    let (tx, sessions) = mpsc::unbounded_channel();
    let _ = server
        .cast(NodeServerMessage::SubscribeToEvents { id: "wippy".to_owned(), subscription: Box::new(Sessions(tx)) });

    // Gossip (UDP, same address).
    let generation = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let gossip_interval = (config.failure_timeout / 25).clamp(Duration::from_millis(20), Duration::from_millis(200));
    let chitchat_config = ChitchatConfig {
        chitchat_id: ChitchatId::new(node.name(), generation, listen),
        cluster_id: cluster_id(&config.secret),
        gossip_interval,
        listen_addr: listen,
        seed_nodes: config.join.clone(),
        failure_detector_config: FailureDetectorConfig {
            phi_threshold: 8.0,
            sampling_window_size: 1000,
            max_interval: config.failure_timeout,
            initial_interval: gossip_interval,
            dead_node_grace_period: Duration::from_secs(3600),
        },
        // Deleted keys (names released, groups left) are gossiped as tombstones this long, then forgotten.
        marked_for_deletion_grace_period: Duration::from_secs(60),
        catchup_callback: None,
        extra_liveness_predicate: None,
        protocol_version: chitchat::ProtocolVersion::V0,
    };
    let keys = vec![("tcp".to_owned(), listen.to_string()), ("agent".to_owned(), agent.get_id().pid().to_string())];
    let chitchat = spawn_chitchat(chitchat_config, keys, &UdpTransport)
        .await
        .map_err(|e| ClusterError::Listen { addr: listen, message: e.to_string() })?;
    let live = chitchat.chitchat().lock().await.live_nodes_watcher();
    // This node's names and group memberships, published in the order they change.
    let (keys_tx, mut keys) = mpsc::unbounded_channel::<KeyOp>();
    node.set_keys(keys_tx);
    let state = chitchat.chitchat();
    let key_task = tokio::spawn(async move {
        while let Some(op) = keys.recv().await {
            let mut c = state.lock().await;
            match op {
                KeyOp::Set(k, v) => c.self_node_state().set(k, v),
                KeyOp::Delete(k) => c.self_node_state().delete(&k),
            }
        }
    });

    let follower = Follower {
        node,
        server: server.clone(),
        failure_timeout: config.failure_timeout,
        live: BTreeMap::new(),
        sessions: HashMap::new(),
        dialling: HashMap::new(),
        waiting: Vec::new(),
    };
    let task = tokio::spawn(follower.run(live, sessions));
    Ok(Membership { listen, server, agent, chitchat: Some(chitchat), task, key_task })
}

/// The gossip cluster ID: nodes with another secret gossip in another cluster and never see this one.
fn cluster_id(secret: &str) -> String {
    let digest = Sha256::digest(format!("wippy-cluster:{secret}").as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("wippy-{hex}")
}

/// What the gossip says about one live node.
struct LiveNode {
    tcp: SocketAddr,
    agent: u64,
}

/// The task that keeps a node's peers current.
struct Follower {
    node: Arc<Node>,
    server: ActorRef<NodeServerMessage>,
    failure_timeout: Duration,
    /// Live nodes by name, as the gossip last said.
    live: BTreeMap<String, LiveNode>,
    /// The session each connected peer uses.
    sessions: HashMap<String, NodeServerSessionInformation>,
    /// Peers being dialled, since when (dialled again after [`DIAL_RETRY`] without a session).
    dialling: HashMap<String, Instant>,
    /// Ready sessions whose peer's agent is not known (or its stub not there) yet, with when they became ready.
    waiting: Vec<(NodeServerSessionInformation, Instant)>,
}

impl Follower {
    async fn run(
        mut self,
        mut live: watch::Receiver<BTreeMap<ChitchatId, NodeState>>,
        mut sessions: mpsc::UnboundedReceiver<SessionEvent>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(25));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut housekeeping = tokio::time::interval(DIAL_RETRY);
        housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.read_live(&live.borrow_and_update());
        loop {
            tokio::select! {
                changed = live.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let snapshot = live.borrow_and_update().clone();
                    self.read_live(&snapshot);
                }
                event = sessions.recv() => match event {
                    Some(SessionEvent::Ready(ses)) => self.waiting.push((ses, Instant::now())),
                    Some(SessionEvent::Closed(ses)) => self.closed(&ses),
                    None => return,
                },
                _ = tick.tick(), if !self.waiting.is_empty() => {}
                _ = housekeeping.tick() => {
                    // Gossip only wakes us on changes: a dial that failed is retried here, and monitors whose
                    // local watcher is gone are forgotten.
                    self.dial_missing();
                    self.node.forget_dead_watchers();
                }
            }
            self.adopt_waiting();
        }
    }

    /// Takes the gossip's live set: drops peers it no longer lists, dials new ones.
    fn read_live(&mut self, states: &BTreeMap<ChitchatId, NodeState>) {
        let me = self.node.name().to_owned();
        self.node.update_view(states.iter().flat_map(|(id, s)| s.key_values().map(move |(k, v)| (&*id.node_id, k, v))));
        self.live = states
            .iter()
            .filter(|(id, _)| *id.node_id != *me)
            .filter_map(|(id, state)| {
                let tcp = state.get("tcp")?.parse().ok()?;
                let agent = state.get("agent")?.parse().ok()?;
                Some((id.node_id.to_string(), LiveNode { tcp, agent }))
            })
            .collect();
        self.node.set_live_count(self.live.len());
        let gone: Vec<String> = self.sessions.keys().filter(|n| !self.live.contains_key(n.as_str())).cloned().collect();
        for name in gone {
            tracing::info!(node = %me, peer = %name, "the failure detector declared the node dead");
            if let Some(ses) = self.sessions.remove(&name) {
                ses.actor.stop(Some("node declared dead".to_owned()));
            }
            self.node.node_down(&name);
        }
        self.dial_missing();
    }

    /// A session closed: if it was a peer's, the peer is down (and may be dialled again).
    fn closed(&mut self, ses: &NodeServerSessionInformation) {
        self.waiting.retain(|(w, _)| w.actor.get_id() != ses.actor.get_id());
        let Some(name) = peer_name(ses) else { return };
        self.dialling.remove(&name);
        if self.sessions.get(&name).is_none_or(|s| s.actor.get_id() == ses.actor.get_id()) {
            self.node.forget_early(&name);
        }
        if self.sessions.get(&name).is_some_and(|s| s.actor.get_id() == ses.actor.get_id()) {
            self.sessions.remove(&name);
            self.node.node_down(&name);
        }
        self.dial_missing();
    }

    /// Dials every live node this one should dial (its name sorts after ours) that has no session, unless a dial
    /// to it started less than [`DIAL_RETRY`] ago.
    fn dial_missing(&mut self) {
        let me = self.node.name().to_owned();
        for (name, n) in &self.live {
            let connected = self.sessions.contains_key(name) || self.node.is_connected(name);
            let recent = self.dialling.get(name).is_some_and(|t| t.elapsed() < DIAL_RETRY);
            if connected || me >= *name || recent {
                continue;
            }
            self.dialling.insert(name.clone(), Instant::now());
            let (server, addr, peer) = (self.server.clone(), n.tcp, name.clone());
            tokio::spawn(async move {
                if let Err(e) = ractor_cluster::client_connect(&server, addr).await {
                    tracing::debug!(%peer, %addr, error = %e, "could not dial the node");
                }
            });
        }
    }

    /// Ready sessions become peers once the peer's agent stub is among the session's children.
    fn adopt_waiting(&mut self) {
        let waiting = std::mem::take(&mut self.waiting);
        for (ses, since) in waiting {
            let Some(name) = peer_name(&ses) else { continue };
            let stub = self.live.get(&name).and_then(|n| find_stub(&ses.actor.get_cell(), ses.node_id, n.agent));
            match stub {
                Some(stub) => {
                    self.dialling.remove(&name);
                    if let Some(old) = self.sessions.insert(name.clone(), ses) {
                        // A new session replaces the old one: what was in flight on the old is lost, so the peer
                        // is down and up again (its monitors and links fire `noconnection`), as on either side.
                        old.actor.stop(Some("replaced by a newer session".to_owned()));
                        self.node.node_down(&name);
                    }
                    self.node.node_up(&name, stub);
                }
                None if since.elapsed() < self.failure_timeout.max(Duration::from_secs(2)) => {
                    self.waiting.push((ses, since));
                }
                None => {
                    tracing::warn!(peer = %name, "a session never showed the node's agent; closing it");
                    ses.actor.stop(Some("no agent".to_owned()));
                }
            }
        }
    }
}

/// The stub of the remote actor `pid` on the session `session` (node ID `node_id` on this node's server).
fn find_stub(session: &ActorCell, node_id: u64, pid: u64) -> Option<ActorRef<Vec<u8>>> {
    let want = ActorId::Remote { node_id, pid };
    session.get_children().into_iter().find(|c| c.get_id() == want).map(ActorRef::from)
}
