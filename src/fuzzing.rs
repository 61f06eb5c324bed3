//! Entry points for the fuzz targets in `fuzz/` (`cargo +nightly fuzz`, see `docs/testing.md`), compiled only with
//! the `fuzzing` feature: each feeds arbitrary input to one reader or conversion of the host and checks that it
//! returns (an error is fine) instead of panicking, hanging or growing without bound. Not part of the public API.

use std::path::Path;
use std::sync::OnceLock;

use wasmtime::component::types::ComponentItem;
use wasmtime::component::Type;

use crate::value::Value;

/// The YAML reader.
pub fn yaml(text: &str) {
    let _ = crate::registry::yaml::parse(text);
}

/// The whole registry loader over one `_index.yaml` (references, kinds, supervision checks). `file://` sources
/// resolve against a folder that does not exist, so nothing outside is read.
pub fn registry(text: &str) {
    let root = Path::new("/nonexistent-wippy-fuzz");
    let file = root.join("src/_index.yaml");
    let _ = crate::registry::Registry::from_sources_partial(root, [(file.as_path(), text)]);
}

/// A command-line argument, and the JSON of what it parsed to read back.
pub fn json_arg(text: &str) {
    if let Ok(v) = Value::from_arg(text) {
        let json = v.to_json();
        let again = Value::from_json(&json).expect("the JSON the host writes reads back");
        assert_eq!(again.to_json(), json, "JSON round trip");
    }
}

/// The parameter types of the `types.wasm` test component (records, variants, lists, options, results, ...).
fn wit_types() -> &'static [Type] {
    static TYPES: OnceLock<Vec<Type>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let engine = wasmtime::Engine::default();
        let bytes = include_bytes!("../tests/fixtures/wasm/types.wasm");
        let component = wasmtime::component::Component::new(&engine, bytes).expect("the fixture compiles");
        let mut out = Vec::new();
        let mut items: Vec<ComponentItem> =
            component.component_type().exports(&engine).map(|(_, item)| item.ty).collect();
        while let Some(item) = items.pop() {
            match item {
                ComponentItem::ComponentFunc(f) => out.extend(f.params().map(|(_, t)| t).chain(f.results())),
                ComponentItem::ComponentInstance(i) => items.extend(i.exports(&engine).map(|(_, item)| item.ty)),
                _ => {}
            }
        }
        out
    })
}

/// A value read from JSON, lowered to each WIT type of the test component and, where it fits, lifted back.
pub fn wit(text: &str) {
    let Ok(value) = Value::from_json(text) else { return };
    for ty in wit_types() {
        let Ok(val) = crate::value::wit::lower(&value, ty, "arg") else { continue };
        // Lifting may refuse what lowering took (a u64 above i64's range has no `Value`); what comes back lowers
        // to the same WIT value.
        let Ok(back) = crate::value::wit::lift(&val, ty, "result") else { continue };
        let again = crate::value::wit::lower(&back, ty, "arg").expect("a lifted value lowers again");
        let name = crate::value::wit::type_name(ty);
        assert_eq!(format!("{val:?}"), format!("{again:?}"), "WIT round trip through {name}");
    }
}

/// A value read from JSON, into Lua and back.
pub fn lua(text: &str) {
    let Ok(value) = Value::from_json(text) else { return };
    let lua = mlua::Lua::new();
    if let Ok(v) = crate::value::lua::to_lua(&lua, &value) {
        let _ = crate::value::lua::from_lua(&v, "value");
    }
}

/// The typed-syntax eraser: the line count is kept whatever the input.
pub fn typed_syntax(text: &str) {
    if let Ok(out) = crate::lua::typed::erase(text) {
        assert_eq!(out.lines().count(), text.lines().count(), "erasure keeps every line");
    }
}
