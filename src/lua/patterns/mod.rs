//! Lua 5.4 string patterns for `string.find`, `string.match`, `string.gmatch` and `string.gsub`, with a bounded
//! amount of work between checks.
//!
//! Pattern matching backtracks, so a hostile pattern (`string.rep("a*", 20) .. "b"` against a long run of `a`s)
//! can take longer than any deadline, and Lua's own matcher, written in C, never gives the preemption hook a
//! chance to run. These functions replace the four in every state's string library: the same patterns, results
//! and error messages as Lua 5.4 (classes, sets, `%b`, `%f`, captures and back-references, anchors, the empty-match
//! rules of `gmatch` and `gsub`), but every [`matcher::CHECK_EVERY`] steps the matcher asks whether its invocation must stop
//! (terminated, cancelled past its timeout, or past its deadline) and raises an error if so. A stuck match thus
//! ends with its invocation; it never holds more than its own invocation's thread meanwhile.

mod matcher;

use mlua::{Lua, MultiValue, Table, Value as LuaValue};

use matcher::{to_lua, Matcher, Stop};

/// The characters that make a `string.find` pattern more than plain text.
const SPECIALS: &[u8] = b"^$*+?.([%-";

/// `init` relative to a string of `len` bytes, as Lua's `posrelatI`: 1-based, negative from the end.
fn start_at(init: Option<i64>, len: usize) -> usize {
    let len = len as i64;
    let pos = match init.unwrap_or(1) {
        p if p > 0 => p,
        0 => 1,
        p if p < -len => 1,
        p => len + p + 1,
    };
    (pos - 1) as usize
}

/// A string argument as Lua's `luaL_checklstring` takes it: a string, or a number as its text.
fn bytes_arg(v: &LuaValue, n: usize, fname: &str) -> mlua::Result<Vec<u8>> {
    match v {
        LuaValue::String(s) => Ok(s.as_bytes().to_vec()),
        LuaValue::Integer(i) => Ok(i.to_string().into_bytes()),
        LuaValue::Number(x) => Ok(v.to_string().map(String::into_bytes).unwrap_or_else(|_| x.to_string().into_bytes())),
        other => Err(mlua::Error::runtime(format!(
            "bad argument #{n} to '{fname}' (string expected, got {})",
            if other.is_nil() { "no value" } else { other.type_name() }
        ))),
    }
}

fn int_arg(v: Option<&LuaValue>, n: usize, fname: &str) -> mlua::Result<Option<i64>> {
    match v {
        None | Some(LuaValue::Nil) => Ok(None),
        Some(LuaValue::Integer(i)) => Ok(Some(*i)),
        Some(LuaValue::Number(x)) if x.fract() == 0.0 => Ok(Some(*x as i64)),
        Some(other) => Err(mlua::Error::runtime(format!(
            "bad argument #{n} to '{fname}' (number expected, got {})",
            other.type_name()
        ))),
    }
}

fn lua_err(stop: Stop) -> mlua::Error {
    match stop {
        Stop::Error(m) => mlua::Error::runtime(m),
    }
}

fn no_specials(p: &[u8]) -> bool {
    !p.iter().any(|c| SPECIALS.contains(c))
}

fn find_plain(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `string.find` (`find`) and `string.match` (not `find`).
fn find_aux(lua: &Lua, args: MultiValue, find: bool) -> mlua::Result<MultiValue> {
    let fname = if find { "find" } else { "match" };
    let s = bytes_arg(args.front().unwrap_or(&LuaValue::Nil), 1, fname)?;
    let p = bytes_arg(args.get(1).unwrap_or(&LuaValue::Nil), 2, fname)?;
    let init = start_at(int_arg(args.get(2), 3, fname)?, s.len());
    let fail = || Ok(MultiValue::from_vec(vec![LuaValue::Nil]));
    if init > s.len() {
        return fail();
    }
    let plain = args.get(3).is_some_and(|v| !matches!(v, LuaValue::Nil | LuaValue::Boolean(false)));
    if find && (plain || no_specials(&p)) {
        return match find_plain(&s[init..], &p) {
            Some(i) => {
                let start = (init + i) as i64;
                Ok(MultiValue::from_vec(vec![LuaValue::Integer(start + 1), LuaValue::Integer(start + p.len() as i64)]))
            }
            None => fail(),
        };
    }
    let anchor = p.first() == Some(&b'^');
    let pat = if anchor { &p[1..] } else { &p[..] };
    let mut m = Matcher::new(&s, pat);
    let mut s1 = init;
    loop {
        m.reset();
        if let Some(e) = m.do_match(s1, 0).map_err(lua_err)? {
            return if find {
                let mut out = vec![LuaValue::Integer(s1 as i64 + 1), LuaValue::Integer(e as i64)];
                out.extend(m.captures(lua, s1, e, false).map_err(lua_err)?);
                Ok(MultiValue::from_vec(out))
            } else {
                Ok(MultiValue::from_vec(m.captures(lua, s1, e, true).map_err(lua_err)?))
            };
        }
        s1 += 1;
        if anchor || s1 > s.len() {
            return fail();
        }
    }
}

/// `string.gmatch(s, pattern, init)`: an iterator over the matches.
fn gmatch(lua: &Lua, args: MultiValue) -> mlua::Result<mlua::Function> {
    let s = bytes_arg(args.front().unwrap_or(&LuaValue::Nil), 1, "gmatch")?;
    let p = bytes_arg(args.get(1).unwrap_or(&LuaValue::Nil), 2, "gmatch")?;
    let mut src = start_at(int_arg(args.get(2), 3, "gmatch")?, s.len()).min(s.len() + 1);
    let mut last: Option<usize> = None;
    lua.create_function_mut(move |lua, ()| {
        let mut m = Matcher::new(&s, &p);
        while src <= s.len() {
            m.reset();
            match m.do_match(src, 0).map_err(lua_err)? {
                Some(e) if Some(e) != last => {
                    let values = m.captures(lua, src, e, true).map_err(lua_err)?;
                    src = e;
                    last = Some(e);
                    return Ok(MultiValue::from_vec(values));
                }
                _ => src += 1,
            }
        }
        Ok(MultiValue::new())
    })
}

/// What `gsub` replaces matches with.
enum Replacement {
    Text(Vec<u8>),
    Table(Table),
    Function(mlua::Function),
}

/// Appends the replacement of the match `s..e` to `out`; false when the match is kept as it was.
fn add_value(lua: &Lua, m: &Matcher<'_>, out: &mut Vec<u8>, s: usize, e: usize, r: &Replacement) -> mlua::Result<bool> {
    let value: LuaValue = match r {
        Replacement::Text(t) => {
            add_text(m, out, s, e, t)?;
            return Ok(true);
        }
        Replacement::Table(t) => {
            let key = to_lua(lua, m.capture(0, s, e).map_err(lua_err)?);
            t.get(key)?
        }
        Replacement::Function(f) => f.call(MultiValue::from_vec(m.captures(lua, s, e, true).map_err(lua_err)?))?,
    };
    match value {
        LuaValue::Nil | LuaValue::Boolean(false) => {
            out.extend_from_slice(&m.src[s..e]);
            Ok(false)
        }
        LuaValue::String(t) => {
            out.extend_from_slice(&t.as_bytes());
            Ok(true)
        }
        v @ (LuaValue::Integer(_) | LuaValue::Number(_)) => {
            out.extend_from_slice(v.to_string()?.as_bytes());
            Ok(true)
        }
        other => Err(mlua::Error::runtime(format!("invalid replacement value (a {})", other.type_name()))),
    }
}

fn add_text(m: &Matcher<'_>, out: &mut Vec<u8>, s: usize, e: usize, text: &[u8]) -> mlua::Result<()> {
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        i += 1;
        if c != b'%' {
            out.push(c);
            continue;
        }
        match text.get(i).copied() {
            Some(b'%') => out.push(b'%'),
            Some(b'0') => out.extend_from_slice(&m.src[s..e]),
            Some(d) if d.is_ascii_digit() => match m.capture(usize::from(d - b'1'), s, e).map_err(lua_err)? {
                Ok(bytes) => out.extend_from_slice(bytes),
                Err(position) => out.extend_from_slice(position.to_string().as_bytes()),
            },
            _ => return Err(mlua::Error::runtime("invalid use of '%' in replacement string")),
        }
        i += 1;
    }
    Ok(())
}

/// `string.gsub(s, pattern, repl, n)`: the new string and the number of matches.
fn gsub(lua: &Lua, args: MultiValue) -> mlua::Result<(LuaValue, i64)> {
    let original = args.front().cloned().unwrap_or(LuaValue::Nil);
    let s = bytes_arg(&original, 1, "gsub")?;
    let p = bytes_arg(args.get(1).unwrap_or(&LuaValue::Nil), 2, "gsub")?;
    let repl = match args.get(2) {
        Some(v @ (LuaValue::String(_) | LuaValue::Integer(_) | LuaValue::Number(_))) => {
            Replacement::Text(bytes_arg(v, 3, "gsub")?)
        }
        Some(LuaValue::Table(t)) => Replacement::Table(t.clone()),
        Some(LuaValue::Function(f)) => Replacement::Function(f.clone()),
        other => {
            return Err(mlua::Error::runtime(format!(
                "bad argument #3 to 'gsub' (string/function/table expected, got {})",
                other.map_or("no value", |v| v.type_name())
            )))
        }
    };
    let max = int_arg(args.get(3), 4, "gsub")?.unwrap_or(s.len() as i64 + 1);
    let anchor = p.first() == Some(&b'^');
    let pat = if anchor { &p[1..] } else { &p[..] };
    let mut m = Matcher::new(&s, pat);
    let (mut src, mut last, mut n, mut changed) = (0usize, None, 0i64, false);
    let mut out = Vec::with_capacity(s.len());
    while n < max {
        m.reset();
        match m.do_match(src, 0).map_err(lua_err)? {
            Some(e) if Some(e) != last => {
                n += 1;
                changed |= add_value(lua, &m, &mut out, src, e, &repl)?;
                src = e;
                last = Some(e);
            }
            _ if src < s.len() => {
                out.push(s[src]);
                src += 1;
            }
            _ => break,
        }
        if anchor {
            break;
        }
    }
    if !changed {
        return Ok((original, n));
    }
    out.extend_from_slice(&s[src..]);
    Ok((LuaValue::String(lua.create_string(&out)?), n))
}

/// Replaces `find`, `match`, `gmatch` and `gsub` in a state's string library.
pub(crate) fn install(lua: &Lua, string: &Table) -> mlua::Result<()> {
    string.raw_set("find", lua.create_function(|lua, args: MultiValue| find_aux(lua, args, true))?)?;
    string.raw_set("match", lua.create_function(|lua, args: MultiValue| find_aux(lua, args, false))?)?;
    string.raw_set("gmatch", lua.create_function(gmatch)?)?;
    string.raw_set("gsub", lua.create_function(gsub)?)?;
    Ok(())
}
