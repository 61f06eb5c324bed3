//! The matcher: Lua 5.4's backtracking pattern matching over bytes, counting its steps.

use mlua::{Lua, Value as LuaValue};

/// How many captures a pattern may have (Lua's `LUA_MAXCAPTURES`).
pub(super) const MAX_CAPTURES: usize = 32;

/// How deeply the matcher may recurse (Lua's `MAXCCALLS`): "pattern too complex" past it.
pub(super) const MAX_DEPTH: usize = 200;

/// Steps between two checks of whether the invocation must stop.
pub(super) const CHECK_EVERY: u32 = 4096;

const CAP_UNFINISHED: isize = -1;
const CAP_POSITION: isize = -2;

/// Why a match stopped without an answer.
pub(super) enum Stop {
    /// A malformed pattern, or the invocation must stop: raised as a Lua error.
    Error(String),
}

type Step<T> = Result<T, Stop>;

fn err<T>(message: impl Into<String>) -> Step<T> {
    Err(Stop::Error(message.into()))
}

/// A capture: where it starts and its length (or [`CAP_UNFINISHED`], [`CAP_POSITION`]).
#[derive(Clone, Copy)]
struct Capture {
    init: usize,
    len: isize,
}

pub(super) struct Matcher<'a> {
    pub(super) src: &'a [u8],
    pat: &'a [u8],
    level: usize,
    captures: [Capture; MAX_CAPTURES],
    depth: usize,
    steps: u32,
}

impl<'a> Matcher<'a> {
    pub(super) fn new(src: &'a [u8], pat: &'a [u8]) -> Self {
        Matcher {
            src,
            pat,
            level: 0,
            captures: [Capture { init: 0, len: 0 }; MAX_CAPTURES],
            depth: MAX_DEPTH,
            steps: 0,
        }
    }

    pub(super) fn reset(&mut self) {
        self.level = 0;
        self.depth = MAX_DEPTH;
    }

    /// Counts a step; every [`CHECK_EVERY`] steps, stops if the invocation must.
    fn step(&mut self) -> Step<()> {
        self.steps = self.steps.wrapping_add(1);
        if self.steps.is_multiple_of(CHECK_EVERY) {
            if let Some(reason) = crate::lua::invocation::stop_reason() {
                return err(reason);
            }
        }
        Ok(())
    }

    fn pat_at(&self, p: usize) -> u8 {
        self.pat.get(p).copied().unwrap_or(0)
    }

    fn class_end(&self, mut p: usize) -> Step<usize> {
        let c = self.pat_at(p);
        p += 1;
        if c == b'%' {
            if p >= self.pat.len() {
                return err("malformed pattern (ends with '%')");
            }
            return Ok(p + 1);
        }
        if c == b'[' {
            if self.pat_at(p) == b'^' {
                p += 1;
            }
            loop {
                if p >= self.pat.len() {
                    return err("malformed pattern (missing ']')");
                }
                let c = self.pat[p];
                p += 1;
                if c == b'%' && p < self.pat.len() {
                    p += 1;
                }
                if self.pat_at(p) == b']' {
                    return Ok(p + 1);
                }
            }
        }
        Ok(p)
    }

    fn single_match(&self, s: usize, p: usize, ep: usize) -> bool {
        let Some(&c) = self.src.get(s) else { return false };
        match self.pat[p] {
            b'.' => true,
            b'%' => match_class(c, self.pat_at(p + 1)),
            b'[' => match_bracket(c, self.pat, p, ep - 1),
            other => other == c,
        }
    }

    pub(super) fn do_match(&mut self, s: usize, p: usize) -> Step<Option<usize>> {
        if self.depth == 0 {
            return err("pattern too complex");
        }
        self.depth -= 1;
        let r = self.match_inner(s, p);
        self.depth += 1;
        r
    }

    fn match_inner(&mut self, mut s: usize, mut p: usize) -> Step<Option<usize>> {
        loop {
            self.step()?;
            if p >= self.pat.len() {
                return Ok(Some(s));
            }
            match self.pat[p] {
                b'(' => {
                    return if self.pat_at(p + 1) == b')' {
                        self.start_capture(s, p + 2, CAP_POSITION)
                    } else {
                        self.start_capture(s, p + 1, CAP_UNFINISHED)
                    };
                }
                b')' => return self.end_capture(s, p + 1),
                b'$' if p + 1 == self.pat.len() => return Ok((s == self.src.len()).then_some(s)),
                b'%' if self.pat_at(p + 1) == b'b' => match self.match_balance(s, p + 2)? {
                    Some(e) => {
                        s = e;
                        p += 4;
                        continue;
                    }
                    None => return Ok(None),
                },
                b'%' if self.pat_at(p + 1) == b'f' => {
                    p += 2;
                    if self.pat_at(p) != b'[' {
                        return err("missing '[' after '%f' in pattern");
                    }
                    let ep = self.class_end(p)?;
                    let previous = if s == 0 { 0 } else { self.src[s - 1] };
                    let current = self.src.get(s).copied().unwrap_or(0);
                    if !match_bracket(previous, self.pat, p, ep - 1) && match_bracket(current, self.pat, p, ep - 1) {
                        p = ep;
                        continue;
                    }
                    return Ok(None);
                }
                b'%' if self.pat_at(p + 1).is_ascii_digit() => match self.match_capture(s, self.pat_at(p + 1))? {
                    Some(e) => {
                        s = e;
                        p += 2;
                        continue;
                    }
                    None => return Ok(None),
                },
                _ => {
                    let ep = self.class_end(p)?;
                    let suffix = self.pat_at(ep);
                    if !self.single_match(s, p, ep) {
                        if matches!(suffix, b'*' | b'?' | b'-') {
                            p = ep + 1;
                            continue;
                        }
                        return Ok(None);
                    }
                    match suffix {
                        b'?' => {
                            if let Some(r) = self.do_match(s + 1, ep + 1)? {
                                return Ok(Some(r));
                            }
                            p = ep + 1;
                        }
                        b'+' => return self.max_expand(s + 1, p, ep),
                        b'*' => return self.max_expand(s, p, ep),
                        b'-' => return self.min_expand(s, p, ep),
                        _ => {
                            s += 1;
                            p = ep;
                        }
                    }
                }
            }
        }
    }

    fn max_expand(&mut self, s: usize, p: usize, ep: usize) -> Step<Option<usize>> {
        let mut i = 0usize;
        while self.single_match(s + i, p, ep) {
            self.step()?;
            i += 1;
        }
        loop {
            if let Some(r) = self.do_match(s + i, ep + 1)? {
                return Ok(Some(r));
            }
            if i == 0 {
                return Ok(None);
            }
            i -= 1;
        }
    }

    fn min_expand(&mut self, mut s: usize, p: usize, ep: usize) -> Step<Option<usize>> {
        loop {
            if let Some(r) = self.do_match(s, ep + 1)? {
                return Ok(Some(r));
            }
            if !self.single_match(s, p, ep) {
                return Ok(None);
            }
            s += 1;
        }
    }

    fn start_capture(&mut self, s: usize, p: usize, what: isize) -> Step<Option<usize>> {
        if self.level >= MAX_CAPTURES {
            return err("too many captures");
        }
        self.captures[self.level] = Capture { init: s, len: what };
        self.level += 1;
        let r = self.do_match(s, p)?;
        if r.is_none() {
            self.level -= 1;
        }
        Ok(r)
    }

    fn end_capture(&mut self, s: usize, p: usize) -> Step<Option<usize>> {
        let Some(l) = (0..self.level).rev().find(|&l| self.captures[l].len == CAP_UNFINISHED) else {
            return err("invalid pattern capture");
        };
        self.captures[l].len = (s - self.captures[l].init) as isize;
        let r = self.do_match(s, p)?;
        if r.is_none() {
            self.captures[l].len = CAP_UNFINISHED;
        }
        Ok(r)
    }

    fn match_balance(&mut self, mut s: usize, p: usize) -> Step<Option<usize>> {
        if p + 1 >= self.pat.len() {
            return err("malformed pattern (missing arguments to '%b')");
        }
        let (open, close) = (self.pat[p], self.pat[p + 1]);
        if self.src.get(s) != Some(&open) {
            return Ok(None);
        }
        let mut depth = 1;
        s += 1;
        while s < self.src.len() {
            self.step()?;
            let c = self.src[s];
            if c == close {
                depth -= 1;
                if depth == 0 {
                    return Ok(Some(s + 1));
                }
            } else if c == open {
                depth += 1;
            }
            s += 1;
        }
        Ok(None)
    }

    fn check_capture(&self, digit: u8) -> Step<usize> {
        let l = digit.wrapping_sub(b'1') as usize;
        if l >= self.level || self.captures[l].len == CAP_UNFINISHED {
            return err(format!("invalid capture index %{}", l.wrapping_add(1)));
        }
        Ok(l)
    }

    fn match_capture(&mut self, s: usize, digit: u8) -> Step<Option<usize>> {
        let l = self.check_capture(digit)?;
        let cap = self.captures[l];
        let len = usize::try_from(cap.len).unwrap_or(0);
        let captured = &self.src[cap.init..cap.init + len];
        Ok((self.src.len() - s >= len && &self.src[s..s + len] == captured).then_some(s + len))
    }

    /// Capture `i` of a match `s..e`: `Ok(Ok(bytes))`, or `Ok(Err(position))` for a position capture.
    pub(super) fn capture(&self, i: usize, s: usize, e: usize) -> Step<Result<&'a [u8], i64>> {
        if i >= self.level {
            if i != 0 {
                return err(format!("invalid capture index %{}", i + 1));
            }
            return Ok(Ok(&self.src[s..e]));
        }
        let cap = self.captures[i];
        match cap.len {
            CAP_UNFINISHED => err("unfinished capture"),
            CAP_POSITION => Ok(Err(cap.init as i64 + 1)),
            len => Ok(Ok(&self.src[cap.init..cap.init + len as usize])),
        }
    }

    /// The captures of a match `s..e` as Lua values (the whole match when the pattern has none).
    pub(super) fn captures(&self, lua: &Lua, s: usize, e: usize, whole_if_none: bool) -> Step<Vec<LuaValue>> {
        let n = if self.level == 0 && whole_if_none { 1 } else { self.level };
        (0..n).map(|i| self.capture(i, s, e).map(|c| to_lua(lua, c))).collect()
    }
}

pub(super) fn to_lua(lua: &Lua, c: Result<&[u8], i64>) -> LuaValue {
    match c {
        Ok(bytes) => lua.create_string(bytes).map(LuaValue::String).unwrap_or(LuaValue::Nil),
        Err(position) => LuaValue::Integer(position),
    }
}

fn match_class(c: u8, class: u8) -> bool {
    let res = match class.to_ascii_lowercase() {
        b'a' => c.is_ascii_alphabetic(),
        b'c' => c.is_ascii_control(),
        b'd' => c.is_ascii_digit(),
        b'g' => c.is_ascii_graphic(),
        b'l' => c.is_ascii_lowercase(),
        b'p' => c.is_ascii_punctuation(),
        b's' => matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c),
        b'u' => c.is_ascii_uppercase(),
        b'w' => c.is_ascii_alphanumeric(),
        b'x' => c.is_ascii_hexdigit(),
        // Deprecated in 5.2, still accepted by 5.4.
        b'z' => c == 0,
        _ => return class == c,
    };
    if class.is_ascii_uppercase() {
        !res
    } else {
        res
    }
}

/// Whether `c` is in the set `pat[p..=ec]` (`p` at `[`, `ec` at `]`).
fn match_bracket(c: u8, pat: &[u8], mut p: usize, ec: usize) -> bool {
    let mut sig = true;
    if pat.get(p + 1) == Some(&b'^') {
        sig = false;
        p += 1;
    }
    p += 1;
    while p < ec {
        if pat[p] == b'%' {
            p += 1;
            if match_class(c, pat.get(p).copied().unwrap_or(0)) {
                return sig;
            }
        } else if pat.get(p + 1) == Some(&b'-') && p + 2 < ec {
            if pat[p] <= c && c <= pat[p + 2] {
                return sig;
            }
            p += 2;
        } else if pat[p] == c {
            return sig;
        }
        p += 1;
    }
    !sig
}
