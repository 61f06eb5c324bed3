//! The `events` module (SPEC §5.9): the host's event bus for Lua. `events.subscribe(system, kind?)` returns a
//! subscription whose `channel()` (the same channel every call) receives `{system, kind, path, data}` for every
//! `events.send(system, kind, path, data?)` in the host whose system and kind match; `sub:close()` ends it (also
//! when its invocation ends). Patterns are dot-separated: `*` is one segment, `**` any number, `(a|b)` one of,
//! anything else itself. Each subscription buffers [`SUBSCRIPTION_BUFFER`] events; past that, events for it are
//! dropped (logged) rather than slowing the sender. Names and patterns have at most [`MAX_SEGMENTS`] segments,
//! and a host at most [`MAX_SUBSCRIPTIONS`] live subscriptions. The bus belongs to the host (its Lua engine).

use std::sync::{Arc, Mutex, Weak};

use mlua::{Lua, Table, UserData, UserDataMethods, Value as LuaValue};

use super::errors::fail;
use super::{to_value, LuaChannel};
use crate::lua::channel::{Chan, Item};
use crate::lua::invocation::current;
use crate::value::{kind, Value};

/// How many undelivered events a subscription holds.
pub(crate) const SUBSCRIPTION_BUFFER: usize = 64;

/// How many live subscriptions a host holds.
pub(crate) const MAX_SUBSCRIPTIONS: usize = 10_000;

/// The most dot-separated segments an event name or pattern may have.
pub(crate) const MAX_SEGMENTS: usize = 32;

/// Whether dot-separated `text` matches `pattern`: a table of which prefixes match which (at most
/// [`MAX_SEGMENTS`] squared steps), so no pattern makes the sender backtrack.
pub(crate) fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let t: Vec<&str> = text.split('.').collect();
    // ok[j] = the first i pattern segments match the first j text segments.
    let mut ok = vec![false; t.len() + 1];
    ok[0] = true;
    for seg in &p {
        let mut next = vec![false; t.len() + 1];
        for j in 0..=t.len() {
            next[j] = match *seg {
                "**" => ok[j] || (j > 0 && next[j - 1]),
                _ => j > 0 && ok[j - 1] && segment(seg, t[j - 1]),
            };
        }
        ok = next;
    }
    ok[t.len()]
}

/// Why `name` cannot be an event system, kind or pattern, if it cannot.
fn too_long(name: &str) -> Option<String> {
    let n = name.split('.').count();
    (n > MAX_SEGMENTS).then(|| format!("`{name}` has {n} segments; at most {MAX_SEGMENTS} are allowed"))
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

    /// How many live subscriptions there are.
    fn len(&self) -> usize {
        self.lock().iter().filter(|w| w.strong_count() > 0).count()
    }

    fn add(&self, s: &Arc<Subscriber>) {
        let mut list = self.lock();
        list.retain(|w| w.strong_count() > 0);
        list.push(Arc::downgrade(s));
    }

    /// Delivers an event to every matching subscriber.
    pub(crate) fn send(&self, system: &str, kind: &str, path: &str, data: Value) {
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
            if let Some(why) = too_long(&system).or_else(|| event_kind.as_deref().and_then(too_long)) {
                return fail(lua, kind::INVALID, why);
            }
            if current()?.engine.events().len() >= MAX_SUBSCRIPTIONS {
                let why = format!("the host has {MAX_SUBSCRIPTIONS} event subscriptions, the most it allows");
                return fail(lua, kind::UNAVAILABLE, why);
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
            if let Some(why) = too_long(&system).or_else(|| too_long(&event_kind)) {
                return fail(lua, kind::INVALID, why);
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
        // No backtracking blow-up: 30 `**` against 30 segments that never end in `x`.
        let pattern = format!("{}.x", vec!["**"; 30].join("."));
        assert!(!matches(&pattern, &vec!["a"; 30].join(".")));
    }
}
