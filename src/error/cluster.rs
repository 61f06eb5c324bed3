//! Errors of joining a cluster (SPEC §8).

use std::net::SocketAddr;

/// Why a host could not join a cluster.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClusterError {
    /// The node name is not usable.
    #[error("invalid node name `{name}`: use 1 to 128 letters, digits, `_`, `-` and `.`")]
    BadNodeName {
        /// The name.
        name: String,
    },
    /// No secret was given.
    #[error("the cluster has no secret")]
    NoSecret,
    /// The failure timeout is out of range.
    #[error("cluster failure timeout must be between 100 ms and 1 hour, got {ms} ms")]
    BadTimeout {
        /// The timeout given.
        ms: u128,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {message}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        message: String,
    },
    /// The host is already in a cluster.
    #[error("this host already joined a cluster as node `{node}`")]
    AlreadyJoined {
        /// Its node name.
        node: String,
    },
}

impl ClusterError {
    /// What the user can do about it, for the CLI.
    pub fn hint(&self) -> Option<String> {
        match self {
            ClusterError::NoSecret => Some(
                "set `cluster.membership.secret_key` or `secret_file` in .wippy.yaml, pass `--secret-file`, or set \
                 WIPPY_CLUSTER_SECRET"
                    .to_owned(),
            ),
            ClusterError::Listen { .. } => Some("pick another address with `--listen`".to_owned()),
            _ => None,
        }
    }
}
