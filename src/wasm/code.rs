//! Prepared WASM code and the call path through it.
//!
//! A [`Code`] is a WASM entry ready to run: compiled, linked with exactly the granted capabilities into a cached
//! `InstancePre`, its `method` resolved to an export with its WIT parameter and result types ([`super::prepare()`]).
//!
//! A call ([`Code::invoke`]) then only: converts the arguments by the WIT types (before touching wasmtime, so a bad
//! argument costs nothing), creates a store with the entry's limits, instantiates from the `InstancePre` (a pooled
//! slot, copy-on-write memory), calls the export on a fiber, and converts the result. A guest that sleeps or polls
//! suspends its fiber and the tokio thread runs other work. Processes use the same [`Code`], split into
//! [`Code::instantiate`] (Init) and [`Code::call`] (Step).
//!
//! Cancellation: dropping an `invoke`/`call` future drops the fiber and the store; the pooled slots go back to the
//! pool. Nothing else holds guest state.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{ComponentExportIndex, Type, Val};
use wasmtime::{Store, UpdateDeadline};

use super::http;
use super::imports::wasi::WasiSetup;
use super::signature::Scalar;
use super::store::{Limiter, StoreState};
use crate::error::{CallError, CapabilityDenied, LimitExceeded};
use crate::id::EntryId;
use crate::process::CallEnv;
use crate::registry::kinds::{Limits, Transport};
use crate::value::wit::{self, ConvertError};
use crate::value::Value;

/// A WASM entry ready to instantiate and call.
pub(crate) struct Code {
    /// The entry.
    pub id: EntryId,
    /// The export called.
    pub method: String,
    /// Parameter names and WIT types.
    pub params: Vec<(String, Type)>,
    /// The WIT result type.
    pub result: Option<Type>,
    /// The entry's limits.
    pub limits: Limits,
    /// How to build the WASI context.
    pub wasi: Arc<WasiSetup>,
    /// How arguments and result are mapped: by WIT types, or as an HTTP request and response.
    pub transport: Transport,
    /// The engine it was compiled for.
    pub engine: wasmtime::Engine,
    /// What one call may hand over to the host (wasmtime's hostcall fuel), from the memory bound.
    pub(super) transfer_fuel: usize,
    /// The host-wide memory budget its instances charge.
    pub(super) budget: Arc<crate::process::MemoryBudget>,
    /// Keeps the epoch advancing while the code can still run.
    pub(super) _ticker: Arc<super::engine::EpochTicker>,
    pub(super) kind: CodeKind,
}

pub(super) enum CodeKind {
    Component {
        pre: wasmtime::component::InstancePre<StoreState>,
        export: ComponentExportIndex,
    },
    Core {
        pre: wasmtime::InstancePre<StoreState>,
        export: wasmtime::ModuleExport,
        params: Vec<Scalar>,
        /// Its results; several come back as a list.
        results: Vec<Scalar>,
    },
}

/// A live instance of a [`Code`], between Init and Close.
pub(crate) enum Instance {
    /// A component instance.
    Component(wasmtime::component::Instance),
    /// A core instance.
    Core(wasmtime::Instance),
}

impl Code {
    /// The signature as WIT text, for messages: `compute(a: s32, b: s32) -> s32`.
    pub(crate) fn signature(&self) -> String {
        if self.transport == Transport::WasiHttp {
            return http::SIGNATURE.to_owned();
        }
        let params: Vec<String> = self.params.iter().map(|(n, t)| format!("{n}: {}", wit::type_name(t))).collect();
        let result = match (&self.kind, &self.result) {
            (CodeKind::Core { results, .. }, _) if results.len() > 1 => {
                let names: Vec<String> = results.iter().map(|s| wit::type_name(&s.component())).collect();
                format!(" -> ({})", names.join(", "))
            }
            (_, r) => r.as_ref().map(|t| format!(" -> {}", wit::type_name(t))).unwrap_or_default(),
        };
        format!("{}({}){result}", self.method, params.join(", "))
    }

    /// A fresh store for one instance, with the entry's limits, fuel and epoch behaviour.
    ///
    /// The limiter enforces `max_memory`, the table bound and the memory budgets. At every epoch tick the guest yields to tokio, or traps once its `max_execution_ms` has passed.
    pub(crate) fn new_store(&self, state: StoreState) -> Store<StoreState> {
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        // Fuel is always on in the engine; an entry without `max_fuel` gets all of it.
        let fuel = self.limits.max_fuel.unwrap_or(u64::MAX);
        let _ = store.set_fuel(fuel);
        store.set_hostcall_fuel(self.transfer_fuel);
        store.epoch_deadline_callback(move |ctx| {
            ctx.data().limiter.report_fuel(fuel, ctx.get_fuel());
            if let Some((deadline, ms)) = ctx.data().deadline {
                if Instant::now() >= deadline {
                    return Err(wasmtime::Error::new(LimitExceeded::Time { ms }));
                }
            }
            Ok(UpdateDeadline::Yield(1))
        });
        store.set_epoch_deadline(1);
        store
    }

    /// The initial store state for one instance: the environment is resolved now, so a missing required variable
    /// fails here, before anything runs.
    pub(crate) fn store_state(&self, env: CallEnv) -> Result<StoreState, CallError> {
        let vars = self.wasi.resolve_env(&self.id)?;
        let limiter = Limiter::new(self.limits.max_memory, vec![self.budget.clone()]);
        Ok(StoreState::new(self.id.clone(), env, limiter, self.wasi.clone(), vars))
    }

    /// Converts arguments by the parameter types; checks the count.
    pub(crate) fn lower_args(&self, args: &[Value]) -> Result<Vec<Val>, CallError> {
        if args.len() != self.params.len() {
            return Err(CallError::ArgumentCount {
                entry: self.id.clone(),
                expected: self.params.len(),
                got: args.len(),
                signature: self.signature(),
            });
        }
        args.iter()
            .zip(&self.params)
            .map(|(v, (name, ty))| wit::lower(v, ty, name))
            .collect::<Result<Vec<_>, ConvertError>>()
            .map_err(|error| CallError::Argument { entry: self.id.clone(), function: self.method.clone(), error })
    }

    /// Init: creates the instance in `store`. The module's start function runs under the entry's limits:
    /// `max_fuel` (the store's fuel) and `max_execution_ms` (SPEC §10), so one that loops fails rather than hangs.
    pub(crate) async fn instantiate(&self, store: &mut Store<StoreState>) -> Result<Instance, CallError> {
        self.instantiate_until(store, self.deadline()).await
    }

    /// [`Code::instantiate`] within `deadline`.
    async fn instantiate_until(
        &self,
        store: &mut Store<StoreState>,
        deadline: Option<Instant>,
    ) -> Result<Instance, CallError> {
        self.arm(store, deadline);
        match deadline {
            None => self.instantiate_in(store).await,
            Some(_) => self.within(deadline, self.instantiate_in(store)).await,
        }
    }

    async fn instantiate_in(&self, store: &mut Store<StoreState>) -> Result<Instance, CallError> {
        match &self.kind {
            CodeKind::Component { pre, .. } => pre.instantiate_async(&mut *store).await.map(Instance::Component),
            CodeKind::Core { pre, .. } => pre.instantiate_async(&mut *store).await.map(Instance::Core),
        }
        .map_err(|e| match self.map_error(e) {
            CallError::Trap { entry, message } => CallError::Instantiate { entry, message },
            other => other,
        })
    }

    /// When a call or instantiation that starts now must end: `max_execution_ms` from now.
    fn deadline(&self) -> Option<Instant> {
        self.limits.max_execution.map(|max| Instant::now() + max)
    }

    /// Sets the deadline the epoch callback checks.
    fn arm(&self, store: &mut Store<StoreState>, deadline: Option<Instant>) {
        if let (Some(d), Some(max)) = (deadline, self.limits.max_execution) {
            store.data_mut().deadline = Some((d, max.as_millis() as u64));
        }
    }

    /// Runs `fut` until `deadline` (and a little grace). The epoch callback traps a guest that computes past its
    /// deadline; this timeout also ends one that waits past it inside a host call (a sleep, a receive).
    async fn within<T>(
        &self,
        deadline: Option<Instant>,
        fut: impl std::future::Future<Output = Result<T, CallError>>,
    ) -> Result<T, CallError> {
        let (Some(deadline), Some(max)) = (deadline, self.limits.max_execution) else { return fut.await };
        match tokio::time::timeout_at((deadline + self.grace()).into(), fut).await {
            Ok(r) => r,
            Err(_) => Err(CallError::Limit {
                entry: self.id.clone(),
                limit: LimitExceeded::Time { ms: max.as_millis() as u64 },
            }),
        }
    }

    /// Step: calls the method on `instance` with already-lowered arguments and converts the result.
    pub(crate) async fn call(
        &self,
        store: &mut Store<StoreState>,
        instance: &Instance,
        args: Vec<Val>,
    ) -> Result<Value, CallError> {
        self.call_until(store, instance, args, self.deadline()).await
    }

    /// [`Code::call`] within `deadline`.
    async fn call_until(
        &self,
        store: &mut Store<StoreState>,
        instance: &Instance,
        args: Vec<Val>,
        deadline: Option<Instant>,
    ) -> Result<Value, CallError> {
        self.arm(store, deadline);
        // Without a deadline the call's (large) future is awaited in place rather than moved into a timeout.
        let r = match deadline {
            None => self.call_inner(store, instance, args).await,
            Some(_) => self.within(deadline, self.call_inner(store, instance, args)).await,
        };
        match r {
            // WASI `proc_exit(0)` (Rust's `std::process::exit(0)`, a C `main` returning 0) is a normal end.
            Err(CallError::Exit { status: 0, .. }) => Ok(Value::Nil),
            r => r,
        }
    }

    /// A little slack so the epoch trap, which carries a backtrace, usually fires before the outer timeout.
    pub(super) fn grace(&self) -> std::time::Duration {
        std::time::Duration::from_millis(5)
    }

    async fn call_inner(
        &self,
        store: &mut Store<StoreState>,
        instance: &Instance,
        args: Vec<Val>,
    ) -> Result<Value, CallError> {
        match (&self.kind, instance) {
            (CodeKind::Component { export, .. }, Instance::Component(inst)) => {
                let func = inst.get_func(&mut *store, export).ok_or_else(|| CallError::Instantiate {
                    entry: self.id.clone(),
                    message: format!("the instance has no export `{}`", self.method),
                })?;
                let mut results = vec![Val::Bool(false); usize::from(self.result.is_some())];
                func.call_async(&mut *store, &args, &mut results).await.map_err(|e| self.map_error(e))?;
                self.lift_result(results.pop())
            }
            (CodeKind::Core { export, params, results: types, .. }, Instance::Core(inst)) => {
                let func =
                    inst.get_module_export(&mut *store, export).and_then(|e| e.into_func()).ok_or_else(|| {
                        CallError::Instantiate {
                            entry: self.id.clone(),
                            message: format!("the instance has no function export `{}`", self.method),
                        }
                    })?;
                let core_args: Vec<wasmtime::Val> = args.iter().zip(params).map(|(v, s)| to_core(v, *s)).collect();
                let mut results = vec![wasmtime::Val::I32(0); types.len()];
                func.call_async(&mut *store, &core_args, &mut results).await.map_err(|e| self.map_error(e))?;
                if types.len() > 1 {
                    return self.lift_several(types, &results);
                }
                self.lift_result(types.first().copied().zip(results.pop()).map(|(s, v)| core_to_val(&v, s)))
            }
            _ => Err(CallError::Instantiate { entry: self.id.clone(), message: "instance of the wrong kind".into() }),
        }
    }

    /// Several core results (`-> (s32, s32)`) as a list.
    fn lift_several(&self, types: &[Scalar], results: &[wasmtime::Val]) -> Result<Value, CallError> {
        let mut out = Vec::with_capacity(types.len());
        for (i, (s, v)) in types.iter().zip(results).enumerate() {
            let what = format!("result[{i}]");
            let value = wit::lift(&core_to_val(v, *s), &s.component(), &what)
                .map_err(|error| CallError::Result { entry: self.id.clone(), error })?;
            out.push(value);
        }
        Ok(Value::List(out))
    }

    fn lift_result(&self, val: Option<Val>) -> Result<Value, CallError> {
        let (Some(val), Some(ty)) = (val, &self.result) else { return Ok(Value::Nil) };
        // A top-level `result<T, E>` is a value/error pair (`docs/values.md`): `ok(v)` is the value, `err(e)` the error.
        if let (Val::Result(r), Type::Result(rt)) = (&val, ty) {
            return match r {
                Ok(None) => Ok(Value::Nil),
                Ok(Some(v)) => {
                    let t = rt.ok().unwrap_or(Type::Bool);
                    wit::lift(v, &t, "result").map_err(|error| CallError::Result { entry: self.id.clone(), error })
                }
                Err(e) => {
                    let value = match (e, rt.err()) {
                        (Some(v), Some(t)) => wit::lift(v, &t, "error")
                            .map_err(|error| CallError::Result { entry: self.id.clone(), error })?,
                        _ => Value::Nil,
                    };
                    Err(CallError::Guest { entry: self.id.clone(), value })
                }
            };
        }
        wit::lift(&val, ty, "result").map_err(|error| CallError::Result { entry: self.id.clone(), error })
    }

    /// Instantiates and calls in a fresh store: the whole function call.
    pub(crate) async fn invoke(&self, env: CallEnv, args: &[Value]) -> Result<Value, CallError> {
        if self.transport == Transport::WasiHttp {
            return http::invoke(self, env, args).await;
        }
        let vals = self.lower_args(args)?;
        let mut store = self.new_store(self.store_state(env)?);
        // One `max_execution_ms` for the whole call, instantiation (the start function) included.
        let deadline = self.deadline();
        let instance = self.instantiate_until(&mut store, deadline).await?;
        self.call_until(&mut store, &instance, vals, deadline).await
    }

    /// Turns a wasmtime error into a [`CallError`] that names the cause.
    pub(crate) fn map_error(&self, e: wasmtime::Error) -> CallError {
        let entry = self.id.clone();
        if let Some(limit) = e.downcast_ref::<LimitExceeded>() {
            return CallError::Limit { entry, limit: limit.clone() };
        }
        if let Some(denied) = e.downcast_ref::<CapabilityDenied>() {
            return CallError::Capability(denied.clone());
        }
        if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            return CallError::Exit { entry, status: exit.0 };
        }
        if let Some(detail) = e.chain().map(|c| c.to_string()).find(|c| c.starts_with("maximum concurrent")) {
            return CallError::NoSlot { entry, detail };
        }
        if e.chain().any(|c| c.to_string().contains("fuel allocated for hostcalls")) {
            // wasmtime's bound on what one call hands to the host, sized from the memory bound (`transfer_fuel`).
            return CallError::Trap {
                entry,
                message: "the values handed to the host are larger than the guest's memory bound allows; raise \
                          `limits.max_memory`"
                    .into(),
            };
        }
        if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
            if *trap == wasmtime::Trap::OutOfFuel {
                return CallError::Limit {
                    entry,
                    limit: LimitExceeded::Fuel { fuel: self.limits.max_fuel.unwrap_or(u64::MAX) },
                };
            }
            tracing::debug!(entry = %self.id, error = ?e, "guest trapped");
            return CallError::Trap { entry, message: trap.to_string() };
        }
        let message: Vec<String> = e
            .chain()
            .map(|c| c.to_string())
            .filter(|s| !s.starts_with("error while executing at wasm backtrace"))
            .collect();
        CallError::Trap { entry, message: message.join(": ") }
    }
}

fn to_core(v: &Val, s: Scalar) -> wasmtime::Val {
    use wasmtime::Val as C;
    match (v, s) {
        (Val::Bool(b), _) => C::I32(i32::from(*b)),
        (Val::S8(i), _) => C::I32(i32::from(*i)),
        (Val::U8(i), _) => C::I32(i32::from(*i)),
        (Val::S16(i), _) => C::I32(i32::from(*i)),
        (Val::U16(i), _) => C::I32(i32::from(*i)),
        (Val::S32(i), _) => C::I32(*i),
        (Val::U32(i), _) => C::I32(*i as i32),
        (Val::S64(i), _) => C::I64(*i),
        (Val::U64(i), _) => C::I64(*i as i64),
        (Val::Float32(f), _) => C::F32(f.to_bits()),
        (Val::Float64(f), _) => C::F64(f.to_bits()),
        (Val::Char(c), _) => C::I32(*c as i32),
        (_, s) => match s.core() {
            wasmtime::ValType::I64 => C::I64(0),
            wasmtime::ValType::F32 => C::F32(0),
            wasmtime::ValType::F64 => C::F64(0),
            _ => C::I32(0),
        },
    }
}

/// Reads a core result as the component value its scalar type stands for (then lifted like any component value).
fn core_to_val(v: &wasmtime::Val, s: Scalar) -> Val {
    use wasmtime::Val as C;
    let (i, l) = match v {
        C::I32(i) => (*i, i64::from(*i)),
        C::I64(l) => (*l as i32, *l),
        C::F32(bits) => return Val::Float32(f32::from_bits(*bits)),
        C::F64(bits) => return Val::Float64(f64::from_bits(*bits)),
        _ => (0, 0),
    };
    match s {
        Scalar::Bool => Val::Bool(i != 0),
        Scalar::S8 => Val::S8(i as i8),
        Scalar::U8 => Val::U8(i as u8),
        Scalar::S16 => Val::S16(i as i16),
        Scalar::U16 => Val::U16(i as u16),
        Scalar::S32 => Val::S32(i),
        Scalar::U32 => Val::U32(i as u32),
        Scalar::S64 => Val::S64(l),
        Scalar::U64 => Val::U64(l as u64),
        Scalar::F32 => Val::Float32(i as f32),
        Scalar::F64 => Val::Float64(l as f64),
        Scalar::Char => Val::Char(char::from_u32(i as u32).unwrap_or(char::REPLACEMENT_CHARACTER)),
    }
}
