//! The metrics of one host (SPEC §9): counters the process system and the function table keep while they run, and
//! their rendering as Prometheus text for the admin endpoint.
//!
//! Counting is plain relaxed atomics on the hot paths, handed to the exporter only when it renders, so a scrape
//! costs the scraper and a call or spawn pays a few additions. Totals (spawns, exits by outcome, messages sent and
//! dropped, restarts, fuel) are always kept: the dashboard reads them too. Calls by entry and outcome, with their
//! duration in fixed buckets ([`CallMetrics`]), are kept only when metrics are on ([`Telemetry::on`]); off, a call
//! pays one branch. (The exporter's own histograms keep every sample until the next scrape and pin an epoch per
//! sample: 150 instructions a call, where the 2% budget of SPEC §9 is about 300.) Gauges (live processes, mailbox
//! depths, memory, queue depths, cluster nodes) are computed at scrape time by the caller of
//! [`Telemetry::render`].
//!
//! Each host owns its recorder (`metrics-exporter-prometheus`, never installed as the process-global recorder), so
//! two hosts in one process keep separate metrics; every value it holds is bounded by the entries and labels.

use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::{Arc, Mutex};

use metrics::{Key, Label, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Bucket bounds of the call-duration histogram, in seconds.
const CALL_BUCKETS: &[f64] = &[0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

/// Bucket bounds of the mailbox-depth gauges, in messages.
pub(crate) const MAILBOX_BUCKETS: &[usize] = &[0, 1, 10, 100, 1_000, 10_000, 65_536];

/// How a process ended, as the exit counters count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It returned.
    Normal,
    /// It failed (a trap, a limit, an error it returned or raised).
    Error,
    /// It was terminated or killed.
    Killed,
}

/// The counters every host keeps.
#[derive(Default)]
pub(crate) struct Totals {
    pub(crate) spawned: AtomicU64,
    exits: [AtomicU64; 3],
    pub(crate) messages_sent: AtomicU64,
    pub(crate) messages_dropped: AtomicU64,
    pub(crate) restarts: AtomicU64,
    pub(crate) fuel: AtomicU64,
}

impl Totals {
    /// Counts one more.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an exit.
    pub(crate) fn exited(&self, outcome: Outcome) {
        self.exits[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Exits so far with `outcome`.
    pub(crate) fn exits(&self, outcome: Outcome) -> u64 {
        self.exits[outcome as usize].load(Ordering::Relaxed)
    }
}

/// The call metrics of one function entry, kept as plain atomics (a call pays two clock readings, a bucket search
/// and four relaxed additions) and handed to the exporter as counters when it renders.
pub(crate) struct CallMetrics {
    entry: String,
    ok: AtomicU64,
    error: AtomicU64,
    /// Calls per duration bucket (not cumulative; the last one is `+Inf`).
    buckets: [AtomicU64; CALL_BUCKETS.len() + 1],
    /// Total duration in nanoseconds.
    sum_ns: AtomicU64,
}

impl CallMetrics {
    /// Counts a call that started at `started` (a [`now`] reading).
    pub(crate) fn record(&self, ok: bool, started: quanta::Instant) {
        let took = now().duration_since(started);
        if ok { &self.ok } else { &self.error }.fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        let i = CALL_BUCKETS.iter().position(|b| secs <= *b).unwrap_or(CALL_BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Writes them into the recorder: calls by outcome, and the duration as a Prometheus histogram (cumulative
    /// `_bucket` counters by `le`, `_sum` in seconds, `_count`).
    fn render(&self, r: &PrometheusRecorder) {
        let entry = || Label::new("entry", self.entry.clone());
        let counter = |name: &'static str, labels: Vec<Label>, v: u64| {
            r.register_counter(&Key::from_parts(name, labels), &meta()).absolute(v);
        };
        let (ok, error) = (self.ok.load(Ordering::Relaxed), self.error.load(Ordering::Relaxed));
        counter("wippy_calls_total", vec![entry(), Label::new("outcome", "ok")], ok);
        counter("wippy_calls_total", vec![entry(), Label::new("outcome", "error")], error);
        let mut cumulative = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            cumulative += b.load(Ordering::Relaxed);
            let le = CALL_BUCKETS.get(i).map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
            counter("wippy_call_duration_seconds_bucket", vec![entry(), Label::new("le", le)], cumulative);
        }
        counter("wippy_call_duration_seconds_count", vec![entry()], cumulative);
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        r.register_gauge(&Key::from_parts("wippy_call_duration_seconds_sum", vec![entry()]), &meta()).set(sum);
    }
}

/// The clock calls are timed with (TSC-based, cheaper than the system clock).
pub(crate) fn now() -> quanta::Instant {
    quanta::Instant::now()
}

/// A gauge sample for [`Telemetry::render`]: name, labels, value.
pub(crate) type Sample = (&'static str, Vec<(&'static str, String)>, f64);

/// The metrics of one host.
pub(crate) struct Telemetry {
    /// The totals, kept whether metrics are on or off.
    pub(crate) totals: Totals,
    recorder: Option<(PrometheusRecorder, PrometheusHandle)>,
    calls: Mutex<Vec<Arc<CallMetrics>>>,
}

impl Telemetry {
    /// Metrics on (a recorder) or off (only the totals).
    pub(crate) fn new(on: bool) -> Telemetry {
        let recorder = on.then(|| {
            // The clock calibrates on its first reading: here, while the host is built, not in its first call.
            let _ = now();
            let recorder = PrometheusBuilder::new().build_recorder();
            describe(&recorder);
            let handle = recorder.handle();
            (recorder, handle)
        });
        Telemetry { totals: Totals::default(), recorder, calls: Mutex::default() }
    }

    /// Whether metrics are on.
    pub(crate) fn on(&self) -> bool {
        self.recorder.is_some()
    }

    /// The call metrics of function entry `entry`; `None` while metrics are off.
    pub(crate) fn calls(&self, entry: &str) -> Option<Arc<CallMetrics>> {
        self.recorder.as_ref()?;
        let m = Arc::new(CallMetrics {
            entry: entry.to_owned(),
            ok: AtomicU64::new(0),
            error: AtomicU64::new(0),
            buckets: Default::default(),
            sum_ns: AtomicU64::new(0),
        });
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).push(m.clone());
        Some(m)
    }

    /// The Prometheus text: the totals, the call metrics and the gauges in `samples`. `None` while metrics are
    /// off.
    pub(crate) fn render(&self, samples: &[Sample]) -> Option<String> {
        let (r, h) = self.recorder.as_ref()?;
        let t = &self.totals;
        let counter = |name: &'static str, labels: Vec<Label>, v: u64| {
            r.register_counter(&Key::from_parts(name, labels), &meta()).absolute(v);
        };
        counter("wippy_processes_spawned_total", vec![], t.spawned.load(Ordering::Relaxed));
        for (o, name) in [(Outcome::Normal, "normal"), (Outcome::Error, "error"), (Outcome::Killed, "killed")] {
            counter("wippy_process_exits_total", vec![Label::new("outcome", name)], t.exits(o));
        }
        counter("wippy_messages_sent_total", vec![], t.messages_sent.load(Ordering::Relaxed));
        counter("wippy_messages_dropped_total", vec![], t.messages_dropped.load(Ordering::Relaxed));
        counter("wippy_restarts_total", vec![], t.restarts.load(Ordering::Relaxed));
        counter("wippy_fuel_consumed_total", vec![], t.fuel.load(Ordering::Relaxed));
        for c in self.calls.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            c.render(r);
        }
        for (name, labels, v) in samples {
            let labels = labels.iter().map(|(k, v)| Label::new(*k, v.clone())).collect::<Vec<_>>();
            r.register_gauge(&Key::from_parts(*name, labels), &meta()).set(*v);
        }
        Some(h.render())
    }
}

fn meta() -> Metadata<'static> {
    Metadata::new("wippy", metrics::Level::INFO, Some(module_path!()))
}

/// HELP lines for every metric.
fn describe(r: &PrometheusRecorder) {
    let text = |s: &'static str| SharedString::const_str(s);
    for (name, help) in [
        ("wippy_processes_spawned_total", "Processes spawned on this host."),
        ("wippy_process_exits_total", "Processes ended, by outcome (normal, error, killed)."),
        ("wippy_messages_sent_total", "Messages queued into mailboxes of this host's processes."),
        ("wippy_messages_dropped_total", "Messages refused because a mailbox was full."),
        ("wippy_restarts_total", "Services started again by their supervisor after an earlier instance."),
        ("wippy_fuel_consumed_total", "WASM fuel consumed by processes that ended."),
        ("wippy_calls_total", "Function calls by entry and outcome."),
    ] {
        r.describe_counter(name.into(), None, text(help));
    }
    for (suffix, help) in [
        ("bucket", "Function calls by entry that took at most `le` seconds."),
        ("count", "Function calls by entry that were timed."),
    ] {
        let name = format!("wippy_call_duration_seconds_{suffix}");
        r.describe_counter(name.into(), Some(Unit::Seconds), text(help));
    }
    let sum = "wippy_call_duration_seconds_sum";
    r.describe_gauge(sum.into(), Some(Unit::Seconds), text("Time spent in function calls by entry."));
    for (name, help) in [
        ("wippy_processes_live", "Live processes, by process host."),
        ("wippy_mailbox_depth_max", "The deepest mailbox, in messages."),
        ("wippy_mailbox_depth_processes", "Live processes whose mailbox holds at most `le` messages."),
        ("wippy_wasm_memory_bytes", "Linear memory of live WASM processes."),
        ("wippy_lua_memory_bytes", "Heap of live Lua processes."),
        ("wippy_pool_queue_depth", "Processes waiting for a worker, by process host."),
        ("wippy_cluster_nodes", "Other nodes connected to this one."),
    ] {
        r.describe_gauge(name.into(), None, text(help));
    }
}
