//! What a supervisor reports: how children exit, their states, and the event stream that tests and logs read.

use std::sync::Arc;
use std::time::Duration;

/// How a child ended, as OTP classifies exit reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitKind {
    /// It finished (ractor: stopped with no reason, or `normal`).
    Normal,
    /// It was asked to stop (`shutdown` or `shutdown: ...`).
    Shutdown,
    /// Anything else: a panic, an error, a kill, or any other reason.
    Abnormal(String),
}

impl ExitKind {
    /// Classifies a ractor exit reason.
    pub fn from_reason(reason: Option<&str>) -> ExitKind {
        match reason {
            None | Some("normal") => ExitKind::Normal,
            Some(r) if r == "shutdown" || r.starts_with("shutdown:") => ExitKind::Shutdown,
            Some(r) => ExitKind::Abnormal(r.to_owned()),
        }
    }
}

/// The state of a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildState {
    /// Being started (or waiting for a restart delay).
    Starting,
    /// Running.
    Running,
    /// Being stopped.
    Stopping,
    /// Stopped by its supervisor.
    Stopped,
    /// Exited and not restarted (a transient child that ended normally).
    Exited,
    /// Gave up: its restart attempts are exhausted.
    Failed,
}

/// Something that happened in a supervisor.
#[derive(Debug, Clone, PartialEq)]
pub struct SupervisorEvent {
    /// The supervisor's name.
    pub supervisor: Arc<str>,
    /// The child it is about; `None` for the supervisor itself.
    pub child: Option<String>,
    /// What happened.
    pub kind: EventKind,
}

/// What happened to a child, or to the supervisor.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// A start began.
    Starting,
    /// A start succeeded.
    Started,
    /// A start failed.
    StartFailed(String),
    /// The child exited on its own.
    Exited(ExitKind),
    /// A restart is due after `delay` (attempt counts from 0 since the child was last stable).
    RestartScheduled {
        /// The delay.
        delay: Duration,
        /// The attempt number.
        attempt: u32,
    },
    /// The supervisor is stopping the child.
    Stopping,
    /// The child stopped; `killed` when it had to be killed.
    Stopped {
        /// Whether it ignored its stop and was killed.
        killed: bool,
    },
    /// The child's restart attempts are exhausted (`child` set), or the supervisor reached its restart intensity
    /// and gave up (`child` is `None`).
    GaveUp(String),
}

/// Where a supervisor sends its events.
pub type EventSink = tokio::sync::mpsc::UnboundedSender<SupervisorEvent>;
