//! `process.host` and `terminal.host`: where processes run.

use std::time::Duration;

use super::supervision::parse_lifecycle;
use crate::registry::fields::{Fields, Sink};

/// `process.host`: a scheduling domain for processes.
#[derive(Debug, Clone)]
pub(crate) struct ProcessHostEntry {
    /// How many processes run guest code at the same moment.
    pub workers: usize,
    /// How many processes may be alive at once.
    pub max_processes: usize,
    /// How many spawned processes may wait for a worker before a spawn is refused.
    pub queue_size: usize,
    /// How long a cancelled process has to finish before it is terminated.
    pub cancel_timeout: Duration,
    /// How many messages may wait in one process's mailbox (SPEC §10); a send past it is UNAVAILABLE.
    pub mailbox_size: usize,
    /// How many bytes of payload may wait in one process's mailbox.
    pub mailbox_bytes: u64,
    /// The WASM memory its processes may reserve in all (beyond the host-wide budget), if set.
    pub memory_budget: Option<u64>,
}

/// The default `host.mailbox_size`.
pub(crate) const DEFAULT_MAILBOX_SIZE: usize = 65_536;

/// The default `host.mailbox_bytes`: 64 MiB.
pub(crate) const DEFAULT_MAILBOX_BYTES: u64 = 64 << 20;

/// `terminal.host`: binds stdin/stdout/stderr for CLI commands.
#[derive(Debug, Clone)]
pub(crate) struct TerminalHostEntry {
    /// Hide log output while a command runs. Read and validated; the CLI does not act on it yet.
    #[allow(dead_code)]
    pub hide_logs: bool,
}

/// The default number of workers of a `process.host`: the machine's cores.
pub(crate) fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The most worker threads a `process.host` may have.
pub(crate) const MAX_WORKERS: u64 = 1024;

/// The most processes a `process.host` may hold.
pub(crate) const MAX_PROCESSES: u64 = 10_000_000;

pub(super) fn parse_process_host(f: &mut Fields<'_>, sink: &mut Sink<'_>) -> Option<ProcessHostEntry> {
    let mut host = ProcessHostEntry {
        workers: default_workers(),
        max_processes: 100_000,
        queue_size: 1024,
        cancel_timeout: Duration::from_secs(5),
        mailbox_size: DEFAULT_MAILBOX_SIZE,
        mailbox_bytes: DEFAULT_MAILBOX_BYTES,
        memory_budget: None,
    };
    if let Some(n) = f.node("host") {
        let mut h = Fields::new(n, "`host`", sink)?;
        if let Some(w) = h.uint_in("workers", 1..=MAX_WORKERS, sink) {
            host.workers = w as usize;
        }
        if let Some(m) = h.uint_in("max_processes", 1..=MAX_PROCESSES, sink) {
            host.max_processes = m as usize;
        }
        if let Some(q) = h.uint_in("queue_size", 0..=super::wasm::MAX_QUEUE, sink) {
            host.queue_size = q as usize;
        }
        let most = Duration::from_millis(super::wasm::MAX_TIMEOUT_MS);
        if let Some(c) = h.duration_in("cancel_timeout", Duration::ZERO..=most, sink) {
            host.cancel_timeout = c;
        }
        if let Some(m) = h.uint_in("mailbox_size", 1..=1 << 24, sink) {
            host.mailbox_size = m as usize;
        }
        if let Some(b) = h.byte_size_in("mailbox_bytes", 1 << 10..=64 << 30, sink) {
            host.mailbox_bytes = b;
        }
        host.memory_budget = h.byte_size_in("memory_budget", 1 << 20..=1 << 50, sink);
        h.finish(sink);
    }
    if let Some(n) = f.node("lifecycle") {
        // Hosts are always running; the block is accepted for symmetry with services and validated.
        parse_lifecycle("", n, sink);
    }
    Some(host)
}
