//! The ractor actor behind every process, WASM or Lua: Init, Step and Close.
//!
//! | Wippy | ractor | what happens |
//! |---|---|---|
//! | Init | `pre_start` | a store is created with the entry's limits and the process context; the instance is created from the cached `InstancePre` (a pooled slot); the arguments, already converted, are kept |
//! | Step | `handle(Step)` | the method is called. A guest that receives, sleeps or does I/O suspends its fiber and gives its worker and thread back; a synchronous guest finishes in this one step. When the call returns, the actor stops itself |
//! | Close | `post_stop` (or dropping the state after a kill) | the instance and store are dropped (the pool slot is free again), then the process is finalized: EXIT to monitors, LINK_DOWN to links ([`super::system`]) |
//!
//! `terminate` wakes a `Notify` that Step races against the guest call: a guest blocked in a host call is dropped
//! at once, a guest spinning in a loop at its next epoch yield (every tick, 2 ms). Step then stops the actor with
//! the kill reason, and Close runs in `post_stop` as on any other exit, so a ractor supervisor sees the reason.
//! If the actor itself is killed through ractor (a supervisor's brutal kill), it skips `post_stop`; dropping its
//! state runs Close instead, so every path ends in exactly one finalization.
//!
//! Step runs inside a [`Gated`] future: it holds one of its host's `workers` permits only while it is being polled,
//! so `workers` bounds how many processes of a host execute guest code at the same moment, and a process waiting in
//! `receive` holds none.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::sync::SemaphorePermit;
use wasmtime::component::Val;
use wasmtime::Store;

use super::system::{Domain, ProcEntry, System};
use super::{Inbox, ProcessCtx, Program};
use crate::error::CallError;
use crate::function::{Code, Instance, Invocation};
use crate::lua::{LuaCtx, LuaRuntime};
use crate::store::StoreState;
use crate::value::Value;

/// The message that runs Step.
pub enum ProcMsg {
    /// Run the method.
    Step,
}

/// The actor handler; its state is [`ProcState`].
pub struct ProcessActor;

/// What a process runs, with Step's arguments already converted for it.
pub enum Launch {
    /// A WASM method and its arguments, lowered by its WIT types.
    Wasm(Arc<Code>, Vec<Val>),
    /// A Lua method and its arguments.
    Lua(Arc<crate::lua::LuaCode>, Vec<Value>),
}

impl Launch {
    /// Converts `args` for `program`: a WASM method's arguments are checked here, before anything is created.
    pub fn new(program: Program, args: Vec<Value>) -> Result<Launch, CallError> {
        Ok(match program {
            Program::Wasm(code) => {
                let vals = code.lower_args(&args)?;
                Launch::Wasm(code, vals)
            }
            Program::Lua(code) => Launch::Lua(code, args),
        })
    }
}

/// What a process needs to start.
pub struct ProcArgs {
    pub(crate) system: Arc<System>,
    pub(crate) entry: Arc<ProcEntry>,
    pub(crate) launch: Launch,
    pub(crate) inbox: Inbox,
}

/// A process between Init and Close.
enum Running {
    Wasm { code: Arc<Code>, store: Store<StoreState>, instance: Instance, args: Option<Vec<Val>> },
    Lua { runtime: Arc<LuaRuntime>, ctx: Arc<LuaCtx>, thread: Option<mlua::Thread>, args: Option<Vec<Value>> },
}

/// The state of a running process.
pub struct ProcState {
    system: Arc<System>,
    entry: Arc<ProcEntry>,
    run: Option<Running>,
    outcome: Option<Result<Value, CallError>>,
}

impl ProcState {
    /// Close: releases the instance (or coroutine), then finalizes with the outcome (or the kill reason).
    fn close(&mut self) {
        // Dropping a store frees the instance and its pool slot; dropping a coroutine lets Lua collect it.
        self.run.take();
        let (value, error) = match self.outcome.take() {
            Some(Ok(v)) => (v, None),
            Some(Err(e)) => (Value::Nil, Some(e.to_value())),
            None => {
                let reason = self.entry.ctl().kill_reason.clone();
                (Value::Nil, Some(reason.unwrap_or_else(|| Value::from("terminated"))))
            }
        };
        self.system.finalize(&self.entry, value, error);
    }
}

impl Drop for ProcState {
    fn drop(&mut self) {
        // After a kill ractor skips post_stop; Close runs here instead. After post_stop this is a no-op.
        self.close();
    }
}

impl Actor for ProcessActor {
    type Msg = ProcMsg;
    type State = ProcState;
    type Arguments = ProcArgs;

    async fn pre_start(&self, _myself: ActorRef<ProcMsg>, a: ProcArgs) -> Result<ProcState, ActorProcessingErr> {
        let run = match a.launch {
            Launch::Wasm(code, args) => {
                let inv =
                    Invocation { context: a.entry.context.clone(), funcs: Some(a.system.functions.clone()), depth: 0 };
                let mut state = code.store_state(inv).map_err(Box::new)?;
                if a.entry.domain.as_ref().is_some_and(|d| d.terminal) {
                    state.use_terminal();
                } else {
                    state.tag_pid(a.entry.pid.clone());
                }
                state.process =
                    Some(Box::new(ProcessCtx { system: a.system.clone(), entry: a.entry.clone(), inbox: a.inbox }));
                let mut store = code.new_store(&a.system.engine, state);
                let instance = code.instantiate(&mut store).await.map_err(Box::new)?;
                Running::Wasm { code, store, instance, args: Some(args) }
            }
            Launch::Lua(code, args) => {
                let Some(runtime) = a.system.lua.clone() else {
                    return Err(Box::new(CallError::Lua {
                        entry: code.id.clone(),
                        message: "the host has no Lua runtime".into(),
                    }));
                };
                let ctx =
                    runtime.context(code, a.system.clone(), a.system.functions.clone(), a.entry.context.clone(), 0);
                let thread = runtime.start_process(&ctx, a.entry.clone(), a.inbox).await.map_err(Box::new)?;
                Running::Lua { runtime, ctx, thread: Some(thread), args: Some(args) }
            }
        };
        Ok(ProcState { system: a.system, entry: a.entry, run: Some(run), outcome: None })
    }

    async fn handle(
        &self,
        myself: ActorRef<ProcMsg>,
        msg: ProcMsg,
        state: &mut ProcState,
    ) -> Result<(), ActorProcessingErr> {
        let ProcMsg::Step = msg;
        let entry = state.entry.clone();
        let step: Pin<Box<dyn Future<Output = Result<Value, CallError>> + Send + '_>> = match state.run.as_mut() {
            Some(Running::Wasm { code, store, instance, args }) => {
                let Some(args) = args.take() else { return Ok(()) };
                Box::pin(code.call(store, instance, args))
            }
            Some(Running::Lua { runtime, ctx, thread, args }) => {
                let (Some(thread), Some(args)) = (thread.take(), args.take()) else { return Ok(()) };
                let (runtime, ctx) = (runtime.clone(), ctx.clone());
                Box::pin(async move { runtime.run_process(ctx, thread, args).await })
            }
            None => return Ok(()),
        };
        let run = async {
            match &entry.domain {
                Some(d) => Gated::new(d, step).await,
                None => step.await,
            }
        };
        // Terminate wins over the guest: the call future (and the guest's fiber or coroutine) is dropped.
        let outcome = tokio::select! {
            biased;
            _ = entry.killed.notified() => None,
            r = run => Some(r),
        };
        // The stop reason is what a ractor supervisor sees (see `process::spawn_supervised`).
        let error = match &outcome {
            Some(Ok(_)) => None,
            Some(Err(e)) => Some(e.to_value()),
            None => Some(entry.ctl().kill_reason.clone().unwrap_or_else(|| Value::from("terminated"))),
        };
        let reason = error.map(|e| {
            let text = crate::process::system::describe(&e);
            if text.starts_with("shutdown") {
                format!("shutdown: {text}")
            } else {
                format!("error: {text}")
            }
        });
        state.outcome = outcome;
        myself.stop(reason);
        Ok(())
    }

    async fn post_stop(&self, _myself: ActorRef<ProcMsg>, state: &mut ProcState) -> Result<(), ActorProcessingErr> {
        state.close();
        Ok(())
    }
}

/// Polls `fut` only while holding one of the domain's worker permits, and gives the permit back whenever `fut`
/// is pending (waiting in a host call or yielding at an epoch tick).
pub struct Gated<'a, F> {
    fut: F,
    domain: &'a Domain,
    acquire: Option<Pin<Box<dyn Future<Output = Option<SemaphorePermit<'a>>> + Send + 'a>>>,
}

impl<'a, F: Future> Gated<'a, F> {
    /// Gates `fut` by `domain`'s workers.
    pub fn new(domain: &'a Domain, fut: F) -> Self {
        Gated { fut, domain, acquire: None }
    }
}

impl<F: Future + Unpin> Future for Gated<'_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let permit = match this.acquire.as_mut() {
            None => match this.domain.workers.try_acquire() {
                Ok(p) => p,
                Err(_) => {
                    this.domain.waiting.fetch_add(1, Ordering::AcqRel);
                    let sem = &this.domain.workers;
                    this.acquire = Some(Box::pin(async move { sem.acquire().await.ok() }));
                    return Pin::new(this).poll(cx);
                }
            },
            Some(acq) => match acq.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(p) => {
                    this.acquire = None;
                    this.domain.waiting.fetch_sub(1, Ordering::AcqRel);
                    match p {
                        Some(p) => p,
                        // The semaphore is never closed; run ungated rather than hang.
                        None => return Pin::new(&mut this.fut).poll(cx),
                    }
                }
            },
        };
        let r = Pin::new(&mut this.fut).poll(cx);
        drop(permit);
        r
    }
}

impl<F> Drop for Gated<'_, F> {
    fn drop(&mut self) {
        if self.acquire.take().is_some() {
            self.domain.waiting.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::error::ProcessError;
    use crate::registry::EntryId;

    #[test]
    fn the_gate_holds_a_worker_only_while_polling_and_bounds_the_queue() {
        let id = EntryId::parse("t:host").expect("valid id");
        let domain = Domain::new(id, 1, 10, 1, Duration::from_secs(1), false);
        let mut cx = Context::from_waker(std::task::Waker::noop());

        // Someone else runs: the only worker is taken.
        let busy = domain.workers.try_acquire().expect("one permit");
        let mut gated = Gated::new(&domain, std::future::ready(7));
        assert!(Pin::new(&mut gated).poll(&mut cx).is_pending(), "waits for the worker");
        assert_eq!(domain.waiting.load(Ordering::Acquire), 1);
        assert!(matches!(domain.reserve(), Err(ProcessError::QueueFull { queue_size: 1, .. })), "the queue is full");

        drop(busy);
        assert_eq!(Pin::new(&mut gated).poll(&mut cx), Poll::Ready(7), "runs once the worker is free");
        assert_eq!(domain.waiting.load(Ordering::Acquire), 0);
        assert_eq!(domain.workers.available_permits(), 1, "and gives the worker back");
        assert!(domain.reserve().is_ok());
    }

    #[test]
    fn a_pending_step_gives_its_worker_back() {
        let id = EntryId::parse("t:host").expect("valid id");
        let domain = Domain::new(id, 1, 10, 10, Duration::from_secs(1), false);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut gated = Gated::new(&domain, std::future::pending::<()>());
        assert!(Pin::new(&mut gated).poll(&mut cx).is_pending());
        assert_eq!(domain.workers.available_permits(), 1, "blocked processes hold no worker");
    }
}
