//! What an invocation's globals hold beyond the standard base (SPEC §5.1, "Globals" and "require"): the built-in
//! modules it may use (`process` and `channel` always; the others when its entry, or a library it imports, lists
//! them in `modules`), its libraries under their import aliases, and `require`, which returns one of its globals.
//!
//! Modules are found through the base's lazy `__index` ([`super::sandbox`]) and cached in the base: a state serves
//! one entry only (its pool is the entry's), so what one invocation of the entry may see, the next one may too.
//! Libraries are per invocation: an alias runs its library on first use, once per invocation, and the value is kept
//! in the invocation's context. (Wippy runs them when the environment is built; only a library's side effects and
//! when its load error shows can tell the two apart.)

use mlua::{Lua, Value as LuaValue};

use super::engine::LuaCode;
use super::invocation::current;
use super::modules;
use crate::id::{EntryId, EntryMap};
use crate::registry::kinds::LUA_MODULES;

/// The built-in modules every Lua entry has as globals, listed in `modules` or not.
pub(crate) const ALWAYS: &[&str] = &["process", "channel", "errors", "payload"];

/// An entry's own modules and imports (alias, library).
type Reach = (Vec<String>, Vec<(String, EntryId)>);

/// Adds the modules and imports of every library an entry reaches, directly or through other libraries, to the
/// entry's own (an alias of the entry's own wins over a library's alias of the same name).
pub(super) fn close_over_imports(codes: &mut EntryMap<LuaCode>) {
    let direct: EntryMap<Reach> = codes
        .iter()
        .map(|(id, c)| {
            (id.clone(), (c.modules.clone(), c.imports.iter().map(|(a, i)| (a.clone(), i.clone())).collect()))
        })
        .collect();
    for code in codes.values_mut() {
        let mut seen: Vec<EntryId> = Vec::new();
        let mut todo: Vec<EntryId> = code.imports.values().cloned().collect();
        while let Some(lib) = todo.pop() {
            if seen.contains(&lib) {
                continue;
            }
            let Some((mods, imports)) = direct.get(&lib) else { continue };
            for m in mods {
                if !code.modules.contains(m) {
                    code.modules.push(m.clone());
                }
            }
            for (alias, target) in imports {
                code.imports.entry(alias.clone()).or_insert_with(|| target.clone());
                todo.push(target.clone());
            }
            seen.push(lib);
        }
    }
}

/// Whether `code` may use the built-in module `name`.
fn allows(code: &LuaCode, name: &str) -> bool {
    ALWAYS.contains(&name) || code.modules.iter().any(|m| m == name)
}

/// The global `name` of the current invocation beyond the standard base, if it has one: a built-in module it may
/// use (and whether the base may keep it), or one of its libraries.
pub(super) fn lookup(lua: &Lua, name: &str) -> mlua::Result<Option<(LuaValue, bool)>> {
    let Ok(ctx) = current() else { return Ok(None) };
    if LUA_MODULES.contains(&name) {
        if !allows(&ctx.code, name) {
            return Ok(None);
        }
        return Ok(Some((LuaValue::Table(modules::get(lua, name)?), true)));
    }
    if ctx.code.imports.contains_key(name) {
        return Ok(Some((ctx.engine.library(lua, &ctx, name)?, false)));
    }
    Ok(None)
}

/// The error of `require(name)` when the invocation has no such global.
pub(super) fn not_found(name: &str) -> mlua::Error {
    let why = match current() {
        Ok(ctx) if LUA_MODULES.contains(&name) => format!(": `{}` does not list it in `modules`", ctx.code.id),
        _ => String::new(),
    };
    mlua::Error::runtime(format!("module '{name}' not found{why}"))
}
