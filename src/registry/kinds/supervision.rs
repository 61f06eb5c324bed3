//! `process.service` and `process.supervisor`: supervised processes and the trees they form, with their lifecycle.

use std::time::Duration;

use super::{parse_ref, Ref};
use crate::registry::fields::{Fields, Sink};
use crate::registry::yaml::Node;
use crate::value::Value;

/// `lifecycle.restart` of a service: how its restarts are spaced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RestartPolicy {
    /// `initial_delay` (default 1 s).
    pub initial_delay: Duration,
    /// `max_delay` (default 90 s).
    pub max_delay: Duration,
    /// `backoff_factor` (default 2.0).
    pub backoff_factor: f64,
    /// `jitter` (default 0.1).
    pub jitter: f64,
    /// `max_attempts` (default 0 = unlimited).
    pub max_attempts: u32,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(90),
            backoff_factor: 2.0,
            jitter: 0.1,
            max_attempts: 0,
        }
    }
}

/// The `lifecycle` block (`docs/supervision.md`), with Wippy's defaults.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lifecycle {
    /// Started by `wippy start`.
    pub auto_start: bool,
    /// How long a start may take.
    pub start_timeout: Duration,
    /// How long a stop may take before the process is killed.
    pub stop_timeout: Duration,
    /// Running this long resets the restart attempt counter.
    pub stable_threshold: Duration,
    /// Started before this entry, stopped after it.
    pub requires: Vec<Ref>,
    /// Restart spacing.
    pub restart: RestartPolicy,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            auto_start: false,
            start_timeout: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(10),
            stable_threshold: Duration::from_secs(5),
            requires: Vec::new(),
            restart: RestartPolicy::default(),
        }
    }
}

/// `restart_type` of a service: the supervision crate's own type.
pub(crate) use supervision::RestartType;

/// `process.service`: a process kept running under supervision.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    /// The process entry it runs.
    pub process: Ref,
    /// The process host it runs on.
    pub host: Ref,
    /// The arguments.
    pub input: Vec<Value>,
    /// When it is restarted.
    pub restart_type: RestartType,
    /// Start, stop and restart behaviour.
    pub lifecycle: Lifecycle,
}

/// `strategy` of a supervisor: the supervision crate's own type.
pub(crate) use supervision::Strategy;

/// `process.supervisor`: an OTP supervisor over services and supervisors.
#[derive(Debug, Clone)]
pub(crate) struct SupervisorEntry {
    /// The strategy.
    pub strategy: Strategy,
    /// `intensity.max_restarts` (default 3).
    pub max_restarts: u32,
    /// `intensity.period` (default 5 s).
    pub period: Duration,
    /// The children, in start order.
    pub children: Vec<Ref>,
    /// Start and stop behaviour (`restart` spaces the supervisor's own restarts by its parent).
    pub lifecycle: Lifecycle,
    /// When its parent restarts it.
    pub restart_type: RestartType,
}

pub(super) fn parse_restart_type(f: &mut Fields<'_>, sink: &mut Sink<'_>) -> RestartType {
    match f.string("restart_type", sink) {
        None => RestartType::Permanent,
        Some((t, pos)) => match t.as_str() {
            "permanent" => RestartType::Permanent,
            "transient" => RestartType::Transient,
            "temporary" => RestartType::Temporary,
            other => {
                sink.error_hint(
                    pos,
                    format!("unknown restart type `{other}`"),
                    "use `permanent`, `transient` or `temporary`",
                );
                RestartType::Permanent
            }
        },
    }
}

/// The longest timeout, delay or period in the registry: a year (`wasm::MAX_TIMEOUT_MS`).
const MAX_TIMEOUT: Duration = Duration::from_millis(super::wasm::MAX_TIMEOUT_MS);

pub(super) fn parse_lifecycle(ns: &str, node: &Node, sink: &mut Sink<'_>) -> Lifecycle {
    let mut l = Lifecycle::default();
    let Some(mut f) = Fields::new(node, "`lifecycle`", sink) else { return l };
    if let Some(b) = f.bool("auto_start", sink) {
        l.auto_start = b;
    }
    if let Some(d) = f.duration_in("start_timeout", Duration::ZERO..=MAX_TIMEOUT, sink) {
        l.start_timeout = d;
    }
    if let Some(d) = f.duration_in("stop_timeout", Duration::ZERO..=MAX_TIMEOUT, sink) {
        l.stop_timeout = d;
    }
    if let Some(d) = f.duration_in("stable_threshold", Duration::ZERO..=MAX_TIMEOUT, sink) {
        l.stable_threshold = d;
    }
    for (r, pos) in f.string_list("requires", sink).unwrap_or_default() {
        if let Some(r) = parse_ref(ns, &r, pos, "requires", sink) {
            l.requires.push(r);
        }
    }
    if let Some(n) = f.node("restart") {
        if let Some(mut r) = Fields::new(n, "`lifecycle.restart`", sink) {
            if let Some(d) = r.duration_in("initial_delay", Duration::ZERO..=MAX_TIMEOUT, sink) {
                l.restart.initial_delay = d;
            }
            if let Some(d) = r.duration_in("max_delay", Duration::ZERO..=MAX_TIMEOUT, sink) {
                l.restart.max_delay = d;
            }
            if let Some(x) = r.float_in("backoff_factor", 1.0..=1000.0, sink) {
                l.restart.backoff_factor = x;
            }
            if let Some(x) = r.float_in("jitter", 0.0..=1.0, sink) {
                l.restart.jitter = x;
            }
            if let Some(x) = r.uint_in("max_attempts", 0..=u64::from(u32::MAX), sink) {
                l.restart.max_attempts = x as u32;
            }
            r.finish(sink);
        }
    }
    f.finish(sink);
    l
}

pub(super) fn parse_service(ns: &str, f: &mut Fields<'_>, sink: &mut Sink<'_>) -> Option<Service> {
    let process = f.required_string("process", sink).and_then(|(t, p)| parse_ref(ns, &t, p, "process", sink));
    let host = f.required_string("host", sink).and_then(|(t, p)| parse_ref(ns, &t, p, "host", sink));
    let input = match f.node("input") {
        None => Vec::new(),
        Some(n) => match n.to_value() {
            Value::List(items) => items,
            _ => {
                sink.error_hint(n.pos, "field `input` must be a list of arguments", "write `input: [6, 7]`");
                Vec::new()
            }
        },
    };
    let restart_type = parse_restart_type(f, sink);
    let lifecycle = f.node("lifecycle").map(|n| parse_lifecycle(ns, n, sink)).unwrap_or_default();
    Some(Service { process: process?, host: host?, input, restart_type, lifecycle })
}

pub(super) fn parse_supervisor(ns: &str, f: &mut Fields<'_>, sink: &mut Sink<'_>) -> Option<SupervisorEntry> {
    let strategy = match f.string("strategy", sink) {
        None => Strategy::OneForOne,
        Some((t, pos)) => match t.as_str() {
            "one_for_one" => Strategy::OneForOne,
            "one_for_all" => Strategy::OneForAll,
            "rest_for_one" => Strategy::RestForOne,
            other => {
                sink.error_hint(
                    pos,
                    format!("unknown strategy `{other}`"),
                    "use `one_for_one`, `one_for_all` or `rest_for_one`",
                );
                Strategy::OneForOne
            }
        },
    };
    let (mut max_restarts, mut period) = (3u32, Duration::from_secs(5));
    if let Some(n) = f.node("intensity") {
        if let Some(mut i) = Fields::new(n, "`intensity`", sink) {
            if let Some(m) = i.uint_in("max_restarts", 0..=u64::from(u32::MAX), sink) {
                max_restarts = m as u32;
            }
            if let Some(p) = i.duration_in("period", Duration::from_millis(1)..=MAX_TIMEOUT, sink) {
                period = p;
            }
            i.finish(sink);
        }
    }
    let has_children = f.has("children");
    let children: Vec<Ref> = f
        .string_list("children", sink)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(c, pos)| parse_ref(ns, &c, pos, "children", sink))
        .collect();
    if !has_children {
        sink.error(f.pos, "missing required field `children` in entry");
    }
    let restart_type = parse_restart_type(f, sink);
    let lifecycle = f.node("lifecycle").map(|n| parse_lifecycle(ns, n, sink)).unwrap_or_default();
    Some(SupervisorEntry { strategy, max_restarts, period, children, lifecycle, restart_type })
}
