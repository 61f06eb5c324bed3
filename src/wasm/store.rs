//! The state inside every wasmtime `Store`: one per call or process instance.
//!
//! [`StoreState`] carries what host imports need: the entry ID (for capability and limit messages), the resource
//! limiter, the WASI context, and the caller's security context. Each import group reaches its part through a small
//! view trait ([`wasmtime_wasi::WasiView`] for WASI), never through the whole struct.
//!
//! The WASI context is built lazily, on the first WASI call: a pure function that never touches WASI pays nothing for
//! it. Values that must be checked at instantiation (required environment variables) are resolved before the guest
//! runs, by [`super::code`], and handed in with the entry's [`WasiSetup`].

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::imports::stdio::LogTag;
use super::imports::wasi::{Orphan, Stdio, WasiSetup};
use crate::error::LimitExceeded;
use crate::id::EntryId;
use crate::process::{CallEnv, MemoryBudget, Pid, ProcessContext, Record};

/// The largest table a guest may grow to, in elements.
pub(super) const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Enforces `max_memory` and the table limit.
pub(crate) struct Limiter {
    /// `max_memory` in bytes, if set.
    pub max_memory: Option<u64>,
    /// The memory budgets the instance charges (the host's, and its process host's if that has one).
    pub budgets: Vec<Arc<MemoryBudget>>,
    /// What it has charged them so far, given back when the store is dropped.
    charged: u64,
    /// The process whose accounting sees the instance's memory and fuel ([`crate::process::Record`]'s stats).
    pub(crate) meter: Option<Arc<Record>>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter").field("max_memory", &self.max_memory).field("charged", &self.charged).finish()
    }
}

impl Limiter {
    /// Tells the metered process how much of its `initial` fuel the instance consumed (`left` is the store's
    /// fuel now).
    pub(crate) fn report_fuel(&self, initial: u64, left: wasmtime::Result<u64>) {
        if let (Some(r), Ok(left)) = (&self.meter, left) {
            r.stats.set_fuel(initial.saturating_sub(left));
        }
    }

    /// A limiter for `max_memory` that charges `budgets`.
    pub(crate) fn new(max_memory: Option<u64>, budgets: Vec<Arc<MemoryBudget>>) -> Limiter {
        Limiter { max_memory, budgets, charged: 0, meter: None }
    }

    /// Charges `bytes` to every budget, or to none; the budget that refused otherwise.
    fn charge(&mut self, bytes: u64) -> Result<(), &Arc<MemoryBudget>> {
        for (i, b) in self.budgets.iter().enumerate() {
            if !b.try_take(bytes) {
                self.budgets[..i].iter().for_each(|taken| taken.give_back(bytes));
                return Err(&self.budgets[i]);
            }
        }
        self.charged += bytes;
        if let Some(r) = &self.meter {
            r.stats.set_memory(self.charged);
        }
        Ok(())
    }
}

impl Drop for Limiter {
    fn drop(&mut self) {
        for b in &self.budgets {
            b.give_back(self.charged);
        }
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if let Some(limit) = self.max_memory {
            if desired as u64 > limit {
                return Err(wasmtime::Error::new(LimitExceeded::Memory { desired: desired as u64, limit }));
            }
        }
        let more = desired.saturating_sub(current) as u64;
        match self.charge(more) {
            Ok(()) => Ok(true),
            // A memory being created: the instantiation fails with the budget's name.
            Err(b) if current == 0 => Err(wasmtime::Error::new(LimitExceeded::MemoryBudget {
                setting: b.setting().to_owned(),
                desired: more,
                used: b.used(),
                limit: b.limit(),
            })),
            // A growth: it fails inside the guest (`memory.grow` returns -1).
            Err(_) => Ok(false),
        }
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            return Err(wasmtime::Error::new(LimitExceeded::Table { desired, limit: MAX_TABLE_ELEMENTS }));
        }
        Ok(true)
    }
}

/// The data of every store.
pub(crate) struct StoreState {
    /// The entry this instance runs.
    pub entry: EntryId,
    /// Memory and table limits.
    pub limiter: Limiter,
    /// Host resources handed to the guest.
    pub table: ResourceTable,
    /// When the current call must end (`max_execution_ms`), checked at every epoch tick.
    pub deadline: Option<(std::time::Instant, u64)>,
    /// The process this instance runs as, for process instances.
    pub process: Option<Box<ProcessContext>>,
    /// What the invocation runs with: the process system (and its function table), the security context it runs
    /// under (inherited by every call and spawn it makes), and its call depth.
    pub env: CallEnv,
    /// Streams dropped by the guest while their pollables lived; deleted with their last pollable.
    pub orphans: Vec<Orphan>,
    stdio: Stdio,
    wasi_setup: Arc<WasiSetup>,
    wasi_env: Vec<(String, String)>,
    // Boxed, and built on first use: the store state is moved several times while a store is created, and these
    // contexts are large (a call that uses no WASI never builds them).
    wasi: Option<Box<WasiCtx>>,
    wasi_p1: Option<Box<WasiP1Ctx>>,
    http: Option<Box<WasiHttpCtx>>,
}

impl StoreState {
    /// Fresh state for one instance of `entry`, with its environment already resolved.
    pub(crate) fn new(
        entry: EntryId,
        env: CallEnv,
        limiter: Limiter,
        wasi_setup: Arc<WasiSetup>,
        wasi_env: Vec<(String, String)>,
    ) -> Self {
        let stdio = Stdio::Log(Arc::new(LogTag { entry: entry.clone(), pid: None }));
        StoreState {
            entry,
            limiter,
            table: ResourceTable::new(),
            deadline: None,
            process: None,
            env,
            orphans: Vec::new(),
            stdio,
            wasi_setup,
            wasi_env,
            wasi: None,
            wasi_p1: None,
            http: None,
        }
    }

    /// Routes stdio to the real terminal (processes on the `terminal.host`).
    pub(crate) fn use_terminal(&mut self) {
        self.stdio = Stdio::Terminal;
    }

    /// Tags logged output with the process's PID.
    pub(crate) fn tag_pid(&mut self, pid: Pid) {
        self.stdio = Stdio::Log(Arc::new(LogTag { entry: self.entry.clone(), pid: Some(pid) }));
    }

    /// The WASI preview 1 context of a core module, built on first use.
    pub(crate) fn wasi_p1(&mut self) -> &mut WasiP1Ctx {
        let (setup, env, stdio) = (&self.wasi_setup, &self.wasi_env, &self.stdio);
        self.wasi_p1.get_or_insert_with(|| Box::new(setup.builder(env, stdio).build_p1()))
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let (setup, env, stdio) = (&self.wasi_setup, &self.wasi_env, &self.stdio);
        let ctx = self.wasi.get_or_insert_with(|| Box::new(setup.builder(env, stdio).build()));
        WasiCtxView { ctx, table: &mut self.table }
    }
}

impl WasiHttpView for StoreState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: wasmtime_wasi_http::default_hooks(),
            table: &mut self.table,
            ctx: self.http.get_or_insert_with(|| Box::new(WasiHttpCtx::new())),
        }
    }
}
