//! Finding a component's exported function by name (`name` or `interface#name`), and listing what it exports
//! when the name is wrong.

use wasmtime::component::{ComponentExportIndex, Type};

/// A resolved component export: its index, parameter names and types, and result type.
pub(super) type ComponentMethod = (ComponentExportIndex, Vec<(String, Type)>, Option<Type>);

/// Finds `name` or `interface#name` among a component's exports; on failure lists what does exist.
pub(super) fn resolve_component_method(
    engine: &wasmtime::Engine,
    component: &wasmtime::component::Component,
    method: &str,
) -> Result<ComponentMethod, String> {
    use wasmtime::component::types::ComponentItem;
    let ty = component.component_type();
    let (iface, func) = match method.split_once('#') {
        Some((i, f)) => (Some(i), f),
        None => (None, method),
    };
    let found = match iface {
        None => ty.get_export(engine, func).map(|e| (None, e.ty)),
        Some(i) => ty.exports(engine).find(|(name, _)| interface_matches(name, i)).and_then(|(name, e)| match e.ty {
            ComponentItem::ComponentInstance(inst) => {
                inst.get_export(engine, func).map(|f| (Some(name.to_owned()), f.ty))
            }
            _ => None,
        }),
    };
    let missing = || {
        let exports = list_component_functions(engine, component);
        format!(
            "the component has no export `{method}`; its exported functions are: {}",
            if exports.is_empty() { "none".to_owned() } else { exports.join(", ") }
        )
    };
    let Some((iface_name, ComponentItem::ComponentFunc(f))) = found else { return Err(missing()) };
    let index = match &iface_name {
        None => component.get_export_index(None, func),
        Some(i) => component.get_export_index(None, i).and_then(|ii| component.get_export_index(Some(&ii), func)),
    }
    .ok_or_else(missing)?;
    if f.async_() {
        return Err(format!("`{method}` is an async function (component-model async), which this host does not call"));
    }
    let params = f.params().map(|(n, t)| (n.to_owned(), t)).collect();
    let result = f.results().next();
    Ok((index, params, result))
}

/// `test-sleep` matches `test:guest/test-sleep@0.1.0`; a full name matches itself with or without its version.
fn interface_matches(export: &str, wanted: &str) -> bool {
    let bare = export.split('@').next().unwrap_or(export);
    export == wanted || bare == wanted || bare.rsplit('/').next() == Some(wanted)
}

/// Every exported function, as `name` or `interface#name`.
pub(super) fn list_component_functions(
    engine: &wasmtime::Engine,
    component: &wasmtime::component::Component,
) -> Vec<String> {
    use wasmtime::component::types::ComponentItem;
    let mut out = Vec::new();
    for (name, e) in component.component_type().exports(engine) {
        match e.ty {
            ComponentItem::ComponentFunc(_) => out.push(format!("`{name}`")),
            ComponentItem::ComponentInstance(inst) => {
                let short = name.split('@').next().unwrap_or(name).rsplit('/').next().unwrap_or(name).to_owned();
                for (f, fe) in inst.exports(engine) {
                    if matches!(fe.ty, ComponentItem::ComponentFunc(_)) {
                        out.push(format!("`{short}#{f}`"));
                    }
                }
            }
            _ => {}
        }
    }
    out
}
