//! The shape of `src/`, checked so that it stays true (`ARCHITECTURE.md` explains the layers):
//! - every reference to another module of the crate points down the layers, or sideways within a layer only where
//!   the order below allows it; at most four point up, each marked `// layer exception: <why>`;
//! - the process model names no guest language (no `wasm`, `lua`, `wasmtime` or `mlua` under `src/process/`), and
//!   the two engines do not name each other;
//! - no file is longer than 600 lines, and no function longer than 80 unless it is one flat `match`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layer of each top-level module, bottom first. Within the leaves, a module may use only those listed before
/// it; in every other layer, modules of the same layer do not use each other.
const LAYERS: &[(&str, usize)] = &[
    // leaves, in the order they may use each other
    ("value", 0),
    ("duration", 1),
    ("id", 2),
    ("capability", 3),
    ("security", 4),
    ("error", 5),
    ("files", 6),
    ("registry", 7),
    // the metrics every layer above counts into
    ("telemetry", 8),
    // the process model
    ("process", 10),
    // the cluster: the process model across nodes
    ("cluster", 15),
    // the engines
    ("wasm", 20),
    ("lua", 20),
    // the host
    ("host", 30),
    // what is built on the host
    ("deploy", 40),
    ("testing", 40),
    // introspection over a host and its deployment
    ("admin", 45),
    // the public facade and the binary
    ("lib", 50),
    ("fuzzing", 50),
    ("main", 60),
    ("cli", 60),
];

/// The most references that may point up a layer.
const MAX_UPWARD: usize = 4;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src is readable") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

/// The top-level module a file belongs to (`src/process/actor.rs` -> `process`, `src/lib.rs` -> `lib`).
fn module_of(file: &Path) -> String {
    let rel = file.strip_prefix(src()).expect("under src");
    let first = rel.components().next().expect("a component").as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_owned()
}

fn layer(module: &str) -> usize {
    LAYERS
        .iter()
        .find(|(m, _)| *m == module)
        .map(|(_, l)| *l)
        .unwrap_or_else(|| panic!("module `{module}` has no layer"))
}

/// The code of a line, without a trailing `//` comment (good enough for this crate: no `//` inside strings that
/// name modules).
fn code(line: &str) -> &str {
    let t = line.trim_start();
    if t.starts_with("//") {
        return "";
    }
    match line.find("//") {
        Some(i) if !line[..i].contains('"') => &line[..i],
        _ => line,
    }
}

/// Every `crate::<module>` a line names.
fn crate_refs(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code(line);
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            out.push(name);
        }
    }
    // `use crate::{a, b}` names several modules at once.
    if let Some(i) = code(line).find("crate::{") {
        let inner = &code(line)[i + "crate::{".len()..];
        for part in inner.split(',') {
            let name: String = part.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

#[test]
fn references_follow_the_layers() {
    let files = rust_files(&src());
    let mut upward = Vec::new();
    let mut wrong = Vec::new();
    for file in &files {
        let from = module_of(file);
        let text = std::fs::read_to_string(file).expect("readable");
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            for to in crate_refs(line) {
                if to == from || !LAYERS.iter().any(|(m, _)| *m == to) {
                    continue;
                }
                let (lf, lt) = (layer(&from), layer(&to));
                let explained = line.contains("layer exception:") || n > 0 && lines[n - 1].contains("layer exception:");
                let at = format!("{}:{}: `{from}` uses `{to}`", file.display(), n + 1);
                if lt > lf || (lt == lf && lf >= 10) {
                    if explained {
                        upward.push(at);
                    } else {
                        wrong.push(at);
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "references that point up or sideways:\n{}", wrong.join("\n"));
    assert!(upward.len() <= MAX_UPWARD, "more than {MAX_UPWARD} explained upward references:\n{}", upward.join("\n"));
}

#[test]
fn the_process_model_names_no_guest_language() {
    let files = rust_files(&src().join("process"));
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable");
        for (n, line) in text.lines().enumerate() {
            let c = code(line);
            for word in ["crate::wasm", "crate::lua", "wasmtime", "mlua"] {
                assert!(!c.contains(word), "{}:{}: the process model names `{word}`", file.display(), n + 1);
            }
        }
    }
    for (engine, other) in [("wasm", "crate::lua"), ("lua", "crate::wasm")] {
        let files = rust_files(&src().join(engine));
        for file in &files {
            let text = std::fs::read_to_string(file).expect("readable");
            for (n, line) in text.lines().enumerate() {
                assert!(!code(line).contains(other), "{}:{}: the engines name each other", file.display(), n + 1);
            }
        }
    }
}

/// The functions of a file longer than `max` lines: (name, first line, length). A function whose body is one
/// `match` (optionally after one guard statement, or wrapped in `Ok(..)`/`Some(..)`) is a flat match and allowed.
fn long_functions(text: &str, max: usize) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let indent = &line[..line.len() - t.len()];
        let sig = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "pub(super) fn ",
            "async fn ",
            "pub async fn ",
            "pub(crate) async fn ",
        ];
        let Some(rest) = sig.iter().find_map(|s| t.strip_prefix(s)) else { continue };
        if line.trim_end().ends_with(';') {
            continue;
        }
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let end = (i..lines.len()).find(|&j| lines[j].trim_end() == format!("{indent}}}")).unwrap_or(lines.len() - 1);
        let len = end - i + 1;
        if len <= max {
            continue;
        }
        let body: Vec<&str> =
            lines[i + 1..end].iter().map(|l| l.trim()).filter(|l| !l.is_empty() && !l.starts_with("//")).collect();
        let starts_match =
            |l: &str| l.starts_with("match ") || l.starts_with("Ok(match ") || l.starts_with("Some(match ");
        let flat = match body.as_slice() {
            [first, ..] if starts_match(first) => true,
            [_, second, ..] if starts_match(second) => true,
            _ => false,
        };
        if !flat {
            out.push((name, i + 1, len));
        }
    }
    out
}

#[test]
fn files_and_functions_stay_small() {
    let files = rust_files(&src());
    let mut problems = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable");
        let n = text.lines().count();
        if n > 600 {
            problems.insert(file.display().to_string(), format!("{n} lines (at most 600)"));
        }
        for (name, line, len) in long_functions(&text, 80) {
            problems.insert(format!("{}:{line}", file.display()), format!("fn {name} has {len} lines (at most 80)"));
        }
    }
    let list: Vec<String> = problems.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    assert!(problems.is_empty(), "too long:\n{}", list.join("\n"));
}

#[test]
fn every_module_file_starts_with_its_docs() {
    let files = rust_files(&src());
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable");
        assert!(text.starts_with("//!"), "{} does not start with `//!` module docs", file.display());
    }
}
