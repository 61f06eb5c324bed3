//! WASM entries as the host and the process model see them: [`WasmFunction`] and [`WasmProgram`].

use std::sync::Arc;

use wasmtime::component::Val;
use wasmtime::{CallHook, Store};

use super::code::{Code, Instance};
use super::pool::Pool;
use super::store::StoreState;
use crate::error::CallError;
use crate::process::{BoxFuture, CallEnv, Function, Launch, ProcessContext, Program, Running};
use crate::registry::kinds::PoolConfig;
use crate::value::{wit, Value};

/// A `function.wat` / `function.wasm` entry: its code and its pool.
pub(crate) struct WasmFunction {
    code: Arc<Code>,
    pool: Pool,
}

impl WasmFunction {
    /// A function over `code`, bounded by `pool`.
    pub(crate) fn new(code: Code, pool: &PoolConfig) -> WasmFunction {
        WasmFunction { code: Arc::new(code), pool: Pool::new(pool) }
    }
}

impl Function for WasmFunction {
    fn call(&self, env: CallEnv, args: Vec<Value>) -> BoxFuture<'_, Result<Value, CallError>> {
        Box::pin(async move {
            let _slot = self.pool.acquire(&self.code.id).await?;
            self.code.invoke(env, &args).await
        })
    }

    fn signature(&self) -> String {
        self.code.signature()
    }
}

/// A `process.wasm` entry.
pub(crate) struct WasmProgram(Arc<Code>);

impl WasmProgram {
    /// A process program over `code`.
    pub(crate) fn new(code: Code) -> WasmProgram {
        WasmProgram(Arc::new(code))
    }
}

impl Program for WasmProgram {
    fn prepare(&self, args: Vec<Value>) -> Result<Box<dyn Launch>, CallError> {
        let args = self.0.lower_args(&args)?;
        Ok(Box::new(WasmLaunch { code: self.0.clone(), args }))
    }

    fn params(&self) -> Option<Vec<(String, String)>> {
        Some(self.0.params.iter().map(|(n, t)| (n.clone(), wit::type_name(t))).collect())
    }

    fn signature(&self) -> Option<String> {
        Some(self.0.signature())
    }
}

/// A WASM process before Init: the code and the lowered arguments.
struct WasmLaunch {
    code: Arc<Code>,
    args: Vec<Val>,
}

impl Launch for WasmLaunch {
    fn init(self: Box<Self>, process: ProcessContext) -> BoxFuture<'static, Result<Box<dyn Running>, CallError>> {
        Box::pin(async move {
            let WasmLaunch { code, args } = *self;
            let mut state = code.store_state(process.env())?;
            if let Some(budget) = process.record.host.as_ref().and_then(|h| h.memory.clone()) {
                state.limiter.budgets.push(budget);
            }
            if process.record.on_terminal() {
                state.use_terminal();
            } else {
                state.tag_pid(process.pid().clone());
            }
            process.record.stats.set_fuel(0);
            state.limiter.meter = Some(process.record.clone());
            state.process = Some(Box::new(process));
            let mut store = code.new_store(state);
            // A process's fuel is seen at every call into the host (a receive, a send), not only at epoch ticks.
            let fuel = code.limits.max_fuel.unwrap_or(u64::MAX);
            store.call_hook(move |ctx, hook| {
                if matches!(hook, CallHook::CallingHost) {
                    ctx.data().limiter.report_fuel(fuel, ctx.get_fuel());
                }
                Ok(())
            });
            let instance = code.instantiate(&mut store).await?;
            Ok(Box::new(WasmRunning { code, store, instance, args: Some(args) }) as Box<dyn Running>)
        })
    }
}

/// A WASM process between Init and Close. Dropping it drops the store, which frees the instance's slot.
struct WasmRunning {
    code: Arc<Code>,
    store: Store<StoreState>,
    instance: Instance,
    args: Option<Vec<Val>>,
}

impl Running for WasmRunning {
    fn step(&mut self) -> BoxFuture<'_, Result<Value, CallError>> {
        let args = self.args.take().unwrap_or_default();
        Box::pin(async move {
            let out = self.code.call(&mut self.store, &self.instance, args).await;
            let initial = self.code.limits.max_fuel.unwrap_or(u64::MAX);
            self.store.data().limiter.report_fuel(initial, self.store.get_fuel());
            out
        })
    }
}
