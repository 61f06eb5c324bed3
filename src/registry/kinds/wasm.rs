//! `function.wat`, `function.wasm` and `process.wasm`: WASM code, its capabilities, WASI setup, limits and pool.

use std::path::PathBuf;
use std::time::Duration;

use super::{parse_command, parse_ref, Command, Ref};
use crate::capability::Group;
use crate::id::Pos;
use crate::registry::fields::{closest, Fields, Sink};
use crate::registry::yaml::Node;

/// Whether a WASM entry runs as a function or as a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WasmRole {
    /// `function.wat` / `function.wasm`.
    Function,
    /// `process.wasm`.
    Process,
}

/// Where a WASM entry's code comes from.
#[derive(Debug, Clone)]
pub(crate) enum WasmSource {
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
pub(crate) struct WasmEntry {
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
pub(crate) enum Transport {
    /// Arguments and result by the method's WIT types (the default).
    #[default]
    Payload,
    /// The component is a `wasi:http/proxy`: one request map in, one response map out
    /// (`docs/capabilities.md`).
    WasiHttp,
}

/// The `wasi` block.
#[derive(Debug, Clone, Default)]
pub(crate) struct WasiConfig {
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
pub(crate) struct WasiEnv {
    /// The `env.variable` entry.
    pub id: Ref,
    /// The name the guest sees.
    pub name: String,
    /// Whether a missing value is an error.
    pub required: bool,
}

/// One `wasi.mounts` item.
#[derive(Debug, Clone)]
pub(crate) struct Mount {
    /// The `fs.directory` entry.
    pub fs: Ref,
    /// The absolute guest path.
    pub guest: String,
    /// Whether writes are refused.
    pub read_only: bool,
}

/// The `limits` block.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Limits {
    /// `max_execution_ms`.
    pub max_execution: Option<Duration>,
    /// `max_memory` in bytes.
    pub max_memory: Option<u64>,
    /// `max_fuel`.
    pub max_fuel: Option<u64>,
}

/// `pool.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PoolKind {
    /// Run in the caller's task with no bound.
    Inline,
    /// Up to `max_size` concurrent calls.
    Lazy,
    /// `workers` concurrent calls and a `buffer`-long queue.
    Static,
    /// Like lazy.
    Adaptive,
}

/// The `pool` block, with the defaults of `docs/limits.md` applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolConfig {
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

pub(super) fn parse_wasm(
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

pub(super) fn parse_hash(text: &str, pos: Pos, sink: &mut Sink<'_>) -> Option<String> {
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

pub(super) fn parse_imports(f: &mut Fields<'_>, sink: &mut Sink<'_>) -> Vec<Group> {
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

pub(super) fn parse_wasi(ns: &str, node: &Node, sink: &mut Sink<'_>) -> WasiConfig {
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

/// The longest `max_execution_ms` (and any timeout in the registry): a year.
pub(crate) const MAX_TIMEOUT_MS: u64 = 365 * 86_400_000;

/// The most concurrent calls a pool may run (`max_size`, `size`, `workers`).
pub(crate) const MAX_POOL_SIZE: u64 = 65_536;

/// The longest queue of waiting calls or spawns a pool or host may have (`buffer`, `queue_size`).
pub(crate) const MAX_QUEUE: u64 = 1 << 24;

pub(super) fn parse_limits(node: &Node, sink: &mut Sink<'_>) -> Limits {
    let Some(mut f) = Fields::new(node, "`limits`", sink) else { return Limits::default() };
    let max_execution = f.uint_in("max_execution_ms", 1..=MAX_TIMEOUT_MS, sink).map(Duration::from_millis);
    let max_memory = f.byte_size_in("max_memory", 64 << 10..=64 << 30, sink);
    let max_fuel = f.uint_in("max_fuel", 1..=i64::MAX as u64, sink);
    f.finish(sink);
    Limits { max_execution, max_memory, max_fuel }
}

pub(super) fn parse_pool(node: &Node, sink: &mut Sink<'_>) -> PoolConfig {
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
    let max_size = f.uint_in("max_size", 1..=MAX_POOL_SIZE, sink).map(|n| n as usize);
    let size = f.uint_in("size", 1..=MAX_POOL_SIZE, sink).map(|n| n as usize);
    let workers = f.uint_in("workers", 1..=MAX_POOL_SIZE, sink).map(|n| n as usize);
    let buffer = f.uint_in("buffer", 0..=MAX_QUEUE, sink).map(|n| n as usize);
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
