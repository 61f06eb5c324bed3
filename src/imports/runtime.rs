//! The `funcs` import group: `wippy:runtime/funcs` (calling registry functions) and `wippy:runtime/context` (the
//! security context), from `wit/wippy-runtime.wit`.
//!
//! A call through `funcs` runs under the caller's security context and one level deeper; nesting is bounded by
//! [`MAX_CALL_DEPTH`](crate::function::MAX_CALL_DEPTH). The host side reaches the store through [`RuntimeView`].

use wasmtime::component::{HasData, Linker};

use crate::store::StoreState;
use crate::value::{json, Value};

/// Host bindings generated from `wit/wippy-runtime.wit`.
mod bindings {
    #![allow(missing_docs, unreachable_pub)]
    wasmtime::component::bindgen!({
        path: "wit/wippy-runtime.wit",
        world: "guest",
        imports: {
            "wippy:runtime/funcs.call-string": async | trappable,
            "wippy:runtime/funcs.call-bytes": async | trappable,
            default: trappable,
        },
    });
}

use bindings::wippy::runtime::{context, funcs};

/// What the `funcs` and `context` host functions see of the store.
pub struct RuntimeView<'a> {
    state: &'a mut StoreState,
}

struct RuntimeImports;

impl HasData for RuntimeImports {
    type Data<'a> = RuntimeView<'a>;
}

fn view(s: &mut StoreState) -> RuntimeView<'_> {
    RuntimeView { state: s }
}

/// Adds `wippy:runtime/funcs` and `wippy:runtime/context` to a component linker.
pub fn add_to_linker(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    funcs::add_to_linker::<StoreState, RuntimeImports>(linker, view)?;
    context::add_to_linker::<StoreState, RuntimeImports>(linker, view)
}

impl RuntimeView<'_> {
    async fn call(&mut self, id: &str, args: Vec<Value>) -> Result<Value, String> {
        let Some(table) = self.state.funcs.clone() else {
            return Err(format!("`{}` cannot call functions: the host gave it no function table", self.state.entry));
        };
        let context = self.state.context.clone();
        table.call_nested(&self.state.entry, context, self.state.call_depth, id, args).await.map_err(|e| e.to_string())
    }
}

impl funcs::Host for RuntimeView<'_> {
    async fn call_string(&mut self, id: String, args: String) -> wasmtime::Result<Result<String, String>> {
        let args = match json::parse(&args) {
            Ok(Value::List(items)) => items,
            Ok(Value::Nil) => Vec::new(),
            Ok(other) => return Ok(Err(format!("arguments must be a JSON array, got {}", other.type_name()))),
            Err(e) => return Ok(Err(format!("arguments are not valid JSON: {e}"))),
        };
        Ok(self.call(&id, args).await.map(|v| json::to_json_string(&v)))
    }

    async fn call_bytes(&mut self, id: String, payload: Vec<u8>) -> wasmtime::Result<Result<Vec<u8>, String>> {
        Ok(self.call(&id, vec![Value::Bytes(payload)]).await.map(|v| match v {
            Value::Bytes(b) => b,
            Value::Str(s) => s.into_bytes(),
            other => json::to_json_string(&other).into_bytes(),
        }))
    }
}

impl context::Host for RuntimeView<'_> {
    fn actor(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(self.state.context.actor.clone())
    }

    fn scope(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(self.state.context.scope.clone())
    }

    fn request(&mut self) -> wasmtime::Result<String> {
        Ok(json::to_json_string(&Value::Map(self.state.context.request.clone())))
    }
}
