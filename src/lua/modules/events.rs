//! The `events` module (SPEC §5.9): the host's event bus for Lua. `events.subscribe(system, kind?)` returns a
//! subscription whose `channel()` (the same channel every call) receives `{system, kind, path, data}` for every
//! `events.send(system, kind, path, data?)` in the host whose system and kind match; `sub:close()` ends it (also
//! when its invocation ends). Patterns are dot-separated: `*` is one segment, `**` any number, `(a|b)` one of,
//! anything else itself. Each subscription buffers [`SUBSCRIPTION_BUFFER`] events; past that, events for it are
//! dropped (logged) rather than slowing the sender. The bus belongs to the host (its Lua engine).

use std::sync::{Arc, Mutex, Weak};

use mlua::{Lua, Table, UserData, UserDataMethods, Value as LuaValue};

use super::errors::fail;
use super::{to_value, LuaChannel};
use crate::lua::channel::{Chan, Item};
use crate::lua::invocation::current;
use crate::value::{kind, Value};

/// How many undelivered events a subscription holds.
pub(crate) const SUBSCRIPTION_BUFFER: usize = 64;

/// Whether dot-separated `text` matches `pattern`.
pub(crate) fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let t: Vec<&str> = text.split('.').collect();
    match_segments(&p, &t)
}

fn match_segments(p: &[&str], t: &[&str]) -> bool {
    match (p.first(), t.first()) {
        (None, None) => true,
        (Some(&"**"), _) => match_segments(&p[1..], t) || (!t.is_empty() && match_segments(p, &t[1..])),
        (Some(seg), Some(word)) => segment(seg, word) && match_segments(&p[1..], &t[1..]),
        _ => false,
    }
}

fn segment(seg: &str, word: &str) -> bool {
    if seg == "*" {
        return true;
    }
    match seg.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
        Some(alts) => alts.split('|').any(|a| a == word),
        None => seg == word,
    }
}

/// A subscriber: its patterns and its channel.
struct Subscriber {
    system: String,
    kind: Option<String>,
    chan: Arc<Chan>,
}

/// The subscribers of one host.
#[derive(Default)]
pub(crate) struct EventBus {
    subscribers: Mutex<Vec<Weak<Subscriber>>>,
}

impl EventBus {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Weak<Subscriber>>> {
        self.subscribers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, s: &Arc<Subscriber>) {
        let mut list = self.lock();
        list.retain(|w| w.strong_count() > 0);
        list.push(Arc::downgrade(s));
    }

    /// Delivers an event to every matching subscriber.
    fn send(&self, system: &str, kind: &str, path: &str, data: Value) {
        let live: Vec<Arc<Subscriber>> = self.lock().iter().filter_map(Weak::upgrade).collect();
        let event = Value::map([
            ("system", Value::from(system)),
            ("kind", Value::from(kind)),
            ("path", Value::from(path)),
            ("data", data),
        ]);
        for s in live {
            if matches(&s.system, system) && s.kind.as_deref().is_none_or(|k| matches(k, kind)) {
                if let Ok(Some(_)) = s.chan.try_send(Item::Value(event.clone())) {
                    tracing::debug!(system, kind, path, "an event subscription is full; the event was dropped");
                }
            }
        }
    }
}

/// A subscription: `sub:channel()`, `sub:close()`.
struct Subscription(Arc<Subscriber>);

impl UserData for Subscription {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("channel", |_, s, ()| Ok(LuaChannel(s.0.chan.clone())));
        methods.add_method("close", |_, s, ()| {
            s.0.chan.close();
            Ok(true)
        });
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.0.chan.close();
    }
}

/// Builds the module table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.raw_set(
        "subscribe",
        lua.create_function(|lua, (system, event_kind): (String, Option<String>)| {
            if system.is_empty() || event_kind.as_deref() == Some("") {
                return fail(lua, kind::INVALID, "event system and kind patterns must not be empty");
            }
            let s = Arc::new(Subscriber { system, kind: event_kind, chan: Chan::new(SUBSCRIPTION_BUFFER) });
            current()?.engine.events().add(&s);
            Ok((LuaValue::UserData(lua.create_userdata(Subscription(s))?), LuaValue::Nil))
        })?,
    )?;
    m.raw_set(
        "send",
        lua.create_function(|lua, (system, event_kind, path, data): (String, String, String, LuaValue)| {
            if system.is_empty() || event_kind.is_empty() || path.is_empty() {
                return fail(lua, kind::INVALID, "event system, kind and path must not be empty");
            }
            let data = to_value(&data, "data")?;
            current()?.engine.events().send(&system, &event_kind, &path, data);
            Ok((LuaValue::Boolean(true), LuaValue::Nil))
        })?,
    )?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn patterns() {
        assert!(matches("app.users", "app.users"));
        assert!(!matches("app.users", "app.users.new"));
        assert!(matches("app.*", "app.users") && !matches("app.*", "app.users.new") && !matches("app.*", "app"));
        assert!(matches("app.**", "app.users.new") && matches("app.**", "app") && matches("**", "x.y"));
        assert!(matches("app.(users|groups).*", "app.groups.x") && !matches("app.(users|groups).*", "app.x.y"));
        assert!(matches("**.done", "a.b.done") && !matches("**.done", "a.b"));
    }
}
