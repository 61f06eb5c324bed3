//! Preparing a WASM entry at load: from its YAML fields to a [`Code`] ready to instantiate and call.
//!
//! [`prepare`] runs these steps, each turning a problem into a [`Diagnostic`] at the entry's position:
//! 1. read the binary and verify its hash, or assemble the WAT source ([`Prep::read`]);
//! 2. for a core module with a `wit` signature, decide between the direct scalar path and wrapping the module into a
//!    component ([`Prep::apply_signature`]);
//! 3. check `max_memory` against the engine's memory slot, and compile once per distinct binary (with the disk
//!    cache) ([`Prep::compile`]);
//! 4. resolve the `wasi` block's references ([`wasi_setup`]);
//! 5. resolve the method to an export with its WIT types, and link exactly the granted capabilities into a cached
//!    `InstancePre` ([`Prep::link_component`], [`Prep::link_core`]).

use std::sync::Arc;

use wasmtime::component::Type;

use super::binary::{self, BinaryKind};
use super::code::{Code, CodeKind};
use super::engine::{flat, Compiled, WasmEngine};
use super::exports::resolve_component_method;
use super::http;
use super::imports::{
    self,
    wasi::{EnvBinding, EnvSource, MountSpec, WasiSetup},
};
use super::signature::{self, Scalar, Signature};
use crate::capability::Group;
use crate::error::Diagnostic;
use crate::id::Pos;
use crate::registry::kinds::{Transport, WasmEntry, WasmSource};
use crate::registry::project::display_path;
use crate::registry::{Entry, EntryKind, Registry};

/// Parameter names with their scalar types, and the scalar results: a core function's signature.
type CoreSignature = (Vec<(String, Scalar)>, Vec<Scalar>);

/// Loads, verifies, compiles and links a WASM entry; problems are diagnostics at the entry.
pub(crate) fn prepare(
    engine: &WasmEngine,
    reg: &Registry,
    entry: &Entry,
    w: &WasmEntry,
    env: &EnvSource,
) -> Result<Code, Diagnostic> {
    let p = Prep { engine, reg, entry, w };
    let (bytes, source_pos) = p.read()?;
    let (bytes, kind, core_sig) = p.apply_signature(bytes, source_pos)?;
    let compiled = p.compile(&bytes, kind, source_pos)?;
    let wasi = Arc::new(wasi_setup(reg, entry, w, env)?);
    if w.transport == Transport::WasiHttp {
        check_http_entry(w, matches!(compiled, Compiled::Component(_)))
            .map_err(|(msg, hint)| p.diag(w.transport_pos.unwrap_or(entry.origin.pos), msg).with_hint(hint))?;
    }
    match compiled {
        Compiled::Component(component) => p.link_component(&component, wasi),
        Compiled::Module(module) => p.link_core(&module, core_sig, wasi),
    }
}

/// One entry being prepared.
struct Prep<'a> {
    engine: &'a WasmEngine,
    reg: &'a Registry,
    entry: &'a Entry,
    w: &'a WasmEntry,
}

impl Prep<'_> {
    fn diag(&self, pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Some(self.entry.origin.at(pos)), Some(self.entry.id.clone()), message)
    }

    /// Step 1: the bytes (hash-verified, or assembled from WAT) and the position of the field they came from.
    fn read(&self) -> Result<(Vec<u8>, Pos), Diagnostic> {
        match &self.w.source {
            WasmSource::Wat { text, file, pos } => {
                let text = match (text, file) {
                    (Some(t), _) => t.clone(),
                    (None, Some(f)) => {
                        let path = self.entry.origin.dir.join(f);
                        crate::files::read_text(&path).map_err(|e| {
                            self.diag(*pos, format!("cannot read WAT source `{}`: {e}", path.display()))
                                .with_hint("`file://` paths are relative to the folder of the YAML file")
                        })?
                    }
                    (None, None) => String::new(),
                };
                let bytes = wat::parse_str(&text)
                    .map_err(|e| self.diag(*pos, format!("invalid WAT: {}", e.to_string().replace('\n', " "))))?;
                Ok((bytes, *pos))
            }
            WasmSource::File { fs, path, path_pos, sha256, hash_pos } => {
                let Some(EntryKind::FsDirectory(dir)) = self.reg.get(fs.id.as_str()).map(|e| &e.kind) else {
                    return Err(
                        self.diag(fs.pos, format!("`fs` refers to `{}`, which is not an `fs.directory`", fs.id))
                    );
                };
                let file = binary::resolve_in(&dir.directory, path).map_err(|e| self.diag(*path_pos, e))?;
                let bytes = crate::files::read_bytes(&file).map_err(|e| {
                    self.diag(*path_pos, format!("cannot read `{}`: {e}", display_path(&file).display())).with_hint(
                        format!("the file should be in the `{}` directory `{}`", fs.id, dir.directory.display()),
                    )
                })?;
                let actual = binary::sha256_hex(&bytes);
                if &actual != sha256 {
                    return Err(self
                        .diag(
                            *hash_pos,
                            format!(
                                "hash mismatch for `{}`: expected sha256:{sha256}, actual sha256:{actual}",
                                display_path(&file).display()
                            ),
                        )
                        .with_hint("if the binary changed on purpose, put the actual hash into `hash`"));
                }
                Ok((bytes, *path_pos))
            }
        }
    }

    /// Step 2: a core module's `wit` signature either keeps the direct scalar path (returned) or wraps the module
    /// into a component.
    fn apply_signature(
        &self,
        bytes: Vec<u8>,
        source_pos: Pos,
    ) -> Result<(Vec<u8>, BinaryKind, Option<CoreSignature>), Diagnostic> {
        let Some(kind) = binary::detect(&bytes) else {
            return Err(self.diag(source_pos, "the file is not a WebAssembly binary (bad header)"));
        };
        let (BinaryKind::Module, Some((text, pos))) = (kind, &self.w.wit) else { return Ok((bytes, kind, None)) };
        match signature::parse(text, &self.w.method).map_err(|e| self.diag(*pos, e))? {
            Signature::Scalar { params, results } => Ok((bytes, kind, Some((params, results)))),
            Signature::Component { resolve, world } => {
                let wrapped = signature::componentize(&bytes, &resolve, world).map_err(|e| self.diag(*pos, e))?;
                Ok((wrapped, BinaryKind::Component, None))
            }
        }
    }

    /// Step 3: `max_memory` fits the memory slot; compiled once per distinct binary.
    fn compile(&self, bytes: &[u8], kind: BinaryKind, source_pos: Pos) -> Result<Compiled, Diagnostic> {
        if let Some(max) = self.w.limits.max_memory {
            let slot = self.engine.settings.memory_slot;
            if max > slot {
                return Err(self
                    .diag(
                        self.entry.origin.pos,
                        format!(
                            "`limits.max_memory` ({max} bytes) is larger than the host's memory slot ({slot} bytes)"
                        ),
                    )
                    .with_hint("lower `max_memory`, or build the host with a larger memory slot"));
            }
        }
        let sha = binary::sha256_hex(bytes);
        self.engine
            .compile(bytes, &sha, kind == BinaryKind::Component)
            .map_err(|e| self.diag(source_pos, format!("cannot compile: {}", flat(&e))))
    }

    fn link_error(&self, e: &wasmtime::Error) -> Diagnostic {
        self.diag(self.entry.origin.pos, format!("cannot link imports: {}", flat(e)))
    }

    /// Step 5 for a component: the method among its exports, then the linker and `InstancePre`.
    fn link_component(
        &self,
        component: &wasmtime::component::Component,
        wasi: Arc<WasiSetup>,
    ) -> Result<Code, Diagnostic> {
        let w = self.w;
        let method = match w.transport {
            Transport::WasiHttp if !w.method.contains('#') => format!("{}#{}", http::HANDLER_INTERFACE, w.method),
            _ => w.method.clone(),
        };
        let (export, params, result) = resolve_component_method(&self.engine.engine, component, &method)
            .map_err(|m| self.diag(w.method_pos, m))?;
        let handles = params.len() == 2 && params.iter().all(|(_, t)| matches!(t, Type::Own(_)));
        if w.transport == Transport::WasiHttp && (!handles || result.is_some()) {
            return Err(self
                .diag(
                    w.method_pos,
                    format!(
                        "`{method}` is not a `wasi:http/incoming-handler` `handle(request, response-out)` function"
                    ),
                )
                .with_hint("with `transport: wasi-http`, `method` is `handle` of `wasi:http/incoming-handler`"));
        }
        let linker = imports::component_linker(&self.engine.engine, component, &self.entry.id, &w.imports)
            .map_err(|e| self.link_error(&e))?;
        let pre = linker.instantiate_pre(component).map_err(|e| {
            self.link_error(&e).with_hint("the guest imports an interface version this host does not provide")
        })?;
        Ok(self.code(params, result, wasi, CodeKind::Component { pre, export }))
    }

    /// Step 5 for a core module: the export and its core type against the signature, then the linker.
    fn link_core(
        &self,
        module: &wasmtime::Module,
        core_sig: Option<CoreSignature>,
        wasi: Arc<WasiSetup>,
    ) -> Result<Code, Diagnostic> {
        let w = self.w;
        let method_diag = |m: String| self.diag(w.method_pos, m);
        let Some(export) = module.get_export_index(&w.method) else {
            let funcs: Vec<String> =
                module.exports().filter(|e| e.ty().func().is_some()).map(|e| format!("`{}`", e.name())).collect();
            return Err(method_diag(format!(
                "the module has no export `{}`; its function exports are: {}",
                w.method,
                if funcs.is_empty() { "none".to_owned() } else { funcs.join(", ") }
            )));
        };
        let Some(ft) = module.get_export(&w.method).and_then(|e| e.func().cloned()) else {
            return Err(method_diag(format!("the export `{}` is not a function", w.method)));
        };
        let (params, results) = match core_sig {
            Some(sig) => sig,
            None => infer_core_signature(&ft).map_err(method_diag)?,
        };
        if let Some(msg) = core_type_mismatch(&w.method, &ft, &params, &results) {
            return Err(self.diag(w.wit.as_ref().map_or(w.method_pos, |(_, p)| *p), msg));
        }
        let linker = imports::core_linker(&self.engine.engine, module, &self.entry.id, &w.imports)
            .map_err(|e| self.link_error(&e))?;
        let pre = linker.instantiate_pre(module).map_err(|e| self.link_error(&e))?;
        let scalars: Vec<Scalar> = params.iter().map(|(_, s)| *s).collect();
        let component_params = params.iter().map(|(n, s)| (n.clone(), s.component())).collect();
        let result = match results.as_slice() {
            [one] => Some(one.component()),
            _ => None,
        };
        let kind = CodeKind::Core { pre, export, params: scalars, results };
        Ok(self.code(component_params, result, wasi, kind))
    }

    fn code(&self, params: Vec<(String, Type)>, result: Option<Type>, wasi: Arc<WasiSetup>, kind: CodeKind) -> Code {
        Code {
            id: self.entry.id.clone(),
            method: self.w.method.clone(),
            params,
            result,
            limits: self.w.limits,
            wasi,
            transport: self.w.transport,
            engine: self.engine.engine.clone(),
            transfer_fuel: transfer_fuel(self.w.limits.max_memory.unwrap_or(self.engine.settings.memory_slot)),
            budget: self.engine.budget.clone(),
            _ticker: self.engine.ticker.clone(),
            kind,
        }
    }
}

/// wasmtime's "hostcall fuel" for an instance whose memory holds at most `memory` bytes: what the host may allocate
/// for the values one call hands over (a result, the arguments of a host import), counted in bytes of wasmtime's
/// `Val`s. Sized so that anything that fits in the guest's memory can be handed over (each byte could be a list
/// element), which leaves `limits.max_memory` as the one bound the user sets, rather than wasmtime's fixed 128 MiB.
fn transfer_fuel(memory: u64) -> usize {
    usize::try_from(memory).unwrap_or(usize::MAX).saturating_mul(std::mem::size_of::<wasmtime::component::Val>())
}

/// Why a core export's type does not match the signature its entry declares, if it does not.
fn core_type_mismatch(
    method: &str,
    ft: &wasmtime::FuncType,
    params: &[(String, Scalar)],
    results: &[Scalar],
) -> Option<String> {
    let expected: Vec<wasmtime::ValType> = params.iter().map(|(_, s)| s.core()).collect();
    let got: Vec<wasmtime::ValType> = ft.params().collect();
    let exp_res: Vec<wasmtime::ValType> = results.iter().map(|s| s.core()).collect();
    let got_res: Vec<wasmtime::ValType> = ft.results().collect();
    let same = |a: &[wasmtime::ValType], b: &[wasmtime::ValType]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| wasmtime::ValType::eq(x, y))
    };
    if same(&expected, &got) && same(&exp_res, &got_res) {
        return None;
    }
    Some(format!(
        "the export `{method}` has core type {} but the `wit` signature lowers to {}",
        show_core(&got, &got_res),
        show_core(&expected, &exp_res)
    ))
}

/// Step 4: the entry's `wasi` block with its references resolved: `env.variable` entries and `fs.directory` folders.
pub(super) fn wasi_setup(
    reg: &Registry,
    entry: &Entry,
    w: &WasmEntry,
    source: &EnvSource,
) -> Result<WasiSetup, Diagnostic> {
    let mut env = Vec::with_capacity(w.wasi.env.len());
    for b in &w.wasi.env {
        let Some(EntryKind::EnvVariable(v)) = reg.entries.get(&b.id.id).map(|e| &e.kind) else { continue };
        env.push(EnvBinding {
            name: b.name.clone(),
            entry: b.id.id.clone(),
            variable: v.variable.clone(),
            default: v.default.clone(),
            required: b.required || v.required,
        });
    }
    let mut mounts = Vec::with_capacity(w.wasi.mounts.len());
    for m in &w.wasi.mounts {
        let Some(EntryKind::FsDirectory(d)) = reg.entries.get(&m.fs.id).map(|e| &e.kind) else { continue };
        if !d.directory.is_dir() {
            return Err(Diagnostic::new(
                Some(entry.origin.at(m.fs.pos)),
                Some(entry.id.clone()),
                format!(
                    "the folder `{}` of `{}`, mounted at `{}`, does not exist",
                    d.directory.display(),
                    m.fs.id,
                    m.guest
                ),
            )
            .with_hint(format!("create it, or set `auto_init: true` on `{}`", m.fs.id)));
        }
        mounts.push(MountSpec { host: d.directory.clone(), guest: m.guest.clone(), read_only: m.read_only });
    }
    Ok(WasiSetup {
        args: w.wasi.args.clone(),
        cwd: w.wasi.cwd.clone(),
        env,
        mounts,
        network: w.imports.contains(&Group::WasiSockets),
        source: source.clone(),
    })
}

/// A `transport: wasi-http` entry must be a component, and the HTTP types and streams it is handed must be granted.
fn check_http_entry(w: &WasmEntry, component: bool) -> Result<(), (String, String)> {
    if !component {
        return Err((
            "`transport: wasi-http` needs a component that exports `wasi:http/incoming-handler`; this is a core module"
                .to_owned(),
            "build the guest as a `wasi:http/proxy` component (e.g. for `wasm32-wasip2`)".to_owned(),
        ));
    }
    let missing: Vec<&str> =
        [Group::WasiHttp, Group::WasiIo].into_iter().filter(|g| !w.imports.contains(g)).map(|g| g.name()).collect();
    if !missing.is_empty() {
        return Err((
            format!(
                "`transport: wasi-http` hands the guest HTTP requests and body streams, which need `{}`",
                missing.join("`, `")
            ),
            format!("add {} to `imports`", missing.join(", ")),
        ));
    }
    Ok(())
}

fn show_core(params: &[wasmtime::ValType], results: &[wasmtime::ValType]) -> String {
    let p: Vec<String> = params.iter().map(|t| t.to_string()).collect();
    let r: Vec<String> = results.iter().map(|t| t.to_string()).collect();
    format!("({}) -> ({})", p.join(", "), r.join(", "))
}

/// A signature for a core export with no `wit`: `i32` as `s32`, `i64` as `s64`, floats as floats.
fn infer_core_signature(ft: &wasmtime::FuncType) -> Result<CoreSignature, String> {
    let hint = "declare the signature with `wit`, e.g. `wit: \"add: func(a: s32, b: s32) -> s32;\"`";
    let mut params = Vec::new();
    for (i, t) in ft.params().enumerate() {
        let s = Scalar::infer(&t)
            .ok_or_else(|| format!("parameter {i} has core type {t}, which needs a `wit` signature; {hint}"))?;
        params.push((format!("p{i}"), s));
    }
    let mut results = Vec::new();
    for (i, t) in ft.results().enumerate() {
        results.push(Scalar::infer(&t).ok_or_else(|| format!("result {i} has core type {t}; {hint}"))?);
    }
    Ok((params, results))
}
