//! What the process model asks of a guest language, and what it gives one.
//!
//! The process model knows no guest language. An engine (WASM, Lua, ...) offers its entries through two traits:
//! - [`Program`]: a process entry. [`Program::prepare`] checks and converts the spawn arguments before anything is
//!   created (a bad spawn costs nothing); the resulting [`Launch`] runs **Init** ([`Launch::init`]) inside the
//!   process's actor, giving a [`Running`] instance whose [`Running::step`] is **Step**. Dropping the instance is
//!   **Close** (see [`super::actor`]).
//! - [`Function`]: a function entry, called with a [`CallEnv`].
//!
//! The host implements [`Functions`], the table guests call functions through (`funcs` in WASM and Lua); the
//! process system holds it, so every invocation reaches it from its [`CallEnv`]. A new guest language is one
//! module implementing these traits plus its registration in the host.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use super::mailbox::Inbox;
use super::record::Record;
use super::{Pid, System};
use crate::error::CallError;
use crate::id::EntryId;
use crate::security::SecurityContext;
use crate::value::Value;

/// A boxed future, as the guest traits return.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How deeply calls through `funcs` may nest (a guest calling a function that calls a function ...).
pub const MAX_CALL_DEPTH: u32 = 32;

/// What every invocation runs with: the process system it belongs to, who it acts for, how deeply calls are
/// nested at it, when it must end, and the process it runs for. Nested calls inherit all of it.
#[derive(Clone)]
pub(crate) struct CallEnv {
    /// The process system (and through it, the function table).
    pub(crate) system: Arc<System>,
    /// The caller's security context, inherited by everything the invocation calls or spawns.
    pub(crate) context: Arc<SecurityContext>,
    /// How deeply `funcs` calls are nested.
    pub(crate) depth: u32,
    /// When the invocation must end (a caller's deadline applies to everything it calls).
    pub(crate) deadline: Option<Instant>,
    /// The process the invocation runs for, if any: when it is terminated, the invocation must stop too.
    pub(crate) owner: Option<Arc<Record>>,
}

impl CallEnv {
    /// A top-level invocation.
    pub(crate) fn new(system: Arc<System>, context: Arc<SecurityContext>) -> CallEnv {
        CallEnv { system, context, depth: 0, deadline: None, owner: None }
    }

    /// Calls function `id` from the invocation running `caller`, one level deeper; refused past
    /// [`MAX_CALL_DEPTH`].
    pub(crate) async fn call_nested(&self, caller: &EntryId, id: &str, args: Vec<Value>) -> Result<Value, CallError> {
        let depth = self.depth + 1;
        if depth > MAX_CALL_DEPTH {
            return Err(CallError::TooDeep { entry: caller.clone(), limit: MAX_CALL_DEPTH });
        }
        let env = CallEnv { depth, ..self.clone() };
        let _calling = self.owner.as_ref().map(|o| o.stats.calling());
        self.system.functions().call(env, id, args).await
    }
}

/// A function entry, as an engine prepared it.
pub(crate) trait Function: Send + Sync {
    /// Calls it with `args`.
    fn call(&self, env: CallEnv, args: Vec<Value>) -> BoxFuture<'_, Result<Value, CallError>>;
    /// The signature as text, for messages: `compute(a: s32, b: s32) -> s32`.
    fn signature(&self) -> String;
}

/// Every function of a host, callable by ID; implemented by the host.
pub(crate) trait Functions: Send + Sync {
    /// Calls function `id`.
    fn call(&self, env: CallEnv, id: &str, args: Vec<Value>) -> BoxFuture<'_, Result<Value, CallError>>;
}

/// A process entry, as an engine prepared it.
pub(crate) trait Program: Send + Sync {
    /// Checks and converts the spawn arguments; a failure here means nothing was created.
    fn prepare(&self, args: Vec<Value>) -> Result<Box<dyn Launch>, CallError>;
    /// The method's parameters (names and type names), when the engine knows them.
    fn params(&self) -> Option<Vec<(String, String)>> {
        None
    }
    /// The method's signature as text, for messages, when the engine knows it.
    fn signature(&self) -> Option<String> {
        None
    }
}

/// A process ready to start: its program with the converted arguments.
pub(crate) trait Launch: Send {
    /// Init: creates the running instance for the process `process`.
    fn init(self: Box<Self>, process: ProcessContext) -> BoxFuture<'static, Result<Box<dyn Running>, CallError>>;
}

/// A process between Init and Close. Dropping it is Close: it releases the instance.
pub(crate) trait Running: Send {
    /// Step: runs the method to its end.
    fn step(&mut self) -> BoxFuture<'_, Result<Value, CallError>>;
}

/// What a running process knows of itself: its record, its inbox and the system it belongs to.
pub(crate) struct ProcessContext {
    /// The process system.
    pub(crate) system: Arc<System>,
    /// This process.
    pub(crate) record: Arc<Record>,
    /// Its inbox.
    pub(crate) inbox: Inbox,
}

impl ProcessContext {
    /// The process's PID.
    pub(crate) fn pid(&self) -> &Pid {
        &self.record.pid
    }

    /// The environment of its invocation: its security context, at the depth it was started at (0 unless it was
    /// called as a function), owned by this process.
    pub(crate) fn env(&self) -> CallEnv {
        CallEnv {
            owner: Some(self.record.clone()),
            depth: self.record.depth,
            ..CallEnv::new(self.system.clone(), self.record.context.clone())
        }
    }
}
