//! Wippy: a process host for WebAssembly.
//!
//! WASM modules declared as entries in YAML registry files run as **functions** (call in, value out) or as
//! **processes** (actors with a PID, a mailbox, monitors and links), and Lua scripts and Rust code call and
//! orchestrate them. The contract is `SPEC.md`; `ARCHITECTURE.md` walks through a call.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let host = wippy::Host::load("examples/quickstart")?;
//! let product = host.call("app:compute", vec![6.into(), 7.into()]).await?;
//! assert_eq!(product, wippy::Value::Int(42));
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`registry`]: project discovery, the positioned YAML reader, entry kinds and cross-reference checks; every
//!   problem becomes a [`registry::Diagnostic`] with `file:line:col`.
//! - [`value`]: the one dynamic [`Value`] and its conversions (JSON, WIT).
//! - [`runtime`]: the wasmtime engine of a host (pooling allocator sizing, epoch ticker), compilation once per
//!   distinct binary, and the compiled-code disk cache.
//! - [`imports`]: capability groups, one file per host-import group, and the trapping stubs for ungranted imports.
//! - [`store`]: the per-instance store state, its view traits and the resource limiter.
//! - [`function`]: preparing an entry (`InstancePre`, method resolution, WIT signatures of core modules) and the
//!   call path; [`function::pool`] bounds concurrency per entry; [`function::http`] calls `transport: wasi-http`
//!   entries with a request map.
//! - [`lua`]: embedded Lua 5.4: `function.lua` / `process.lua` / `library.lua`, the `funcs`, `process`, `time` and
//!   `channel` modules, channels and `select`.
//! - [`process`]: processes as ractor actors (Init/Step/Close), PIDs, mailboxes, monitors, links, names, groups,
//!   and the Rust-side [`process::Client`].
//! - [`deploy`]: `process.service` and `process.supervisor` entries as supervision trees (on the `supervision`
//!   crate), and the [`deploy::Deployment`] that `wippy start` runs.
//! - [`host`]: [`Host`] and [`HostBuilder`], the Rust API.
//! - [`testing`]: the `wippy test` runner for Lua test functions.
//! - [`error`]: the [`CallError`] of calls.
//! - [`duration`]: `10s` / `250ms` duration text.
//!
//! The `wippy` binary (`src/main.rs`) is a thin CLI over [`Host`].

pub mod deploy;
pub mod duration;
pub mod error;
pub mod function;
pub mod host;
pub mod imports;
pub mod lua;
pub mod process;
pub mod registry;
pub mod runtime;
pub mod store;
pub mod testing;
pub mod value;

pub use error::{CallError, ProcessError};
pub use host::{Host, HostBuilder};
pub use process::{Client, Event, Exit, Message, Pid, Received, SecurityContext};
pub use registry::{Diagnostic, EntryId, LoadError, Registry};
pub use value::{Map, Value};
