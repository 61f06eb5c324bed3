//! Errors of the admin endpoint (SPEC §9).

use std::net::SocketAddr;

/// Why the admin endpoint could not start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AdminError {
    /// A non-loopback address without a token.
    #[error("the admin endpoint on {addr} is not on loopback and has no token")]
    NoToken {
        /// The address.
        addr: SocketAddr,
    },
    /// The token is empty or not printable.
    #[error("the admin token must be 16 to 256 printable ASCII characters without spaces")]
    BadToken,
    /// The address is not an address.
    #[error("invalid admin address `{text}`: {message}")]
    BadAddress {
        /// What was given.
        text: String,
        /// Why.
        message: String,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {message}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        message: String,
    },
}

impl AdminError {
    /// What the user can do about it, for the CLI.
    pub fn hint(&self) -> Option<String> {
        match self {
            AdminError::NoToken { .. } => Some(
                "set `admin.token` (or `admin.token_file`) in .wippy.yaml or WIPPY_ADMIN_TOKEN, or listen on \
                 127.0.0.1"
                    .to_owned(),
            ),
            AdminError::BadAddress { .. } => Some("write it as `HOST:PORT`, e.g. `127.0.0.1:9100`".to_owned()),
            AdminError::Listen { .. } => Some("pick another port with `--admin`".to_owned()),
            AdminError::BadToken => None,
        }
    }
}
