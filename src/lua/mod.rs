//! Embedded Lua 5.4 (see `docs/lua.md`): `function.lua`, `process.lua` and `library.lua` entries, and the built-in
//! modules.
//!
//! # Execution model
//! Every entry's source is compiled to bytecode once, at load (a syntax error is a load error with the file and
//! line). Every invocation (a function call, or a process for its whole life) gets:
//! - a place in a Lua state ([`state`]): a state of its own for a call, taken from its entry's pool; a share of a
//!   state for a process, up to 64 processes of the entry per state;
//! - an account in that state's heap ([`heap`]): every block it allocates is charged to it, so `max_memory` and
//!   `collectgarbage("count")` are its own, also in a shared state;
//! - its own environment table, whose metatable falls back to the state's sandboxed base ([`sandbox`]: no `io`,
//!   `debug`, `load`; read-only libraries and modules), so globals never leak between invocations;
//! - its own coroutines, driven by tokio through the driver of `prelude.lua`: a Lua function that waits
//!   (`process.receive`, `time.sleep`, `funcs.call`, a channel) suspends the invocation and frees the thread, and
//!   code that never yields is preempted every slice ([`preempt`]);
//! - a context ([`invocation`]) that the built-in modules read through a thread-local slot set around every poll,
//!   which also enters the invocation's heap account and, for a process, passes its shared state's gate (one slice
//!   of a state at a time).
//!
//! Processes (`process.lua`) run in the same process actors as WASM processes ([`crate::process`]), with the
//! same PIDs, monitors, links, names and groups. A `function.lua` that needs a PID (to spawn monitored, receive, or
//! listen) gets one for the duration of the call, ended normally when the call returns. Lua work runs on every
//! worker thread of the host.
//!
//! Errors name the entry, the file and the line (`app:worker: src/worker.lua:12: attempt to index a nil value`).
//!
//! Files: [`engine`] (compilation, leases, calls and processes), [`state`] (states and their pools), [`heap`] (the
//! accounting allocator), [`invocation`] (the per-invocation context and the gate), [`preempt`] (time slices),
//! [`proc`] (a process's mailbox as channels), [`channel`] (channels and `select`), [`modules`] (one file per
//! built-in module), [`program`] (how the host and the process model see Lua entries).

mod channel;
mod engine;
mod globals;
mod heap;
mod invocation;
mod modules;
mod patterns;
mod preempt;
mod proc;
mod program;
mod sandbox;
mod state;
pub(crate) mod typed;

pub(crate) use engine::LuaEngine;
pub(crate) use program::{LuaFunction, LuaProgram};
