//! Entry kinds (SPEC §1): parsing each kind's fields out of its YAML mapping, and cross-checking references.
//!
//! [`parse_file`] reads one `_index.yaml` (`version`, `namespace`, `entries`) and returns the entries it could
//! parse, pushing a diagnostic for everything wrong. [`check_references`] runs once all files are read and checks
//! that every reference (`fs`, `wasi.env[].id`, `wasi.mounts[].fs`, ...) names an entry of the right kind.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::fields::{closest, describe, Fields, Sink};
use super::yaml::{self, Node, NodeKind, Pos};
use super::{check_name, check_namespace, Diagnostic, EntryId, Origin, Registry};
use crate::imports::Group;
use crate::value::{Map, Value};

/// Every kind this build understands, as written in YAML.
pub const KNOWN_KINDS: &[&str] = &[
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

/// The built-in Lua modules an entry's `modules` may list.
pub const LUA_MODULES: &[&str] = &["funcs", "process", "time", "channel"];

/// One registry entry.
#[derive(Debug, Clone)]
pub struct Entry {
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
pub enum EntryKind {
    /// `fs.directory`.
    FsDirectory(FsDirectory),
    /// `env.variable`.
    EnvVariable(EnvVariable),
    /// `function.wat`, `function.wasm` or `process.wasm`.
    Wasm(Box<WasmEntry>),
    /// `process.host`.
    ProcessHost(ProcessHost),
    /// `terminal.host`.
    TerminalHost(TerminalHost),
    /// `process.service`.
    Service(Box<Service>),
    /// `process.supervisor`.
    Supervisor(Box<SupervisorEntry>),
    /// `function.lua`, `process.lua` or `library.lua`.
    Lua(Box<LuaEntry>),
}

impl EntryKind {
    /// The kind as written in YAML.
    pub fn name(&self) -> &'static str {
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
pub struct Ref {
    /// The referenced entry.
    pub id: EntryId,
    /// Where the reference was written.
    pub pos: Pos,
}

/// `fs.directory`: a folder on the host.
#[derive(Debug, Clone)]
pub struct FsDirectory {
    /// The folder, resolved against the project root.
    pub directory: PathBuf,
    /// Create the folder when it is missing.
    pub auto_init: bool,
    /// Unix mode for a created folder.
    pub mode: u32,
}

/// `env.variable`: an OS environment variable.
#[derive(Debug, Clone)]
pub struct EnvVariable {
    /// The OS variable name.
    pub variable: String,
    /// The value used when the variable is not set.
    pub default: Option<String>,
    /// Whether a missing variable (and no default) is an error.
    pub required: bool,
}

/// Whether a WASM entry runs as a function or as a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmRole {
    /// `function.wat` / `function.wasm`.
    Function,
    /// `process.wasm`.
    Process,
}

/// Where a WASM entry's code comes from.
#[derive(Debug, Clone)]
pub enum WasmSource {
    /// `function.wat`: WAT text, inline or from a `file://` path (relative to the YAML file's folder).
    Wat {
        /// Inline text, when the source is inline.
        text: Option<String>,
        /// The file, when the source is `file://`.
        file: Option<PathBuf>,
        /// Where `source` was written.
        pos: Pos,
    },
    /// `function.wasm` / `process.wasm`: a binary inside an `fs.directory`.
    File {
        /// The `fs.directory` entry.
        fs: Ref,
        /// The path inside the directory.
        path: String,
        /// Where `path` was written.
        path_pos: Pos,
        /// The expected SHA-256, lowercase hex.
        sha256: String,
        /// Where `hash` was written.
        hash_pos: Pos,
    },
}

/// The fields shared by `function.wat`, `function.wasm` and `process.wasm`.
#[derive(Debug, Clone)]
pub struct WasmEntry {
    /// Function or process.
    pub role: WasmRole,
    /// The code.
    pub source: WasmSource,
    /// The export to call: `name` or `interface#name`.
    pub method: String,
    /// Where `method` was written.
    pub method_pos: Pos,
    /// WIT signature(s) for core modules.
    pub wit: Option<(String, Pos)>,
    /// Granted capability groups.
    pub imports: Vec<Group>,
    /// WASI configuration.
    pub wasi: WasiConfig,
    /// Execution limits.
    pub limits: Limits,
    /// Pool settings (functions only).
    pub pool: PoolConfig,
    /// `transport`: `payload` (the default) or `wasi-http`.
    pub transport: Transport,
    /// Where `transport` was written.
    pub transport_pos: Option<Pos>,
    /// `meta.command` of a process entry.
    pub command: Option<Command>,
}

/// How a `function.wasm` maps its call (the `transport` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// Arguments and result by the method's WIT types (the default).
    #[default]
    Payload,
    /// The component is a `wasi:http/proxy`: one request map in, one response map out
    /// ([`crate::function::http`]).
    WasiHttp,
}

/// `meta.command` of a `process.wasm` entry: runs it with `wippy run <name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The command name.
    pub name: String,
    /// A one-line description for `wippy run list`.
    pub short: Option<String>,
}

/// The `wasi` block.
#[derive(Debug, Clone, Default)]
pub struct WasiConfig {
    /// `args`.
    pub args: Vec<String>,
    /// `cwd`, absolute.
    pub cwd: Option<String>,
    /// `env`.
    pub env: Vec<WasiEnv>,
    /// `mounts`.
    pub mounts: Vec<Mount>,
}

/// One `wasi.env` item.
#[derive(Debug, Clone)]
pub struct WasiEnv {
    /// The `env.variable` entry.
    pub id: Ref,
    /// The name the guest sees.
    pub name: String,
    /// Whether a missing value is an error.
    pub required: bool,
}

/// One `wasi.mounts` item.
#[derive(Debug, Clone)]
pub struct Mount {
    /// The `fs.directory` entry.
    pub fs: Ref,
    /// The absolute guest path.
    pub guest: String,
    /// Whether writes are refused.
    pub read_only: bool,
}

/// The `limits` block.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// `max_execution_ms`.
    pub max_execution: Option<Duration>,
    /// `max_memory` in bytes.
    pub max_memory: Option<u64>,
    /// `max_fuel`.
    pub max_fuel: Option<u64>,
}

/// `pool.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// Run in the caller's task with no bound.
    Inline,
    /// Up to `max_size` concurrent calls.
    Lazy,
    /// `workers` concurrent calls and a `buffer`-long queue.
    Static,
    /// Like lazy.
    Adaptive,
}

/// The `pool` block, with the SPEC defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// The pool type.
    pub kind: PoolKind,
    /// How many calls run at once (`None` = unbounded, for `inline`).
    pub concurrency: Option<usize>,
    /// How many calls may wait for a free slot before a call is refused.
    pub queue: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig { kind: PoolKind::Lazy, concurrency: Some(100), queue: 100 * 64 }
    }
}

/// `process.host`: a scheduling domain for processes.
#[derive(Debug, Clone)]
pub struct ProcessHost {
    /// How many processes run guest code at the same moment.
    pub workers: usize,
    /// How many processes may be alive at once.
    pub max_processes: usize,
    /// How many spawned processes may wait for a worker before a spawn is refused.
    pub queue_size: usize,
    /// How long a cancelled process has to finish before it is terminated.
    pub cancel_timeout: Duration,
}

/// `terminal.host`: binds stdin/stdout/stderr for CLI commands.
#[derive(Debug, Clone)]
pub struct TerminalHost {
    /// Hide log output while a command runs.
    pub hide_logs: bool,
}

/// `lifecycle.restart` of a service: how its restarts are spaced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RestartPolicy {
    /// `initial_delay` (default 1 s).
    pub initial_delay: Duration,
    /// `max_delay` (default 90 s).
    pub max_delay: Duration,
    /// `backoff_factor` (default 2.0).
    pub backoff_factor: f64,
    /// `jitter` (default 0.1).
    pub jitter: f64,
    /// `max_attempts` (default 0 = unlimited).
    pub max_attempts: u32,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(90),
            backoff_factor: 2.0,
            jitter: 0.1,
            max_attempts: 0,
        }
    }
}

/// The `lifecycle` block (SPEC §6), with Wippy's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Lifecycle {
    /// Started by `wippy start`.
    pub auto_start: bool,
    /// How long a start may take.
    pub start_timeout: Duration,
    /// How long a stop may take before the process is killed.
    pub stop_timeout: Duration,
    /// Running this long resets the restart attempt counter.
    pub stable_threshold: Duration,
    /// Started before this entry, stopped after it.
    pub requires: Vec<Ref>,
    /// Restart spacing.
    pub restart: RestartPolicy,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            auto_start: false,
            start_timeout: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(10),
            stable_threshold: Duration::from_secs(5),
            requires: Vec::new(),
            restart: RestartPolicy::default(),
        }
    }
}

/// `restart_type` of a service: the supervision crate's own type.
pub use supervision::RestartType;

/// `process.service`: a process kept running under supervision.
#[derive(Debug, Clone)]
pub struct Service {
    /// The process entry it runs.
    pub process: Ref,
    /// The process host it runs on.
    pub host: Ref,
    /// The arguments.
    pub input: Vec<Value>,
    /// When it is restarted.
    pub restart_type: RestartType,
    /// Start, stop and restart behaviour.
    pub lifecycle: Lifecycle,
}

/// `strategy` of a supervisor: the supervision crate's own type.
pub use supervision::Strategy;

/// `process.supervisor`: an OTP supervisor over services and supervisors.
#[derive(Debug, Clone)]
pub struct SupervisorEntry {
    /// The strategy.
    pub strategy: Strategy,
    /// `intensity.max_restarts` (default 3).
    pub max_restarts: u32,
    /// `intensity.period` (default 5 s).
    pub period: Duration,
    /// The children, in start order.
    pub children: Vec<Ref>,
    /// Start and stop behaviour (`restart` spaces the supervisor's own restarts by its parent).
    pub lifecycle: Lifecycle,
    /// When its parent restarts it.
    pub restart_type: RestartType,
}

/// What a Lua entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LuaRole {
    /// `function.lua`.
    Function,
    /// `process.lua`.
    Process,
    /// `library.lua`.
    Library,
}

/// `function.lua`, `process.lua`, `library.lua`.
#[derive(Debug, Clone)]
pub struct LuaEntry {
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
}

/// The default number of workers of a `process.host`: the machine's cores.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Reads one `_index.yaml`. Problems go to `diags`; the entries that parsed are returned.
pub fn parse_file(root: &Path, path: &Path, text: &str, diags: &mut Vec<Diagnostic>) -> Vec<Entry> {
    let shown: Arc<Path> = Arc::from(super::project::display_path(path).as_path());
    let dir: Arc<Path> = Arc::from(path.parent().unwrap_or(Path::new(".")));
    let origin = Origin { file: shown, dir, pos: Pos { line: 1, col: 1 } };
    let mut sink = Sink { origin, entry: None, out: diags };
    let doc = match yaml::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            sink.error_hint(
                e.pos,
                format!("invalid YAML: {}", e.message),
                "check the indentation and quoting around this place",
            );
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
            Some(EntryKind::TerminalHost(TerminalHost { hide_logs: f.bool("hide_logs", sink).unwrap_or(false) }))
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

fn parse_fs_directory(root: &Path, f: &mut Fields<'_>, sink: &mut Sink<'_>) -> Option<FsDirectory> {
    let directory = f.required_string("directory", sink);
    let auto_init = f.bool("auto_init", sink).unwrap_or(false);
    let mode = match f.node("mode") {
        None => 0o755,
        Some(n) => {
            let text = match &n.kind {
                NodeKind::Str(s) => s.clone(),
                NodeKind::Int(i) => i.to_string(),
                _ => String::new(),
            };
            match u32::from_str_radix(text.trim_start_matches("0o"), 8) {
                Ok(m) if m <= 0o7777 => m,
                _ => {
                    sink.error_hint(
                        n.pos,
                        format!("field `mode` is not an octal file mode: {}", describe(n)),
                        "write it like `\"0755\"`",
                    );
                    0o755
                }
            }
        }
    };
    let (dir, _) = directory?;
    let p = Path::new(&dir);
    let directory = if p.is_absolute() { p.to_path_buf() } else { root.join(p) };
    Some(FsDirectory { directory, auto_init, mode })
}

fn parse_env_variable(name: &str, f: &mut Fields<'_>, sink: &mut Sink<'_>) -> EnvVariable {
    let variable = f.string("variable", sink).map_or_else(|| name.to_uppercase().replace(['-', '.'], "_"), |(v, _)| v);
    let default = f.node("default").map(|n| match &n.kind {
        NodeKind::Str(s) => s.clone(),
        _ => n.to_value().to_string(),
    });
    let required = f.bool("required", sink).unwrap_or(false);
    EnvVariable { variable, default, required }
}

fn parse_ref(ns: &str, text: &str, pos: Pos, field: &str, sink: &mut Sink<'_>) -> Option<Ref> {
    match EntryId::resolve(text, ns) {
        Ok(id) => Some(Ref { id, pos }),
        Err(e) => {
            sink.error(pos, format!("field `{field}`: {e}"));
            None
        }
    }
}

fn parse_wasm(
    ns: &str,
    role: WasmRole,
    wat: bool,
    f: &mut Fields<'_>,
    node: &Node,
    sink: &mut Sink<'_>,
) -> Option<WasmEntry> {
    let source = if wat {
        let src = f.required_string("source", sink);
        src.map(|(text, pos)| match text.strip_prefix("file://") {
            Some(rel) => WasmSource::Wat { text: None, file: Some(PathBuf::from(rel)), pos },
            None => WasmSource::Wat { text: Some(text), file: None, pos },
        })
    } else {
        let fs = f.required_string("fs", sink);
        let path = f.required_string("path", sink);
        let hash = f.required_string("hash", sink);
        let fs = fs.and_then(|(t, p)| parse_ref(ns, &t, p, "fs", sink));
        let sha = hash.and_then(|(h, pos)| parse_hash(&h, pos, sink).map(|s| (s, pos)));
        match (fs, path, sha) {
            (Some(fs), Some((path, path_pos)), Some((sha256, hash_pos))) => {
                Some(WasmSource::File { fs, path, path_pos, sha256, hash_pos })
            }
            _ => None,
        }
    };
    let method = f.required_string("method", sink);
    let wit = f.string("wit", sink);
    let imports = parse_imports(f, sink);
    let wasi = f.node("wasi").map(|n| parse_wasi(ns, n, sink)).unwrap_or_default();
    let limits = f.node("limits").map(|n| parse_limits(n, sink)).unwrap_or_default();
    let pool = f.node("pool").map(|n| parse_pool(n, sink)).unwrap_or_default();
    let (transport, transport_pos) = match f.string("transport", sink) {
        None => (Transport::Payload, None),
        Some((_, pos)) if wat || role == WasmRole::Process => {
            sink.error(pos, "field `transport` is only for `function.wasm` entries");
            (Transport::Payload, Some(pos))
        }
        Some((t, pos)) => {
            let transport = match t.as_str() {
                "payload" => Transport::Payload,
                "wasi-http" => Transport::WasiHttp,
                other => {
                    sink.error_hint(
                        pos,
                        format!("unknown transport `{other}`"),
                        "the transports are `payload` (the default) and `wasi-http`",
                    );
                    Transport::Payload
                }
            };
            (transport, Some(pos))
        }
    };
    let command = parse_command(role == WasmRole::Process, "process.wasm", node, sink);
    let (method, method_pos) = method?;
    if method.is_empty() || method.matches('#').count() > 1 {
        sink.error_hint(
            method_pos,
            format!("invalid method `{method}`"),
            "write an export name (`run`) or `interface#function`",
        );
    }
    Some(WasmEntry {
        role,
        source: source?,
        method,
        method_pos,
        wit,
        imports,
        wasi,
        limits,
        pool,
        transport,
        transport_pos,
        command,
    })
}

fn parse_hash(text: &str, pos: Pos, sink: &mut Sink<'_>) -> Option<String> {
    let Some((algo, hex)) = text.split_once(':') else {
        sink.error_hint(
            pos,
            format!("invalid hash `{text}`"),
            "write `sha256:<64 hex digits>`; `wippy hash FILE` prints it",
        );
        return None;
    };
    if !algo.eq_ignore_ascii_case("sha256") {
        sink.error_hint(
            pos,
            format!("unsupported hash algorithm `{algo}`"),
            "only `sha256` is supported; `wippy hash FILE` prints it",
        );
        return None;
    }
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        sink.error_hint(
            pos,
            format!("invalid sha256 digest `{hex}`: expected 64 hex digits, got {} characters", hex.len()),
            "`wippy hash FILE` prints the right value",
        );
        return None;
    }
    Some(hex.to_ascii_lowercase())
}

fn parse_imports(f: &mut Fields<'_>, sink: &mut Sink<'_>) -> Vec<Group> {
    let mut out = Vec::new();
    for (name, pos) in f.string_list("imports", sink).unwrap_or_default() {
        match Group::parse(&name) {
            Some(g) if !out.contains(&g) => out.push(g),
            Some(_) => {}
            None => {
                let names = Group::ALL.iter().map(|g| g.name()).collect::<Vec<_>>();
                let hint = match closest(&name.to_ascii_lowercase(), &names) {
                    Some(c) => format!("did you mean `{c}`? known groups: {}", names.join(", ")),
                    None => format!("known groups: {}", names.join(", ")),
                };
                sink.error_hint(pos, format!("unknown import `{name}`"), hint);
            }
        }
    }
    out
}

fn parse_wasi(ns: &str, node: &Node, sink: &mut Sink<'_>) -> WasiConfig {
    let Some(mut f) = Fields::new(node, "`wasi`", sink) else { return WasiConfig::default() };
    let args = f.string_list("args", sink).unwrap_or_default().into_iter().map(|(a, _)| a).collect();
    let cwd = f.string("cwd", sink).and_then(|(c, pos)| {
        if !c.starts_with('/') {
            sink.error_hint(pos, format!("`wasi.cwd` must be an absolute guest path, got `{c}`"), "start it with `/`");
            return None;
        }
        Some(c)
    });
    let mut env = Vec::new();
    for item in f.list("env", sink).unwrap_or(&[]) {
        let Some(mut e) = Fields::new(item, "a `wasi.env` item", sink) else { continue };
        let id = e.required_string("id", sink).and_then(|(t, p)| parse_ref(ns, &t, p, "id", sink));
        let name = e.required_string("name", sink);
        let required = e.bool("required", sink).unwrap_or(false);
        e.finish(sink);
        if let (Some(id), Some((name, _))) = (id, name) {
            env.push(WasiEnv { id, name, required });
        }
    }
    let mut mounts: Vec<Mount> = Vec::new();
    for item in f.list("mounts", sink).unwrap_or(&[]) {
        let Some(mut m) = Fields::new(item, "a `wasi.mounts` item", sink) else { continue };
        let fs = m.required_string("fs", sink).and_then(|(t, p)| parse_ref(ns, &t, p, "fs", sink));
        let guest = m.required_string("guest", sink);
        let read_only = m.bool("read_only", sink).unwrap_or(false);
        m.finish(sink);
        let (Some(fs), Some((guest, gpos))) = (fs, guest) else { continue };
        if !guest.starts_with('/') {
            sink.error_hint(gpos, format!("mount path `{guest}` must be absolute"), "start it with `/`, like `/data`");
            continue;
        }
        if mounts.iter().any(|o| o.guest == guest) {
            sink.error(gpos, format!("mount path `{guest}` is used twice"));
            continue;
        }
        mounts.push(Mount { fs, guest, read_only });
    }
    f.finish(sink);
    WasiConfig { args, cwd, env, mounts }
}

fn parse_limits(node: &Node, sink: &mut Sink<'_>) -> Limits {
    let Some(mut f) = Fields::new(node, "`limits`", sink) else { return Limits::default() };
    let max_execution = f.uint("max_execution_ms", sink).map(Duration::from_millis);
    let max_memory = f.byte_size("max_memory", sink);
    let max_fuel = f.uint("max_fuel", sink);
    f.finish(sink);
    Limits { max_execution, max_memory, max_fuel }
}

fn parse_pool(node: &Node, sink: &mut Sink<'_>) -> PoolConfig {
    let Some(mut f) = Fields::new(node, "`pool`", sink) else { return PoolConfig::default() };
    let kind = f.string("type", sink).and_then(|(t, pos)| match t.as_str() {
        "inline" => Some(PoolKind::Inline),
        "lazy" => Some(PoolKind::Lazy),
        "static" => Some(PoolKind::Static),
        "adaptive" => Some(PoolKind::Adaptive),
        other => {
            sink.error_hint(
                pos,
                format!("unknown pool type `{other}`"),
                "use `inline`, `lazy`, `static` or `adaptive`",
            );
            None
        }
    });
    let max_size = f.uint("max_size", sink).map(|n| n as usize);
    let size = f.uint("size", sink).map(|n| n as usize);
    let workers = f.uint("workers", sink).map(|n| n as usize);
    let buffer = f.uint("buffer", sink).map(|n| n as usize);
    for (key, v) in [("max_size", max_size), ("workers", workers), ("size", size)] {
        if v == Some(0) {
            sink.error(f.pos, format!("`pool.{key}` must be at least 1"));
        }
    }
    f.finish(sink);
    let concurrency = match kind {
        None => max_size.or(size).unwrap_or(100),
        Some(PoolKind::Inline) => return PoolConfig { kind: PoolKind::Inline, concurrency: None, queue: 0 },
        Some(PoolKind::Lazy | PoolKind::Adaptive) => max_size.or(size).unwrap_or(16),
        Some(PoolKind::Static) => workers.or(size).unwrap_or(8),
    };
    PoolConfig {
        kind: kind.unwrap_or(PoolKind::Lazy),
        concurrency: Some(concurrency),
        queue: buffer.unwrap_or(concurrency * 64),
    }
}

/// `meta.command`; `process_kind` is the kind the entry must have for it (`process.wasm` or `process.lua`), and
/// `is_process` whether it has it.
fn parse_command(is_process: bool, process_kind: &str, node: &Node, sink: &mut Sink<'_>) -> Option<Command> {
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

fn parse_process_host(f: &mut Fields<'_>, sink: &mut Sink<'_>) -> Option<ProcessHost> {
    let mut host = ProcessHost {
        workers: default_workers(),
        max_processes: 100_000,
        queue_size: 1024,
        cancel_timeout: Duration::from_secs(5),
    };
    if let Some(n) = f.node("host") {
        let mut h = Fields::new(n, "`host`", sink)?;
        if let Some(w) = h.uint("workers", sink) {
            host.workers = w as usize;
        }
        if let Some(m) = h.uint("max_processes", sink) {
            host.max_processes = m as usize;
        }
        if let Some(q) = h.uint("queue_size", sink) {
            host.queue_size = q as usize;
        }
        if let Some(c) = h.duration("cancel_timeout", sink) {
            host.cancel_timeout = c;
        }
        if host.workers == 0 || host.max_processes == 0 {
            sink.error(n.pos, "`host.workers` and `host.max_processes` must be at least 1");
        }
        h.finish(sink);
    }
    if let Some(n) = f.node("lifecycle") {
        // Hosts are always running; the block is accepted for symmetry with services and validated.
        parse_lifecycle("", n, sink);
    }
    Some(host)
}

fn parse_lua(ns: &str, role: LuaRole, f: &mut Fields<'_>, node: &Node, sink: &mut Sink<'_>) -> Option<LuaEntry> {
    let source = f.required_string("source", sink);
    let method = if role == LuaRole::Library { None } else { f.required_string("method", sink).map(|(m, _)| m) };
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
    let (text, pos) = source?;
    let (source, chunk_name) = match text.strip_prefix("file://") {
        Some(rel) => {
            let path = sink.origin.dir.join(rel);
            match std::fs::read_to_string(&path) {
                Ok(t) => (t, super::project::display_path(&path).display().to_string()),
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
    Some(LuaEntry { role, source, chunk_name, source_pos: pos, method, modules, imports, command })
}

fn parse_restart_type(f: &mut Fields<'_>, sink: &mut Sink<'_>) -> RestartType {
    match f.string("restart_type", sink) {
        None => RestartType::Permanent,
        Some((t, pos)) => match t.as_str() {
            "permanent" => RestartType::Permanent,
            "transient" => RestartType::Transient,
            "temporary" => RestartType::Temporary,
            other => {
                sink.error_hint(
                    pos,
                    format!("unknown restart type `{other}`"),
                    "use `permanent`, `transient` or `temporary`",
                );
                RestartType::Permanent
            }
        },
    }
}

fn parse_lifecycle(ns: &str, node: &Node, sink: &mut Sink<'_>) -> Lifecycle {
    let mut l = Lifecycle::default();
    let Some(mut f) = Fields::new(node, "`lifecycle`", sink) else { return l };
    if let Some(b) = f.bool("auto_start", sink) {
        l.auto_start = b;
    }
    if let Some(d) = f.duration("start_timeout", sink) {
        l.start_timeout = d;
    }
    if let Some(d) = f.duration("stop_timeout", sink) {
        l.stop_timeout = d;
    }
    if let Some(d) = f.duration("stable_threshold", sink) {
        l.stable_threshold = d;
    }
    for (r, pos) in f.string_list("requires", sink).unwrap_or_default() {
        if let Some(r) = parse_ref(ns, &r, pos, "requires", sink) {
            l.requires.push(r);
        }
    }
    if let Some(n) = f.node("restart") {
        if let Some(mut r) = Fields::new(n, "`lifecycle.restart`", sink) {
            if let Some(d) = r.duration("initial_delay", sink) {
                l.restart.initial_delay = d;
            }
            if let Some(d) = r.duration("max_delay", sink) {
                l.restart.max_delay = d;
            }
            if let Some(x) = r.float("backoff_factor", sink) {
                if x < 1.0 {
                    sink.error(r.pos, "`backoff_factor` must be at least 1.0");
                }
                l.restart.backoff_factor = x;
            }
            if let Some(x) = r.float("jitter", sink) {
                if !(0.0..=1.0).contains(&x) {
                    sink.error(r.pos, "`jitter` must be between 0.0 and 1.0");
                }
                l.restart.jitter = x;
            }
            if let Some(x) = r.uint("max_attempts", sink) {
                l.restart.max_attempts = x.min(u64::from(u32::MAX)) as u32;
            }
            r.finish(sink);
        }
    }
    f.finish(sink);
    l
}

fn parse_service(ns: &str, f: &mut Fields<'_>, sink: &mut Sink<'_>) -> Option<Service> {
    let process = f.required_string("process", sink).and_then(|(t, p)| parse_ref(ns, &t, p, "process", sink));
    let host = f.required_string("host", sink).and_then(|(t, p)| parse_ref(ns, &t, p, "host", sink));
    let input = match f.node("input") {
        None => Vec::new(),
        Some(n) => match n.to_value() {
            Value::List(items) => items,
            _ => {
                sink.error_hint(n.pos, "field `input` must be a list of arguments", "write `input: [6, 7]`");
                Vec::new()
            }
        },
    };
    let restart_type = parse_restart_type(f, sink);
    let lifecycle = f.node("lifecycle").map(|n| parse_lifecycle(ns, n, sink)).unwrap_or_default();
    Some(Service { process: process?, host: host?, input, restart_type, lifecycle })
}

fn parse_supervisor(ns: &str, f: &mut Fields<'_>, sink: &mut Sink<'_>) -> Option<SupervisorEntry> {
    let strategy = match f.string("strategy", sink) {
        None => Strategy::OneForOne,
        Some((t, pos)) => match t.as_str() {
            "one_for_one" => Strategy::OneForOne,
            "one_for_all" => Strategy::OneForAll,
            "rest_for_one" => Strategy::RestForOne,
            other => {
                sink.error_hint(
                    pos,
                    format!("unknown strategy `{other}`"),
                    "use `one_for_one`, `one_for_all` or `rest_for_one`",
                );
                Strategy::OneForOne
            }
        },
    };
    let (mut max_restarts, mut period) = (3u32, Duration::from_secs(5));
    if let Some(n) = f.node("intensity") {
        if let Some(mut i) = Fields::new(n, "`intensity`", sink) {
            if let Some(m) = i.uint("max_restarts", sink) {
                max_restarts = m.min(u64::from(u32::MAX)) as u32;
            }
            if let Some(p) = i.duration("period", sink) {
                period = p;
            }
            i.finish(sink);
        }
    }
    let has_children = f.has("children");
    let children: Vec<Ref> = f
        .string_list("children", sink)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(c, pos)| parse_ref(ns, &c, pos, "children", sink))
        .collect();
    if !has_children {
        sink.error(f.pos, "missing required field `children` in entry");
    }
    let restart_type = parse_restart_type(f, sink);
    let lifecycle = f.node("lifecycle").map(|n| parse_lifecycle(ns, n, sink)).unwrap_or_default();
    Some(SupervisorEntry { strategy, max_restarts, period, children, lifecycle, restart_type })
}

/// The references of an entry: (field, reference, the kinds it may point at).
fn references(kind: &EntryKind) -> Vec<(&'static str, &Ref, &'static [&'static str])> {
    let mut out = Vec::new();
    if let EntryKind::Wasm(w) = kind {
        if let WasmSource::File { fs, .. } = &w.source {
            out.push(("fs", fs, &["fs.directory"][..]));
        }
        for e in &w.wasi.env {
            out.push(("wasi.env.id", &e.id, &["env.variable"][..]));
        }
        for m in &w.wasi.mounts {
            out.push(("wasi.mounts.fs", &m.fs, &["fs.directory"][..]));
        }
    }
    const SUPERVISED: &[&str] = &["process.service", "process.supervisor"];
    match kind {
        EntryKind::Lua(l) => {
            out.extend(l.imports.iter().map(|(_, r)| ("imports", r, &["library.lua"][..])));
        }
        EntryKind::Service(s) => {
            out.push(("process", &s.process, &["process.wasm", "process.lua"][..]));
            out.push(("host", &s.host, &["process.host", "terminal.host"][..]));
            out.extend(s.lifecycle.requires.iter().map(|r| ("requires", r, SUPERVISED)));
        }
        EntryKind::Supervisor(s) => {
            out.extend(s.children.iter().map(|r| ("children", r, SUPERVISED)));
            out.extend(s.lifecycle.requires.iter().map(|r| ("requires", r, SUPERVISED)));
        }
        _ => {}
    }
    out
}

/// Checks every reference and the uniqueness of command names across the whole registry.
pub fn check_references(reg: &Registry, diags: &mut Vec<Diagnostic>) {
    let mut commands: Vec<(&str, &Entry)> = Vec::new();
    for entry in reg.entries.values() {
        for (field, r, kinds) in references(&entry.kind) {
            let d = match reg.entries.get(&r.id) {
                Some(target) if kinds.contains(&target.kind.name()) => continue,
                Some(target) => Diagnostic::new(
                    Some(entry.origin.at(r.pos)),
                    Some(entry.id.clone()),
                    format!(
                        "`{field}` refers to `{}`, which is a `{}`, not a `{}`",
                        r.id,
                        target.kind.name(),
                        kinds.join("` or `")
                    ),
                ),
                None => {
                    let ids: Vec<&str> = reg
                        .entries
                        .values()
                        .filter(|e| kinds.contains(&e.kind.name()))
                        .map(|e| e.id.as_str())
                        .collect();
                    let hint = match closest(r.id.as_str(), &ids) {
                        Some(c) => format!("did you mean `{c}`?"),
                        None => format!(
                            "declare a `{}` entry named `{}` in namespace `{}`",
                            kinds[0],
                            r.id.name(),
                            r.id.namespace()
                        ),
                    };
                    Diagnostic::new(
                        Some(entry.origin.at(r.pos)),
                        Some(entry.id.clone()),
                        format!("`{field}` refers to `{}`, which does not exist", r.id),
                    )
                    .with_hint(hint)
                }
            };
            diags.push(d);
        }
        let command = match &entry.kind {
            EntryKind::Wasm(w) => w.command.as_ref(),
            EntryKind::Lua(l) => l.command.as_ref(),
            _ => None,
        };
        {
            if let Some(c) = command {
                if let Some((_, other)) = commands.iter().find(|(n, _)| *n == c.name) {
                    diags.push(
                        Diagnostic::new(
                            Some(entry.origin.clone()),
                            Some(entry.id.clone()),
                            format!("command `{}` is declared twice", c.name),
                        )
                        .with_hint(format!("`{}` already uses it; command names must be unique", other.id)),
                    );
                } else {
                    commands.push((&c.name, entry));
                }
            }
        }
    }
}

/// Checks what only the whole tree can tell: `requires` cycles, supervisors that contain themselves, and children
/// claimed by two supervisors.
pub fn check_supervision(reg: &Registry, diags: &mut Vec<Diagnostic>) {
    let supervised: Vec<&Entry> =
        reg.entries.values().filter(|e| matches!(e.kind, EntryKind::Service(_) | EntryKind::Supervisor(_))).collect();
    let ids: Vec<EntryId> = supervised.iter().map(|e| e.id.clone()).collect();
    let edges = |field: fn(&EntryKind) -> Vec<EntryId>| {
        move |id: &EntryId| reg.entries.get(id).map(|e| field(&e.kind)).unwrap_or_default()
    };
    let requires = |k: &EntryKind| match k {
        EntryKind::Service(s) => s.lifecycle.requires.iter().map(|r| r.id.clone()).collect(),
        EntryKind::Supervisor(s) => s.lifecycle.requires.iter().map(|r| r.id.clone()).collect(),
        _ => Vec::new(),
    };
    let children = |k: &EntryKind| match k {
        EntryKind::Supervisor(s) => s.children.iter().map(|r| r.id.clone()).collect(),
        _ => Vec::new(),
    };
    for (what, field, hint) in [
        ("`requires` forms a cycle", requires as fn(&EntryKind) -> Vec<EntryId>, "remove one of these requirements"),
        (
            "supervisors contain each other",
            children as fn(&EntryKind) -> Vec<EntryId>,
            "a supervisor cannot be its own descendant",
        ),
    ] {
        if let Err(cycle) = supervision::order::start_order(&ids, edges(field)) {
            let path: Vec<String> = cycle.iter().map(|c| format!("`{c}`")).collect();
            let first = reg.entries.get(&cycle[0]);
            diags.push(
                Diagnostic::new(
                    first.map(|e| e.origin.clone()),
                    Some(cycle[0].clone()),
                    format!("{what}: {}", path.join(" -> ")),
                )
                .with_hint(hint),
            );
        }
    }
    let mut parent: Vec<(&EntryId, &EntryId)> = Vec::new();
    for e in &supervised {
        if let EntryKind::Supervisor(s) = &e.kind {
            for c in &s.children {
                if let Some((_, other)) = parent.iter().find(|(child, _)| **child == c.id) {
                    diags.push(
                        Diagnostic::new(
                            Some(e.origin.at(c.pos)),
                            Some(e.id.clone()),
                            format!("`{}` is already a child of `{other}`", c.id),
                        )
                        .with_hint("a service or supervisor has one parent supervisor"),
                    );
                } else {
                    parent.push((&c.id, &e.id));
                }
            }
        }
    }
}
