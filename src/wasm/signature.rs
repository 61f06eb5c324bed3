//! WIT signatures of core modules (`wit: "add: func(a: s32, b: s32) -> s32;"`).
//!
//! A core module has only `i32`/`i64`/`f32`/`f64` in its types, so the entry's `wit` says what the values mean.
//! [`parse`] wraps the text into a WIT world (each function becomes a world export, or, for an
//! `interface#function` method, an export of an inline interface) and reads it with `wit-parser`, which gives
//! precise syntax errors.
//!
//! When every parameter and the result are scalars, the function is called directly ([`Scalar`] lowering, checked
//! against the export's core type at load). Otherwise the module must follow the canonical ABI (exporting `memory`
//! and `cabi_realloc`), and [`componentize`] wraps it into a component with `wit-component`, so strings, lists and
//! records map exactly as they do for components.

use wasmtime::component::Type;
use wasmtime::ValType;
use wit_parser::{Resolve, WorldId, WorldItem, WorldKey};

/// A WIT type that lowers to one core value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scalar {
    /// `bool` as `i32`.
    Bool,
    /// `s8` as `i32`.
    S8,
    /// `u8` as `i32`.
    U8,
    /// `s16` as `i32`.
    S16,
    /// `u16` as `i32`.
    U16,
    /// `s32` as `i32`.
    S32,
    /// `u32` as `i32`.
    U32,
    /// `s64` as `i64`.
    S64,
    /// `u64` as `i64`.
    U64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `char` as `i32`.
    Char,
}

impl Scalar {
    fn from_wit(ty: &wit_parser::Type) -> Option<Scalar> {
        use wit_parser::Type as W;
        Some(match ty {
            W::Bool => Scalar::Bool,
            W::S8 => Scalar::S8,
            W::U8 => Scalar::U8,
            W::S16 => Scalar::S16,
            W::U16 => Scalar::U16,
            W::S32 => Scalar::S32,
            W::U32 => Scalar::U32,
            W::S64 => Scalar::S64,
            W::U64 => Scalar::U64,
            W::F32 => Scalar::F32,
            W::F64 => Scalar::F64,
            W::Char => Scalar::Char,
            _ => return None,
        })
    }

    /// The scalar a core value type stands for when a module has no `wit` (signed integers).
    pub(super) fn infer(ty: &ValType) -> Option<Scalar> {
        Some(match ty {
            ValType::I32 => Scalar::S32,
            ValType::I64 => Scalar::S64,
            ValType::F32 => Scalar::F32,
            ValType::F64 => Scalar::F64,
            _ => return None,
        })
    }

    /// The core value type it lowers to.
    pub(super) fn core(self) -> ValType {
        match self {
            Scalar::S64 | Scalar::U64 => ValType::I64,
            Scalar::F32 => ValType::F32,
            Scalar::F64 => ValType::F64,
            _ => ValType::I32,
        }
    }

    /// The equivalent component type (for conversions and messages).
    pub(super) fn component(self) -> Type {
        match self {
            Scalar::Bool => Type::Bool,
            Scalar::S8 => Type::S8,
            Scalar::U8 => Type::U8,
            Scalar::S16 => Type::S16,
            Scalar::U16 => Type::U16,
            Scalar::S32 => Type::S32,
            Scalar::U32 => Type::U32,
            Scalar::S64 => Type::S64,
            Scalar::U64 => Type::U64,
            Scalar::F32 => Type::Float32,
            Scalar::F64 => Type::Float64,
            Scalar::Char => Type::Char,
        }
    }
}

/// A parsed signature.
pub(super) enum Signature {
    /// Scalars only: called directly.
    Scalar {
        /// Parameter names and types.
        params: Vec<(String, Scalar)>,
        /// The result types: none, one, or several (`-> (s32, s32)`, a core function with several results).
        results: Vec<Scalar>,
    },
    /// Needs the canonical ABI: the module is wrapped into a component.
    Component {
        /// The parsed WIT.
        resolve: Box<Resolve>,
        /// The world that exports the function.
        world: WorldId,
    },
}

/// Parses the `wit` text for `method` (`name` or `interface#name`).
pub(super) fn parse(wit: &str, method: &str) -> Result<Signature, String> {
    let (iface, func) = match method.split_once('#') {
        Some((i, f)) => (Some(i), f),
        None => (None, method),
    };
    let (wit, renamed) = legalize_names(wit)?;
    let (wit, several) = several_results(&wit);
    let func = renamed.iter().find(|(core, _)| core == func).map_or(func, |(_, legal)| legal.as_str());
    let body = match iface {
        Some(i) => format!("  export {i}: interface {{\n{wit}\n  }}\n"),
        None => exportify(&wit),
    };
    let src = format!("package wippy:signature;\n\nworld signature {{\n{body}\n}}\n");
    let mut resolve = Resolve::default();
    let pkg = resolve.push_str("wit", &src).map_err(|e| format!("invalid `wit`: {}", first_line(&format!("{e:#}"))))?;
    let world = resolve.select_world(&[pkg], Some("signature")).map_err(|e| format!("invalid `wit`: {e}"))?;
    let function = find_function(&resolve, world, iface, func).ok_or_else(|| {
        let declared = declared_functions(&resolve, world);
        format!(
            "`wit` declares no function `{func}` (it declares: {})",
            if declared.is_empty() { "none".into() } else { declared.join(", ") }
        )
    })?;
    let params: Option<Vec<(String, Scalar)>> =
        function.params.iter().map(|p| Scalar::from_wit(&p.ty).map(|s| (p.name.clone(), s))).collect();
    let results: Option<Vec<Scalar>> = match &function.result {
        None => Some(Vec::new()),
        Some(wit_parser::Type::Id(id)) if several.iter().any(|f| f == func) => match &resolve.types[*id].kind {
            wit_parser::TypeDefKind::Tuple(t) => t.types.iter().map(Scalar::from_wit).collect(),
            _ => None,
        },
        Some(t) => Scalar::from_wit(t).map(|s| vec![s]),
    };
    match (params, results) {
        (Some(params), Some(results)) => Ok(Signature::Scalar { params, results }),
        _ if renamed.iter().any(|(_, legal)| legal == func) => Err(format!(
            "`{method}` is not a WIT name, so its signature must use scalar types only (numbers, `bool`, `char`); \
             a function that takes or returns strings, lists or records needs a kebab-case export name"
        )),
        _ => Ok(Signature::Component { resolve: Box::new(resolve), world }),
    }
}

/// Core export names follow Wippy's rule rather than WIT's (`add_numbers`, `_start`, `computeSum`): letters,
/// digits, `_` and `-`, starting with a letter or `_`. Each top-level function declared with a name WIT would
/// refuse gets a stand-in WIT name; returns the text with the stand-ins and the pairs (core name, stand-in).
fn legalize_names(text: &str) -> Result<(String, Vec<(String, String)>), String> {
    let mut out = String::with_capacity(text.len());
    let mut renamed = Vec::new();
    for (n, statement) in text.split_inclusive(';').enumerate() {
        let lead = statement.len() - statement.trim_start().len();
        let rest = &statement[lead..];
        let (keyword, after) = match rest.strip_prefix("export") {
            Some(r) if r.starts_with(char::is_whitespace) => ("export ", r.trim_start()),
            _ => ("", rest),
        };
        let name_len =
            after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(after.len());
        let (name, tail) = after.split_at(name_len);
        let is_func = tail.trim_start().strip_prefix(':').is_some_and(|t| t.trim_start().starts_with("func"));
        if !is_func || name.is_empty() || is_wit_name(name) {
            out.push_str(statement);
            continue;
        }
        if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            return Err(format!(
                "invalid `wit`: `{name}` is not a function name (letters, digits, `_` and `-`, starting with a letter or `_`)"
            ));
        }
        let legal = format!("wippy-core-export-{n}");
        out.push_str(&statement[..lead]);
        out.push_str(keyword);
        out.push_str(&legal);
        out.push_str(tail);
        renamed.push((name.to_owned(), legal));
    }
    Ok((out, renamed))
}

/// Wippy's several results (`-> (s32, s32)`, `-> (a: s32, b: s32)`, `-> ()`), which WIT no longer has, as a tuple
/// (or no result); returns the text and the functions that had them (their core exports return several values).
fn several_results(text: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut funcs = Vec::new();
    for statement in text.split_inclusive(';') {
        let Some(arrow) = statement.find("->") else {
            out.push_str(statement);
            continue;
        };
        let after = statement[arrow + 2..].trim_start();
        let Some(inner) = after.strip_prefix('(') else {
            out.push_str(statement);
            continue;
        };
        let Some(close) = inner.rfind(')') else {
            out.push_str(statement);
            continue;
        };
        let types: Vec<&str> = inner[..close]
            .split(',')
            .map(|t| t.rsplit_once(':').map_or(t, |(_, ty)| ty).trim())
            .filter(|t| !t.is_empty())
            .collect();
        // The declaration's first line that is not a comment, without an `export` keyword.
        let decl = statement.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("//")).unwrap_or("");
        let decl = match decl.strip_prefix("export") {
            Some(rest) if rest.starts_with(char::is_whitespace) => rest.trim_start(),
            _ => decl,
        };
        let name: String = decl.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect();
        out.push_str(&statement[..arrow]);
        if !types.is_empty() {
            out.push_str(&format!("-> tuple<{}>", types.join(", ")));
        }
        out.push_str(&inner[close + 1..]);
        funcs.push(name);
    }
    (out, funcs)
}

/// Whether `name` is a WIT identifier: words of lowercase letters and digits (each starting with a letter),
/// joined by `-` (all-uppercase words too).
fn is_wit_name(name: &str) -> bool {
    name.split('-').all(|w| {
        w.starts_with(|c: char| c.is_ascii_alphabetic())
            && (w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                || w.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
    })
}

fn first_line(s: &str) -> String {
    s.replace("\n", " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

fn find_function<'r>(
    resolve: &'r Resolve,
    world: WorldId,
    iface: Option<&str>,
    func: &str,
) -> Option<&'r wit_parser::Function> {
    for (key, item) in &resolve.worlds[world].exports {
        match (iface, key, item) {
            (None, WorldKey::Name(n), WorldItem::Function(f)) if n == func => return Some(f),
            (Some(i), WorldKey::Name(n), WorldItem::Interface { id, .. }) if n == i => {
                return resolve.interfaces[*id].functions.get(func);
            }
            _ => {}
        }
    }
    None
}

fn declared_functions(resolve: &Resolve, world: WorldId) -> Vec<String> {
    let mut out = Vec::new();
    for (key, item) in &resolve.worlds[world].exports {
        match (key, item) {
            (WorldKey::Name(n), WorldItem::Function(_)) => out.push(n.clone()),
            (WorldKey::Name(n), WorldItem::Interface { id, .. }) => {
                out.extend(resolve.interfaces[*id].functions.keys().map(|f| format!("{n}#{f}")));
            }
            _ => {}
        }
    }
    out
}

/// Puts `export` before each top-level function declaration (`name: func(...)`), leaving type definitions alone.
fn exportify(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 32);
    let mut depth = 0usize;
    let mut at_start = true;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if at_start && depth == 0 && !c.is_whitespace() {
            if c == '/' && chars.get(i + 1) == Some(&'/') {
                while i < chars.len() && chars[i] != '\n' {
                    out.push(chars[i]);
                    i += 1;
                }
                continue;
            }
            if is_func_decl(&chars[i..]) {
                out.push_str("export ");
            }
            at_start = false;
        }
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                at_start = depth == 0;
            }
            ';' if depth == 0 => at_start = true,
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    out
}

fn is_func_decl(s: &[char]) -> bool {
    let mut i = 0;
    if s.first() == Some(&'%') {
        i += 1;
    }
    let start = i;
    while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == '-') {
        i += 1;
    }
    if i == start {
        return false;
    }
    let ident: String = s[start..i].iter().collect();
    if matches!(
        ident.as_str(),
        "record" | "variant" | "enum" | "flags" | "type" | "resource" | "use" | "export" | "import"
    ) {
        return false;
    }
    while i < s.len() && s[i].is_whitespace() {
        i += 1;
    }
    if s.get(i) != Some(&':') {
        return false;
    }
    i += 1;
    while i < s.len() && s[i].is_whitespace() {
        i += 1;
    }
    let rest: String = s[i..s.len().min(i + 10)].iter().collect();
    rest.starts_with("func") || rest.starts_with("async")
}

/// Wraps a canonical-ABI core module into a component whose world is the parsed signature.
pub(super) fn componentize(module: &[u8], resolve: &Resolve, world: WorldId) -> Result<Vec<u8>, String> {
    let mut bytes = module.to_vec();
    wit_component::embed_component_metadata(&mut bytes, resolve, world, wit_component::StringEncoding::UTF8)
        .map_err(|e| format!("cannot attach the `wit` signature: {e:#}"))?;
    wit_component::ComponentEncoder::default().module(&bytes).and_then(|enc| enc.validate(true).encode()).map_err(|e| {
        format!(
            "the module does not follow the canonical ABI for its `wit` signature: {}",
            first_line(&format!("{e:#}"))
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_results_become_tuples() {
        let (text, funcs) = several_results("div_mod: func(a: s32, b: s32) -> (q: s32, r: s32);\nnone: func() -> ();");
        assert_eq!(text, "div_mod: func(a: s32, b: s32) -> tuple<s32, s32>;\nnone: func() ;");
        assert_eq!(funcs, ["div_mod", "none"]);
        let (_, funcs) = several_results("// a comment\nexporter: func() -> (s32, s32);\nexport g: func() -> (u8);");
        assert_eq!(funcs, ["exporter", "g"]);
        let (same, funcs) = several_results("f: func() -> s32;");
        assert_eq!((same.as_str(), funcs.len()), ("f: func() -> s32;", 0));
    }

    #[test]
    fn scalar_signatures() {
        let Ok(Signature::Scalar { params, results }) = parse("add: func(a: s32, b: s32) -> s32;", "add") else {
            panic!("scalar")
        };
        assert_eq!(params, vec![("a".into(), Scalar::S32), ("b".into(), Scalar::S32)]);
        assert_eq!(results, vec![Scalar::S32]);
    }

    #[test]
    fn several_functions_and_types() {
        let wit = "record point { x: s32, y: s32 }\nanswer: func() -> s32;\nnorm: func(p: point) -> f64;";
        assert!(matches!(parse(wit, "answer"), Ok(Signature::Scalar { .. })));
        assert!(matches!(parse(wit, "norm"), Ok(Signature::Component { .. })));
    }

    #[test]
    fn interface_methods() {
        assert!(matches!(parse("sleep-ms: func(ms: u32);", "test-sleep#sleep-ms"), Ok(Signature::Scalar { .. })));
    }

    #[test]
    fn core_export_names_follow_wippy() {
        let wit = "add_numbers: func(a: s32, b: s32) -> s32;\n_start: func();\nexport computeSum: func(x: s64) -> s64;";
        for method in ["add_numbers", "_start", "computeSum"] {
            assert!(matches!(parse(wit, method), Ok(Signature::Scalar { .. })), "{method}");
        }
        let Ok(Signature::Scalar { params, .. }) = parse(wit, "add_numbers") else { panic!("scalar") };
        assert_eq!(params, vec![("a".into(), Scalar::S32), ("b".into(), Scalar::S32)]);
        let e = parse("take_text: func(s: string);", "take_text").err().unwrap_or_default();
        assert!(e.contains("scalar types only"), "{e}");
        let e = parse("9lives: func();", "9lives").err().unwrap_or_default();
        assert!(e.contains("`9lives` is not a function name"), "{e}");
    }

    #[test]
    fn errors_name_the_problem() {
        let e = parse("add: func(a: s32 -> s32;", "add").err().unwrap_or_default();
        assert!(e.starts_with("invalid `wit`"), "{e}");
        let e = parse("add: func();", "sub").err().unwrap_or_default();
        assert!(e.contains("no function `sub`") && e.contains("add"), "{e}");
    }
}
