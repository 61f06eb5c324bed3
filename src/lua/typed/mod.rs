//! Typed syntax (SPEC §5.1, "Typed syntax: accepted and erased"): Wippy's Lua carries type annotations that Lua 5.4
//! does not parse. Before compiling, [`erase`] parses the source with `full_moon` (Lua 5.4 with Luau's type syntax)
//! and blanks every type annotation, type declaration, generic parameter list and `::` cast, character by
//! character, keeping line breaks: the erased text compiles with the same line numbers, so errors point at the
//! source as written.
//!
//! Covered: typed locals, parameters and returns (`local x: number`, `function f(a: T?): (R1, R2)`), generics
//! (`function f<T>(x: T): T`), `type Name = T` and `export type`, and `expr :: T`, with the type expressions Luau
//! knows (records, arrays `{T}`, maps, unions, intersections, optional `T?`, function types, `typeof(expr)`,
//! string literals); and Wippy's own `expr as T`, `expr!`, `T[]`, `fun(a: T): R`, `interface ... end`, `readonly`,
//! `keyof`, `asserts`, conditional aliases and `@annotations`, which [`dialect`] first turns into Luau's forms.
//!
//! The parser recurses; it runs on a thread with [`PARSE_STACK`] bytes of stack so a deeply nested source is a
//! parse error rather than a stack overflow (Lua itself refuses nesting beyond 200 levels).

use full_moon::ast::luau::{
    ExportedTypeDeclaration, GenericDeclaration, TypeAssertion, TypeDeclaration, TypeSpecifier,
};
use full_moon::node::Node;
use full_moon::visitors::Visitor;
use full_moon::LuaVersion;

mod dialect;

/// Stack for the parser thread.
const PARSE_STACK: usize = 256 << 20;

/// Why a source could not be read.
#[derive(Debug)]
pub(crate) struct TypedError {
    /// The line of the word the parser stopped on (1-based).
    pub(crate) line: usize,
    /// What it expected.
    pub(crate) message: String,
}

/// The name of the parser thread.
const THREAD: &str = "wippy-lua-types";

/// full_moon 2.2 panics on some malformed type syntax (an `unwrap` in its type-table parser, found by the
/// `typed_syntax` fuzz target: `type P = {x: $ number}`). The parse runs on its own thread, whose panic `join`
/// catches and [`erase`] reads as "cannot parse", so the source is compiled as plain Lua and gets Lua's own error.
/// This hook keeps such a panic quiet (its message would read as a crash of the host); a panic of any other thread
/// reaches the hook that was there before.
fn quiet_parser_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() != Some(THREAD) {
                previous(info)
            }
        }));
    });
}

/// The source with its type syntax blanked out, or the source itself when it has none.
pub(crate) fn erase(source: &str) -> Result<String, TypedError> {
    quiet_parser_panics();
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name(THREAD.into())
            .stack_size(PARSE_STACK)
            .spawn_scoped(s, || erase_here(source))
            .map_err(|e| TypedError { line: 1, message: format!("cannot start the parser: {e}") })?
            .join()
            .unwrap_or_else(|_| Err(TypedError { line: 1, message: "the typed-syntax parser failed on it".into() }))
    })
}

fn erase_here(source: &str) -> Result<String, TypedError> {
    let source = dialect::to_luau(source);
    let source = source.as_ref();
    let parsed = full_moon::parse_fallible(source, LuaVersion::lua54().with_luau());
    if let Some(e) = parsed.errors().first() {
        return Err(TypedError { line: e.range().0.line(), message: e.error_message().into_owned() });
    }
    let mut spans = Spans(Vec::new());
    spans.visit_ast(parsed.ast());
    if spans.0.is_empty() {
        return Ok(source.to_owned());
    }
    let mut bytes = source.as_bytes().to_vec();
    for (start, end) in spans.0 {
        for b in bytes.get_mut(start..end).unwrap_or_default() {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        }
    }
    // Only whole tokens were blanked, so the text is still UTF-8; say so rather than assume it.
    String::from_utf8(bytes).map_err(|_| TypedError { line: 1, message: "the source is not UTF-8".into() })
}

/// The byte spans of every token of the type syntax in a source.
struct Spans(Vec<(usize, usize)>);

impl Spans {
    fn add(&mut self, node: &impl Node) {
        for t in node.tokens() {
            self.0.push((t.token().start_position().bytes(), t.token().end_position().bytes()));
        }
    }
}

impl Visitor for Spans {
    fn visit_type_specifier(&mut self, node: &TypeSpecifier) {
        self.add(node)
    }
    fn visit_type_assertion(&mut self, node: &TypeAssertion) {
        self.add(node)
    }
    fn visit_type_declaration(&mut self, node: &TypeDeclaration) {
        self.add(node)
    }
    fn visit_exported_type_declaration(&mut self, node: &ExportedTypeDeclaration) {
        self.add(node)
    }
    fn visit_generic_declaration(&mut self, node: &GenericDeclaration) {
        self.add(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_blanked_and_lines_kept() {
        let src = "local x: number = 1\nlocal function f<T>(a: T, b: string?): (T, number)\n  return a, 2\nend\n\
                   type Point = {x: number,\n  y: number}\nlocal p = ({} :: any) :: Point\nreturn { main = f }\n";
        let out = erase(src).expect("typed syntax");
        assert_eq!(out.lines().count(), src.lines().count());
        assert!(out.starts_with("local x         = 1\n"), "{out}");
        assert!(!out.contains("number") && !out.contains("Point") && out.contains("local p = ({}"), "{out}");
    }

    #[test]
    fn plain_lua_54_is_left_alone() {
        let src = "local c <const> = 5 // 2 | 1 & 3 ~ 4 << 1\nlocal t = {type = 1}\nreturn type(t), t.type\n";
        assert_eq!(erase(src).expect("plain Lua"), src);
        // A label right after an expression reads as a `::` cast to the typed parser: an error here, and the
        // compiler then takes the source as plain Lua (`engine::compile`).
        assert!(erase("local n = 1\n::top::\n").is_err());
    }

    #[test]
    fn a_parser_panic_is_an_error() {
        // full_moon 2.2 panics here (found by the `typed_syntax` fuzz target); the host reads it as a parse error.
        for src in ["type P = {x: $ number}\n", "local x: {a: $} = 1\n", "type P = {[$]: number}\n"] {
            let e = erase(src).expect_err("not typed Lua");
            assert!(e.message.contains("parser failed"), "{e:?}");
        }
    }

    #[test]
    fn errors_give_the_line() {
        let e = erase("local a = 1\nlocal b: = 2\n").expect_err("a type is missing");
        assert_eq!(e.line, 2, "{e:?}");
    }
}
