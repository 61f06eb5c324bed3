//! One Lua invocation: a function call or a process, and how the built-in modules find it.
//!
//! Every invocation has a [`LuaCtx`]: its code, the engine, its [`CallEnv`] (process system, security context,
//! call depth, deadline, owning process) and its process identity if it has one. The module functions are shared
//! by all invocations of a state; they find the calling one through a thread-local slot that [`WithCtx`] sets
//! around every poll of the invocation's driver ([`current`]). Each poll is also a slice of Lua for preemption
//! ([`super::preempt`]).
//!
//! Lifetimes: timers, tickers and async calls an invocation starts are tracked here and stopped when it ends
//! ([`LuaCtx::stop_resources`]), so nothing of a finished invocation keeps running.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use mlua::Value as LuaValue;
use tokio::task::AbortHandle;

use super::engine::{LuaCode, LuaEngine};
use super::heap::TenantKey;
use super::preempt::Slice;
use super::proc::LuaProc;
use crate::process::{CallEnv, System};

/// What a running Lua invocation knows: its code, who it runs for, and the host it runs in.
pub(crate) struct LuaCtx {
    /// The entry.
    pub(crate) code: Arc<LuaCode>,
    /// The engine it runs on.
    pub(crate) engine: Arc<LuaEngine>,
    /// The process system, the security context, the call depth, the deadline and the owning process.
    pub(crate) env: CallEnv,
    pub(super) proc: OnceLock<Arc<LuaProc>>,
    pub(super) loaded: Mutex<HashMap<String, LuaValue>>,
    resources: Mutex<Vec<AbortHandle>>,
    /// Where it runs: set when it gets its state.
    pub(super) seat: OnceLock<Seat>,
    /// The deadline of the current step of a process with `max_execution_ms`.
    step: Mutex<Option<Instant>>,
    /// How many of its coroutines wait on local channels only, and how many such waits ended so far (the
    /// deadlock rule of SPEC 5.1, checked by the driver in `prelude.lua`).
    local_waits: AtomicUsize,
    local_progress: AtomicU64,
    /// Bumped when a drive starts: a wait of an earlier drive (a coroutine dropped, not yet collected) no longer
    /// counts.
    local_generation: AtomicU64,
}

/// A coroutine's wait on local channels (`channel.new`), counted while it lasts.
pub(crate) struct LocalWait(Arc<LuaCtx>, u64);

impl Drop for LocalWait {
    fn drop(&mut self) {
        if self.0.local_generation.load(Ordering::Relaxed) == self.1 {
            self.0.local_waits.fetch_sub(1, Ordering::Relaxed);
        }
        self.0.local_progress.fetch_add(1, Ordering::Relaxed);
    }
}

/// The table the driver in `prelude.lua` reads after each step: `[1]` is set when a wait on local channels began
/// (during the waiting invocation's own slice; the driver moves it into that drive's state at its next step), so
/// invocations that never wait on local channels never pay for the deadlock check.
pub(super) struct LocalFlag(pub(super) mlua::Table);

/// Counts a wait of the current invocation on local channels only, while the guard lives (`None` outside one).
pub(crate) fn local_wait(lua: &mlua::Lua, all_local: bool) -> Option<LocalWait> {
    if !all_local {
        return None;
    }
    let ctx = current().ok()?;
    if let Some(flag) = lua.app_data_ref::<LocalFlag>() {
        let _ = flag.0.raw_set(1, true);
    }
    ctx.local_waits.fetch_add(1, Ordering::Relaxed);
    let generation = ctx.local_generation.load(Ordering::Relaxed);
    Some(LocalWait(ctx, generation))
}

/// For the driver: when `coroutines` coroutines are all waiting on local channels, a count of the local waits that
/// ended so far (the same count twice, with nothing ended in between, is a deadlock); `nil` otherwise.
pub(super) fn all_waiting_locally(_: &mlua::Lua, coroutines: usize) -> mlua::Result<Option<u64>> {
    let Ok(ctx) = current() else { return Ok(None) };
    if ctx.local_waits.load(Ordering::Relaxed) < coroutines {
        return Ok(None);
    }
    Ok(Some(ctx.local_progress.load(Ordering::Relaxed)))
}

impl LuaCtx {
    /// Forgets the local waits of earlier drives (their coroutines were dropped): a drive starts.
    pub(super) fn new_drive(&self) {
        self.local_generation.fetch_add(1, Ordering::Relaxed);
        self.local_waits.store(0, Ordering::Relaxed);
    }

    /// A context for one invocation of `code`.
    pub(super) fn new(code: Arc<LuaCode>, engine: Arc<LuaEngine>, env: CallEnv) -> LuaCtx {
        LuaCtx {
            code,
            engine,
            env,
            proc: OnceLock::new(),
            loaded: Mutex::new(HashMap::new()),
            resources: Mutex::new(Vec::new()),
            seat: OnceLock::new(),
            step: Mutex::new(None),
            local_waits: AtomicUsize::new(0),
            local_progress: AtomicU64::new(0),
            local_generation: AtomicU64::new(0),
        }
    }

    /// The process identity of this invocation; a function call gets a temporary one on first use.
    pub(crate) fn proc(&self) -> Arc<LuaProc> {
        self.proc.get_or_init(|| LuaProc::for_call(&self.env)).clone()
    }

    /// The process system.
    pub(crate) fn system(&self) -> &Arc<System> {
        &self.env.system
    }

    /// The process identity, if this invocation has one already.
    pub(crate) fn proc_if_any(&self) -> Option<&Arc<LuaProc>> {
        self.proc.get()
    }

    /// Stops `task` when this invocation ends.
    pub(crate) fn track(&self, task: AbortHandle) {
        let mut r = self.resources.lock().unwrap_or_else(|p| p.into_inner());
        // Finished tasks are dropped when the list doubles, so tracking stays amortized O(1).
        if r.len() >= 64 && r.len().is_power_of_two() {
            r.retain(|t| !t.is_finished());
        }
        r.push(task);
    }

    /// Whether the invocation may start another task (timer, ticker, async call): at most [`MAX_TASKS`] live.
    fn task_room(&self) -> bool {
        let mut r = self.resources.lock().unwrap_or_else(|p| p.into_inner());
        if r.len() < MAX_TASKS {
            return true;
        }
        r.retain(|t| !t.is_finished());
        r.len() < MAX_TASKS
    }

    /// Stops every task the invocation started.
    pub(super) fn stop_resources(&self) {
        for t in self.resources.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            t.abort();
        }
    }

    /// The bytes of its state's memory charged to this invocation.
    pub(crate) fn memory(&self) -> usize {
        self.seat.get().map_or(0, |s| s.tenant.used())
    }

    /// When this invocation must end, if ever.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let step = *self.step.lock().unwrap_or_else(|p| p.into_inner());
        match (self.env.deadline, step) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Starts a step of a process that must end by `deadline`.
    pub(super) fn set_step_deadline(&self, deadline: Option<Instant>) {
        *self.step.lock().unwrap_or_else(|p| p.into_inner()) = deadline;
    }

    /// The call environment for a call this invocation makes: one level deeper is added by the callee.
    pub(crate) fn call_env(&self) -> CallEnv {
        CallEnv { deadline: self.deadline(), ..self.env.clone() }
    }

    /// Why the invocation must stop now, if it must: its owning process was terminated, its deadline passed, or it
    /// shares its state and has run past [`MAX_UNYIELDING`] where it cannot yield (asked only from such places).
    fn must_stop(&self) -> Option<String> {
        if let Some(owner) = &self.env.owner {
            if let Some(reason) = owner.ctl().kill_reason.clone() {
                return Some(crate::process::describe(&reason));
            }
        }
        match self.deadline() {
            Some(d) if Instant::now() >= d => return Some(format!("`{}`: its deadline passed", self.code.id)),
            _ => {}
        }
        let ran = super::preempt::slice_age();
        if ran < MAX_UNYIELDING || !self.shares_state() {
            return None;
        }
        Some(format!(
            "`{}`: ran {} ms where it could not yield (a `table.sort` comparator, a metamethod called from C, a \
             pattern match) while other processes share its Lua state: limit `max_unyielding_ms` ({} ms) exceeded",
            self.code.id,
            ran.as_millis(),
            MAX_UNYIELDING.as_millis()
        ))
    }

    /// The invocation ended: a PID it opened for itself ends too.
    pub(super) fn finish(&self) {
        if let Some(p) = self.proc.get() {
            p.end();
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<LuaCtx>>> = const { RefCell::new(None) };
}

/// The context of the Lua invocation being polled on this thread.
pub(crate) fn current() -> mlua::Result<Arc<LuaCtx>> {
    CURRENT
        .with(|c| c.borrow().clone())
        .ok_or_else(|| mlua::Error::runtime("this function can only be called from Lua code run by the host"))
}

/// How long a process may run where it cannot yield (inside a `table.sort` comparator, a metamethod called from C,
/// a pattern match) while other processes share its state and wait for it (SPEC §10). Preemption stops code that
/// can yield every slice; this bounds how long the others of its state can be kept waiting by code that cannot.
pub(crate) const MAX_UNYIELDING: std::time::Duration = std::time::Duration::from_millis(1000);

/// The most timers, tickers and async calls one invocation may have running at once (SPEC §10).
pub(crate) const MAX_TASKS: usize = 100_000;

/// An error naming [`MAX_TASKS`] when the current invocation has reached it.
pub(crate) fn task_room() -> mlua::Result<()> {
    match current() {
        Ok(ctx) if !ctx.task_room() => Err(crate::lua::modules::errors::raise(
            crate::value::kind::UNAVAILABLE,
            format!("the invocation already has {MAX_TASKS} timers, tickers and async calls running (the limit)"),
        )),
        _ => Ok(()),
    }
}

/// Spawns a task that belongs to the current invocation: it is stopped when the invocation ends.
pub(crate) fn spawn_tracked<F>(fut: F) -> tokio::task::JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let task = tokio::spawn(fut);
    if let Ok(ctx) = current() {
        ctx.track(task.abort_handle());
    }
    task
}

/// Why the invocation running on this thread must stop, if it must (read by the preemption hook).
pub(crate) fn stop_reason() -> Option<String> {
    CURRENT.with(|c| c.borrow().as_ref().and_then(|ctx| ctx.must_stop()))
}

/// Polls an invocation's driver with `ctx` as the current context, as one slice of Lua on this thread.
pub(crate) struct WithCtx<F> {
    ctx: Arc<LuaCtx>,
    fut: Pin<Box<F>>,
}

impl<F: Future> WithCtx<F> {
    /// Wraps `fut`, which drives the invocation.
    pub(crate) fn new(ctx: Arc<LuaCtx>, fut: F) -> Self {
        WithCtx { ctx, fut: Box::pin(fut) }
    }
}

/// Puts the previous current invocation back when dropped.
struct Restore(Option<Arc<LuaCtx>>);

impl Drop for Restore {
    fn drop(&mut self) {
        let prev = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

impl<F: Future> Future for WithCtx<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        // Another invocation of the state runs a slice now: wait for it without holding this thread.
        let seat = this.ctx.seat.get();
        let _gate = match seat.and_then(|s| s.gate.as_ref()) {
            Some(gate) => match gate.pass(cx.waker()) {
                Some(passed) => Some(passed),
                None => return Poll::Pending,
            },
            None => None,
        };
        // Restored on every way out, a panic included: the thread's next task must not see this invocation.
        let _restore = Restore(CURRENT.with(|c| c.replace(Some(this.ctx.clone()))));
        let _slice = Slice::enter();
        let _heap = seat.map(|s| s.tenant.enter());
        this.fut.as_mut().poll(cx)
    }
}

/// Where an invocation runs.
pub(crate) struct Seat {
    /// Its account in its state's heap, entered around every poll.
    pub(crate) tenant: TenantKey,
    /// The gate of its state when it shares the state with others (a process), passed around every poll; a state
    /// of its own needs none.
    pub(crate) gate: Option<Arc<Gate>>,
}

impl LuaCtx {
    /// Whether the invocation shares its state with others (a process).
    pub(crate) fn shares_state(&self) -> bool {
        self.seat.get().is_some_and(|s| s.gate.is_some())
    }
}

/// Lets one invocation of a state run a slice at a time. Invocations that share a state (processes) would otherwise
/// wait for each other on mlua's lock, each holding a worker thread; at the gate, one that finds the state busy
/// returns `Pending` and is woken when the slice ends.
#[derive(Default)]
pub(crate) struct Gate {
    busy: AtomicBool,
    waiting: Mutex<Vec<Waker>>,
    /// Whether `waiting` may hold wakers (so an uncontended slice never locks it).
    waiters: AtomicBool,
}

impl Gate {
    /// Passes the gate, or registers `waker` to be woken when it opens.
    fn pass(&self, waker: &Waker) -> Option<Passed<'_>> {
        if self.try_close() {
            return Some(Passed(self));
        }
        self.waiting.lock().unwrap_or_else(|p| p.into_inner()).push(waker.clone());
        self.waiters.store(true, Ordering::SeqCst);
        // It may have opened in between: whoever opened it may have looked for waiters before this one came.
        self.try_close().then_some(Passed(self))
    }

    fn try_close(&self) -> bool {
        self.busy.compare_exchange(false, true, Ordering::SeqCst, Ordering::Relaxed).is_ok()
    }
}

/// A slice that passed the gate; opens it and wakes the waiting when dropped.
struct Passed<'a>(&'a Gate);

impl Drop for Passed<'_> {
    fn drop(&mut self) {
        self.0.busy.store(false, Ordering::SeqCst);
        if !self.0.waiters.load(Ordering::SeqCst) {
            return;
        }
        let waiting = {
            let mut w = self.0.waiting.lock().unwrap_or_else(|p| p.into_inner());
            self.0.waiters.store(false, Ordering::SeqCst);
            std::mem::take(&mut *w)
        };
        for w in waiting {
            w.wake();
        }
    }
}
