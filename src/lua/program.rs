//! Lua entries as the host and the process model see them: [`LuaFunction`] and [`LuaProgram`].

use std::sync::Arc;

use mlua::Thread;

use super::engine::{Lease, LuaCode, LuaEngine};
use crate::error::CallError;
use crate::process::{BoxFuture, CallEnv, Function as GuestFunction, Launch, ProcessContext, Program, Running};
use crate::value::Value;

/// A `function.lua` entry.
pub(crate) struct LuaFunction {
    engine: Arc<LuaEngine>,
    code: Arc<LuaCode>,
}

impl LuaFunction {
    /// The function `code` on `engine`.
    pub(crate) fn new(engine: Arc<LuaEngine>, code: Arc<LuaCode>) -> LuaFunction {
        LuaFunction { engine, code }
    }
}

impl GuestFunction for LuaFunction {
    fn call(&self, env: CallEnv, args: Vec<Value>) -> BoxFuture<'_, Result<Value, CallError>> {
        Box::pin(self.engine.call(&self.code, env, args))
    }

    fn signature(&self) -> String {
        format!("{}(...)", self.code.method.as_deref().unwrap_or("main"))
    }
}

/// A `process.lua` entry.
pub(crate) struct LuaProgram {
    engine: Arc<LuaEngine>,
    code: Arc<LuaCode>,
}

impl LuaProgram {
    /// The process `code` on `engine`.
    pub(crate) fn new(engine: Arc<LuaEngine>, code: Arc<LuaCode>) -> LuaProgram {
        LuaProgram { engine, code }
    }
}

impl Program for LuaProgram {
    fn prepare(&self, args: Vec<Value>) -> Result<Box<dyn Launch>, CallError> {
        Ok(Box::new(LuaLaunch { engine: self.engine.clone(), code: self.code.clone(), args }))
    }
}

/// A Lua process before Init.
struct LuaLaunch {
    engine: Arc<LuaEngine>,
    code: Arc<LuaCode>,
    args: Vec<Value>,
}

impl Launch for LuaLaunch {
    fn init(self: Box<Self>, process: ProcessContext) -> BoxFuture<'static, Result<Box<dyn Running>, CallError>> {
        Box::pin(async move {
            let LuaLaunch { engine, code, args } = *self;
            let (lease, driver) = engine.start_process(&code, process).await?;
            Ok(Box::new(LuaRunning { lease, driver: Some(driver), args: Some(args) }) as Box<dyn Running>)
        })
    }
}

/// A Lua process between Init and Close: its state (the lease) and its driver, waiting for Step with the method
/// found. Dropping it releases the state, stopping everything the process started.
struct LuaRunning {
    lease: Lease,
    driver: Option<Thread>,
    args: Option<Vec<Value>>,
}

impl Running for LuaRunning {
    fn step(&mut self) -> BoxFuture<'_, Result<Value, CallError>> {
        let (driver, args) = (self.driver.take(), self.args.take().unwrap_or_default());
        Box::pin(async move {
            match driver {
                Some(d) => self.lease.step(d, args).await,
                None => Ok(Value::Nil),
            }
        })
    }
}
