//! `function.lua`, `process.lua` and `library.lua`: Lua sources, their method, built-in modules and libraries.

use super::wasm::{parse_limits, Limits};
use super::{parse_command, parse_ref, Command, Ref};
use crate::id::Pos;
use crate::registry::fields::{closest, Fields, Sink};
use crate::registry::yaml::Node;

/// The built-in Lua modules an entry's `modules` may list.
pub(crate) const LUA_MODULES: &[&str] = &[
    "funcs", "process", "time", "channel", "errors", "json", "uuid", "env", "logger", "payload", "security", "ctx",
    "events",
];

/// What a Lua entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LuaRole {
    /// `function.lua`.
    Function,
    /// `process.lua`.
    Process,
    /// `library.lua`.
    Library,
}

/// `function.lua`, `process.lua`, `library.lua`.
#[derive(Debug, Clone)]
pub(crate) struct LuaEntry {
    /// Function, process or library.
    pub role: LuaRole,
    /// The source text. Inline sources are padded with blank lines so that Lua's line numbers are the YAML file's.
    pub source: String,
    /// The chunk name in error messages: the `.lua` file, or the YAML file for inline sources.
    pub chunk_name: String,
    /// Where `source` was written.
    pub source_pos: Pos,
    /// The function to call (not for libraries).
    pub method: Option<String>,
    /// Built-in modules it may `require`.
    pub modules: Vec<String>,
    /// `require` aliases for library entries.
    pub imports: Vec<(String, Ref)>,
    /// `meta.command` of a process entry.
    pub command: Option<Command>,
    /// `limits` (`max_execution_ms`, `max_memory`).
    pub limits: Limits,
}

pub(super) fn parse_lua(
    ns: &str,
    role: LuaRole,
    f: &mut Fields<'_>,
    node: &Node,
    sink: &mut Sink<'_>,
) -> Option<LuaEntry> {
    let source = f.required_string("source", sink);
    // SPEC §5.1: a function names its method; a process's defaults to `main`.
    let method = match role {
        LuaRole::Library => None,
        LuaRole::Process => Some(f.string("method", sink).map_or_else(|| "main".to_owned(), |(m, _)| m)),
        LuaRole::Function => f.required_string("method", sink).map(|(m, _)| m),
    };
    let mut modules = Vec::new();
    for (m, pos) in f.string_list("modules", sink).unwrap_or_default() {
        if LUA_MODULES.contains(&m.as_str()) {
            modules.push(m);
        } else {
            let hint = match closest(&m, LUA_MODULES) {
                Some(c) => format!("did you mean `{c}`? the built-in modules are: {}", LUA_MODULES.join(", ")),
                None => format!("the built-in modules are: {}; libraries go in `imports`", LUA_MODULES.join(", ")),
            };
            sink.error_hint(pos, format!("unknown module `{m}`"), hint);
        }
    }
    let mut imports = Vec::new();
    if let Some(n) = f.node("imports") {
        match n.as_map() {
            Some(entries) => {
                for (k, v) in entries {
                    match (k.as_str(), v.as_str()) {
                        (Some(alias), Some(target)) => {
                            if let Some(r) = parse_ref(ns, target, v.pos, "imports", sink) {
                                imports.push((alias.to_owned(), r));
                            }
                        }
                        _ => sink.error(
                            k.pos,
                            "`imports` maps an alias to a `library.lua` entry ID, like `util: app.lib:util`",
                        ),
                    }
                }
            }
            None => {
                sink.error_hint(n.pos, "field `imports` must be a mapping", "write `imports: {util: app.lib:util}`")
            }
        }
    }
    let command = parse_command(role == LuaRole::Process, "process.lua", node, sink);
    let limits = f.node("limits").map(|n| parse_lua_limits(n, sink)).unwrap_or_default();
    let (text, pos) = source?;
    let (source, chunk_name) = match text.strip_prefix("file://") {
        Some(rel) => {
            let path = sink.origin.dir.join(rel);
            match crate::files::read_text(&path) {
                Ok(t) => (t, crate::registry::project::display_path(&path).display().to_string()),
                Err(e) => {
                    sink.error_hint(
                        pos,
                        format!("cannot read Lua source `{}`: {e}", path.display()),
                        "`file://` paths are relative to the folder of the YAML file",
                    );
                    return None;
                }
            }
        }
        None => {
            // The scalar's position is its first content line (for `source: |`, the line after the `|`).
            (format!("{}{text}", "\n".repeat(pos.line.saturating_sub(1))), sink.origin.file.display().to_string())
        }
    };
    Some(LuaEntry { role, source, chunk_name, source_pos: pos, method, modules, imports, command, limits })
}

/// `limits` of a Lua entry: `max_execution_ms` and `max_memory` (Lua counts no fuel).
fn parse_lua_limits(node: &Node, sink: &mut Sink<'_>) -> Limits {
    let limits = parse_limits(node, sink);
    if limits.max_fuel.is_some() {
        sink.error_hint(
            node.pos,
            "`limits.max_fuel` is not supported for Lua entries",
            "bound Lua code with `max_execution_ms` and `max_memory`",
        );
    }
    limits
}
