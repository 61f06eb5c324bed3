//! The ractor actor behind every process, whatever its guest language: Init, Step and Close.
//!
//! | Wippy | ractor | what happens |
//! |---|---|---|
//! | Init | `pre_start` | the program's [`Launch`] creates the running instance (a WASM instance, a Lua coroutine); the arguments were converted before the spawn |
//! | Step | `handle(Step)` | the method runs. A guest that receives, sleeps or does I/O gives its worker and thread back while it waits; when the method returns, the actor stops itself |
//! | Close | `post_stop` (or dropping the state after a kill) | the instance is dropped (its resources are free again), then the identity is finalized: EXIT to monitors, LINK_DOWN to links ([`super::lifecycle`]) |
//!
//! `terminate` wakes a `Notify` that Step races against the guest: a guest blocked in a host call is dropped at
//! once, one computing at its next preemption point. Step then stops the actor with the kill reason, and Close runs
//! in `post_stop` as on any other exit, so a ractor supervisor sees the reason. If the actor itself is killed
//! through ractor (a supervisor's brutal kill), it skips `post_stop`; dropping its state runs Close instead, so
//! every path ends in exactly one finalization.
//!
//! Step runs inside a [`Gated`] future: it holds one of its process host's `workers` permits only while it is
//! being polled, so `workers` bounds how many processes of a host execute guest code at the same moment.

use std::future::Future;
use std::pin::Pin;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use tracing::Instrument;

use super::guest::{Launch, ProcessContext, Running};
use super::hosts::Gated;
use super::lifecycle::Identity;
use super::mailbox::Inbox;
use super::stats::Metered;
use crate::error::CallError;
use crate::value::Value;

/// The message that runs Step.
pub(crate) enum ProcMsg {
    /// Run the method.
    Step,
}

// Never crosses nodes: the cluster carries its own messages (module `cluster`).
impl ractor::Message for ProcMsg {}

/// The actor handler; its state is [`ProcState`].
pub(crate) struct ProcessActor;

/// What a process needs to start.
pub(crate) struct ProcArgs {
    pub(crate) identity: Identity,
    /// The process's span: Init and Step run inside it, so every log line and span of the process carries its PID
    /// and entry.
    pub(crate) span: tracing::Span,
    pub(crate) launch: Box<dyn Launch>,
    pub(crate) inbox: Inbox,
}

/// The state of a running process.
pub(crate) struct ProcState {
    identity: Identity,
    span: tracing::Span,
    running: Option<Box<dyn Running>>,
    outcome: Option<Result<Value, CallError>>,
}

impl ProcState {
    /// Close: releases the instance, then finalizes with the outcome (or the kill reason).
    fn close(&mut self) {
        self.running.take();
        let (value, error) = match self.outcome.take() {
            Some(Ok(v)) => (v, None),
            Some(Err(e)) => (Value::Nil, Some(e.to_value())),
            None => {
                let reason = self.identity.record().ctl().kill_reason.clone();
                (Value::Nil, Some(reason.unwrap_or_else(|| Value::from("terminated"))))
            }
        };
        self.identity.finish(value, error);
    }
}

impl Drop for ProcState {
    fn drop(&mut self) {
        // After a kill ractor skips post_stop; Close runs here instead. After post_stop this is a no-op.
        self.close();
    }
}

/// The reason a ractor supervisor sees: none for a normal exit, `shutdown: ...` when the error text starts with
/// `shutdown`, `error: ...` otherwise.
fn stop_reason(error: Option<Value>) -> Option<String> {
    error.map(|e| {
        let text = super::describe(&e);
        if text.starts_with("shutdown") {
            format!("shutdown: {text}")
        } else {
            format!("error: {text}")
        }
    })
}

impl Actor for ProcessActor {
    type Msg = ProcMsg;
    type State = ProcState;
    type Arguments = ProcArgs;

    async fn pre_start(&self, _myself: ActorRef<ProcMsg>, a: ProcArgs) -> Result<ProcState, ActorProcessingErr> {
        let process =
            ProcessContext { system: a.identity.system().clone(), record: a.identity.record().clone(), inbox: a.inbox };
        // On failure the identity is dropped unpublished: its host slot is given back and nobody is notified.
        let running = a.launch.init(process).instrument(a.span.clone()).await.map_err(Box::new)?;
        a.identity.publish();
        Ok(ProcState { identity: a.identity, span: a.span, running: Some(running), outcome: None })
    }

    async fn handle(
        &self,
        myself: ActorRef<ProcMsg>,
        msg: ProcMsg,
        state: &mut ProcState,
    ) -> Result<(), ActorProcessingErr> {
        let ProcMsg::Step = msg;
        let record = state.identity.record().clone();
        let Some(running) = state.running.as_mut() else { return Ok(()) };
        let step: Pin<Box<dyn Future<Output = Result<Value, CallError>> + Send + '_>> = running.step();
        let stats = &record.stats;
        let run = async {
            match &record.host {
                Some(h) => Gated::new(h, Metered::new(stats, step)).await,
                None => Metered::new(stats, step).await,
            }
        };
        // Terminate wins over the guest: the step future (and the guest's fiber or coroutine) is dropped.
        let outcome = tokio::select! {
            biased;
            _ = record.killed.notified() => None,
            r = run.instrument(state.span.clone()) => Some(r),
        };
        let error = match &outcome {
            Some(Ok(_)) => None,
            Some(Err(e)) => Some(e.to_value()),
            None => Some(record.ctl().kill_reason.clone().unwrap_or_else(|| Value::from("terminated"))),
        };
        state.outcome = outcome;
        record.stats.set_exiting();
        myself.stop(stop_reason(error));
        Ok(())
    }

    async fn post_stop(&self, _myself: ActorRef<ProcMsg>, state: &mut ProcState) -> Result<(), ActorProcessingErr> {
        state.close();
        Ok(())
    }
}
