//! One Lua invocation: a function call or a process, and how the built-in modules find it.
//!
//! Every invocation has a [`LuaCtx`]: its code, the engine, its [`CallEnv`] (process system, security context,
//! call depth) and its process identity if it has one. The module functions are shared by all invocations; they
//! find the calling one through a thread-local slot that [`WithCtx`] sets around every poll of the invocation's
//! coroutine ([`current`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use mlua::Value as LuaValue;

use super::engine::{LuaCode, LuaEngine};
use super::proc::LuaProc;
use crate::process::{CallEnv, System};

/// What a running Lua invocation knows: its code, who it runs for, and the host it runs in.
pub(crate) struct LuaCtx {
    /// The entry.
    pub(crate) code: Arc<LuaCode>,
    /// The engine it runs on.
    pub(crate) engine: Arc<LuaEngine>,
    /// The process system, the security context and the call depth.
    pub(crate) env: CallEnv,
    pub(super) proc: OnceLock<Arc<LuaProc>>,
    pub(super) loaded: Mutex<HashMap<String, LuaValue>>,
}

impl LuaCtx {
    /// The process identity of this invocation; a function call gets a temporary one on first use.
    pub(crate) fn proc(&self) -> Arc<LuaProc> {
        self.proc.get_or_init(|| LuaProc::for_call(&self.env)).clone()
    }

    /// The process system.
    pub(crate) fn system(&self) -> &Arc<System> {
        &self.env.system
    }

    /// The process identity, if this invocation has one already.
    pub(crate) fn proc_if_any(&self) -> Option<&Arc<LuaProc>> {
        self.proc.get()
    }

    /// The invocation ended: a PID it opened for itself ends too.
    pub(super) fn finish(&self) {
        if let Some(p) = self.proc.get() {
            p.end();
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<LuaCtx>>> = const { RefCell::new(None) };
}

/// The context of the Lua invocation being polled on this thread.
pub(crate) fn current() -> mlua::Result<Arc<LuaCtx>> {
    CURRENT
        .with(|c| c.borrow().clone())
        .ok_or_else(|| mlua::Error::runtime("this function can only be called from Lua code run by the host"))
}

/// Polls `fut` with `ctx` as the current Lua context (see the module docs).
pub(crate) struct WithCtx<F> {
    ctx: Arc<LuaCtx>,
    fut: Pin<Box<F>>,
}

impl<F: Future> WithCtx<F> {
    /// Wraps `fut`.
    pub(crate) fn new(ctx: Arc<LuaCtx>, fut: F) -> Self {
        WithCtx { ctx, fut: Box::pin(fut) }
    }
}

impl<F: Future> Future for WithCtx<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let ctx = self.ctx.clone();
        let prev = CURRENT.with(|c| c.replace(Some(ctx)));
        let r = self.fut.as_mut().poll(cx);
        CURRENT.with(|c| *c.borrow_mut() = prev);
        r
    }
}
