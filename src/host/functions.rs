//! The function table of a host: every function entry by ID, whatever its engine.
//!
//! The table holds each function as the engine that prepared it offers it ([`Function`]): the builder registers a
//! WASM entry as a [`crate::wasm::WasmFunction`] and a Lua entry as a [`crate::lua::LuaFunction`], and a call
//! dispatches on nothing but the ID. The process system holds the table as its [`Functions`], so guests reach it
//! (`funcs`) from any invocation.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::CallError;
use crate::id::EntryId;
use crate::process::{BoxFuture, CallEnv, Function, Functions};
use crate::registry::fields::closest;
use crate::registry::Registry;
use crate::value::Value;

/// Every function entry of a host.
pub(crate) struct FunctionTable {
    map: HashMap<EntryId, Arc<dyn Function>>,
    registry: Arc<Registry>,
}

impl FunctionTable {
    /// A table over `map`; `registry` explains IDs that are not functions.
    pub(crate) fn new(map: HashMap<EntryId, Arc<dyn Function>>, registry: Arc<Registry>) -> FunctionTable {
        FunctionTable { map, registry }
    }

    /// The signature of function `id` as text.
    pub(crate) fn signature(&self, id: &str) -> Option<String> {
        self.map.get(id).map(|f| f.signature())
    }

    fn not_a_function(&self, id: &str) -> CallError {
        if let Some(entry) = self.registry.get(id) {
            let hint = if entry.kind.is_process() {
                format!("spawn it as a process, or run it with `wippy run -x {id}`")
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
        match self.map.get(id) {
            Some(f) => f.call(env, args),
            None => {
                let e = self.not_a_function(id);
                Box::pin(async move { Err(e) })
            }
        }
    }
}
