//! Mailboxes: what a process receives, and the two queues it is received from.
//!
//! Every process (and every Rust [`Client`](super::Client)) has one [`Mailbox`], written by anyone who can name its
//! PID, and one [`Inbox`], read only by its owner. Messages and events travel in separate unbounded FIFO queues, so
//! delivery is FIFO per sender (in fact FIFO over all senders), a slow reader never blocks a sender, and an event
//! (EXIT, LINK_DOWN, CANCEL) is never stuck behind thousands of messages: [`Inbox::recv`] takes events first.
//!
//! Payloads sent as JSON text (by WASM guests) stay JSON until a reader wants a [`Value`], so WASM-to-WASM traffic is
//! never parsed by the host.

use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;

use super::Pid;
use crate::value::{json, Map, Value};

/// The payload of a message: a [`Value`], or JSON text that becomes one on demand.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A value.
    Value(Value),
    /// JSON text of a value (from a WASM guest).
    Json(String),
}

impl Payload {
    /// The payload as a value (JSON text is parsed; text that is not JSON becomes a string).
    pub fn to_value(&self) -> Value {
        match self {
            Payload::Value(v) => v.clone(),
            Payload::Json(text) => json::parse(text).unwrap_or_else(|_| Value::Str(text.clone())),
        }
    }

    /// The payload as JSON text.
    pub fn to_json(&self) -> String {
        match self {
            Payload::Value(v) => json::to_json_string(v),
            Payload::Json(text) => text.clone(),
        }
    }
}

/// A message between processes.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The sender, when it is a process or a client.
    pub from: Option<Pid>,
    /// The topic. Topics starting with `@` are reserved for the host.
    pub topic: String,
    /// The payload.
    pub payload: Payload,
}

/// How a process ended, as its monitors see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Exit {
    /// The process that ended.
    pub from: Pid,
    /// Its return value (nil on error).
    pub value: Value,
    /// Why it ended abnormally: a message (trap, limit, termination, cancellation) or the guest's `err` value.
    pub error: Option<Value>,
    /// When it ended.
    pub at: SystemTime,
}

impl Exit {
    /// True when the process returned normally.
    pub fn is_normal(&self) -> bool {
        self.error.is_none()
    }
}

/// A system event delivered to a process.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A monitored process ended.
    Exit(Exit),
    /// A linked process ended abnormally (delivered only to processes that trap links).
    LinkDown {
        /// The linked process.
        from: Pid,
        /// Why it ended.
        error: Value,
    },
    /// Someone asked this process to finish; it is terminated after `timeout`.
    Cancel {
        /// Who asked.
        from: Option<Pid>,
        /// The reason given, if any.
        reason: Value,
        /// How long the process has to clean up.
        timeout: Duration,
    },
}

fn millis(t: SystemTime) -> Value {
    Value::Int(t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64))
}

impl Event {
    /// `pid.exit`, `pid.link.down` or `pid.cancel`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Exit(_) => "pid.exit",
            Event::LinkDown { .. } => "pid.link.down",
            Event::Cancel { .. } => "pid.cancel",
        }
    }

    /// `EXIT`, `LINK_DOWN` or `CANCEL`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::Exit(_) => "EXIT",
            Event::LinkDown { .. } => "LINK_DOWN",
            Event::Cancel { .. } => "CANCEL",
        }
    }

    /// The process the event is about.
    pub fn from(&self) -> Option<&Pid> {
        match self {
            Event::Exit(e) => Some(&e.from),
            Event::LinkDown { from, .. } => Some(from),
            Event::Cancel { from, .. } => from.as_ref(),
        }
    }

    /// The event as the map Lua and WASM guests see (SPEC §4):
    /// `{kind, type, from, result = {value, error}, value, at}` for EXIT.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), Value::from(self.kind()));
        m.insert("type".into(), Value::from(self.type_name()));
        m.insert("from".into(), self.from().map_or(Value::Nil, |p| Value::from(p.as_str())));
        match self {
            Event::Exit(e) => {
                let error = e.error.clone().unwrap_or(Value::Nil);
                m.insert("result".into(), Value::map([("value", e.value.clone()), ("error", error.clone())]));
                m.insert("value".into(), e.value.clone());
                m.insert("error".into(), error);
                m.insert("at".into(), millis(e.at));
            }
            Event::LinkDown { error, .. } => {
                m.insert("error".into(), error.clone());
            }
            Event::Cancel { reason, timeout, .. } => {
                m.insert("reason".into(), reason.clone());
                m.insert("timeout".into(), Value::Int(timeout.as_millis() as i64));
            }
        }
        Value::Map(m)
    }
}

/// Something a process received.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// A message.
    Message(Message),
    /// A system event.
    Event(Event),
}

/// The sending side of a mailbox. Cheap to clone.
#[derive(Clone)]
pub struct Mailbox {
    messages: mpsc::UnboundedSender<Message>,
    events: mpsc::UnboundedSender<Event>,
}

/// The receiving side of a mailbox, owned by the process.
pub struct Inbox {
    messages: mpsc::UnboundedReceiver<Message>,
    events: mpsc::UnboundedReceiver<Event>,
}

/// A new mailbox and its inbox.
pub fn mailbox() -> (Mailbox, Inbox) {
    let (mt, mr) = mpsc::unbounded_channel();
    let (et, er) = mpsc::unbounded_channel();
    (Mailbox { messages: mt, events: et }, Inbox { messages: mr, events: er })
}

impl Mailbox {
    /// Queues a message; a closed mailbox (its process is gone) drops it silently.
    pub fn message(&self, m: Message) {
        let _ = self.messages.send(m);
    }

    /// Queues an event; a closed mailbox drops it silently.
    pub fn event(&self, e: Event) {
        let _ = self.events.send(e);
    }
}

impl Inbox {
    /// The next event or message, events first; `None` when every sender is gone.
    pub async fn recv(&mut self) -> Option<Received> {
        if let Ok(e) = self.events.try_recv() {
            return Some(Received::Event(e));
        }
        if let Ok(m) = self.messages.try_recv() {
            return Some(Received::Message(m));
        }
        tokio::select! {
            biased;
            Some(e) = self.events.recv() => Some(Received::Event(e)),
            Some(m) = self.messages.recv() => Some(Received::Message(m)),
            else => None,
        }
    }

    /// Like [`Inbox::recv`], giving up after `timeout`.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Option<Received> {
        tokio::time::timeout(timeout, self.recv()).await.ok().flatten()
    }

    /// The next event only (messages stay queued).
    pub async fn recv_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// The next message only (events stay queued).
    pub async fn recv_message(&mut self) -> Option<Message> {
        self.messages.recv().await
    }

    /// An event if one is queued now.
    pub fn try_recv_event(&mut self) -> Option<Event> {
        self.events.try_recv().ok()
    }

    /// A message if one is queued now.
    pub fn try_recv_message(&mut self) -> Option<Message> {
        self.messages.try_recv().ok()
    }
}
