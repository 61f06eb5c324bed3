//! What a running host shows of itself (SPEC §9): snapshots of its processes, the totals behind the dashboard, and
//! the Prometheus text with the gauges computed at scrape time. Everything here reads atomics and takes each
//! process's small locks one at a time; nothing stops a process.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use super::Host;
use crate::process::ProcessInfo;
use crate::telemetry::{Outcome, Sample, MAILBOX_BUCKETS};

/// The host's counters since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Totals {
    /// Processes spawned.
    pub spawned: u64,
    /// Processes that ended (every outcome).
    pub exited: u64,
    /// Processes that ended with an error.
    pub failed: u64,
    /// Processes terminated or killed.
    pub killed: u64,
    /// Messages queued into mailboxes.
    pub messages: u64,
    /// Messages refused by full mailboxes.
    pub dropped: u64,
    /// Services started again by their supervisor after an earlier instance.
    pub restarts: u64,
}

impl Host {
    /// Every live process of this host (not the Rust clients), in PID order.
    ///
    /// ```no_run
    /// # async fn f(host: wippy::Host) {
    /// for p in host.processes() {
    ///     println!("{} {:?} {:?} mailbox {}", p.pid, p.entry, p.state, p.mailbox);
    /// }
    /// # }
    /// ```
    pub fn processes(&self) -> Vec<ProcessInfo> {
        self.system().snapshot()
    }

    /// How many processes live on this host (not the Rust clients).
    pub fn live_processes(&self) -> usize {
        self.system().live_processes()
    }

    /// One live process, by PID.
    pub fn process_info(&self, pid: &str) -> Option<ProcessInfo> {
        self.system().process_info(pid)
    }

    /// The host's counters since it started.
    pub fn totals(&self) -> Totals {
        let t = &self.system().telemetry().totals;
        let (failed, killed) = (t.exits(Outcome::Error), t.exits(Outcome::Killed));
        Totals {
            spawned: t.spawned.load(Ordering::Relaxed),
            exited: t.exits(Outcome::Normal) + failed + killed,
            failed,
            killed,
            messages: t.messages_sent.load(Ordering::Relaxed),
            dropped: t.messages_dropped.load(Ordering::Relaxed),
            restarts: t.restarts.load(Ordering::Relaxed),
        }
    }

    /// The Prometheus exposition text of the host's metrics; `None` unless built with
    /// [`crate::HostBuilder::metrics`].
    pub fn metrics_text(&self) -> Option<String> {
        let telemetry = self.system().telemetry();
        if !telemetry.on() {
            return None;
        }
        telemetry.render(&self.gauges())
    }

    /// The gauges, computed from a snapshot now.
    fn gauges(&self) -> Vec<Sample> {
        let procs = self.processes();
        let mut live: BTreeMap<String, usize> = self.system().process_hosts().map(|h| (h.id.to_string(), 0)).collect();
        let (mut wasm, mut lua, mut deepest) = (0u64, 0u64, 0usize);
        let mut buckets = vec![0usize; MAILBOX_BUCKETS.len()];
        for p in &procs {
            *live.entry(p.host.clone().unwrap_or_default()).or_default() += 1;
            if p.fuel.is_some() {
                wasm += p.memory;
            } else {
                lua += p.memory;
            }
            deepest = deepest.max(p.mailbox);
            for (b, le) in buckets.iter_mut().zip(MAILBOX_BUCKETS) {
                *b += usize::from(p.mailbox <= *le);
            }
        }
        let mut out: Vec<Sample> =
            live.into_iter().map(|(h, n)| ("wippy_processes_live", vec![("host", h)], n as f64)).collect();
        out.push(("wippy_mailbox_depth_max", vec![], deepest as f64));
        for (b, le) in buckets.into_iter().zip(MAILBOX_BUCKETS) {
            out.push(("wippy_mailbox_depth_processes", vec![("le", le.to_string())], b as f64));
        }
        out.push(("wippy_mailbox_depth_processes", vec![("le", "+Inf".to_owned())], procs.len() as f64));
        out.push(("wippy_wasm_memory_bytes", vec![], wasm as f64));
        out.push(("wippy_lua_memory_bytes", vec![], lua as f64));
        for h in self.system().process_hosts() {
            out.push(("wippy_pool_queue_depth", vec![("host", h.id.to_string())], h.queued() as f64));
        }
        if let Some(c) = self.cluster() {
            out.push(("wippy_cluster_nodes", vec![], c.peers().len() as f64));
        }
        out
    }
}
