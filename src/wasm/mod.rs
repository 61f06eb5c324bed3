//! The WASM engine: wasmtime underneath, WASM entries as functions and processes on top.
//!
//! - [`engine`]: one wasmtime engine per host (pooling allocator sizing, the epoch ticker), compilation once per
//!   distinct binary, with the disk [`cache`] of compiled code; [`binary`] reads binaries and checks hashes.
//! - [`prepare()`](prepare::prepare): an entry's YAML fields to a [`code::Code`] (hash check, compile, signature, link), in named
//!   steps; [`signature`] reads `wit` signatures of core modules; [`exports`] finds the method among a component's
//!   exports.
//! - [`code`]: the call path (store, instantiate, call, map the result and the errors); [`store`] is the state of
//!   every store; [`http`] calls `transport: wasi-http` entries with a request map; [`pool`] bounds a function's
//!   concurrency.
//! - [`imports`]: the host functions, one file per capability group, and the trapping stubs for ungranted imports.
//! - [`program`]: how the host and the process model see WASM entries: [`WasmFunction`] (a function with its pool)
//!   and [`WasmProgram`] (a process: Init instantiates, Step calls the method, Close drops the store).
//!
//! Ordering and cancellation: a guest that sleeps, polls or receives suspends its fiber and gives its thread back;
//! every store yields at each epoch tick, so a spinning guest never holds a thread and can be terminated. Dropping
//! a call or a process's Step drops the fiber and the store, which returns the instance slot to the pool.

mod binary;
mod cache;
mod code;
mod engine;
mod exports;
mod http;
mod imports;
mod pool;
mod prepare;
mod program;
mod signature;
mod store;

pub(crate) use binary::sha256_hex;
pub(crate) use cache::default_dir as default_cache_dir;
pub(crate) use engine::{flat, vma_budget, EngineSettings, WasmEngine, DEFAULT_INSTANCE_SLOTS};
pub(crate) use imports::wasi::EnvSource;
pub(crate) use prepare::prepare;
pub(crate) use program::{WasmFunction, WasmProgram};
