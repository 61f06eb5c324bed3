//! Lua states: a function call's own, or one shared by processes of an entry.
//!
//! A function call runs in a state of its own, taken from its entry's pool ([`StatePool`]) and given back when it
//! ends, so the cost of a call is a fresh environment table, not a new state. A process joins a state shared by up
//! to [`PROCESS_TENANTS`] processes of its entry ([`SharedState`]). Either way, what one invocation does (its
//! globals, coroutines, memory) cannot reach another, and invocations of different states run in parallel on
//! different threads; processes of one shared state take turns, one slice at a time (the state's [`Gate`]).
//!
//! What makes sharing and reuse safe:
//! - the base environment is not reachable from Lua: globals fall back to it through a metatable protected with
//!   `__metatable`, and the libraries and modules are read-only proxies (`rawset` and `pairs` do not give them
//!   away either);
//! - the resources an invocation started (timers, tickers, async calls) are stopped when it ends;
//! - `__gc` metamethods are ignored (as in Wippy, whose Lua has no finalizers), so no finalizer ever runs inside
//!   another invocation;
//! - `collectgarbage` offers only `count` (the caller's own bytes), `collect`, `step` and `isrunning`;
//! - a coroutine that user code saw (`coroutine.running`) is never reused for another invocation (`prelude.lua`);
//! - a function call's state that grew far beyond its size after setup is dropped.
//!
//! Memory: every state allocates through a [`Heap`], which charges each block to the invocation that allocated it
//! (its [`Tenant`]); each invocation may hold `limits.max_memory` (default [`DEFAULT_MAX_MEMORY`]); past it, an
//! allocation fails (after an emergency collection) with Lua's "not enough memory", which ends the invocation with a
//! limit error.

use std::sync::{Arc, Mutex};

use mlua::{
    AsyncThread, ChunkMode, Function, LightUserData, Lua, LuaOptions, MultiValue, StdLib, Table, Thread, ThreadStatus,
    Value as LuaValue,
};

use super::engine::LuaCode;
use super::heap::{self, Heap, Tenant};
use super::invocation::Gate;
use super::sandbox;
use crate::id::EntryMap;

/// The memory a Lua invocation may use when its entry sets no `limits.max_memory`: 64 MiB.
pub(crate) const DEFAULT_MAX_MEMORY: u64 = 64 << 20;

/// How many idle states an entry keeps for its next invocations.
pub(crate) const POOL_SIZE: usize = 16;

/// A released state that holds more than this many times its size after setup (plus a margin) is dropped.
const GROWTH_LIMIT: usize = 8;

/// The sentinel a trampoline returns first when the call failed; its address is its identity.
static FAIL_MARK: u8 = 0;

fn fail() -> LightUserData {
    LightUserData(std::ptr::addr_of!(FAIL_MARK) as *mut std::ffi::c_void)
}

/// Whether a value is the failure sentinel of the trampolines.
pub(crate) fn is_fail(v: &LuaValue) -> bool {
    matches!(v, LuaValue::LightUserData(p) if *p == fail())
}

/// A Lua state with its sandboxed base environment and the trampolines of `prelude.lua`.
pub(crate) struct LuaState {
    lua: Lua,
    /// Makes an entry's trampolines: `(chunk, name, chunkname, bytecode) -> invoke, start` (see [`Loaded`]).
    bind: Function,
    /// The driver: `(park, f, ...)` runs `f(...)` in a coroutine of its own (see `prelude.lua`).
    drive: Function,
    /// The loaded chunks of the entries that ran here.
    chunks: EntryMap<Loaded>,
    /// The driver coroutine of the last invocation, reused once it has finished.
    spare: Option<Thread>,
    /// Memory in use right after setup.
    baseline: usize,
    /// The accounts of the state's memory.
    heap: Arc<Heap>,
}

impl LuaState {
    /// A fresh state: only the string library is opened eagerly (string methods need it); the others load on
    /// first use.
    pub(crate) fn new() -> mlua::Result<LuaState> {
        let lua = Lua::new_with(StdLib::STRING, LuaOptions::default())?;
        let heap = Heap::new();
        heap::install(&lua, heap.clone())?;
        let native_coroutine = {
            lua.load_std_libs(StdLib::COROUTINE)?;
            let t: Table = lua.globals().get("coroutine")?;
            t
        };
        let (resume, preempt, pause, probe) = super::preempt::functions(&lua)?;
        let local_flag = lua.create_table()?;
        let env_meta = lua.create_table()?;
        lua.set_app_data(super::invocation::LocalFlag(local_flag.clone()));
        // SAFETY: `join_env` follows the C function protocol (it leaves the stack as it found it, returns 0).
        let join = unsafe { lua.create_c_function(join_env)? };
        let prelude =
            lua.load(prelude_bytecode()?).set_mode(ChunkMode::Binary).set_name("=wippy prelude").into_function()?;
        // SAFETY: `resolved` follows the C function protocol (it touches no Lua stack, returns 0).
        let resolved = unsafe { lua.create_c_function(resolved)? };
        let (bind, drive, coroutine): (Function, Function, Table) = prelude.call((
            fail(),
            native_coroutine,
            resume,
            preempt,
            pause,
            probe,
            join,
            lua.create_function(super::invocation::all_waiting_locally)?,
            local_flag,
            lua.create_function(|lua, ()| {
                let e = crate::ErrorValue::new("all coroutines blocked with no pending operations")
                    .with_kind(crate::value::kind::INTERNAL);
                super::modules::errors::object(lua, e)
            })?,
            env_meta.clone(),
            resolved,
        ))?;
        sandbox::build(&lua, coroutine, &env_meta)?;
        let baseline = heap.total();
        Ok(LuaState { lua, bind, drive, chunks: EntryMap::default(), spare: None, baseline, heap })
    }

    /// The Lua state.
    pub(crate) fn lua(&self) -> &Lua {
        &self.lua
    }

    /// The entry's trampolines in this state: its compiled chunk is loaded here once, and every invocation binds
    /// it to an environment of its own (`prelude.lua`).
    fn loaded(&mut self, code: &LuaCode) -> mlua::Result<&Loaded> {
        if !self.chunks.contains_key(&code.id) {
            let chunk = self
                .lua
                .load(&code.bytecode[..])
                .set_name(format!("@{}", code.chunk_name))
                .set_mode(ChunkMode::Binary)
                .into_function()?;
            let (invoke, start) = self.bind.call((
                chunk,
                self.lua.create_string(code.method.as_deref().unwrap_or("main"))?,
                self.lua.create_string(&code.chunk_name)?,
                self.lua.create_string(&code.bytecode)?,
            ))?;
            self.chunks.insert(code.id.clone(), Loaded { invoke, start });
        }
        self.chunks.get(&code.id).ok_or_else(|| mlua::Error::runtime("the entry's chunk is not loaded"))
    }

    /// An account of this state's memory for one invocation, which may hold `max` bytes.
    pub(crate) fn join(&self, max: u64) -> mlua::Result<Tenant> {
        self.heap.join(max).ok_or_else(|| mlua::Error::runtime("the Lua state has no room for another invocation"))
    }

    /// A driver coroutine and its first arguments, for one of the trampolines. The last invocation's driver is
    /// reused when it finished; one that did not (its invocation was dropped mid-way) is left to the collector.
    fn driver(&mut self, trampoline: Function, mut args: MultiValue) -> mlua::Result<(Thread, MultiValue)> {
        let park = !args.is_empty();
        args.push_front(LuaValue::Function(trampoline));
        args.push_front(LuaValue::Boolean(park));
        Ok((self.driver_thread()?, args))
    }

    /// A driver coroutine: the last one, when it finished, or a new one.
    fn driver_thread(&mut self) -> mlua::Result<Thread> {
        let thread = match self.spare.take() {
            Some(t) if t.status() == ThreadStatus::Finished => {
                t.reset(self.drive.clone())?;
                t
            }
            _ => self.lua.create_thread(self.drive.clone())?,
        };
        self.spare = Some(thread.clone());
        Ok(thread)
    }

    /// A driver that runs a whole process of `code`, and its run. It runs Init until [`take_resolved`] says so, and
    /// Step when resumed with the method's arguments. (Its first arguments, `false` for `park` and the trampoline,
    /// are pushed straight from here: no argument list to allocate.)
    pub(crate) fn starter(&mut self, code: &LuaCode) -> mlua::Result<(Thread, AsyncThread<MultiValue>)> {
        let thread = self.driver_thread()?;
        let run = thread.clone().into_async((false, &self.loaded(code)?.start))?;
        Ok((thread, run))
    }

    /// A driver that runs a whole function call of `code` with `args`.
    pub(crate) fn invoker(&mut self, code: &LuaCode, args: MultiValue) -> mlua::Result<(Thread, MultiValue)> {
        let invoke = self.loaded(code)?.invoke.clone();
        self.driver(invoke, args)
    }

    /// Whether the state may serve another invocation now that one ended: not when it grew far past its size after
    /// setup.
    pub(crate) fn release(&mut self) -> bool {
        if self.heap.total() > self.baseline * GROWTH_LIMIT + (1 << 20) {
            let _ = self.lua.gc_collect();
            return self.heap.total() <= self.baseline * GROWTH_LIMIT + (1 << 20);
        }
        true
    }
}

/// `join_env(chunk, holder)`: makes the first upvalue of the Lua function `chunk` (a main chunk's `_ENV`) the
/// first upvalue of the Lua function `holder`. Called only by `prelude.lua`, with a chunk and a closure over one
/// value; anything else is left alone.
unsafe extern "C-unwind" fn join_env(state: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
    use mlua::ffi;
    // SAFETY: a C function called by Lua with a valid state; both arguments are checked to be Lua functions, and
    // a Lua function always has an upvalue 1 to join when it has one at all (checked by lua_getupvalue).
    unsafe {
        let lua_fn = |i| ffi::lua_type(state, i) == ffi::LUA_TFUNCTION && ffi::lua_iscfunction(state, i) == 0;
        if !lua_fn(1) || !lua_fn(2) || ffi::lua_getupvalue(state, 1, 1).is_null() {
            return 0;
        }
        ffi::lua_pop(state, 1);
        if ffi::lua_getupvalue(state, 2, 1).is_null() {
            return 0;
        }
        ffi::lua_pop(state, 1);
        ffi::lua_upvaluejoin(state, 1, 1, 2, 1);
        0
    }
}

thread_local! {
    /// Set by `resolved` when a process's Init ends on this thread, read by the poll that ran it.
    static RESOLVED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `resolved()`: the driver of a process found its method and now waits for Step (`prelude.lua`, `step`).
unsafe extern "C-unwind" fn resolved(_: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
    RESOLVED.with(|r| r.set(true));
    0
}

/// Whether a process's Init ended on this thread since the last call (which clears it). A drive polled inside
/// another's poll reads its own flag before the outer poll returns.
pub(crate) fn take_resolved() -> bool {
    RESOLVED.with(|r| r.replace(false))
}

/// `prelude.lua`, compiled once per OS process without debug information: every state loads the same bytes, and
/// its functions take less memory in each.
fn prelude_bytecode() -> mlua::Result<&'static [u8]> {
    static BYTECODE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    if let Some(b) = BYTECODE.get() {
        return Ok(b);
    }
    let compiler = Lua::new_with(StdLib::NONE, LuaOptions::default())?;
    let f = compiler.load(include_str!("prelude.lua")).set_name("=wippy prelude").into_function()?;
    Ok(BYTECODE.get_or_init(|| f.dump(true)))
}

/// An entry's trampolines in a state, closures over its loaded chunk, method name, chunk name and bytecode (for an
/// invocation that needs a copy of the chunk, see `prelude.lua`, `top`).
struct Loaded {
    /// `(...) -> results | FAIL, raised`: a whole function call.
    invoke: Function,
    /// `() -> results | FAIL, raised`: a whole process, Init and Step.
    start: Function,
}

/// The states of one entry: idle states for function calls, each serving one invocation at a time, and states
/// shared by its processes.
///
/// A process joins a shared state as a tenant of its heap: up to [`PROCESS_TENANTS`] processes share one, each with
/// its own environment, coroutines, drive state and memory account, so an idle process costs those and a share of
/// the state, not a state of its own. New processes go round-robin over the states with room; while every open state
/// has a process, new states open up to [`OPEN_STATES`], so concurrent processes spread over several states (and so
/// over the workers: a state runs one slice at a time). A state is dropped when its last process leaves, unless it is
/// one of the open few.
#[derive(Default)]
pub(crate) struct StatePool {
    idle: Mutex<Vec<LuaState>>,
    shared: Mutex<Shared>,
}

/// How many processes share one state.
pub(crate) const PROCESS_TENANTS: usize = heap::MAX_TENANTS;

/// How many shared states with room an entry keeps open.
const OPEN_STATES: usize = 4;

/// The shared states with room, and where the round-robin stands.
#[derive(Default)]
struct Shared {
    open: Vec<Arc<SharedState>>,
    next: usize,
}

/// A state shared by processes of one entry. Its lock is held only to prepare an invocation (environment, chunk,
/// driver); the invocations themselves run under mlua's lock, one slice at a time.
pub(crate) struct SharedState {
    state: Mutex<LuaState>,
    heap: Arc<Heap>,
    /// The state's gate (see [`Gate`]).
    pub(crate) gate: Arc<Gate>,
    /// Whether it is in the pool's open list (changed under the pool's lock).
    listed: std::sync::atomic::AtomicBool,
}

impl SharedState {
    /// The state, for preparing an invocation.
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, LuaState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl StatePool {
    /// An idle state, or a new one.
    pub(crate) fn take(&self) -> mlua::Result<LuaState> {
        match self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            Some(s) => Ok(s),
            None => LuaState::new(),
        }
    }

    /// Keeps a released state for the next invocation, unless the pool is full.
    pub(crate) fn give_back(&self, state: LuaState) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < POOL_SIZE {
            idle.push(state);
        }
    }

    /// A place for a process that may hold `max` bytes: a shared state and its account there.
    pub(crate) fn join_shared(&self, max: u64) -> mlua::Result<(Arc<SharedState>, Tenant)> {
        use std::sync::atomic::Ordering;
        let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            // A new state only while every open one has a process: one process at a time uses one state.
            if shared.open.len() < OPEN_STATES && shared.open.iter().all(|s| s.heap.tenants() > 0) {
                let state = LuaState::new()?;
                let heap = state.heap.clone();
                let listed = std::sync::atomic::AtomicBool::new(true);
                let gate = Arc::default();
                shared.open.push(Arc::new(SharedState { state: Mutex::new(state), heap, gate, listed }));
            }
            let at = shared.next % shared.open.len();
            shared.next = at + 1;
            let state = shared.open[at].clone();
            let tenant = state.heap.join(max);
            if state.heap.tenants() >= PROCESS_TENANTS {
                state.listed.store(false, Ordering::Relaxed);
                shared.open.swap_remove(at);
            }
            if let Some(tenant) = tenant {
                return Ok((state, tenant));
            }
        }
    }

    /// A process left `state` (its account already given back): the state is listed again if it has room, and
    /// dropped if it is empty and enough others are open.
    pub(crate) fn leave_shared(&self, state: &Arc<SharedState>) {
        use std::sync::atomic::Ordering;
        let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        let tenants = state.heap.tenants();
        if !state.listed.load(Ordering::Relaxed) {
            if tenants < PROCESS_TENANTS {
                state.listed.store(true, Ordering::Relaxed);
                shared.open.push(state.clone());
            }
        } else if tenants == 0 && shared.open.len() > OPEN_STATES {
            state.listed.store(false, Ordering::Relaxed);
            shared.open.retain(|s| !Arc::ptr_eq(s, state));
        }
    }
}
