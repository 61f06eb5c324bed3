//! Preemption: Lua code that never yields is interrupted every time slice, so other processes, timers and signals
//! keep running, and a terminated or late invocation is stopped.
//!
//! Lua 5.4's instruction-count hook makes the interpreter check a counter on *every* instruction once it is set
//! (twice as slow, measured), so no hook is installed while code runs normally. Instead:
//! 1. every poll of a Lua invocation records, in its OS thread's [`Slot`], the tick its slice started and which
//!    coroutine runs ([`Slice`]);
//! 2. a ticker thread (one per OS process, started with the first Lua engine, parked when no Lua runs for a while)
//!    advances the tick every [`TICK`] and sends `SIGURG` to every thread whose slice is older than [`SLICE_TICKS`],
//!    and again every [`SLICE_TICKS`] while that slice lasts (a signal that lands while the thread runs Rust code or
//!    the driver finds no coroutine to hook, and must not be the last one);
//! 3. the signal handler, on that thread, calls `lua_sethook` on the running coroutine: the one thing Lua allows in
//!    a signal handler (the standalone `lua` interpreter stops a script on Ctrl-C the same way);
//! 4. at its next instruction the coroutine runs [`preempt_hook`], which removes itself and yields (`lua_yield` from
//!    a count hook), setting a flag that tells this yield apart from a `coroutine.yield()`;
//! 5. the coroutine was resumed by [`slice_resume`] (Lua's own resume, which keeps a preempted coroutine's stack
//!    exactly as it was; mlua's resume does not, and must never see it). It reads and clears the flag the moment
//!    Lua's resume returns, before any other Lua code runs, and reports the preemption in its own results (`nil`
//!    instead of `true`/`false`): the flag is never left for later code to misread, when another preemption may
//!    have come in between. Whoever resumed the coroutine (the invocation's driver, or our `coroutine.resume` for a
//!    user coroutine, both in `prelude.lua`) passes the preemption up (a user coroutine's resumer by yielding with
//!    [`preempt_yield`], itself a preemption), and the driver gives the thread to the scheduler ([`pause`]) before
//!    resuming it where it stopped.
//!
//! Where Lua cannot yield (inside a `table.sort` comparator, a `string.gsub` callback, a metamethod called from C),
//! the hook instead checks whether the invocation was terminated or is past its deadline and raises an error if
//! so; otherwise it looks again every [`RECHECK`] instructions until the code can yield. A terminated or late
//! invocation therefore stops within one slice plus, in such places, a few thousand instructions.
//!
//! The signal handler touches only two thread-local cells and `lua_sethook`; it is installed once per OS process
//! for `SIGURG` (ignored by default, and used for nothing else here), with `SA_RESTART`.

use std::cell::Cell;
use std::sync::atomic::{compiler_fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::Duration;

use mlua::ffi;

/// How often the ticker looks at the running slices.
pub(crate) const TICK: Duration = Duration::from_millis(1);

/// How many ticks a slice may run before it is preempted (so a slice lasts 1 to 2 ms).
pub(crate) const SLICE_TICKS: u64 = 2;

/// How many instructions a coroutine that could not yield runs before the hook looks again.
pub(crate) const RECHECK: i32 = 1000;

/// After this many ticks without any Lua running, the ticker parks until a slice starts.
const IDLE_TICKS: u64 = 200;

thread_local! {
    /// The coroutine this thread is running Lua code in, if any (read by the signal handler).
    static RUNNING: Cell<*mut ffi::lua_State> = const { Cell::new(std::ptr::null_mut()) };
    /// Set by the hook when it yielded for preemption.
    static PREEMPTED: Cell<bool> = const { Cell::new(false) };
    /// This thread's slot, registered on first use.
    static SLOT: SlotGuard = SlotGuard::register();
}

/// The advancing tick; 0 is never a slice start.
static NOW: AtomicU64 = AtomicU64::new(1);

/// One OS thread that may run Lua.
struct Slot {
    thread: libc::pthread_t,
    /// The tick the current slice started at; 0 when the thread runs no Lua.
    started: AtomicU64,
    /// The tick the current slice was last signalled at; 0 when it was not. A signal can miss (it lands while the
    /// thread runs Rust code or the driver, where there is no coroutine to hook), so a slice that goes on is
    /// signalled again every [`SLICE_TICKS`].
    signalled: AtomicU64,
}

/// Every registered thread, and the ticker's handle.
struct Ticker {
    slots: Mutex<Vec<Arc<Slot>>>,
    parked: AtomicBool,
    thread: OnceLock<std::thread::Thread>,
}

fn ticker() -> &'static Ticker {
    static TICKER: OnceLock<Ticker> = OnceLock::new();
    TICKER.get_or_init(|| Ticker {
        slots: Mutex::new(Vec::new()),
        parked: AtomicBool::new(false),
        thread: OnceLock::new(),
    })
}

/// Removes the thread's slot when the thread ends, so the ticker never signals a thread that is gone.
struct SlotGuard(Arc<Slot>);

impl SlotGuard {
    fn register() -> SlotGuard {
        // SAFETY: pthread_self has no preconditions.
        let slot = Arc::new(Slot {
            thread: unsafe { libc::pthread_self() },
            started: AtomicU64::new(0),
            signalled: AtomicU64::new(0),
        });
        lock(&ticker().slots).push(slot.clone());
        SlotGuard(slot)
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        lock(&ticker().slots).retain(|s| !Arc::ptr_eq(s, &self.0));
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Installs the signal handler and starts the ticker; later calls do nothing.
pub(crate) fn start() {
    static START: Once = Once::new();
    START.call_once(|| {
        install_handler();
        let spawned = std::thread::Builder::new().name("wippy-lua-preempt".into()).spawn(run_ticker);
        match spawned {
            Ok(handle) => {
                let _ = ticker().thread.set(handle.thread().clone());
            }
            Err(e) => tracing::error!(error = %e, "cannot start the Lua preemption thread: Lua code that never yields will not be preempted"),
        }
    });
}

fn install_handler() {
    // SAFETY: a zeroed sigaction is a valid value to fill in; the handler only reads thread-locals and calls
    // lua_sethook, which Lua documents as safe in a signal handler.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as *const () as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGURG, &action, std::ptr::null_mut()) != 0 {
            tracing::error!("cannot install the Lua preemption signal handler");
        }
    }
}

extern "C" fn on_signal(_: libc::c_int) {
    let state = RUNNING.with(Cell::get);
    if !state.is_null() {
        // SAFETY: `state` is the coroutine this very thread is running (set around every resume); lua_sethook is
        // async-signal-safe by Lua's documentation.
        unsafe { ffi::lua_sethook(state, Some(preempt_hook), ffi::LUA_MASKCOUNT, 1) };
    }
}

/// The hook the signal handler installs: yield where Lua can, otherwise stop a dead invocation or look again later.
unsafe extern "C-unwind" fn preempt_hook(state: *mut ffi::lua_State, _ar: *mut ffi::lua_Debug) {
    // SAFETY (whole function): called by Lua with a valid state, from a count hook.
    unsafe {
        ffi::lua_sethook(state, None, 0, 0);
        if ffi::lua_isyieldable(state) != 0 {
            PREEMPTED.with(|p| p.set(true));
            ffi::lua_yield(state, 0);
            return;
        }
        match super::invocation::stop_reason() {
            // A plain error with no Rust value in flight: nothing needs dropping on this frame.
            Some(reason) => {
                ffi::lua_pushlstring(state, reason.as_ptr().cast(), reason.len());
                drop(reason);
                ffi::lua_error(state);
            }
            None => ffi::lua_sethook(state, Some(preempt_hook), ffi::LUA_MASKCOUNT, RECHECK),
        }
    }
}

fn run_ticker() {
    let t = ticker();
    let mut idle = 0u64;
    loop {
        // This thread exists to tick: it waits here, and nothing else ever waits on it (an early unpark only
        // makes one tick short).
        std::thread::park_timeout(TICK);
        let now = NOW.fetch_add(1, Ordering::AcqRel) + 1;
        let mut running = false;
        for slot in lock(&t.slots).iter() {
            let started = slot.started.load(Ordering::Acquire);
            if started == 0 {
                continue;
            }
            running = true;
            let last = slot.signalled.load(Ordering::Acquire).max(started);
            if now.saturating_sub(last) >= SLICE_TICKS {
                slot.signalled.store(now, Ordering::Release);
                // SAFETY: the slot's thread is alive: it removes its slot (under this lock) before it ends.
                unsafe { libc::pthread_kill(slot.thread, libc::SIGURG) };
            }
        }
        idle = if running { 0 } else { idle + 1 };
        if idle >= IDLE_TICKS {
            t.parked.store(true, Ordering::Release);
            // A slice that started before `parked` was set is seen on the next round.
            if !lock(&t.slots).iter().any(|s| s.started.load(Ordering::Acquire) != 0) {
                std::thread::park();
            }
            t.parked.store(false, Ordering::Release);
            idle = 0;
        }
    }
}

/// How long the slice running on this thread has lasted (zero outside one), to the tick.
pub(crate) fn slice_age() -> Duration {
    let started = SLOT.with(|s| s.0.started.load(Ordering::Acquire));
    if started == 0 {
        return Duration::ZERO;
    }
    TICK * u32::try_from(NOW.load(Ordering::Acquire).saturating_sub(started)).unwrap_or(u32::MAX)
}

/// A running slice of Lua on this thread: one poll of an invocation. Polls nest (a Lua function called from Lua
/// through WASM); the outer slice is restored when the inner ends. No coroutine is the running one until
/// [`slice_resume`] resumes one.
pub(crate) struct Slice {
    previous: *mut ffi::lua_State,
    outer: bool,
}

thread_local! {
    /// How deeply slices nest on this thread.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

impl Slice {
    /// Starts a slice on this thread.
    pub(crate) fn enter() -> Slice {
        let previous = RUNNING.with(|r| r.replace(std::ptr::null_mut()));
        let outer = DEPTH.with(|d| d.replace(d.get() + 1)) == 0;
        if outer {
            SLOT.with(|s| {
                s.0.signalled.store(0, Ordering::Release);
                s.0.started.store(NOW.load(Ordering::Acquire), Ordering::Release);
            });
            let t = ticker();
            if t.parked.load(Ordering::Acquire) {
                if let Some(th) = t.thread.get() {
                    th.unpark();
                }
            }
        }
        compiler_fence(Ordering::SeqCst);
        Slice { previous, outer }
    }
}

impl Drop for Slice {
    fn drop(&mut self) {
        compiler_fence(Ordering::SeqCst);
        RUNNING.with(|r| r.set(self.previous));
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
        if self.outer {
            SLOT.with(|s| s.0.started.store(0, Ordering::Release));
        }
    }
}

/// `preempt_yield()`: yields the calling coroutine as a preemption, so the `slice_resume` that resumed it returns
/// `nil`. A user coroutine's resumer passes a preemption up with it.
unsafe extern "C-unwind" fn preempt_yield(state: *mut ffi::lua_State) -> std::ffi::c_int {
    PREEMPTED.with(|p| p.set(true));
    // SAFETY: a C function called by Lua with a valid state; returning lua_yield is Lua's documented protocol for
    // a C function that yields (the prelude calls this only where the coroutine is yieldable).
    unsafe { ffi::lua_yield(state, 0) }
}

/// `slice_resume(co, ...)`: Lua's `coroutine.resume`, with `co` marked as the coroutine this thread runs, so the
/// preemption signal targets it. Returns `true, values...`, `false, error`, or `nil` when `co` was preempted.
unsafe extern "C-unwind" fn slice_resume(state: *mut ffi::lua_State) -> std::ffi::c_int {
    // SAFETY (whole function): a C function called by Lua with a valid state; mirrors `luaB_coresume`.
    unsafe {
        let co = ffi::lua_tothread(state, 1);
        if co.is_null() {
            ffi::lua_pushboolean(state, 0);
            ffi::lua_pushstring(state, c"cannot resume a non-coroutine".as_ptr());
            return 2;
        }
        let narg = ffi::lua_gettop(state) - 1;
        if ffi::lua_checkstack(co, narg) == 0 {
            ffi::lua_pushboolean(state, 0);
            ffi::lua_pushstring(state, c"too many arguments to resume".as_ptr());
            return 2;
        }
        ffi::lua_xmove(state, co, narg);
        let previous = RUNNING.with(|r| r.replace(co));
        compiler_fence(Ordering::SeqCst);
        let mut nres: std::ffi::c_int = 0;
        let status = ffi::lua_resume(co, state, narg, &mut nres);
        compiler_fence(Ordering::SeqCst);
        RUNNING.with(|r| r.set(previous));
        let preempted = PREEMPTED.with(|p| p.replace(false));
        if status == ffi::LUA_YIELD && preempted {
            ffi::lua_pop(co, nres);
            ffi::lua_pushnil(state);
            return 1;
        }
        if status == ffi::LUA_OK || status == ffi::LUA_YIELD {
            if ffi::lua_checkstack(state, nres + 1) == 0 {
                ffi::lua_pop(co, nres);
                ffi::lua_pushboolean(state, 0);
                ffi::lua_pushstring(state, c"too many results to resume".as_ptr());
                return 2;
            }
            ffi::lua_pushboolean(state, 1);
            ffi::lua_xmove(co, state, nres);
            nres + 1
        } else {
            ffi::lua_pushboolean(state, 0);
            ffi::lua_xmove(co, state, 1);
            2
        }
    }
}

/// The functions `prelude.lua` needs from here: `slice_resume`, `preempt_yield`, `pause`, and a host call that
/// never finishes (whose yield teaches the prelude the PENDING marker).
pub(crate) fn functions(
    lua: &mlua::Lua,
) -> mlua::Result<(mlua::Function, mlua::Function, mlua::Function, mlua::Function)> {
    // SAFETY: both follow the C function protocol (balanced stack, return their result count or lua_yield's).
    let resume = unsafe { lua.create_c_function(slice_resume)? };
    let preempt = unsafe { lua.create_c_function(preempt_yield)? };
    let pause = lua.create_async_function(|_, ()| async {
        tokio::task::yield_now().await;
        Ok(())
    })?;
    let probe = lua.create_async_function(|_, ()| async {
        std::future::pending::<()>().await;
        Ok(())
    })?;
    Ok((resume, preempt, pause, probe))
}
