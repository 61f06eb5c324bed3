//! The `funcs` import group: `wippy:runtime/funcs` (calling registry functions) and `wippy:runtime/context` (the
//! security context), from `wit/wippy-runtime.wit`.
//!
//! A call through `funcs` runs under the caller's security context and one level deeper; nesting is bounded by
//! [`MAX_CALL_DEPTH`](crate::process::MAX_CALL_DEPTH). The host functions reach the store through [`FuncsView`].

use wasmtime::component::{HasData, Linker};

use crate::value::{json, Value};
use crate::wasm::store::StoreState;

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
pub(crate) struct FuncsView<'a> {
    state: &'a mut StoreState,
}

struct FuncsImports;

impl HasData for FuncsImports {
    type Data<'a> = FuncsView<'a>;
}

fn view(s: &mut StoreState) -> FuncsView<'_> {
    FuncsView { state: s }
}

/// Adds `wippy:runtime/funcs` and `wippy:runtime/context` to a component linker.
pub(crate) fn add_to_linker(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    funcs::add_to_linker::<StoreState, FuncsImports>(linker, view)?;
    context::add_to_linker::<StoreState, FuncsImports>(linker, view)
}

impl FuncsView<'_> {
    async fn call(&mut self, id: &str, args: Vec<Value>) -> Result<Value, String> {
        let env = self.state.env.clone();
        env.call_nested(&self.state.entry, id, args).await.map_err(|e| e.to_string())
    }
}

impl funcs::Host for FuncsView<'_> {
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

impl context::Host for FuncsView<'_> {
    fn actor(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(self.state.env.context.actor.clone())
    }

    fn scope(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(self.state.env.context.scope.clone())
    }

    fn request(&mut self) -> wasmtime::Result<String> {
        Ok(json::to_json_string(&Value::Map(self.state.env.context.request.clone())))
    }
}
