//! Trapping stand-ins for guest imports that no granted group provides.
//!
//! For every imported interface whose group is not granted (or that no group provides), each function is linked as a
//! function that fails with [`CapabilityDenied`] when called, and each resource type is defined so that the component
//! still type-checks. A resource appears once where it is defined and again wherever another interface `use`s it
//! (`wasi:io/streams` re-exports `wasi:io/error.error`); every appearance must be bound to the same host type. So a
//! first pass over all imports assigns one host type per component-side resource, at its first appearance (its
//! definition: components import definitions first): the real wasmtime-wasi type for the `wasi:io` resources, because
//! granted groups (say `wasi:clocks`) hand out `wasi:io` pollables even when `wasi:poll` itself is not granted, and
//! one shared stub type for the rest.
//!
//! Only ungranted interfaces are stubbed. Wasmtime's own `define_unknown_imports_as_traps` would also stub a granted
//! interface imported at a newer 0.2.x minor than the host registers, shadowing the semver match; this does not.

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, LinkerInstance, ResourceType};
use wasmtime::{ExternType, Module};

use crate::capability::Group;
use crate::error::CapabilityDenied;
use crate::id::EntryId;
use crate::wasm::store::StoreState;

/// The host type behind stubbed resources that have no real host type.
struct StubResource;

fn denied(group: Option<Group>, entry: &EntryId, import: String) -> wasmtime::Error {
    wasmtime::Error::new(CapabilityDenied { group, entry: entry.clone(), import })
}

/// The host type wasmtime-wasi uses for a `wasi:io` resource, so granted groups that return one still link.
fn io_resource_type(interface: &str, resource: &str) -> Option<ResourceType> {
    let bare = interface.split('@').next().unwrap_or(interface);
    Some(match (bare, resource) {
        ("wasi:io/poll", "pollable") => ResourceType::host::<wasmtime_wasi::p2::DynPollable>(),
        ("wasi:io/streams", "input-stream") => ResourceType::host::<wasmtime_wasi::p2::DynInputStream>(),
        ("wasi:io/streams", "output-stream") => ResourceType::host::<wasmtime_wasi::p2::DynOutputStream>(),
        ("wasi:io/error", "error") => ResourceType::host::<wasmtime_wasi::p2::IoError>(),
        _ => return None,
    })
}

/// Host types for the component-side resources, by first appearance.
struct Resources(Vec<(ResourceType, ResourceType)>);

impl Resources {
    fn collect(engine: &wasmtime::Engine, component: &Component) -> Resources {
        let mut map = Resources(Vec::new());
        for (name, ext) in component.component_type().imports(engine) {
            if let ComponentItem::ComponentInstance(inst) = ext.ty {
                for (item, iext) in inst.exports(engine) {
                    if let ComponentItem::Resource(rt) = iext.ty {
                        if map.get(&rt).is_none() {
                            let host = io_resource_type(name, item).unwrap_or_else(ResourceType::host::<StubResource>);
                            map.0.push((rt, host));
                        }
                    }
                }
            }
        }
        map
    }

    fn get(&self, guest: &ResourceType) -> Option<ResourceType> {
        self.0.iter().find(|(g, _)| g == guest).map(|(_, h)| *h)
    }
}

/// Links trapping stubs for every import of `component` that the granted groups do not provide.
pub(crate) fn stub_component_imports(
    linker: &mut Linker<StoreState>,
    engine: &wasmtime::Engine,
    component: &Component,
    entry: &EntryId,
    granted: &[Group],
) -> wasmtime::Result<()> {
    let ty = component.component_type();
    let resources = Resources::collect(engine, component);
    for (name, ext) in ty.imports(engine) {
        let group = Group::for_interface(name);
        if group.is_some_and(|g| granted.contains(&g)) {
            continue;
        }
        match ext.ty {
            ComponentItem::ComponentInstance(inst) => {
                let mut li = linker.instance(name)?;
                for (item, iext) in inst.exports(engine) {
                    stub_item(&mut li, engine, &resources, name, item, &iext.ty, group, entry)?;
                }
            }
            other => {
                let mut root = linker.root();
                stub_item(&mut root, engine, &resources, "", name, &other, group, entry)?;
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn stub_item(
    li: &mut LinkerInstance<'_, StoreState>,
    engine: &wasmtime::Engine,
    resources: &Resources,
    interface: &str,
    item: &str,
    ty: &ComponentItem,
    group: Option<Group>,
    entry: &EntryId,
) -> wasmtime::Result<()> {
    match ty {
        ComponentItem::ComponentFunc(_) => {
            let import = if interface.is_empty() { item.to_owned() } else { format!("{interface}#{item}") };
            let entry = entry.clone();
            li.func_new(item, move |_, _, _, _| Err(denied(group, &entry, import.clone())))?;
        }
        ComponentItem::Resource(guest) => {
            let rt = resources.get(guest).unwrap_or_else(ResourceType::host::<StubResource>);
            li.resource(item, rt, |_, _| Ok(()))?;
        }
        ComponentItem::ComponentInstance(nested) => {
            let mut inner = li.instance(item)?;
            let path = format!("{interface}/{item}");
            for (name, ext) in nested.exports(engine) {
                stub_item(&mut inner, engine, resources, &path, name, &ext.ty, group, entry)?;
            }
        }
        ComponentItem::Type(_)
        | ComponentItem::CoreFunc(_)
        | ComponentItem::Module(_)
        | ComponentItem::Component(_) => {}
    }
    Ok(())
}

/// Links trapping stubs for every function import of a core module that the granted groups do not provide.
/// Memory, table and global imports cannot be stubbed and make instantiation fail with wasmtime's message.
pub(crate) fn stub_core_imports(
    linker: &mut wasmtime::Linker<StoreState>,
    module: &Module,
    entry: &EntryId,
    granted: &[Group],
) -> wasmtime::Result<()> {
    for import in module.imports() {
        let group = Group::for_core_module(import.module());
        if group.is_some_and(|g| granted.contains(&g)) {
            continue;
        }
        if let ExternType::Func(ft) = import.ty() {
            let name = format!("{}::{}", import.module(), import.name());
            let entry = entry.clone();
            linker.func_new(import.module(), import.name(), ft, move |_, _, _| {
                Err(denied(group, &entry, name.clone()))
            })?;
        }
    }
    Ok(())
}
