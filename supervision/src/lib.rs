//! OTP-style supervision on ractor, generic over actors and knowing nothing of WASM.
//!
//! - [`spec`]: child specifications ([`ChildSpec`]): restart type (permanent / transient / temporary), shutdown
//!   (timeout or brutal kill), start timeout, restart [`Backoff`]; strategies and restart [`Intensity`].
//! - [`supervisor`]: the [`Supervisor`] actor: one_for_one, one_for_all, rest_for_one; intensity with escalation to
//!   the parent; stop in reverse start order; dynamic children.
//! - [`backoff`]: exponential backoff with jitter, reset after `stable_threshold` (a pure function).
//! - [`order`]: start order from dependencies (`requires`), with cycle detection.
//! - [`event`]: exit classification, child states and the event stream ([`SupervisorEvent`]).
//!
//! [`SupervisorHandle`] is the typed API: spawn a tree, `start_child`, `terminate_child`, `which_children`,
//! `count_children`, `stop`.
//!
//! # Why not `ractor-supervisor`
//! `ractor-supervisor` 0.2 was evaluated first. It registers every child ID in ractor's process-global registry
//! (two trees with the same child names cannot coexist, which breaks parallel tests and multiple hosts in one
//! process), stops siblings only by killing them (no shutdown timeout), stops children in no particular order, has
//! no dependency ordering and no jitter. Those are the semantics this crate exists for, so it is written on plain
//! ractor instead.

pub mod backoff;
pub mod event;
pub mod order;
pub mod spec;
pub mod supervisor;

use std::time::Duration;

use ractor::{Actor, ActorCell, ActorRef};

pub use backoff::Backoff;
pub use event::{ChildState, EventKind, EventSink, ExitKind, SupervisorEvent};
pub use spec::{ChildKind, ChildSpec, Intensity, KilledProbe, RestartType, Shutdown, StartFn, StopHook, Strategy};
pub use supervisor::{ChildCounts, ChildInfo, Supervisor, SupervisorMsg, SupervisorSpec};

/// Why a supervision request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupervisionError {
    /// A child with that ID exists already.
    #[error("the supervisor already has a child `{0}`")]
    DuplicateChild(String),
    /// No child has that ID.
    #[error("the supervisor has no child `{0}`")]
    UnknownChild(String),
    /// The child did not start.
    #[error("child `{child}` did not start: {reason}")]
    StartFailed {
        /// The child.
        child: String,
        /// Why.
        reason: String,
    },
    /// The supervisor could not be reached (it has stopped).
    #[error("the supervisor is not running: {0}")]
    Unavailable(String),
}

/// A running supervisor.
#[derive(Clone)]
pub struct SupervisorHandle {
    actor: ActorRef<SupervisorMsg>,
}

impl SupervisorHandle {
    /// Starts a supervisor tree on its own (no parent).
    pub async fn start(spec: SupervisorSpec) -> Result<SupervisorHandle, SupervisionError> {
        let name = spec.name.clone();
        let (actor, _) = Actor::spawn(None, Supervisor, spec)
            .await
            .map_err(|e| SupervisionError::StartFailed { child: name, reason: e.to_string() })?;
        Ok(SupervisorHandle { actor })
    }

    /// Starts a supervisor linked to `parent` (a nested supervisor: use this in a [`StartFn`]).
    pub async fn start_linked(spec: SupervisorSpec, parent: ActorCell) -> Result<SupervisorHandle, SupervisionError> {
        let name = spec.name.clone();
        let (actor, _) = Actor::spawn_linked(None, Supervisor, spec, parent)
            .await
            .map_err(|e| SupervisionError::StartFailed { child: name, reason: e.to_string() })?;
        Ok(SupervisorHandle { actor })
    }

    /// A [`StartFn`] that starts `spec` as a nested supervisor.
    pub fn start_fn(spec: SupervisorSpec) -> StartFn {
        StartFn::new(move |parent| {
            let spec = spec.clone();
            async move { SupervisorHandle::start_linked(spec, parent).await.map(|h| h.cell()).map_err(|e| e.to_string()) }
        })
    }

    /// The handle of a supervisor's actor cell (for example, a supervisor child from `which_children`).
    pub fn from_cell(cell: ActorCell) -> SupervisorHandle {
        SupervisorHandle { actor: cell.into() }
    }

    /// The supervisor's actor cell.
    pub fn cell(&self) -> ActorCell {
        self.actor.get_cell()
    }

    /// Adds a child and starts it.
    pub async fn start_child(&self, spec: ChildSpec) -> Result<(), SupervisionError> {
        ractor::call!(self.actor, SupervisorMsg::StartChild, spec)
            .map_err(|e| SupervisionError::Unavailable(e.to_string()))?
    }

    /// Stops a child (by its shutdown policy) and removes it.
    pub async fn terminate_child(&self, id: &str) -> Result<(), SupervisionError> {
        ractor::call!(self.actor, SupervisorMsg::TerminateChild, id.to_owned())
            .map_err(|e| SupervisionError::Unavailable(e.to_string()))?
    }

    /// The children, in start order.
    pub async fn which_children(&self) -> Result<Vec<ChildInfo>, SupervisionError> {
        ractor::call!(self.actor, SupervisorMsg::WhichChildren)
            .map_err(|e| SupervisionError::Unavailable(e.to_string()))
    }

    /// Counts the children.
    pub async fn count_children(&self) -> Result<ChildCounts, SupervisionError> {
        ractor::call!(self.actor, SupervisorMsg::CountChildren)
            .map_err(|e| SupervisionError::Unavailable(e.to_string()))
    }

    /// Stops the children in reverse start order, then the supervisor; waits at most `timeout`, then kills it.
    pub async fn stop(&self, timeout: Duration) {
        if self.actor.stop_and_wait(Some("shutdown".into()), Some(timeout)).await.is_err() {
            let _ = self.actor.kill_and_wait(Some(Duration::from_secs(5))).await;
        }
    }

    /// Waits until the supervisor has stopped (on its own, or because it gave up).
    pub async fn wait(&self) {
        let _ = self.actor.get_cell().wait(None).await;
    }

    /// Whether the supervisor is still running.
    pub fn is_running(&self) -> bool {
        matches!(self.actor.get_status(), ractor::ActorStatus::Running | ractor::ActorStatus::Starting)
    }
}
