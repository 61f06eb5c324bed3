//! The function table of a host: every function entry by ID, whatever its engine.
//!
//! The table holds each function as the engine that prepared it offers it ([`Function`]): the builder registers a
//! WASM entry as a [`crate::wasm::WasmFunction`] and a Lua entry as a [`crate::lua::LuaFunction`], and a call
//! dispatches on nothing but the ID. The process system holds the table as its [`Functions`], so guests reach it
//! (`funcs`) from any invocation.
//!
//! A process entry with `meta.default_host` is callable too (SPEC §5.3): the call spawns it on that host with the
//! arguments, monitored, and its EXIT is the result (its value, or its error as the call's error). If the call is
//! dropped first (a deadline, a cancelled caller), the process is terminated.

use std::sync::Arc;

use tracing::Instrument;

use crate::error::CallError;
use crate::id::{EntryId, EntryMap};
use crate::process::{
    BoxFuture, CallEnv, Client, Event, Function, Functions, Pid, SpawnOptions, SpawnRequest, System, MAX_CALL_DEPTH,
};
use crate::registry::fields::closest;
use crate::registry::Registry;
use crate::telemetry::{CallMetrics, Telemetry};
use crate::value::Value;

/// A function and its call metrics (when the host keeps metrics).
type Metered = (Arc<dyn Function>, Option<Arc<CallMetrics>>);

/// Every function entry of a host.
pub(crate) struct FunctionTable {
    map: EntryMap<Metered>,
    registry: Arc<Registry>,
}

impl FunctionTable {
    /// A table over `map`; `registry` explains IDs that are not functions.
    /// With metrics on, every call is counted by entry and outcome and timed.
    pub(crate) fn new(
        map: EntryMap<Arc<dyn Function>>,
        registry: Arc<Registry>,
        telemetry: &Telemetry,
    ) -> FunctionTable {
        let map = map.into_iter().map(|(id, f)| (id.clone(), (f, telemetry.calls(id.as_str())))).collect();
        FunctionTable { map, registry }
    }

    /// The signature of function `id` as text.
    pub(crate) fn signature(&self, id: &str) -> Option<String> {
        self.map.get(id).map(|(f, _)| f.signature())
    }

    fn not_a_function(&self, id: &str) -> CallError {
        if let Some(entry) = self.registry.get(id) {
            let hint = if entry.kind.is_process() {
                format!(
                    "spawn it as a process, run it with `wippy run -x {id}`, or give it `meta.default_host` to call it"
                )
            } else {
                "only `function.wat`, `function.wasm` and `function.lua` entries can be called".to_owned()
            };
            return CallError::NotAFunction { id: entry.id.clone(), kind: entry.kind.name(), hint };
        }
        let ids: Vec<&str> = self.map.keys().map(EntryId::as_str).collect();
        CallError::UnknownEntry { id: id.to_owned(), suggestion: closest(id, &ids).map(str::to_owned) }
    }
}

impl Functions for FunctionTable {
    fn call(&self, env: CallEnv, id: &str, args: Vec<Value>) -> BoxFuture<'_, Result<Value, CallError>> {
        // A span per call when tracing collects them (OTLP); otherwise nothing is wrapped.
        let span = call_span(id);
        if !span.is_disabled() {
            return Box::pin(self.call_untraced(env, id, args).instrument(span));
        }
        self.call_untraced(env, id, args)
    }
}

impl FunctionTable {
    /// A call from Rust ([`crate::Host::call`]): like [`Functions::call`], timed without wrapping the engine's
    /// future in another.
    pub(crate) async fn call_direct(&self, env: CallEnv, id: &str, args: Vec<Value>) -> Result<Value, CallError> {
        let span = call_span(id);
        if !span.is_disabled() {
            return self.call_untraced(env, id, args).instrument(span).await;
        }
        match self.map.get(id) {
            Some((f, Some(metrics))) => timed(f.call(env, args), metrics).await,
            _ => self.call_untraced(env, id, args).await,
        }
    }
}

/// Runs a call, counting it by outcome and timing it into `metrics`.
async fn timed(call: BoxFuture<'_, Result<Value, CallError>>, metrics: &CallMetrics) -> Result<Value, CallError> {
    let started = crate::telemetry::now();
    let out = call.await;
    metrics.record(out.is_ok(), started);
    out
}

/// The span of a call (OpenTelemetry: internal); disabled unless tracing collects `wippy` spans at INFO.
fn call_span(id: &str) -> tracing::Span {
    tracing::info_span!("call", entry = id, otel.kind = "internal")
}

impl FunctionTable {
    fn call_untraced(&self, env: CallEnv, id: &str, args: Vec<Value>) -> BoxFuture<'_, Result<Value, CallError>> {
        match self.map.get(id) {
            Some((f, None)) => return f.call(env, args),
            Some((f, Some(metrics))) => return Box::pin(timed(f.call(env, args), metrics)),
            None => {}
        }
        if let Some((entry, host)) = self.default_host(id) {
            return Box::pin(run_as_process(env, entry, host, args));
        }
        let e = self.not_a_function(id);
        Box::pin(async move { Err(e) })
    }
}

impl FunctionTable {
    /// The process entry `id` and its `meta.default_host`, if it has one.
    fn default_host(&self, id: &str) -> Option<(EntryId, String)> {
        let entry = self.registry.get(id)?;
        if !entry.kind.is_process() {
            return None;
        }
        let host = entry.meta.get("default_host")?.as_str()?;
        Some((entry.id.clone(), host.to_owned()))
    }
}

/// Terminates a process when dropped before [`Reaper::done`].
struct Reaper {
    system: Arc<System>,
    pid: Option<Pid>,
}

impl Reaper {
    fn done(&mut self) {
        self.pid = None;
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            self.system.terminate(pid.as_str(), Value::from("the call that started it was dropped"));
        }
    }
}

/// Calls a process entry: spawns it on `host` and waits for its EXIT.
async fn run_as_process(env: CallEnv, entry: EntryId, host: String, args: Vec<Value>) -> Result<Value, CallError> {
    // The process counts as one `funcs` level below its caller, so a process that calls itself this way stops at
    // the depth limit like any recursion through `funcs`.
    let depth = env.depth + 1;
    if depth > MAX_CALL_DEPTH {
        return Err(CallError::TooDeep { entry, limit: MAX_CALL_DEPTH });
    }
    let mut client = Client::new(&env.system, (*env.context).clone());
    let monitored = SpawnOptions { monitor: true, link: false };
    let req = SpawnRequest::new(entry.as_str(), &host, args, env.context.clone())
        .child_of(client.pid(), monitored)
        .at_depth(depth);
    let started = env.system.spawn_anywhere(req).await;
    let pid = started.map_err(|e| CallError::Instantiate { entry: entry.clone(), message: e.to_string() })?;
    let mut reaper = Reaper { system: env.system.clone(), pid: Some(pid.clone()) };
    loop {
        match client.next_event().await {
            Some(Event::Exit(x)) if x.from == pid => {
                reaper.done();
                return match x.error {
                    None => Ok(x.value),
                    Some(value) => Err(CallError::Guest { entry, value }),
                };
            }
            Some(_) => continue,
            None => return Err(CallError::Cancelled { entry, message: "the caller was terminated".into() }),
        }
    }
}
