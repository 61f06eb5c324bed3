//! Entry kinds: parsing each kind's fields out of its YAML mapping, one file per family of kinds.
//!
//! [`parse_file`] reads one `_index.yaml` (`version`, `namespace`, `entries`) and returns the entries it could
//! parse, pushing a diagnostic for everything wrong. Each kind's fields are read by its family's file:
//! [`resources`] (`fs.directory`, `env.variable`), [`wasm`] (`function.wat`, `function.wasm`, `process.wasm`),
//! [`hosts`] (`process.host`, `terminal.host`), [`supervision`] (`process.service`, `process.supervisor`) and
//! [`lua`] (`function.lua`, `process.lua`, `library.lua`). Cross-references are checked once every file is read
//! ([`super::check`]).

pub(crate) mod hosts;
pub(crate) mod lua;
pub(crate) mod resources;
pub(crate) mod supervision;
pub(crate) mod wasm;

use std::path::Path;
use std::sync::Arc;

use crate::error::Diagnostic;
use crate::id::{check_name, check_namespace, EntryId, Origin, Pos};
use crate::registry::fields::{closest, describe, Fields, Sink};
use crate::registry::yaml::{self, Node, NodeKind};
use crate::value::{Map, Value};

use hosts::parse_process_host;
pub(crate) use hosts::{default_workers, ProcessHostEntry, TerminalHostEntry};
use lua::parse_lua;
pub(crate) use lua::{LuaEntry, LuaRole, LUA_MODULES};
use resources::{parse_env_variable, parse_fs_directory};
pub(crate) use resources::{EnvVariable, FsDirectory};
use supervision::{parse_service, parse_supervisor};
pub(crate) use supervision::{Lifecycle, Service, SupervisorEntry};
use wasm::parse_wasm;
pub(crate) use wasm::{Limits, PoolConfig, PoolKind, Transport, WasmEntry, WasmRole, WasmSource};

/// Every kind this build understands, as written in YAML.
pub(crate) const KNOWN_KINDS: &[&str] = &[
    "fs.directory",
    "env.variable",
    "function.wat",
    "function.wasm",
    "process.wasm",
    "process.host",
    "terminal.host",
    "process.service",
    "process.supervisor",
    "function.lua",
    "process.lua",
    "library.lua",
];

/// One registry entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// `namespace:name`.
    pub id: EntryId,
    /// The kind and its fields.
    pub kind: EntryKind,
    /// The free-form `meta` map.
    pub meta: Map,
    /// Where the entry starts.
    pub origin: Origin,
}

/// The kind of an entry, with the kind's own fields.
#[derive(Debug, Clone)]
pub(crate) enum EntryKind {
    /// `fs.directory`.
    FsDirectory(FsDirectory),
    /// `env.variable`.
    EnvVariable(EnvVariable),
    /// `function.wat`, `function.wasm` or `process.wasm`.
    Wasm(Box<WasmEntry>),
    /// `process.host`.
    ProcessHost(ProcessHostEntry),
    /// `terminal.host`.
    TerminalHost(#[allow(dead_code)] TerminalHostEntry),
    /// `process.service`.
    Service(Box<Service>),
    /// `process.supervisor`.
    Supervisor(Box<SupervisorEntry>),
    /// `function.lua`, `process.lua` or `library.lua`.
    Lua(Box<LuaEntry>),
}

impl EntryKind {
    /// Whether entries of this kind run as processes (`process.wasm`, `process.lua`).
    pub(crate) fn is_process(&self) -> bool {
        match self {
            EntryKind::Wasm(w) => w.role == WasmRole::Process,
            EntryKind::Lua(l) => l.role == LuaRole::Process,
            _ => false,
        }
    }

    /// The kind as written in YAML.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            EntryKind::FsDirectory(_) => "fs.directory",
            EntryKind::EnvVariable(_) => "env.variable",
            EntryKind::Wasm(w) => match (&w.role, &w.source) {
                (WasmRole::Process, _) => "process.wasm",
                (WasmRole::Function, WasmSource::Wat { .. }) => "function.wat",
                (WasmRole::Function, WasmSource::File { .. }) => "function.wasm",
            },
            EntryKind::ProcessHost(_) => "process.host",
            EntryKind::TerminalHost(_) => "terminal.host",
            EntryKind::Service(_) => "process.service",
            EntryKind::Supervisor(_) => "process.supervisor",
            EntryKind::Lua(l) => match l.role {
                LuaRole::Function => "function.lua",
                LuaRole::Process => "process.lua",
                LuaRole::Library => "library.lua",
            },
        }
    }
}

/// A reference to another entry, resolved to a full ID, with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ref {
    /// The referenced entry.
    pub id: EntryId,
    /// Where the reference was written.
    pub pos: Pos,
}

/// `meta.command` of a `process.wasm` entry: runs it with `wippy run <name>`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Command {
    /// The command name.
    pub name: String,
    /// A one-line description for `wippy run list`.
    pub short: Option<String>,
}

/// Reads one `_index.yaml`. Problems go to `diags`; the entries that parsed are returned.
pub(crate) fn parse_file(root: &Path, path: &Path, text: &str, diags: &mut Vec<Diagnostic>) -> Vec<Entry> {
    let shown: Arc<Path> = Arc::from(super::project::display_path(path).as_path());
    let dir: Arc<Path> = Arc::from(path.parent().unwrap_or(Path::new(".")));
    let origin = Origin { file: shown, dir, pos: Pos { line: 1, col: 1 } };
    let mut sink = Sink { origin, entry: None, out: diags };
    let doc = match yaml::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let hint = e.hint.unwrap_or("check the indentation and quoting around this place");
            sink.error_hint(e.pos, format!("invalid YAML: {}", e.message), hint);
            return Vec::new();
        }
    };
    let Some(mut top) = Fields::new(&doc, "the file", &mut sink) else { return Vec::new() };
    if let Some(v) = top.node("version") {
        let ok = matches!(&v.kind, NodeKind::Str(s) if s == "1.0") || matches!(v.kind, NodeKind::Float(f) if f == 1.0);
        if !ok {
            sink.error_hint(
                v.pos,
                format!("unsupported file version {}", describe(v)),
                "use `version: \"1.0\"` or leave it out",
            );
        }
    }
    let namespace = top.required_string("namespace", &mut sink);
    if let Some((ns, pos)) = &namespace {
        if let Err(e) = check_namespace(ns) {
            sink.error(*pos, e);
        }
    }
    let items = top.list("entries", &mut sink).unwrap_or(&[]);
    top.finish(&mut sink);
    let Some((namespace, _)) = namespace else { return Vec::new() };
    if check_namespace(&namespace).is_err() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        sink.entry = None;
        if let Some(e) = parse_entry(root, &namespace, item, &mut sink) {
            out.push(e);
        }
    }
    out
}

fn parse_entry(root: &Path, ns: &str, node: &Node, sink: &mut Sink<'_>) -> Option<Entry> {
    let mut f = Fields::new(node, "entry", sink)?;
    let name = f.required_string("name", sink);
    let kind = f.required_string("kind", sink);
    let (name, name_pos) = name?;
    if let Err(e) = check_name(&name) {
        sink.error(name_pos, e);
        return None;
    }
    let id = EntryId::from_parts(ns, &name);
    sink.entry = Some(id.clone());
    let before = sink.out.len();
    let meta = match f.node("meta") {
        Some(m) if matches!(m.kind, NodeKind::Map(_)) => match m.to_value() {
            Value::Map(map) => map,
            _ => Map::new(),
        },
        Some(m) => {
            sink.error(m.pos, format!("field `meta` must be a mapping, got a {}", m.type_name()));
            Map::new()
        }
        None => Map::new(),
    };
    let (kind, kind_pos) = kind?;
    let parsed = match kind.as_str() {
        "fs.directory" => parse_fs_directory(root, &mut f, sink).map(EntryKind::FsDirectory),
        "env.variable" => Some(EntryKind::EnvVariable(parse_env_variable(&name, &mut f, sink))),
        "function.wat" => {
            parse_wasm(ns, WasmRole::Function, true, &mut f, node, sink).map(|w| EntryKind::Wasm(Box::new(w)))
        }
        "function.wasm" => {
            parse_wasm(ns, WasmRole::Function, false, &mut f, node, sink).map(|w| EntryKind::Wasm(Box::new(w)))
        }
        "process.wasm" => {
            parse_wasm(ns, WasmRole::Process, false, &mut f, node, sink).map(|w| EntryKind::Wasm(Box::new(w)))
        }
        "process.host" => parse_process_host(&mut f, sink).map(EntryKind::ProcessHost),
        "terminal.host" => {
            Some(EntryKind::TerminalHost(TerminalHostEntry { hide_logs: f.bool("hide_logs", sink).unwrap_or(false) }))
        }
        "process.service" => parse_service(ns, &mut f, sink).map(|s| EntryKind::Service(Box::new(s))),
        "function.lua" => parse_lua(ns, LuaRole::Function, &mut f, node, sink).map(|l| EntryKind::Lua(Box::new(l))),
        "process.lua" => parse_lua(ns, LuaRole::Process, &mut f, node, sink).map(|l| EntryKind::Lua(Box::new(l))),
        "library.lua" => parse_lua(ns, LuaRole::Library, &mut f, node, sink).map(|l| EntryKind::Lua(Box::new(l))),
        "process.supervisor" => parse_supervisor(ns, &mut f, sink).map(|s| EntryKind::Supervisor(Box::new(s))),
        other => {
            let hint = match closest(other, KNOWN_KINDS) {
                Some(c) => format!("did you mean `{c}`? known kinds: {}", KNOWN_KINDS.join(", ")),
                None => format!("known kinds: {}", KNOWN_KINDS.join(", ")),
            };
            sink.error_hint(kind_pos, format!("unknown kind `{other}`"), hint);
            return None;
        }
    };
    f.finish(sink);
    let kind = parsed?;
    if sink.out.len() > before {
        return None;
    }
    Some(Entry { id, kind, meta, origin: sink.origin.at(node.pos) })
}

pub(super) fn parse_ref(ns: &str, text: &str, pos: Pos, field: &str, sink: &mut Sink<'_>) -> Option<Ref> {
    match EntryId::resolve(text, ns) {
        Ok(id) => Some(Ref { id, pos }),
        Err(e) => {
            sink.error(pos, format!("field `{field}`: {e}"));
            None
        }
    }
}

/// `meta.command`; `process_kind` is the kind the entry must have for it (`process.wasm` or `process.lua`), and
/// `is_process` whether it has it.
pub(super) fn parse_command(is_process: bool, process_kind: &str, node: &Node, sink: &mut Sink<'_>) -> Option<Command> {
    let cmd = node.get("meta")?.get("command")?;
    if !is_process {
        sink.error_hint(
            cmd.pos,
            "`meta.command` is only for process entries",
            format!("declare the entry as `kind: {process_kind}`"),
        );
        return None;
    }
    let mut f = Fields::new(cmd, "`meta.command`", sink)?;
    let name = f.required_string("name", sink);
    let short = f.string("short", sink).map(|(s, _)| s);
    f.finish(sink);
    let (name, pos) = name?;
    if name.is_empty() || name.starts_with('-') || name.contains(char::is_whitespace) {
        sink.error(pos, format!("command name `{name}` must be one word that does not start with `-`"));
        return None;
    }
    Some(Command { name, short })
}
