//! The supervisor actor.
//!
//! Children are ractor actors spawned linked to the supervisor, so their exits arrive as supervision events. On an
//! exit the supervisor decides, in this order:
//! 1. whether the child is restarted at all (its [`RestartType`] against the [`ExitKind`]); a temporary child's spec
//!    is removed, a transient child that ended normally stays `Exited`;
//! 2. whether its attempts are exhausted (`Backoff::max_attempts`, counted since it was last stable for
//!    `stable_threshold`): then it is `Failed` and not restarted;
//! 3. whether the restart exceeds the intensity (more than `max_restarts` within `period`): then the supervisor stops
//!    every child in reverse start order and exits with reason "reached its restart intensity ...", which its
//!    parent sees as an abnormal exit (escalation);
//! 4. which children restart ([`Strategy`]): the others in the group are stopped in reverse start order (temporary
//!    ones are dropped), then after the child's backoff delay the group starts again in start order.
//!
//! A restart due at once after a crash runs in the same handler; every other restart goes through a message to the
//! supervisor itself (after its delay). Restarts after a failed start always do, never recursively, so a child whose
//! start keeps failing is retried with its backoff until its attempts or the intensity run out: it never hangs the
//! supervisor, whose mailbox keeps being served between attempts.
//!
//! Stopping a child honours its [`Shutdown`]: run its [`StopHook`](crate::spec::StopHook) if it has one (a child
//! busy in a long handler only sees ractor's stop between messages, so the hook asks it to finish), ask it to stop
//! with reason `shutdown`, and kill it when the timeout passes; or kill it at once. Stopping the supervisor stops its children in reverse start order. Exits of children
//! the supervisor stopped itself are recognised (their cell is no longer current) and ignored.
//!
//! Time is tokio's clock: with `tokio::time::pause` a test can step through backoff delays and intensity windows.
//!
//! A failed start during the supervisor's own start is handled like any other failure (a retry with backoff), not
//! as OTP's "the supervisor fails to start": a deployment whose database is not up yet should keep trying.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

// tokio's clock, so tests can pause and advance time through restart delays and intensity windows.
use tokio::time::Instant;

use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};

use crate::backoff::Jitter;
use crate::event::{ChildState, EventKind, EventSink, ExitKind, SupervisorEvent};
use crate::spec::{ChildKind, ChildSpec, Intensity, RestartType, Shutdown, Strategy};
use crate::SupervisionError;

/// What a supervisor is made of.
#[derive(Debug, Clone)]
pub struct SupervisorSpec {
    /// The supervisor's name, for events and logs.
    pub name: String,
    /// The restart strategy.
    pub strategy: Strategy,
    /// The restart intensity.
    pub intensity: Intensity,
    /// The children, in start order.
    pub children: Vec<ChildSpec>,
    /// Where events go, if anywhere.
    pub events: Option<EventSink>,
}

impl SupervisorSpec {
    /// A one-for-one supervisor with the default intensity and no children.
    pub fn new(name: impl Into<String>) -> SupervisorSpec {
        SupervisorSpec {
            name: name.into(),
            strategy: Strategy::OneForOne,
            intensity: Intensity::default(),
            children: Vec::new(),
            events: None,
        }
    }
}

/// A child as `which_children` reports it.
#[derive(Debug, Clone)]
pub struct ChildInfo {
    /// Its ID.
    pub id: String,
    /// Its state.
    pub state: ChildState,
    /// Its restart type.
    pub restart: RestartType,
    /// Worker or supervisor.
    pub kind: ChildKind,
    /// Its actor, while it runs.
    pub cell: Option<ActorCell>,
    /// How many times it was restarted.
    pub restarts: u32,
}

/// What `count_children` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChildCounts {
    /// Child specs.
    pub specs: usize,
    /// Running children.
    pub active: usize,
    /// Supervisor children.
    pub supervisors: usize,
    /// Worker children.
    pub workers: usize,
}

/// The supervisor's messages.
pub enum SupervisorMsg {
    /// Adds and starts a child.
    StartChild(ChildSpec, RpcReplyPort<Result<(), SupervisionError>>),
    /// Stops a child and removes its spec.
    TerminateChild(String, RpcReplyPort<Result<(), SupervisionError>>),
    /// Lists the children.
    WhichChildren(RpcReplyPort<Vec<ChildInfo>>),
    /// Counts the children.
    CountChildren(RpcReplyPort<ChildCounts>),
    /// Internal: start these children (ID and generation), after a restart delay.
    Restart(Vec<(String, u64)>),
}

// Local only (ractor's `cluster` feature asks every message type to say whether it can cross nodes).
impl ractor::Message for SupervisorMsg {}

struct Child {
    spec: ChildSpec,
    cell: Option<ActorCell>,
    state: ChildState,
    attempts: u32,
    started_at: Option<Instant>,
    generation: u64,
    restarts: u32,
}

impl Child {
    fn new(spec: ChildSpec) -> Child {
        Child {
            spec,
            cell: None,
            state: ChildState::Starting,
            attempts: 0,
            started_at: None,
            generation: 0,
            restarts: 0,
        }
    }
}

/// The supervisor's state.
pub struct SupervisorState {
    name: Arc<str>,
    strategy: Strategy,
    intensity: Intensity,
    children: Vec<Child>,
    restarts: VecDeque<Instant>,
    events: Option<EventSink>,
    jitter: Jitter,
}

/// The supervisor actor.
pub struct Supervisor;

impl SupervisorState {
    fn emit(&self, child: Option<&str>, kind: EventKind) {
        // With an event sink the events are the report; logs only repeat what a sink-less embedder would miss.
        let quiet = self.events.is_some();
        match (&kind, child) {
            _ if quiet => {
                tracing::debug!(supervisor = %self.name, child = child.unwrap_or("-"), event = ?kind, "supervision")
            }
            (EventKind::Exited(ExitKind::Abnormal(r)), Some(c)) => {
                tracing::warn!(supervisor = %self.name, child = c, reason = %r, "child exited")
            }
            (EventKind::GaveUp(r), _) => {
                tracing::error!(supervisor = %self.name, child = child.unwrap_or("-"), reason = %r, "gave up")
            }
            _ => tracing::debug!(supervisor = %self.name, child = child.unwrap_or("-"), event = ?kind, "supervision"),
        }
        if let Some(sink) = &self.events {
            let _ = sink.send(SupervisorEvent { supervisor: self.name.clone(), child: child.map(str::to_owned), kind });
        }
    }

    fn index(&self, id: &str) -> Option<usize> {
        self.children.iter().position(|c| c.spec.id == id)
    }

    fn index_of_cell(&self, cell: &ActorCell) -> Option<usize> {
        let id = cell.get_id();
        self.children.iter().position(|c| c.cell.as_ref().is_some_and(|x| x.get_id() == id))
    }

    /// Starts child `i`; on failure the child is left without a cell and the error returned.
    async fn start(&mut self, myself: &ActorCell, i: usize) -> Result<(), String> {
        let (id, timeout, start) = {
            let c = &mut self.children[i];
            c.state = ChildState::Starting;
            (c.spec.id.clone(), c.spec.start_timeout, c.spec.start.clone())
        };
        self.emit(Some(&id), EventKind::Starting);
        let result = match tokio::time::timeout(timeout, start.call(myself.clone())).await {
            Ok(r) => r,
            Err(_) => Err(format!("did not start within {} ms", timeout.as_millis())),
        };
        match result {
            Ok(cell) => {
                let c = &mut self.children[i];
                c.cell = Some(cell);
                c.state = ChildState::Running;
                c.started_at = Some(Instant::now());
                self.emit(Some(&id), EventKind::Started);
                Ok(())
            }
            Err(e) => {
                self.children[i].cell = None;
                self.emit(Some(&id), EventKind::StartFailed(e.clone()));
                Err(e)
            }
        }
    }

    /// Stops child `i` by its shutdown policy and waits for it.
    async fn stop(&mut self, i: usize) {
        let Some(cell) = self.children[i].cell.take() else { return };
        let id = self.children[i].spec.id.clone();
        self.children[i].state = ChildState::Stopping;
        self.emit(Some(&id), EventKind::Stopping);
        let killed = match self.children[i].spec.shutdown {
            Shutdown::BrutalKill => {
                let _ = cell.kill_and_wait(Some(Duration::from_secs(5))).await;
                true
            }
            Shutdown::Timeout(t) => {
                if let Some(hook) = &self.children[i].spec.stop_hook {
                    // The hook asks the child to stop its own way (no ractor stop, which a child that has not
                    // yet handled its first message would take before anything else).
                    let probe = hook.call(&cell, t);
                    let stopped = cell.wait(Some(t)).await.is_ok();
                    if !stopped {
                        let _ = cell.kill_and_wait(Some(Duration::from_secs(5))).await;
                    }
                    let killed = !stopped || probe.is_some_and(|p| p());
                    self.children[i].state = ChildState::Stopped;
                    self.emit(Some(&id), EventKind::Stopped { killed });
                    return;
                }
                match cell.stop_and_wait(Some("shutdown".into()), Some(t)).await {
                    Ok(()) => false,
                    // The hook may have made it finish before the stop was sent: that is a clean stop.
                    Err(_)
                        if matches!(
                            cell.get_status(),
                            ractor::ActorStatus::Stopping | ractor::ActorStatus::Stopped
                        ) =>
                    {
                        let _ = cell.wait(Some(t)).await;
                        false
                    }
                    Err(_) => {
                        let _ = cell.kill_and_wait(Some(Duration::from_secs(5))).await;
                        true
                    }
                }
            }
        };
        self.children[i].state = ChildState::Stopped;
        self.emit(Some(&id), EventKind::Stopped { killed });
    }

    /// Stops every running child in reverse start order.
    async fn stop_all(&mut self) {
        for i in (0..self.children.len()).rev() {
            self.stop(i).await;
        }
    }

    /// Records a restart; false when it exceeds the intensity.
    fn record_restart(&mut self) -> bool {
        let now = Instant::now();
        self.restarts.push_back(now);
        while self.restarts.front().is_some_and(|t| now.duration_since(*t) > self.intensity.period) {
            self.restarts.pop_front();
        }
        self.restarts.len() as u32 <= self.intensity.max_restarts
    }

    /// Child `i` ended (or failed to start): decide what to do (see the module docs). With `inline`, a restart
    /// due at once is returned to the caller to run now instead of being sent as a message.
    async fn on_exit(
        &mut self,
        myself: &ActorRef<SupervisorMsg>,
        i: usize,
        exit: ExitKind,
        inline: bool,
    ) -> Result<Option<Vec<(String, u64)>>, ActorProcessingErr> {
        let (restart, id) = (self.children[i].spec.restart, self.children[i].spec.id.clone());
        let restart_it =
            matches!((restart, &exit), (RestartType::Permanent, _) | (RestartType::Transient, ExitKind::Abnormal(_)));
        if !restart_it {
            if restart == RestartType::Temporary {
                self.children.remove(i);
            } else {
                self.children[i].state = ChildState::Exited;
            }
            return Ok(None);
        }
        let child = &mut self.children[i];
        if child.started_at.is_some_and(|t| t.elapsed() >= child.spec.backoff.stable_threshold) {
            child.attempts = 0;
        }
        let attempt = child.attempts;
        if !child.spec.backoff.allows(attempt) {
            child.state = ChildState::Failed;
            let reason = format!("`{id}` failed {attempt} restart attempts in a row (`max_attempts`)");
            self.emit(Some(&id), EventKind::GaveUp(reason));
            return Ok(None);
        }
        child.attempts += 1;
        if !self.record_restart() {
            let reason = format!(
                "supervisor `{}` reached its restart intensity: more than {} restarts within {} ms (last: `{id}`)",
                self.name,
                self.intensity.max_restarts,
                self.intensity.period.as_millis()
            );
            self.stop_all().await;
            self.emit(None, EventKind::GaveUp(reason.clone()));
            myself.stop(Some(reason));
            return Ok(None);
        }
        let group: Vec<usize> = match self.strategy {
            Strategy::OneForOne => vec![i],
            Strategy::OneForAll => (0..self.children.len()).collect(),
            Strategy::RestForOne => (i..self.children.len()).collect(),
        };
        for &j in group.iter().rev() {
            if j != i {
                self.stop(j).await;
            }
        }
        // Temporary siblings that were stopped are not restarted (as in OTP): their specs go.
        let dropped: Vec<String> = group
            .iter()
            .filter(|&&j| j != i && self.children[j].spec.restart == RestartType::Temporary)
            .map(|&j| self.children[j].spec.id.clone())
            .collect();
        let ids: Vec<String> =
            group.iter().map(|&j| self.children[j].spec.id.clone()).filter(|c| !dropped.contains(c)).collect();
        self.children.retain(|c| !dropped.contains(&c.spec.id));
        let mut batch = Vec::with_capacity(ids.len());
        for rid in &ids {
            if let Some(k) = self.index(rid) {
                let c = &mut self.children[k];
                c.generation += 1;
                c.state = ChildState::Starting;
                batch.push((rid.clone(), c.generation));
            }
        }
        let delay = self.children[self.index(&id).unwrap_or(0)].spec.backoff.delay(attempt, self.jitter.next_unit());
        self.emit(Some(&id), EventKind::RestartScheduled { delay, attempt });
        if delay.is_zero() && inline {
            return Ok(Some(batch));
        }
        if delay.is_zero() {
            myself.send_message(SupervisorMsg::Restart(batch))?;
        } else {
            myself.send_after(delay, move || SupervisorMsg::Restart(batch));
        }
        Ok(None)
    }

    /// Starts a batch of children (ID and generation). A failed start is handled as an exit whose restart goes
    /// through the mailbox, so a child whose start keeps failing never monopolises the supervisor.
    async fn restart(
        &mut self,
        myself: &ActorRef<SupervisorMsg>,
        batch: Vec<(String, u64)>,
    ) -> Result<(), ActorProcessingErr> {
        let cell = myself.get_cell();
        for (id, generation) in batch {
            let Some(i) = self.index(&id) else { continue };
            if self.children[i].generation != generation || self.children[i].cell.is_some() {
                continue;
            }
            self.children[i].restarts += 1;
            if let Err(e) = self.start(&cell, i).await {
                self.on_exit(myself, i, ExitKind::Abnormal(format!("start failed: {e}")), false).await?;
                break;
            }
        }
        Ok(())
    }

    fn info(&self) -> Vec<ChildInfo> {
        self.children
            .iter()
            .map(|c| ChildInfo {
                id: c.spec.id.clone(),
                state: c.state,
                restart: c.spec.restart,
                kind: c.spec.kind,
                cell: c.cell.clone(),
                restarts: c.restarts,
            })
            .collect()
    }
}

impl Drop for SupervisorState {
    /// A supervisor that is killed (no `post_stop`) takes its children with it.
    fn drop(&mut self) {
        for c in &self.children {
            if let Some(cell) = &c.cell {
                cell.kill();
            }
        }
    }
}

impl Actor for Supervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = SupervisorSpec;

    async fn pre_start(
        &self,
        myself: ActorRef<SupervisorMsg>,
        spec: SupervisorSpec,
    ) -> Result<SupervisorState, ActorProcessingErr> {
        let mut state = SupervisorState {
            jitter: Jitter::new(myself.get_id().pid()),
            name: Arc::from(spec.name.as_str()),
            strategy: spec.strategy,
            intensity: spec.intensity,
            children: spec.children.into_iter().map(Child::new).collect(),
            restarts: VecDeque::new(),
            events: spec.events,
        };
        let cell = myself.get_cell();
        let mut i = 0;
        while i < state.children.len() {
            if let Err(e) = state.start(&cell, i).await {
                let before = state.children.len();
                state.on_exit(&myself, i, ExitKind::Abnormal(format!("start failed: {e}")), false).await?;
                if matches!(myself.get_status(), ractor::ActorStatus::Stopping | ractor::ActorStatus::Stopped) {
                    break;
                }
                if state.children.len() < before {
                    continue;
                }
            }
            i += 1;
        }
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<SupervisorMsg>,
        msg: SupervisorMsg,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SupervisorMsg::Restart(batch) => state.restart(&myself, batch).await?,
            SupervisorMsg::StartChild(spec, reply) => {
                if state.index(&spec.id).is_some() {
                    let _ = reply.send(Err(SupervisionError::DuplicateChild(spec.id)));
                    return Ok(());
                }
                state.children.push(Child::new(spec));
                let i = state.children.len() - 1;
                match state.start(&myself.get_cell(), i).await {
                    Ok(()) => {
                        let _ = reply.send(Ok(()));
                    }
                    Err(e) => {
                        let id = state.children.remove(i).spec.id;
                        let _ = reply.send(Err(SupervisionError::StartFailed { child: id, reason: e }));
                    }
                }
            }
            SupervisorMsg::TerminateChild(id, reply) => match state.index(&id) {
                Some(i) => {
                    state.stop(i).await;
                    state.children.remove(i);
                    let _ = reply.send(Ok(()));
                }
                None => {
                    let _ = reply.send(Err(SupervisionError::UnknownChild(id)));
                }
            },
            SupervisorMsg::WhichChildren(reply) => {
                let _ = reply.send(state.info());
            }
            SupervisorMsg::CountChildren(reply) => {
                let mut counts = ChildCounts { specs: state.children.len(), ..ChildCounts::default() };
                for c in &state.children {
                    counts.active += usize::from(c.cell.is_some());
                    match c.spec.kind {
                        ChildKind::Supervisor => counts.supervisors += 1,
                        ChildKind::Worker => counts.workers += 1,
                    }
                }
                let _ = reply.send(counts);
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<SupervisorMsg>,
        evt: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        let (cell, exit) = match evt {
            SupervisionEvent::ActorTerminated(cell, _, reason) => (cell, ExitKind::from_reason(reason.as_deref())),
            SupervisionEvent::ActorFailed(cell, err) => (cell, ExitKind::Abnormal(err.to_string())),
            _ => return Ok(()),
        };
        // Exits of children this supervisor stopped (or replaced) no longer match a current cell.
        let Some(i) = state.index_of_cell(&cell) else { return Ok(()) };
        let id = state.children[i].spec.id.clone();
        state.children[i].cell = None;
        state.children[i].state = ChildState::Exited;
        state.emit(Some(&id), EventKind::Exited(exit.clone()));
        if let Some(batch) = state.on_exit(&myself, i, exit, true).await? {
            state.restart(&myself, batch).await?;
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        state.stop_all().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ractor::{Actor, ActorProcessingErr, ActorRef};
    use tokio::sync::mpsc;

    use super::*;
    use crate::spec::StartFn;
    use crate::{SupervisionError, SupervisorHandle};

    /// A child that does what it is told.
    struct TestChild;

    enum TestMsg {
        Exit(Option<String>),
        Fail,
        Hang,
    }

    impl ractor::Message for TestMsg {}

    impl Actor for TestChild {
        type Msg = TestMsg;
        type State = ();
        type Arguments = ();

        async fn pre_start(&self, _: ActorRef<TestMsg>, _: ()) -> Result<(), ActorProcessingErr> {
            Ok(())
        }

        async fn handle(&self, myself: ActorRef<TestMsg>, msg: TestMsg, _: &mut ()) -> Result<(), ActorProcessingErr> {
            match msg {
                TestMsg::Exit(reason) => myself.stop(reason),
                TestMsg::Fail => return Err("boom".into()),
                TestMsg::Hang => std::future::pending::<()>().await,
            }
            Ok(())
        }
    }

    fn child(id: &str) -> ChildSpec {
        ChildSpec::new(
            id,
            StartFn::new(|sup| async move {
                Actor::spawn_linked(None, TestChild, (), sup)
                    .await
                    .map(|(a, _)| a.get_cell())
                    .map_err(|e| e.to_string())
            }),
        )
    }

    fn failing(id: &str) -> ChildSpec {
        ChildSpec::new(id, StartFn::new(|_| async { Err::<ActorCell, String>("no database".into()) }))
    }

    async fn sup(children: Vec<ChildSpec>) -> (SupervisorHandle, mpsc::UnboundedReceiver<SupervisorEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let spec = SupervisorSpec { children, events: Some(tx), ..SupervisorSpec::new("test") };
        (SupervisorHandle::start(spec).await.expect("supervisor starts"), rx)
    }

    async fn until(
        rx: &mut mpsc::UnboundedReceiver<SupervisorEvent>,
        pred: impl Fn(&SupervisorEvent) -> bool,
    ) -> Vec<SupervisorEvent> {
        let mut seen = Vec::new();
        loop {
            let e =
                tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("event in time").expect("open");
            let done = pred(&e);
            seen.push(e);
            if done {
                return seen;
            }
        }
    }

    fn cell_of(children: &[ChildInfo], id: &str) -> ActorRef<TestMsg> {
        children.iter().find(|c| c.id == id).and_then(|c| c.cell.clone()).expect("running child").into()
    }

    #[tokio::test]
    async fn dynamic_children() {
        let (s, _rx) = sup(vec![]).await;
        s.start_child(child("x")).await.expect("starts");
        assert_eq!(s.start_child(child("x")).await, Err(SupervisionError::DuplicateChild("x".into())));
        s.start_child(child("y").supervisor()).await.expect("starts");
        let counts = s.count_children().await.expect("counts");
        assert_eq!(counts, ChildCounts { specs: 2, active: 2, supervisors: 1, workers: 1 });
        let which = s.which_children().await.expect("list");
        assert_eq!(
            which.iter().map(|c| (c.id.as_str(), c.state)).collect::<Vec<_>>(),
            vec![("x", ChildState::Running), ("y", ChildState::Running)]
        );
        s.terminate_child("x").await.expect("terminates");
        assert_eq!(s.terminate_child("x").await, Err(SupervisionError::UnknownChild("x".into())));
        let err = s.start_child(failing("z")).await.expect_err("cannot start");
        assert!(err.to_string().contains("no database"), "{err}");
        assert_eq!(s.count_children().await.expect("counts").specs, 1);
        s.stop(Duration::from_secs(5)).await;
        assert!(!s.is_running());
    }

    #[tokio::test]
    async fn a_child_that_ignores_stop_is_killed_after_its_timeout() {
        let (s, mut rx) = sup(vec![child("stubborn").shutdown(Shutdown::Timeout(Duration::from_millis(50)))]).await;
        let which = s.which_children().await.expect("list");
        cell_of(&which, "stubborn").send_message(TestMsg::Hang).expect("send");
        s.stop(Duration::from_secs(5)).await;
        let events = until(&mut rx, |e| matches!(e.kind, EventKind::Stopped { .. })).await;
        assert_eq!(events.last().map(|e| &e.kind), Some(&EventKind::Stopped { killed: true }));
    }

    #[tokio::test]
    async fn brutal_kill_does_not_wait() {
        let (s, mut rx) = sup(vec![child("k").shutdown(Shutdown::BrutalKill)]).await;
        s.terminate_child("k").await.expect("terminates");
        let events = until(&mut rx, |e| matches!(e.kind, EventKind::Stopped { .. })).await;
        assert_eq!(events.last().map(|e| &e.kind), Some(&EventKind::Stopped { killed: true }));
    }

    #[tokio::test]
    async fn a_start_that_keeps_failing_does_not_hang_the_supervisor() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let spec = SupervisorSpec {
            children: vec![failing("db")],
            intensity: Intensity { max_restarts: 3, period: Duration::from_secs(60) },
            events: Some(tx),
            ..SupervisorSpec::new("test")
        };
        let s = SupervisorHandle::start(spec).await.expect("the supervisor itself starts");
        let events = until(&mut rx, |e| e.child.is_none() && matches!(e.kind, EventKind::GaveUp(_))).await;
        let failures = events.iter().filter(|e| matches!(e.kind, EventKind::StartFailed(_))).count();
        assert_eq!(failures, 4, "the first start and three restarts: {events:?}");
        tokio::time::timeout(Duration::from_secs(10), s.wait()).await.expect("the supervisor exits");
    }

    #[tokio::test]
    async fn temporary_children_go_and_transient_ones_stay_after_a_normal_exit() {
        let (s, mut rx) = sup(vec![
            child("temp").restart(RestartType::Temporary),
            child("trans").restart(RestartType::Transient),
            child("perm"),
        ])
        .await;
        let which = s.which_children().await.expect("list");
        cell_of(&which, "temp").send_message(TestMsg::Fail).expect("send");
        cell_of(&which, "trans").send_message(TestMsg::Exit(None)).expect("send");
        cell_of(&which, "perm").send_message(TestMsg::Exit(Some("shutdown".into()))).expect("send");
        until(&mut rx, |e| e.child.as_deref() == Some("perm") && matches!(e.kind, EventKind::Exited(_))).await;
        until(&mut rx, |e| e.child.as_deref() == Some("perm") && e.kind == EventKind::Started).await;
        let which = s.which_children().await.expect("list");
        let states: Vec<(&str, ChildState)> = which.iter().map(|c| (c.id.as_str(), c.state)).collect();
        assert_eq!(states, vec![("trans", ChildState::Exited), ("perm", ChildState::Running)]);
        s.stop(Duration::from_secs(5)).await;
    }

    #[test]
    fn exit_reasons_classify_like_otp() {
        assert_eq!(ExitKind::from_reason(None), ExitKind::Normal);
        assert_eq!(ExitKind::from_reason(Some("normal")), ExitKind::Normal);
        assert_eq!(ExitKind::from_reason(Some("shutdown")), ExitKind::Shutdown);
        assert_eq!(ExitKind::from_reason(Some("shutdown: bye")), ExitKind::Shutdown);
        assert_eq!(ExitKind::from_reason(Some("killed")), ExitKind::Abnormal("killed".into()));
    }
}
