//! Per-process accounting (SPEC §9): what a process is doing, how long it has lived, how much CPU and memory it
//! takes. Kept in plain atomics on its [`super::Record`] while the process runs, read by snapshots
//! ([`System::snapshot`]) without stopping it.
//!
//! The state is derived, not pushed by the engines: a process whose Step is being polled is `running`; one whose
//! Step is pending waits, `calling` while a `funcs` call of its invocation is in flight and `receiving` otherwise
//! (its mailbox, a channel or a timer); `exiting` from the moment it ends until it is finalized. CPU is the time
//! its Step spent being polled ([`Metered`]), the same measure for every guest language; engines add what only they
//! know: WASM the fuel consumed and the linear memory, Lua the heap of its state ([`Stats::set_memory`],
//! [`Stats::set_fuel`]). Values are updated with relaxed atomics: a snapshot may be a poll behind, never torn.
//! A process knows nothing of supervision: the supervisor path and restart count of a [`ProcessInfo`] are filled
//! in by whoever holds the deployment (the admin endpoint).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::record::Record;
use super::{Pid, System};

/// What a process is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcessState {
    /// Its guest code is running.
    Running,
    /// Waiting in receive, on a channel or a timer.
    Receiving,
    /// Waiting on a function call.
    Calling,
    /// Ended, being finalized.
    Exiting,
}

/// The live counters of one process.
pub(crate) struct Stats {
    started: Instant,
    polled: AtomicBool,
    calls: AtomicU32,
    exiting: AtomicBool,
    cpu_ns: AtomicU64,
    memory: AtomicU64,
    /// Fuel consumed; `u64::MAX` while unknown (not a WASM process).
    fuel: AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            started: Instant::now(),
            polled: AtomicBool::new(false),
            calls: AtomicU32::new(0),
            exiting: AtomicBool::new(false),
            cpu_ns: AtomicU64::new(0),
            memory: AtomicU64::new(0),
            fuel: AtomicU64::new(u64::MAX),
        }
    }
}

impl Stats {
    /// The memory the process's guest holds now (WASM linear memory, Lua heap), in bytes.
    pub(crate) fn set_memory(&self, bytes: u64) {
        self.memory.store(bytes, Ordering::Relaxed);
    }

    /// The fuel the process's WASM instance consumed so far.
    pub(crate) fn set_fuel(&self, fuel: u64) {
        self.fuel.store(fuel.min(u64::MAX - 1), Ordering::Relaxed);
    }

    /// The fuel consumed, for a WASM process.
    pub(crate) fn fuel(&self) -> Option<u64> {
        let f = self.fuel.load(Ordering::Relaxed);
        (f != u64::MAX).then_some(f)
    }

    /// Marks a `funcs` call of the process's invocation as in flight until the guard drops.
    pub(crate) fn calling(&self) -> CallGuard<'_> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        CallGuard(self)
    }

    /// Marks the process as ending.
    pub(crate) fn set_exiting(&self) {
        self.exiting.store(true, Ordering::Relaxed);
    }

    /// What it is doing now.
    pub(crate) fn state(&self) -> ProcessState {
        if self.exiting.load(Ordering::Relaxed) {
            ProcessState::Exiting
        } else if self.polled.load(Ordering::Relaxed) {
            ProcessState::Running
        } else if self.calls.load(Ordering::Relaxed) > 0 {
            ProcessState::Calling
        } else {
            ProcessState::Receiving
        }
    }
}

/// Ends a call mark of [`Stats::calling`].
pub(crate) struct CallGuard<'a>(&'a Stats);

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        self.0.calls.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A future whose polls are counted as the process's running time.
pub(crate) struct Metered<'a, F> {
    stats: &'a Stats,
    fut: F,
}

impl<'a, F> Metered<'a, F> {
    /// Meters `fut` into `stats`.
    pub(crate) fn new(stats: &'a Stats, fut: F) -> Self {
        Metered { stats, fut }
    }
}

impl<F: Future + Unpin> Future for Metered<'_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        this.stats.polled.store(true, Ordering::Relaxed);
        let start = Instant::now();
        let r = Pin::new(&mut this.fut).poll(cx);
        let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        this.stats.cpu_ns.fetch_add(ns, Ordering::Relaxed);
        this.stats.polled.store(false, Ordering::Relaxed);
        r
    }
}

/// One process as a snapshot shows it (`/api/processes`, `wippy ps`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessInfo {
    /// Its PID.
    pub pid: String,
    /// The process entry it runs (`None` for a Rust client or a Lua function call holding a PID).
    pub entry: Option<String>,
    /// The process host it runs on.
    pub host: Option<String>,
    /// What it is doing.
    pub state: ProcessState,
    /// How long it has lived, in milliseconds.
    pub age_ms: u64,
    /// Messages waiting in its mailbox.
    pub mailbox: usize,
    /// Bytes of those messages.
    pub mailbox_bytes: u64,
    /// Memory its guest holds, in bytes (WASM linear memory, Lua heap).
    pub memory: u64,
    /// Time its guest code ran, in microseconds.
    pub cpu_us: u64,
    /// Fuel consumed (WASM only).
    pub fuel: Option<u64>,
    /// Processes linked to it.
    pub links: Vec<String>,
    /// Processes that receive its EXIT.
    pub monitors: Vec<String>,
    /// Names it holds.
    pub names: Vec<String>,
    /// Groups it is in.
    pub groups: Vec<String>,
    /// For a supervised service: the supervisors above it, from the root, then the service.
    pub supervisor: Vec<String>,
    /// For a supervised service: how often it was restarted.
    pub restarts: u32,
}

impl ProcessInfo {
    fn of(record: &Record) -> ProcessInfo {
        let s = &record.stats;
        let (messages, bytes) = record.mailbox.depth();
        let ctl = record.ctl();
        let strings = |pids: &[Pid]| pids.iter().map(|p| p.as_str().to_owned()).collect();
        ProcessInfo {
            pid: record.pid.as_str().to_owned(),
            entry: record.entry.as_ref().map(|e| e.to_string()),
            host: record.host.as_ref().map(|h| h.id.to_string()),
            state: s.state(),
            age_ms: millis(s.started.elapsed()),
            mailbox: messages,
            mailbox_bytes: bytes,
            memory: s.memory.load(Ordering::Relaxed),
            cpu_us: s.cpu_ns.load(Ordering::Relaxed) / 1000,
            fuel: s.fuel(),
            links: strings(&ctl.links),
            monitors: strings(&ctl.monitors),
            names: ctl.names.clone(),
            groups: ctl.groups.clone(),
            supervisor: Vec::new(),
            restarts: 0,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl System {
    /// Every live process of this host (not the Rust clients), in PID order.
    pub(crate) fn snapshot(&self) -> Vec<ProcessInfo> {
        let records: Vec<Arc<Record>> =
            self.table.iter().filter(|r| r.value().entry.is_some()).map(|r| r.value().clone()).collect();
        let mut out: Vec<ProcessInfo> = records.iter().map(|r| ProcessInfo::of(r)).collect();
        out.sort_by(|a, b| a.pid.cmp(&b.pid));
        out
    }

    /// One live process of this host (not a Rust client).
    pub(crate) fn process_info(&self, pid: &str) -> Option<ProcessInfo> {
        self.record(pid).filter(|r| r.entry.is_some()).map(|r| ProcessInfo::of(&r))
    }

    /// How many live processes (not Rust clients) this host has.
    pub(crate) fn live_processes(&self) -> usize {
        self.table.iter().filter(|r| r.value().entry.is_some()).count()
    }
}
