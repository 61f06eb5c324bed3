//! The cluster (SPEC §8): hosts on several machines acting as one.
//!
//! A [`Host`](crate::Host) joins with [`Host::join_cluster`](crate::Host::join_cluster) and a [`ClusterConfig`];
//! from then on its PIDs carry its node name (`{b@app:processes|0x1f}`) and every process operation on another
//! node's PID or host goes through [`node::Node`], the [`Remote`](crate::process::Remote) the process system calls.
//!
//! - [`membership`]: who is in the cluster (chitchat gossip over UDP, phi-accrual failure detection) and the
//!   sessions to them (ractor_cluster's node server over TCP, authenticated by the shared secret as its cookie);
//! - [`node`]: sending, spawning, monitoring, linking, cancelling and terminating across nodes (the per-peer
//!   outboxes), `noconnection` when a node is lost, and (`node/inbound`) what peers send;
//! - [`wire`]: the messages between nodes (serde, postcard-encoded, carried as ractor_cluster casts).
//!
//! # Guarantees
//! Messages and signals from one node to another arrive in the order they were sent. A lost node (its session
//! closed, or the failure detector declares it dead within [`ClusterConfig::failure_timeout`]) fires every monitor
//! and link into it with UNAVAILABLE `noconnection`, fails its pending spawns, and makes later operations towards
//! it fail at once; nothing waits for it. Nodes with different secrets never see each other.
//!
//! Each host owns its cluster membership: several hosts in one process can be nodes of one cluster (the tests do
//! this), each with its own ports.

mod membership;
mod node;
mod wire;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;

pub use crate::error::ClusterError;
use crate::process::System;

/// The listen address when none is given (Wippy's gossip port).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7946";

/// The failure detector's timeout when none is given.
pub const DEFAULT_FAILURE_TIMEOUT: Duration = Duration::from_secs(5);

/// How a host joins a cluster.
///
/// ```
/// use wippy::ClusterConfig;
///
/// let mut config = ClusterConfig::new("a", "s3cret");
/// config.join = vec!["127.0.0.1:7946".to_owned()];
/// assert_eq!(config.listen.to_string(), "127.0.0.1:7946");
/// assert!(config.check().is_ok());
/// assert!(ClusterConfig::new("a@b", "s3cret").check().is_err());
/// ```
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// This node's name, unique in the cluster: letters, digits, `_`, `-` and `.`.
    pub node: String,
    /// Where this node listens: gossip over UDP and sessions over TCP, on the same address (port 0: any free one).
    pub listen: SocketAddr,
    /// Seeds to join through (`host:port`, any subset of the cluster's nodes).
    pub join: Vec<String>,
    /// The shared secret: nodes with another secret never join.
    pub secret: String,
    /// How long a silent node may stay silent before it is declared dead.
    pub failure_timeout: Duration,
}

impl ClusterConfig {
    /// A node `node` with secret `secret`, listening on [`DEFAULT_LISTEN`], joining nobody yet.
    pub fn new(node: impl Into<String>, secret: impl Into<String>) -> ClusterConfig {
        ClusterConfig {
            node: node.into(),
            listen: DEFAULT_LISTEN.parse().expect("the default listen address parses"),
            join: Vec::new(),
            secret: secret.into(),
            failure_timeout: DEFAULT_FAILURE_TIMEOUT,
        }
    }

    /// Checks the node name, the secret and the timeout.
    pub fn check(&self) -> Result<(), ClusterError> {
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if self.node.is_empty() || self.node.len() > 128 || !self.node.chars().all(ok) {
            return Err(ClusterError::BadNodeName { name: self.node.clone() });
        }
        if self.secret.is_empty() {
            return Err(ClusterError::NoSecret);
        }
        if self.failure_timeout < Duration::from_millis(100) || self.failure_timeout > Duration::from_secs(3600) {
            return Err(ClusterError::BadTimeout { ms: self.failure_timeout.as_millis() });
        }
        Ok(())
    }
}

/// A change of membership, as [`Cluster::events`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// A node joined (its session is ready).
    Up(String),
    /// A node left or was lost.
    Down(String),
}

/// This host's membership of a cluster; [`Cluster::leave`] (or dropping the host) leaves it.
pub struct Cluster {
    node: Arc<node::Node>,
    listen: SocketAddr,
    membership: Mutex<Option<membership::Membership>>,
    events: broadcast::Sender<NodeEvent>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("node", &self.node.name()).field("listen", &self.listen).finish()
    }
}

impl Cluster {
    /// Joins `system` to a cluster; `notify` hears every membership change (the host's event bus).
    pub(crate) async fn join(
        system: &Arc<System>,
        config: &ClusterConfig,
        notify: Box<dyn Fn(&NodeEvent) + Send + Sync>,
    ) -> Result<Cluster, ClusterError> {
        config.check()?;
        if let Some(node) = system.node() {
            return Err(ClusterError::AlreadyJoined { node: node.to_owned() });
        }
        let (events, _) = broadcast::channel(256);
        let tx = events.clone();
        let report = Box::new(move |e: NodeEvent| {
            match &e {
                NodeEvent::Up(n) => tracing::info!(peer = %n, "node up"),
                NodeEvent::Down(n) => tracing::info!(peer = %n, "node down"),
            }
            notify(&e);
            let _ = tx.send(e);
        });
        let node = Arc::new(node::Node::new(&config.node, system, report));
        let membership = membership::start(node.clone(), config).await?;
        if !system.set_remote(&config.node, node.clone()) {
            return Err(ClusterError::AlreadyJoined { node: system.node().unwrap_or_default().to_owned() });
        }
        Ok(Cluster { node, listen: membership.listen, membership: Mutex::new(Some(membership)), events })
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        self.node.name()
    }

    /// The address this node listens on (UDP gossip and TCP sessions), with the port the OS chose for port 0.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// Whether this node is connected to every node the gossip lists as alive (and has heard of at least one).
    pub fn settled(&self) -> bool {
        let live = self.node.live_count();
        live > 0 && self.node.peers().len() >= live
    }

    /// The nodes this one is connected to, sorted by name.
    pub fn peers(&self) -> Vec<String> {
        self.node.peers()
    }

    /// Gossips with the node at `addr` now: a seed given after the start (to join two clusters that formed apart
    /// with the same secret, or to heal a partition at once).
    pub fn contact(&self, addr: SocketAddr) {
        if let Some(m) = self.membership.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            m.contact(addr);
        }
    }

    /// Membership changes from now on.
    pub fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    /// Stops gossiping but keeps the sessions: to the other nodes this node now looks cut off by a partition, and
    /// their failure detectors declare it dead within [`ClusterConfig::failure_timeout`]. A testing aid for
    /// partitions (what a firewall would do); [`Cluster::leave`] is the way out of a cluster.
    pub fn stop_gossip(&self) {
        if let Some(m) = self.membership.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            m.stop_gossip();
        }
    }

    /// Leaves the cluster: stops gossip and closes every session (peers see this node down at once), and fires
    /// `noconnection` for this host's monitors and links into other nodes.
    pub fn leave(&self) {
        let taken = self.membership.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut m) = taken {
            m.stop();
            for peer in self.node.peers() {
                self.node.node_down(&peer);
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.leave();
    }
}
