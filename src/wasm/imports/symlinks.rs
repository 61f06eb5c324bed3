//! The symlink guard of `wasi:filesystem` (WASI 0.2) and `path_symlink` (WASI preview 1): a guest may create a
//! symbolic link inside a mount only when its target stays inside the mount.
//!
//! wasmtime-wasi's sandbox (cap-std) never *follows* a link out of a preopened folder, but it creates one whatever
//! its target says, and any host-side reader of the folder (a backup, another program, a later mount of it
//! elsewhere) would follow `evil -> ../../../../etc/passwd`. So both entry points are shadowed here: the target is
//! read lexically from the link's own folder and refused (`not-permitted` / errno `perm`) if it is absolute or
//! climbs above the folder the guest named the link from; otherwise the call goes on to wasmtime-wasi unchanged.
//! The descriptor a guest passes may itself be below the mount's root, in which case this is stricter than needed
//! (a `..` that would still be inside is refused too), never looser. Hard links need no guard: both of their paths
//! are resolved inside the sandbox, so a hard link to a file outside cannot be made.

use std::path::{Component, Path};

use wasmtime::component::Resource;
use wasmtime_wasi::filesystem::WasiFilesystemView;
use wasmtime_wasi::p2::bindings::filesystem::types::{Descriptor, ErrorCode, HostDescriptor};

use crate::wasm::store::StoreState;

/// The version of `wasi:filesystem` wasmtime-wasi registers (pinned with wasmtime).
const WASI_FILESYSTEM: &str = "0.2.12";

/// WASI preview 1's `perm` and `fault` errnos.
const ERRNO_PERM: i32 = 63;
const ERRNO_FAULT: i32 = 21;

/// Whether a link at `link` (relative to the descriptor the guest names it from) with target `target` would point
/// outside that descriptor's folder.
pub(crate) fn target_escapes(link: &str, target: &str) -> bool {
    if target.is_empty() || Path::new(target).is_absolute() {
        return true;
    }
    // How deep the link's folder is below the descriptor, then where the target leads from there.
    let mut depth: i64 = 0;
    let parent = Path::new(link).parent().unwrap_or(Path::new(""));
    !(descend(&mut depth, parent) && descend(&mut depth, Path::new(target)))
}

/// Walks `path` from `depth`; false once it climbs above depth 0 or is absolute.
fn descend(depth: &mut i64, path: &Path) -> bool {
    for c in path.components() {
        match c {
            Component::Normal(_) => *depth += 1,
            Component::ParentDir => *depth -= 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return false,
        }
        if *depth < 0 {
            return false;
        }
    }
    true
}

/// Shadows `[method]descriptor.symlink-at` in a component linker that has `wasi:filesystem`.
pub(crate) fn guard_component(l: &mut wasmtime::component::Linker<StoreState>) -> wasmtime::Result<()> {
    l.allow_shadowing(true);
    let mut i = l.instance(&format!("wasi:filesystem/types@{WASI_FILESYSTEM}"))?;
    i.func_wrap_async(
        "[method]descriptor.symlink-at",
        |mut store, (fd, target, link): (Resource<Descriptor>, String, String)| {
            Box::new(async move {
                if target_escapes(&link, &target) {
                    return Ok((Err(ErrorCode::NotPermitted),));
                }
                let mut view = store.data_mut().filesystem();
                match HostDescriptor::symlink_at(&mut view, fd, target, link).await {
                    Ok(()) => Ok((Ok(()),)),
                    Err(e) => Ok((Err(e.downcast()?),)),
                }
            })
        },
    )?;
    l.allow_shadowing(false);
    Ok(())
}

/// Shadows `path_symlink` in a core-module linker that has WASI preview 1.
pub(crate) fn guard_wasi1(l: &mut wasmtime::Linker<StoreState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1;
    l.allow_shadowing(true);
    l.func_wrap_async(
        "wasi_snapshot_preview1",
        "path_symlink",
        |mut caller: wasmtime::Caller<'_, StoreState>,
         (target_ptr, target_len, fd, link_ptr, link_len): (i32, i32, i32, i32, i32)| {
            Box::new(async move {
                let Some(wasmtime::Extern::Memory(memory)) = caller.get_export("memory") else {
                    return Ok(ERRNO_FAULT);
                };
                let (data, state) = memory.data_and_store_mut(&mut caller);
                let text = |ptr: i32, len: i32| {
                    let (ptr, len) = (ptr as u32 as usize, len as u32 as usize);
                    data.get(ptr..ptr.checked_add(len)?).and_then(|b| std::str::from_utf8(b).ok()).map(str::to_owned)
                };
                let (Some(target), Some(link)) = (text(target_ptr, target_len), text(link_ptr, link_len)) else {
                    return Ok(ERRNO_FAULT);
                };
                if target_escapes(&link, &target) {
                    return Ok(ERRNO_PERM);
                }
                let mut guest = wiggle::GuestMemory::Unshared(data);
                let ctx = state.wasi_p1();
                // What wiggle's own glue does before each call: the two strings are all this call copies.
                ctx.set_hostcall_fuel(target.len() + link.len());
                let r = WasiSnapshotPreview1::path_symlink(
                    ctx,
                    &mut guest,
                    wiggle::GuestPtr::new((target_ptr as u32, target_len as u32)),
                    wasmtime_wasi::p1::types::Fd::from(fd as u32),
                    wiggle::GuestPtr::new((link_ptr as u32, link_len as u32)),
                )
                .await;
                match r {
                    Ok(()) => Ok(0),
                    Err(e) => Ok(e.downcast()? as i32),
                }
            })
        },
    )?;
    l.allow_shadowing(false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::target_escapes;

    #[test]
    fn targets_are_read_from_the_links_folder() {
        assert!(target_escapes("evil", "../../../../etc/passwd"));
        assert!(target_escapes("evil", "/etc/passwd"));
        assert!(target_escapes("evil", "../x"));
        assert!(target_escapes("a/evil", "../../x"));
        assert!(target_escapes("evil", ""));
        assert!(!target_escapes("ok", "data.txt"));
        assert!(!target_escapes("a/ok", "../data.txt"));
        assert!(!target_escapes("a/b/ok", "../../c/./d"));
        assert!(!target_escapes("ok", "sub/../data.txt"));
        assert!(target_escapes("ok", "sub/../../data.txt"));
    }
}
