//! Lua entries as the host and the process model see them: [`LuaFunction`] and [`LuaProgram`].

use std::sync::Arc;

use super::engine::{LuaCode, LuaEngine};
use super::invocation::LuaCtx;
use crate::error::CallError;
use crate::process::{BoxFuture, CallEnv, Function, Launch, ProcessContext, Program, Running};
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

impl Function for LuaFunction {
    fn call(&self, env: CallEnv, args: Vec<Value>) -> BoxFuture<'_, Result<Value, CallError>> {
        let ctx = self.engine.context(self.code.clone(), env);
        Box::pin(self.engine.call(ctx, args))
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
            let ctx = engine.context(code, process.env());
            let thread = engine.start_process(&ctx, process.record, process.inbox).await?;
            Ok(Box::new(LuaRunning { engine, ctx, thread: Some(thread), args: Some(args) }) as Box<dyn Running>)
        })
    }
}

/// A Lua process between Init and Close: its coroutine, ready to run. Dropping it lets Lua collect the coroutine.
struct LuaRunning {
    engine: Arc<LuaEngine>,
    ctx: Arc<LuaCtx>,
    thread: Option<mlua::Thread>,
    args: Option<Vec<Value>>,
}

impl Running for LuaRunning {
    fn step(&mut self) -> BoxFuture<'_, Result<Value, CallError>> {
        let (thread, args) = (self.thread.take(), self.args.take().unwrap_or_default());
        let (engine, ctx) = (self.engine.clone(), self.ctx.clone());
        Box::pin(async move {
            match thread {
                Some(thread) => engine.run_process(ctx, thread, args).await,
                None => Ok(Value::Nil),
            }
        })
    }
}
