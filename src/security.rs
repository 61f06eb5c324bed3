//! The security context: who a call or a process acts for.
//!
//! Every call and spawn carries the caller's [`SecurityContext`] (an actor identity, a scope, and free request
//! values); a callee or child inherits it unless the caller sets another. Guests read it through
//! `wippy:runtime/context` (WASM) or the Lua modules. Nothing is enforced with it yet: it is carried and readable.

use crate::value::{Map, Value};

/// Who a call or a process acts for: inherited by every call and spawn unless the caller sets another.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SecurityContext {
    /// The actor identity (a user, a service).
    pub actor: Option<String>,
    /// What is known about the actor (Lua's `actor:meta()`).
    pub actor_meta: Map,
    /// The scope the actor acts in (a scope made in Lua has the name `""`).
    pub scope: Option<String>,
    /// The scope's policies (Lua's `scope:policies()`; not evaluated yet).
    pub policies: Vec<Value>,
    /// Request context: free key/value pairs.
    pub request: Map,
}

impl SecurityContext {
    /// A context for `actor`.
    pub fn actor(actor: impl Into<String>) -> Self {
        SecurityContext { actor: Some(actor.into()), ..Default::default() }
    }
}
