//! Embedded Lua 5.4 (see `docs/lua.md`): `function.lua`, `process.lua` and `library.lua` entries, and the built-in modules
//! `funcs`, `process`, `time` and `channel`.
//!
//! # Execution model
//! One Lua state per host ([`LuaEngine`], in [`engine`]). Every entry's source is compiled to bytecode once, at load (a syntax
//! error is a load error with the file and line). Every invocation — a function call or a process — gets:
//! - its own environment table, whose metatable falls back to a shared, sandboxed base (no `io`, `debug`, `load`,
//!   `dofile`; `os` reduced to time functions; `print` writes to the log, or to stdout for a process on the terminal
//!   host), so globals never leak between invocations;
//! - its own coroutine, driven by tokio: a Lua function that waits (`process.receive`, `time.sleep`, `funcs.call`,
//!   a channel) suspends its coroutine and frees the thread;
//! - a context ([`invocation`]) that the built-in modules read through a thread-local slot set around every poll of
//!   the coroutine. The module tables are shared by all invocations, so an idle Lua process costs a coroutine, an
//!   environment table and its process entry, not a copy of every module.
//!
//! Processes (`process.lua`) run in the same process actors as WASM processes ([`crate::process`]), with the
//! same PIDs, monitors, links, names and groups. A `function.lua` that needs a PID (to spawn monitored, receive, or
//! listen) gets one for the duration of the call, ended normally when the call returns.
//!
//! All invocations share the one Lua state and its standard library tables; entries of one project are one trust
//! domain. Lua code runs under the state's lock, so Lua execution does not run on two cores at once; WASM and host
//! work do.
//!
//! Errors name the entry, the file and the line (`app:worker: src/worker.lua:12: attempt to index a nil value`).
//!
//! Files: [`engine`] (the state, compilation, calls and processes), [`invocation`] (the per-invocation context),
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
