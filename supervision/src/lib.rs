//! OTP-style supervision on ractor, generic over actors and knowing nothing of WASM.
//!
//! This crate will hold child specifications (restart types permanent / transient / temporary, shutdown by timeout
//! or brutal kill), the strategies `one_for_one`, `one_for_all` and `rest_for_one`, restart intensity with
//! escalation to the parent, and exponential backoff with jitter. The host's `process.service` and
//! `process.supervisor` entries are built on it.
//!
//! It is a skeleton in this revision: the types below fix the vocabulary the host already uses.

/// When a child is restarted after it exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestartType {
    /// Always restarted.
    #[default]
    Permanent,
    /// Restarted only after an abnormal exit.
    Transient,
    /// Never restarted.
    Temporary,
}

/// Which children a supervisor restarts when one of them fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Only the failed child.
    #[default]
    OneForOne,
    /// Every child.
    OneForAll,
    /// The failed child and every child started after it.
    RestForOne,
}
