//! The `logger` module (SPEC §5.15): a Logger object whose `debug`, `info`, `warn` and `error` write to the host's
//! log (`tracing`, target `wippy::guest`) with the entry, the PID and the caller's `location` (`entry:line`), and
//! whose `with(fields)` and `named(name)` return child loggers. Wippy calls it with a colon (`logger:info("m")`);
//! a dot call (`logger.info("m")`) works too [ours]. Field values are rendered as text: strings and numbers as
//! they are, tables as JSON, error objects as their message; non-string keys are ignored. In `:error`, a field
//! `error` is the logged error.

use mlua::{AnyUserData, Lua, MultiValue, Table, UserData, UserDataMethods, Value as LuaValue};

use crate::lua::invocation::current;

/// A logger: its name (dot-joined for nested `named`) and fixed fields.
#[derive(Clone, Default)]
pub(crate) struct Logger {
    name: String,
    fields: Vec<(String, String)>,
}

#[derive(Clone, Copy)]
enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// The logger a call is made on, and the rest of its arguments (colon or dot call).
fn receiver(args: MultiValue, root: &Logger) -> (Logger, Vec<LuaValue>) {
    let mut args: Vec<LuaValue> = args.into_iter().collect();
    match args.first() {
        Some(LuaValue::UserData(u)) if u.borrow::<Logger>().is_ok() => {
            let l = u.borrow::<Logger>().map(|l| l.clone()).unwrap_or_default();
            args.remove(0);
            (l, args)
        }
        // The module table itself (`logger:info(...)` on the module): it holds the logger's functions.
        Some(LuaValue::Table(t)) if matches!(t.get::<LuaValue>("named"), Ok(LuaValue::Function(_))) => {
            args.remove(0);
            (root.clone(), args)
        }
        _ => (root.clone(), args),
    }
}

/// A field value as text.
fn render(v: &LuaValue) -> String {
    if let Some(e) = crate::value::lua::error_of(v) {
        return e.to_string();
    }
    match v {
        LuaValue::String(s) => s.to_string_lossy(),
        LuaValue::Table(_) => super::json::encode(v).unwrap_or_else(|e| format!("<{e}>")),
        other => other.to_string().unwrap_or_else(|_| other.type_name().to_owned()),
    }
}

fn fields_of(v: Option<&LuaValue>) -> mlua::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    if let Some(LuaValue::Table(t)) = v {
        for pair in t.pairs::<LuaValue, LuaValue>() {
            let (k, v) = pair?;
            if let LuaValue::String(k) = k {
                out.push((k.to_string_lossy(), render(&v)));
            }
        }
        out.sort();
    }
    Ok(out)
}

fn log(lua: &Lua, level: Level, logger: &Logger, args: &[LuaValue]) -> mlua::Result<()> {
    let message = args.first().map(render).unwrap_or_default();
    let mut fields = logger.fields.clone();
    fields.extend(fields_of(args.get(1))?);
    let text: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let fields = text.join(" ");
    let line = lua.inspect_stack(1, |d| d.current_line()).flatten().unwrap_or(0);
    let (entry, pid) = match current() {
        Ok(ctx) => (ctx.code.id.to_string(), ctx.proc_if_any().map(|p| p.record.pid.to_string()).unwrap_or_default()),
        Err(_) => (String::new(), String::new()),
    };
    let location = format!("{entry}:{line}");
    let name = logger.name.as_str();
    match level {
        Level::Debug => {
            tracing::debug!(target: "wippy::guest", entry, pid, location, logger = name, fields, "{message}")
        }
        Level::Info => tracing::info!(target: "wippy::guest", entry, pid, location, logger = name, fields, "{message}"),
        Level::Warn => tracing::warn!(target: "wippy::guest", entry, pid, location, logger = name, fields, "{message}"),
        Level::Error => {
            tracing::error!(target: "wippy::guest", entry, pid, location, logger = name, fields, "{message}")
        }
    }
    Ok(())
}

fn with(lua: &Lua, logger: Logger, args: &[LuaValue]) -> mlua::Result<AnyUserData> {
    let mut child = logger;
    child.fields.extend(fields_of(args.first())?);
    lua.create_userdata(child)
}

fn named(lua: &Lua, logger: Logger, args: &[LuaValue]) -> mlua::Result<AnyUserData> {
    let name = match args.first() {
        Some(LuaValue::String(s)) if !s.as_bytes().is_empty() => s.to_string_lossy(),
        _ => return Err(mlua::Error::runtime("logger name must be a non-empty string")),
    };
    let mut child = logger;
    child.name = if child.name.is_empty() { name } else { format!("{}.{name}", child.name) };
    lua.create_userdata(child)
}

const LEVELS: [(&str, Level); 4] =
    [("debug", Level::Debug), ("info", Level::Info), ("warn", Level::Warn), ("error", Level::Error)];

impl UserData for Logger {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        for (name, level) in LEVELS {
            methods.add_function(name, move |lua, args: MultiValue| {
                let (l, rest) = receiver(args, &Logger::default());
                log(lua, level, &l, &rest)
            });
        }
        methods.add_function("with", |lua, args: MultiValue| {
            let (l, rest) = receiver(args, &Logger::default());
            with(lua, l, &rest)
        });
        methods.add_function("named", |lua, args: MultiValue| {
            let (l, rest) = receiver(args, &Logger::default());
            named(lua, l, &rest)
        });
    }
}

/// Builds the module table: the root logger's methods.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    for (name, level) in LEVELS {
        m.raw_set(
            name,
            lua.create_function(move |lua, args: MultiValue| {
                let (l, rest) = receiver(args, &Logger::default());
                log(lua, level, &l, &rest)
            })?,
        )?;
    }
    m.raw_set(
        "with",
        lua.create_function(|lua, args: MultiValue| {
            let (l, rest) = receiver(args, &Logger::default());
            with(lua, l, &rest)
        })?,
    )?;
    m.raw_set(
        "named",
        lua.create_function(|lua, args: MultiValue| {
            let (l, rest) = receiver(args, &Logger::default());
            named(lua, l, &rest)
        })?,
    )?;
    Ok(m)
}
