//! Wippy's own type forms that Luau's grammar (what `full_moon` parses) lacks, rewritten to Luau's before the
//! parse: `expr as T` to `expr :: T`, `expr!` to `expr`, `T[]` to `{T}`, `fun(a: T): R` to `(a: T) -> R`, an
//! `interface Name ... end` declaration blanked, and (types being erased anyway) `readonly T` to `T`, `keyof(T)` to
//! `string`, `asserts x is T` to `T`, a conditional type `A extends B ? C : D` (anywhere in a type) to `D`, and
//! `@annotations` blanked. The rewrite works on tokens (a small Lua lexer that knows strings, long brackets,
//! comments and numbers, so nothing inside them is touched) and keeps every line break, so line numbers stay exact;
//! columns inside a line may shift, which no Lua message shows.

/// One token: its kind and byte span.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Name,
    Literal,
    Symbol,
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
}

/// The length of a long bracket opener `[==[` at `i`, with its level, if there is one.
fn long_open(b: &[u8], i: usize) -> Option<(usize, usize)> {
    if b.get(i) != Some(&b'[') {
        return None;
    }
    let level = b[i + 1..].iter().take_while(|c| **c == b'=').count();
    (b.get(i + 1 + level) == Some(&b'[')).then_some((level + 2, level))
}

/// The end of a long bracket body closed by `]` `=`*level `]`, from `i`.
fn long_close(b: &[u8], mut i: usize, level: usize) -> usize {
    while i < b.len() {
        if b[i] == b']' && b[i + 1..].iter().take(level).all(|c| *c == b'=') && b.get(i + 1 + level) == Some(&b']') {
            return i + level + 2;
        }
        i += 1;
    }
    b.len()
}

/// The tokens of `src` (comments and whitespace skipped).
fn lex(src: &str) -> Vec<Tok> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            i = match long_open(b, i + 2) {
                Some((n, level)) => long_close(b, i + 2 + n, level),
                None => b[i..].iter().position(|c| *c == b'\n').map_or(b.len(), |p| i + p),
            };
            continue;
        }
        let kind = if c == b'"' || c == b'\'' {
            i += 1;
            while i < b.len() && b[i] != c && b[i] != b'\n' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            Kind::Literal
        } else if let Some((n, level)) = long_open(b, i) {
            i = long_close(b, i + n, level);
            Kind::Literal
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            while i < b.len()
                && (b[i].is_ascii_alphanumeric()
                    || b[i] == b'.'
                    || b[i] == b'_'
                    || (matches!(b[i], b'+' | b'-') && matches!(b[i - 1], b'e' | b'E' | b'p' | b'P')))
            {
                i += 1;
            }
            Kind::Literal
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80) {
                i += 1;
            }
            Kind::Name
        } else {
            let two = &b[i..(i + 2).min(b.len())];
            i += if matches!(two, b"->" | b"::" | b"==" | b"~=" | b"<=" | b">=" | b"..") { 2 } else { 1 };
            Kind::Symbol
        };
        out.push(Tok { kind, start, end: i });
    }
    out
}

const KEYWORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in", "local", "nil",
    "not", "or", "repeat", "return", "then", "true", "until", "while",
];

/// A change to the source: replace `start..end` with `text`.
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

struct Rewriter<'a> {
    src: &'a str,
    toks: Vec<Tok>,
    edits: Vec<Edit>,
}

impl Rewriter<'_> {
    fn text(&self, i: usize) -> &str {
        self.toks.get(i).map_or("", |t| &self.src[t.start..t.end])
    }

    /// Whether token `i` ends an expression (a name, a literal, a closing bracket).
    fn ends_expression(&self, i: usize) -> bool {
        let Some(t) = self.toks.get(i) else { return false };
        match t.kind {
            Kind::Literal => true,
            Kind::Name => {
                let word = self.text(i);
                !KEYWORDS.contains(&word) || matches!(word, "nil" | "true" | "false" | "end")
            }
            Kind::Symbol => matches!(self.text(i), ")" | "]" | "}"),
        }
    }

    /// The index of the bracket matching the closer at `i`, searching back.
    fn opener(&self, i: usize) -> Option<usize> {
        let (open, close) = match self.text(i) {
            ")" => ("(", ")"),
            "}" => ("{", "}"),
            ">" => ("<", ">"),
            _ => return None,
        };
        let mut depth = 0;
        for j in (0..=i).rev() {
            match self.text(j) {
                t if t == close => depth += 1,
                t if t == open => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(j);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The index of the bracket matching the opener at `i`, searching forward.
    fn closer(&self, i: usize) -> Option<usize> {
        let (open, close) = match self.text(i) {
            "(" => ("(", ")"),
            "{" => ("{", "}"),
            _ => return None,
        };
        let mut depth = 0;
        for j in i..self.toks.len() {
            match self.text(j) {
                t if t == open => depth += 1,
                t if t == close => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(j);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The first token of the type that ends at token `i` (`mod.Name`, `Name<T>`, `{...}`, `(...)`).
    fn type_start(&self, i: usize) -> usize {
        let mut j = match self.text(i) {
            ")" | "}" => return self.opener(i).unwrap_or(i),
            ">" => match self.opener(i) {
                Some(o) if o > 0 => o - 1,
                _ => return i,
            },
            _ => i,
        };
        while j >= 2 && self.text(j - 1) == "." && self.toks[j - 2].kind == Kind::Name {
            j -= 2;
        }
        j
    }

    /// Whether token `i` stands where a type is expected: after `->`, as an alias's value, or after an annotation's
    /// `:` (one followed by a space, or after `)`; `obj:fun(x)` is a method call).
    fn type_position(&self, i: usize) -> bool {
        if i == 0 {
            return false;
        }
        match self.text(i - 1) {
            "->" => true,
            ":" => {
                let colon = self.toks[i - 1];
                let spaced = self.src[colon.end..].starts_with(char::is_whitespace);
                spaced || (i >= 2 && self.text(i - 2) == ")")
            }
            _ => self.alias_value(i),
        }
    }

    /// Whether `interface` at token `i` declares one: a name, then `:` (what it extends), `function`, or a field
    /// `name: T`, and an `end` with no statement between.
    fn interface_end(&self, i: usize) -> Option<usize> {
        if self.toks.get(i + 1)?.kind != Kind::Name {
            return None;
        }
        let body = match self.text(i + 2) {
            ":" | "function" => true,
            _ => self.toks.get(i + 2).is_some_and(|t| t.kind == Kind::Name) && self.text(i + 3) == ":",
        };
        if !body {
            return None;
        }
        const STATEMENTS: &[&str] = &["do", "then", "=", "return", "local", "if", "for", "while", "repeat", "until"];
        let end = (i + 2..self.toks.len()).find(|&j| self.text(j) == "end")?;
        (!(i + 2..end).any(|j| STATEMENTS.contains(&self.text(j)))).then_some(end)
    }

    /// Whether token `i` starts the value of a type alias (`type Name = ...`, `type Name<T> = ...`).
    fn alias_value(&self, i: usize) -> bool {
        if i < 3 || self.text(i - 1) != "=" {
            return false;
        }
        let mut j = i - 2;
        if self.text(j) == ">" {
            match self.opener(j) {
                Some(o) if o > 0 => j = o - 1,
                _ => return false,
            }
        }
        j > 0 && self.toks[j].kind == Kind::Name && self.text(j - 1) == "type"
    }

    /// For `extends` at token `i` in a conditional type `A extends B ? C : D`: the `:` before `D` (the one that
    /// matches the `?`, outside brackets); `None` when `i` is not in one.
    fn conditional_else(&self, i: usize) -> Option<usize> {
        let (mut depth, mut open) = (0i32, 0usize);
        for j in i + 1..self.toks.len() {
            let t = self.text(j);
            if self.toks[j].kind == Kind::Name && KEYWORDS.contains(&t) || t == "=" {
                return None;
            }
            match t {
                "(" | "{" | "[" | "<" => depth += 1,
                ")" | "}" | "]" | ">" if depth == 0 => return None,
                ")" | "}" | "]" | ">" => depth -= 1,
                "?" if depth == 0 => open += 1,
                ":" if depth == 0 && open > 0 => {
                    open -= 1;
                    if open == 0 {
                        return Some(j);
                    }
                }
                "," | ";" if depth == 0 => return None,
                _ => {}
            }
        }
        None
    }

    fn edit(&mut self, start: usize, end: usize, text: &str) {
        self.edits.push(Edit { start, end, text: text.to_owned() });
    }

    fn blank(&mut self, from: usize, to: usize) {
        let text: String = self.src[from..to].chars().map(|c| if c == '\n' || c == '\r' { c } else { ' ' }).collect();
        self.edits.push(Edit { start: from, end: to, text });
    }

    fn run(&mut self) {
        let mut i = 0;
        while i < self.toks.len() {
            let t = self.toks[i];
            let word = self.text(i);
            let before = if i > 0 { self.text(i - 1) } else { "" };
            let after_field = matches!(before, "." | ":");
            if word == "as" && t.kind == Kind::Name && !after_field && i > 0 && self.ends_expression(i - 1) {
                self.edit(t.start, t.end, "::");
            } else if word == "!" && i > 0 && self.ends_expression(i - 1) && self.text(i + 1) != "=" {
                self.edit(t.start, t.end, " ");
            } else if word == "[" && self.text(i + 1) == "]" && i > 0 {
                let first = self.type_start(i - 1);
                self.edit(self.toks[first].start, self.toks[first].start, "{");
                let close = self.toks[i + 1];
                self.edit(t.start, close.end, "}");
                i += 1;
            } else if word == "fun" && self.text(i + 1) == "(" && self.type_position(i) {
                if let Some(c) = self.closer(i + 1) {
                    self.blank(t.start, t.end);
                    if self.text(c + 1) == ":" {
                        let colon = self.toks[c + 1];
                        self.edit(colon.start, colon.end, "->");
                    }
                }
            } else if word == "@" && self.toks.get(i + 1).is_some_and(|n| n.kind == Kind::Name) {
                // An annotation `@name` or `@name(args)` after a type or a record field.
                let mut last = i + 1;
                if self.text(i + 2) == "(" {
                    last = self.closer(i + 2).unwrap_or(last);
                }
                self.blank(t.start, self.toks[last].end);
                i = last;
            } else if matches!(word, "readonly" | "keyof") && self.type_position(i) {
                // `readonly T` is `T` once erased; `keyof(T)` / `keyof T` is some string.
                if word == "readonly" {
                    self.blank(t.start, t.end);
                } else {
                    let last = match self.text(i + 1) {
                        "(" => self.closer(i + 1).unwrap_or(i),
                        _ => i + 1,
                    };
                    self.edit(t.start, self.toks[last.min(self.toks.len() - 1)].end, "string");
                    i = last;
                }
            } else if word == "asserts" && before == ":" && self.text(i + 2) == "is" {
                // `function f(x): asserts x is T`: the return type is `T` once erased.
                self.blank(t.start, self.toks[i + 2].end);
                i += 2;
            } else if word == "extends" && t.kind == Kind::Name && !after_field && i > 0 {
                // `A extends B ? C : D`, as an alias's value or anywhere in a type: erased anyway, so read as `D`
                // (which may be a conditional type again, rewritten when the loop reaches it).
                if let Some(colon) = self.conditional_else(i) {
                    let first = self.type_start(i - 1);
                    self.blank(self.toks[first].start, self.toks[colon].end);
                    i = colon;
                }
            } else if word == "interface" && (i == 0 || !self.ends_expression(i - 1) || before == "end") {
                if let Some(end) = self.interface_end(i) {
                    self.blank(t.start, self.toks[end].end);
                    i = end;
                }
            }
            i += 1;
        }
    }
}

/// The source with Wippy's own type forms turned into Luau's (or blanked); the source itself when it has none.
pub(super) fn to_luau(src: &str) -> std::borrow::Cow<'_, str> {
    let mut r = Rewriter { src, toks: lex(src), edits: Vec::new() };
    r.run();
    if r.edits.is_empty() {
        return std::borrow::Cow::Borrowed(src);
    }
    r.edits.sort_by_key(|e| (e.start, e.end));
    let mut out = String::with_capacity(src.len() + r.edits.len());
    let mut at = 0;
    for e in &r.edits {
        if e.start < at {
            continue;
        }
        out.push_str(&src[at..e.start]);
        out.push_str(&e.text);
        at = e.end;
    }
    out.push_str(&src[at..]);
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::to_luau;

    #[test]
    fn wippy_forms_become_luau() {
        assert_eq!(to_luau("local n = x as number"), "local n = x :: number");
        assert_eq!(to_luau("local v = get()!.name"), "local v = get() .name");
        assert_eq!(to_luau("local l: string[] = {}"), "local l: {string} = {}");
        assert_eq!(to_luau("local l: mod.User[] = {}"), "local l: {mod.User} = {}");
        assert_eq!(to_luau("local f: fun(a: number): string"), "local f:    (a: number)-> string");
        let out = to_luau("interface Shape\n  function area(): number\nend\nlocal x = 1");
        assert!(out.lines().take(3).all(|l| l.trim().is_empty()) && out.lines().nth(3) == Some("local x = 1"), "{out}");
    }

    #[test]
    fn erased_only_forms_become_plain_types() {
        let words = |src: &str| to_luau(src).split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(words("local p: readonly {x: number}"), "local p: {x: number}");
        assert_eq!(words("local k: keyof(Point) = 'x'"), "local k: string = 'x'");
        assert_eq!(words("function f(x): asserts x is string end"), "function f(x): string end");
        assert_eq!(words("type N<T> = T extends string ? 1 : 0"), "type N<T> = 0");
        assert_eq!(words("type N<T> = T extends string ? {a: 1} : T extends number ? 2 : 3"), "type N<T> = 3");
        assert_eq!(
            words("type R<T> = {v: T extends {x: number} ? T : nil, n: number}"),
            "type R<T> = {v: nil, n: number}"
        );
        assert_eq!(
            words("local function f<T>(x: T): T extends string ? 1 : 0 end"),
            "local function f<T>(x: T): 0 end"
        );
        assert_eq!(words("type M<T> = Map<string, T extends string ? T : nil>"), "type M<T> = Map<string, nil>");
        assert_eq!(words("type P = {id: number @key, n: string @len(1, 9)}"), "type P = {id: number , n: string }");
    }

    #[test]
    fn plain_lua_is_untouched() {
        for src in [
            "local t = {as = 1, fun = 2}\nreturn t.as, t.fun, fun(1), x ~= y, \"a as b!\", [[ x[] ]] -- as!",
            "local interface = 1\nreturn interface",
            "local as = 3\nreturn as + 1",
            "local t = {readonly = true, keyof = 1, extends = 2}\nreturn keyof(t), t.readonly, t.extends",
            "local s = \"@user\"",
            "function M.get() return interface end\nfunction M.f() if a then b() end end",
            "if n < fun(x) then return k < keyof(t) end",
            "return obj:fun(x), obj:keyof(y)",
        ] {
            assert_eq!(to_luau(src), src, "{src}");
        }
    }
}
