//! What a supervisor supervises: child specifications, restart types, shutdown policies, strategies and intensity.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ractor::ActorCell;

use crate::backoff::Backoff;

/// When a child is restarted after it exits (OTP's `restart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestartType {
    /// Always restarted.
    #[default]
    Permanent,
    /// Restarted only after an abnormal exit (not `normal`, not `shutdown`).
    Transient,
    /// Never restarted; its spec is removed when it exits.
    Temporary,
}

/// Which children a supervisor restarts when one of them must be restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Only that child.
    #[default]
    OneForOne,
    /// Every child: the others are stopped (in reverse start order), then all are started again in order.
    OneForAll,
    /// That child and every child started after it.
    RestForOne,
}

/// How a child is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Killed at once.
    BrutalKill,
    /// Asked to stop, and killed if it has not stopped within the timeout.
    Timeout(Duration),
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::Timeout(Duration::from_secs(10))
    }
}

/// Whether a child is a worker or a supervisor (for `count_children`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChildKind {
    /// A worker.
    #[default]
    Worker,
    /// A nested supervisor.
    Supervisor,
}

/// More than `max_restarts` restarts within `period` make the supervisor give up: it stops its children and exits
/// abnormally, so its parent sees the failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intensity {
    /// Restarts allowed within `period`.
    pub max_restarts: u32,
    /// The sliding window.
    pub period: Duration,
}

impl Default for Intensity {
    /// Wippy's default: 3 restarts in 5 s.
    fn default() -> Self {
        Intensity { max_restarts: 3, period: Duration::from_secs(5) }
    }
}

/// The future that starts a child.
pub type StartFuture = Pin<Box<dyn Future<Output = Result<ActorCell, String>> + Send>>;

/// Starts a child: given the supervisor's cell, spawns the child linked to it (`Actor::spawn_linked`) and returns
/// the child's cell, or why it could not start.
#[derive(Clone)]
pub struct StartFn(Arc<dyn Fn(ActorCell) -> StartFuture + Send + Sync>);

impl StartFn {
    /// Wraps a start closure.
    pub fn new<F, Fut>(f: F) -> StartFn
    where
        F: Fn(ActorCell) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ActorCell, String>> + Send + 'static,
    {
        StartFn(Arc::new(move |sup| Box::pin(f(sup))))
    }

    /// Starts the child.
    pub fn call(&self, supervisor: ActorCell) -> StartFuture {
        (self.0)(supervisor)
    }
}

/// Asks a child to finish its own way, instead of ractor's stop: for children that only see ractor's stop between
/// messages (one busy in a long handler), or that must end through their own protocol (a CANCEL with a deadline).
/// The supervisor then waits up to the shutdown timeout for the child to stop, and kills it if it has not. Gets the
/// child's cell and the shutdown timeout.
#[derive(Clone)]
pub struct StopHook(Arc<StopHookFn>);

/// The function behind a [`StopHook`].
type StopHookFn = dyn Fn(&ActorCell, Duration) -> Option<KilledProbe> + Send + Sync;

/// Asked once the child has ended after a [`StopHook`]: whether it was killed rather than stopping by itself
/// (the hook's own way of stopping may end in a kill, which the supervisor cannot see).
pub type KilledProbe = Box<dyn FnOnce() -> bool + Send>;

impl StopHook {
    /// Wraps a hook. It may return a [`KilledProbe`] that tells, after the child ended, whether the hook's way of
    /// stopping it ended in a kill.
    pub fn new(f: impl Fn(&ActorCell, Duration) -> Option<KilledProbe> + Send + Sync + 'static) -> StopHook {
        StopHook(Arc::new(f))
    }

    /// Runs the hook.
    pub fn call(&self, child: &ActorCell, timeout: Duration) -> Option<KilledProbe> {
        (self.0)(child, timeout)
    }
}

/// How to start, restart and stop one child.
#[derive(Clone)]
pub struct ChildSpec {
    /// Unique among the supervisor's children.
    pub id: String,
    /// When it is restarted.
    pub restart: RestartType,
    /// How it is stopped.
    pub shutdown: Shutdown,
    /// Worker or supervisor.
    pub kind: ChildKind,
    /// How long its start may take before it counts as a failed start.
    pub start_timeout: Duration,
    /// How restarts are spaced (default: at once, as in OTP).
    pub backoff: Backoff,
    /// Starts it.
    pub start: StartFn,
    /// Asks it to finish before a graceful stop (see [`StopHook`]).
    pub stop_hook: Option<StopHook>,
}

impl ChildSpec {
    /// A permanent worker with OTP defaults: restarted at once, 10 s to stop, 10 s to start.
    pub fn new(id: impl Into<String>, start: StartFn) -> ChildSpec {
        ChildSpec {
            id: id.into(),
            restart: RestartType::Permanent,
            shutdown: Shutdown::default(),
            kind: ChildKind::Worker,
            start_timeout: Duration::from_secs(10),
            backoff: Backoff::IMMEDIATE,
            start,
            stop_hook: None,
        }
    }

    /// Sets the stop hook.
    pub fn stop_hook(mut self, hook: StopHook) -> Self {
        self.stop_hook = Some(hook);
        self
    }

    /// Sets the restart type.
    pub fn restart(mut self, restart: RestartType) -> Self {
        self.restart = restart;
        self
    }

    /// Sets the shutdown policy.
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Sets the restart backoff.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Marks it as a supervisor.
    pub fn supervisor(mut self) -> Self {
        self.kind = ChildKind::Supervisor;
        self
    }

    /// Sets the start timeout.
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }
}

impl std::fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}
