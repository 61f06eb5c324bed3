//! Deployments (`docs/supervision.md`): `process.service` and `process.supervisor` entries as supervision trees.
//!
//! [`Host::start_services`] starts every `auto_start` entry, plus whatever they `require`, under a root supervisor
//! (one_for_one, no intensity limit: top-level services restart by their own backoff). Supervisors become
//! [`supervision::Supervisor`] actors. A service is its process: the process's ractor actor is spawned linked to
//! the supervisor (a spawn with a supervisor, [`crate::process`]), so the supervisor sees the process exit directly:
//!
//! | supervisor sees | because the process |
//! |---|---|
//! | exit with no reason (normal) | returned a value |
//! | exit with reason `error: ...` (abnormal) | trapped, hit a limit, returned `err`, or was terminated |
//! | exit with reason `shutdown: ...` | was ended by someone with a reason starting with `shutdown` |
//! | graceful stop | got CANCEL from the child's stop hook, and `stop_timeout` to finish before it is terminated |
//!
//! While it runs, a service's process is registered under the service's entry ID (before it runs its first
//! instruction), so `send("app:worker", ...)` reaches the current instance across restarts.
//!
//! Ordering: at the top level, `requires` decides the start order (dependencies first) and stopping runs in
//! reverse. A required entry that lives inside a supervisor pulls in its top-most supervisor. Inside a supervisor
//! the `children` list is the start order. A cycle in `requires` is a load error (checked with the registry).
//!
//! Every supervisor of a deployment reports to one event stream ([`Deployment::next_event`]); `wippy start` prints
//! it, tests assert on it.

mod tree;

pub use tree::{SupervisionNode, SupervisionView};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use supervision::{
    Backoff, ChildSpec, Intensity, Shutdown, StartFn, StopHook, SupervisorEvent, SupervisorHandle, SupervisorSpec,
};
use tokio::sync::mpsc;

use crate::error::DeployError;
use crate::host::Host;
use crate::id::{EntryId, EntryMap};
use crate::process::{Pid, SpawnRequest, System};
use crate::registry::kinds::Lifecycle;
use crate::registry::{EntryKind, Registry};
use crate::security::SecurityContext;
use crate::telemetry::Totals;
use crate::value::Value;

/// The name of the root supervisor.
pub(crate) const ROOT: &str = "wippy:root";

/// A service or supervisor and its state, as [`Deployment::states`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// The entry.
    pub id: String,
    /// The supervisor it runs under.
    pub supervisor: String,
    /// Its state.
    pub state: supervision::ChildState,
    /// How often it was restarted.
    pub restarts: u32,
}

/// A running deployment: the root supervisor and the event stream of the whole tree.
pub struct Deployment {
    root: SupervisorHandle,
    system: Arc<System>,
    events: mpsc::UnboundedReceiver<SupervisorEvent>,
    stop_timeout: Duration,
}

fn backoff(l: &Lifecycle) -> Backoff {
    Backoff {
        initial_delay: l.restart.initial_delay,
        max_delay: l.restart.max_delay,
        factor: l.restart.backoff_factor,
        jitter: l.restart.jitter,
        max_attempts: l.restart.max_attempts,
        stable_threshold: l.stable_threshold,
    }
}

/// Margin given to a service's stop (CANCEL, then terminate at `stop_timeout`) before its supervisor kills it.
const STOP_MARGIN: Duration = Duration::from_secs(1);

struct Builder<'a> {
    registry: &'a Registry,
    system: Arc<System>,
    events: mpsc::UnboundedSender<SupervisorEvent>,
}

impl Builder<'_> {
    fn lifecycle(&self, id: &EntryId) -> Option<&Lifecycle> {
        match &self.registry.entries.get(id)?.kind {
            EntryKind::Service(s) => Some(&s.lifecycle),
            EntryKind::Supervisor(s) => Some(&s.lifecycle),
            _ => None,
        }
    }

    /// How long stopping `id` may take: its `stop_timeout` plus a margin, and for a supervisor its children's.
    fn stop_budget(&self, id: &EntryId) -> Duration {
        match self.registry.entries.get(id).map(|e| &e.kind) {
            Some(EntryKind::Supervisor(s)) => {
                s.children.iter().map(|c| self.stop_budget(&c.id)).sum::<Duration>() + STOP_MARGIN
            }
            Some(EntryKind::Service(s)) => s.lifecycle.stop_timeout + STOP_MARGIN,
            _ => STOP_MARGIN,
        }
    }

    fn child(&self, id: &EntryId) -> Result<ChildSpec, DeployError> {
        let entry = self.registry.entries.get(id).ok_or_else(|| DeployError::NotSupervised(id.to_string()))?;
        match &entry.kind {
            EntryKind::Service(s) => {
                // The PID of the service's current process, for the stop hook.
                let current: Arc<Mutex<Option<Pid>>> = Arc::default();
                let (system, name, process, host) =
                    (self.system.clone(), id.to_string(), s.process.id.to_string(), s.host.id.to_string());
                let (input, slot) = (s.input.clone(), current.clone());
                let context = Arc::new(SecurityContext::default());
                let start = StartFn::new(move |sup| {
                    let (system, name, process, host, input, slot, context) = (
                        system.clone(),
                        name.clone(),
                        process.clone(),
                        host.clone(),
                        input.clone(),
                        slot.clone(),
                        context.clone(),
                    );
                    async move {
                        let req = SpawnRequest::new(&process, &host, input, context).supervised_by(sup, &name);
                        let (pid, cell) = system.spawn(req).await.map_err(|e| e.to_string())?;
                        // A start after an earlier instance is a restart, counted where it happens.
                        if slot.lock().unwrap_or_else(|p| p.into_inner()).replace(pid).is_some() {
                            Totals::bump(&system.telemetry().totals.restarts);
                        }
                        Ok(cell)
                    }
                });
                let (system, stop_timeout) = (self.system.clone(), s.lifecycle.stop_timeout);
                let stop_hook = StopHook::new(move |_, _| {
                    let pid = current.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
                    // CANCEL, then a kill once `stop_timeout` has passed; the probe tells the supervisor which
                    // of the two ended it (a killed service is reported killed, not stopped).
                    let record = system.record(pid.as_str())?;
                    let _ = system.cancel(None, pid.as_str(), Value::from("shutdown"), Some(stop_timeout));
                    Some(Box::new(move || record.ctl().kill_reason.is_some()) as supervision::KilledProbe)
                });
                Ok(ChildSpec::new(id.as_str(), start)
                    .restart(s.restart_type)
                    .shutdown(Shutdown::Timeout(self.stop_budget(id)))
                    .stop_hook(stop_hook)
                    .start_timeout(s.lifecycle.start_timeout)
                    .backoff(backoff(&s.lifecycle)))
            }
            EntryKind::Supervisor(sv) => {
                let children = sv.children.iter().map(|c| self.child(&c.id)).collect::<Result<Vec<_>, _>>()?;
                let spec = SupervisorSpec {
                    name: id.to_string(),
                    strategy: sv.strategy,
                    intensity: Intensity { max_restarts: sv.max_restarts, period: sv.period },
                    children,
                    events: Some(self.events.clone()),
                };
                Ok(ChildSpec::new(id.as_str(), SupervisorHandle::start_fn(spec))
                    .supervisor()
                    .restart(sv.restart_type)
                    .shutdown(Shutdown::Timeout(self.stop_budget(id)))
                    .start_timeout(sv.lifecycle.start_timeout)
                    .backoff(backoff(&sv.lifecycle)))
            }
            _ => Err(DeployError::NotSupervised(id.to_string())),
        }
    }
}

/// The supervisor that directly contains each supervised entry.
fn parents(reg: &Registry) -> EntryMap<EntryId> {
    let mut out = EntryMap::default();
    for e in reg.entries.values() {
        if let EntryKind::Supervisor(s) = &e.kind {
            for c in &s.children {
                out.insert(c.id.clone(), e.id.clone());
            }
        }
    }
    out
}

fn top(parents: &EntryMap<EntryId>, id: &EntryId) -> EntryId {
    let mut cur = id.clone();
    while let Some(p) = parents.get(&cur) {
        cur = p.clone();
    }
    cur
}

impl Host {
    /// Starts every `auto_start` service and supervisor (and what they require) under a root supervisor.
    pub async fn start_services(&self) -> Result<Deployment, DeployError> {
        let roots: Vec<EntryId> = self
            .registry()
            .entries
            .values()
            .filter(|e| match &e.kind {
                EntryKind::Service(s) => s.lifecycle.auto_start,
                EntryKind::Supervisor(s) => s.lifecycle.auto_start,
                _ => false,
            })
            .map(|e| e.id.clone())
            .collect();
        self.start_deployment(&roots).await
    }

    /// Starts the given services and supervisors (and what they require) under a root supervisor.
    pub async fn start_deployment(&self, ids: &[EntryId]) -> Result<Deployment, DeployError> {
        let reg = self.registry();
        let parents = parents(reg);
        let mut tops: Vec<EntryId> = Vec::new();
        for id in ids {
            let t = top(&parents, id);
            if !tops.contains(&t) {
                tops.push(t);
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let builder = Builder { registry: reg, system: self.system().clone(), events: tx.clone() };
        let requires = |id: &EntryId| -> Vec<EntryId> {
            builder
                .lifecycle(id)
                .map(|l| l.requires.iter().map(|r| top(&parents, &r.id)).filter(|t| t != id).collect())
                .unwrap_or_default()
        };
        let order = supervision::order::start_order(&tops, requires).map_err(|cycle| {
            let path: Vec<String> = cycle.iter().map(|c| format!("`{c}`")).collect();
            DeployError::Start(format!("`requires` forms a cycle: {}", path.join(" -> ")))
        })?;
        let children = order.iter().map(|id| builder.child(id)).collect::<Result<Vec<_>, _>>()?;
        let stop_timeout = order.iter().map(|id| builder.stop_budget(id)).sum::<Duration>() + STOP_MARGIN;
        let spec = SupervisorSpec {
            name: ROOT.to_owned(),
            strategy: supervision::Strategy::OneForOne,
            intensity: Intensity { max_restarts: u32::MAX, period: Duration::from_secs(1) },
            children,
            events: Some(tx),
        };
        let root = SupervisorHandle::start(spec).await.map_err(|e| DeployError::Start(e.to_string()))?;
        Ok(Deployment { root, system: self.system().clone(), events: rx, stop_timeout })
    }
}

impl Deployment {
    /// The root supervisor.
    pub fn root(&self) -> &SupervisorHandle {
        &self.root
    }

    /// A handle that reads the live tree, for introspection (SPEC §9).
    pub fn view(&self) -> SupervisionView {
        SupervisionView { root: self.root.clone(), system: self.system.clone() }
    }

    /// The next event from any supervisor of the tree.
    pub async fn next_event(&mut self) -> Option<SupervisorEvent> {
        self.events.recv().await
    }

    /// An event, if one is queued now.
    pub fn try_event(&mut self) -> Option<SupervisorEvent> {
        self.events.try_recv().ok()
    }

    /// Every service and supervisor of the tree with its state, depth first in start order.
    pub async fn states(&self) -> Vec<Status> {
        let mut out = Vec::new();
        collect(ROOT.to_owned(), self.root.clone(), &mut out).await;
        out
    }

    /// Stops everything in reverse start order, each within its `stop_timeout`.
    pub async fn stop(&self) {
        self.root.stop(self.stop_timeout).await;
    }
}

fn collect(
    name: String,
    sup: SupervisorHandle,
    out: &mut Vec<Status>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
    Box::pin(async move {
        let Ok(children) = sup.which_children().await else { return };
        for c in children {
            out.push(Status { id: c.id.clone(), supervisor: name.clone(), state: c.state, restarts: c.restarts });
            if let (supervision::ChildKind::Supervisor, Some(cell)) = (c.kind, &c.cell) {
                collect(c.id.clone(), SupervisorHandle::from_cell(cell.clone()), out).await;
            }
        }
    })
}
