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
}

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

pub(super) fn parse_process_host(f: &mut Fields<'_>, sink: &mut Sink<'_>) -> Option<ProcessHostEntry> {
    let mut host = ProcessHostEntry {
        workers: default_workers(),
        max_processes: 100_000,
        queue_size: 1024,
        cancel_timeout: Duration::from_secs(5),
    };
    if let Some(n) = f.node("host") {
        let mut h = Fields::new(n, "`host`", sink)?;
        if let Some(w) = h.uint("workers", sink) {
            host.workers = w as usize;
        }
        if let Some(m) = h.uint("max_processes", sink) {
            host.max_processes = m as usize;
        }
        if let Some(q) = h.uint("queue_size", sink) {
            host.queue_size = q as usize;
        }
        if let Some(c) = h.duration("cancel_timeout", sink) {
            host.cancel_timeout = c;
        }
        if host.workers == 0 || host.max_processes == 0 {
            sink.error(n.pos, "`host.workers` and `host.max_processes` must be at least 1");
        }
        h.finish(sink);
    }
    if let Some(n) = f.node("lifecycle") {
        // Hosts are always running; the block is accepted for symmetry with services and validated.
        parse_lifecycle("", n, sink);
    }
    Some(host)
}
