//! The Lua side of a process: its identity and its mailbox, read through channels.
//!
//! A `process.lua` has the record of its actor; a `function.lua` that needs a PID (to spawn monitored, receive or
//! listen) opens an identity of its own on first use, which ends normally when the call returns. The mailbox is
//! read through channels fed by a [`Pump`]: `process.inbox()`, `events()` and `listen(topic)` for `channel.select`.
//! A message whose topic is listened to goes to that channel only; order is kept per channel.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};

use super::channel::{Chan, Item, Pump};
use crate::process::{CallEnv, Identity, Inbox, Record};
use crate::value::Value;

/// The Lua side of a process: its identity and its mailbox, as channels.
pub(crate) struct LuaProc {
    /// The process (or the identity of a function call).
    pub(crate) record: Arc<Record>,
    /// The identity a function call opened for itself; it ends with the call.
    own: Option<Identity>,
    io: Mutex<ProcIo>,
    /// Messages not taken by a listener.
    pub(crate) inbox: Arc<Chan>,
    /// Events (EXIT, LINK_DOWN, CANCEL).
    pub(crate) events: Arc<Chan>,
}

struct ProcIo {
    inbox: Inbox,
    listeners: Vec<Listener>,
}

/// A `process.listen` channel.
struct Listener {
    topic: String,
    chan: Arc<Chan>,
    /// Whether it yields message objects (`{message = true}`) rather than the messages' data.
    messages: bool,
}

impl LuaProc {
    /// The Lua side of a process.
    pub(crate) fn of_process(record: Arc<Record>, inbox: Inbox) -> Arc<LuaProc> {
        LuaProc::new(record, None, inbox)
    }

    /// An identity of its own for a function call (published now, ended by [`LuaProc::end`]).
    pub(crate) fn for_call(env: &CallEnv) -> Arc<LuaProc> {
        let (identity, inbox) = Identity::open_published(&env.system, env.context.clone());
        LuaProc::new(identity.record().clone(), Some(identity), inbox)
    }

    fn new(record: Arc<Record>, own: Option<Identity>, inbox: Inbox) -> Arc<LuaProc> {
        Arc::new_cyclic(|me: &Weak<LuaProc>| {
            let pump: Weak<dyn Pump> = me.clone();
            LuaProc {
                record,
                own,
                io: Mutex::new(ProcIo { inbox, listeners: Vec::new() }),
                inbox: Chan::pumped(pump.clone()),
                events: Chan::pumped(pump),
            }
        })
    }

    /// Ends the identity of a function call normally (a process's identity ends with its actor).
    pub(crate) fn end(&self) {
        if let Some(identity) = &self.own {
            identity.finish(Value::Nil, None);
        }
    }

    fn io(&self) -> std::sync::MutexGuard<'_, ProcIo> {
        self.io.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A channel that receives the messages of `topic` from now on.
    pub(crate) fn listen(self: &Arc<Self>, topic: &str, messages: bool) -> Arc<Chan> {
        let mut io = self.io();
        if let Some(l) = io.listeners.iter().find(|l| l.topic == topic) {
            return l.chan.clone();
        }
        let me: Weak<dyn Pump> = Arc::downgrade(self) as Weak<dyn Pump>;
        let chan = Chan::pumped(me);
        io.listeners.push(Listener { topic: topic.to_owned(), chan: chan.clone(), messages });
        chan
    }

    /// Stops routing the topic of the listen channel `chan` to it (later messages go to the inbox) and closes it;
    /// false when `chan` is no listen channel of this process.
    pub(crate) fn unlisten(&self, chan: &Arc<Chan>) -> bool {
        let mut io = self.io();
        match io.listeners.iter().position(|l| Arc::ptr_eq(&l.chan, chan)) {
            Some(i) => {
                io.listeners.remove(i).chan.close();
                true
            }
            None => false,
        }
    }
}

impl Pump for LuaProc {
    fn pump(&self) {
        let mut io = self.io();
        while let Some(e) = io.inbox.try_recv_event() {
            self.events.push(Item::Event(e));
        }
        while let Some(m) = io.inbox.try_recv_message() {
            match io.listeners.iter().find(|l| l.topic == m.topic) {
                Some(l) if l.messages => l.chan.push(Item::Message(m)),
                Some(l) => l.chan.push(Item::Value(m.payload.to_value())),
                None => self.inbox.push(Item::Message(m)),
            }
        }
    }

    fn changed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let ready = self.io().inbox.ready();
            ready.notified().await;
        })
    }
}
