//! Mailboxes: what a process receives, and the two queues it is received from.
//!
//! Every process (and every Rust [`Client`](super::Client)) has one [`Mailbox`], written by anyone who can name its
//! PID, and one [`Inbox`], read only by its owner. Messages and events travel in separate unbounded FIFO queues, so
//! delivery is FIFO per sender (in fact FIFO over all senders), a slow reader never blocks a sender, and an event
//! (EXIT, LINK_DOWN, CANCEL) is never stuck behind thousands of messages: [`Inbox::recv`] takes events first.
//! The queues are two `VecDeque`s under one mutex with one `Notify`: they allocate nothing until used (a channel
//! would allocate a block per queue at creation, for every process).
//!
//! Payloads sent as JSON text (by WASM guests) stay JSON until a reader wants a [`Value`], so WASM-to-WASM traffic is
//! never parsed by the host.
//!
//! Messages are bounded (SPEC §10): at most [`MailboxBounds::messages`] of them and [`MailboxBounds::bytes`] of
//! payload (as [`Payload::weight`] counts it) wait in one mailbox; a message past either is refused with
//! [`MailboxFull`], which the sender sees as an UNAVAILABLE error. Events (EXIT, LINK_DOWN, CANCEL) are never
//! refused: there is at most one per monitor, link or cancel, each bounded elsewhere.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanContext, TraceContextExt};
use tokio::sync::Notify;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::Pid;
pub use crate::value::Payload;
use crate::value::{Map, Value};

/// A message between processes.
#[derive(Debug, Clone)]
pub struct Message {
    /// The sender, when it is a process or a client.
    pub from: Option<Pid>,
    /// The topic. Topics starting with `@` are reserved for the host.
    pub topic: String,
    /// The payload.
    pub payload: Payload,
    /// The OpenTelemetry context of its `send` span, which the receiver's `receive` span links to; set only while
    /// spans are exported (a fixed-size value: trace and span IDs, nothing that keeps the span alive).
    pub(crate) link: Option<SpanContext>,
}

impl Message {
    /// A message from `from` on `topic`.
    pub fn new(from: Option<Pid>, topic: impl Into<String>, payload: Payload) -> Message {
        Message { from, topic: topic.into(), payload, link: None }
    }
}

/// Equal when sender, topic and payload are (the trace link is not part of the message).
impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        self.from == other.from && self.topic == other.topic && self.payload == other.payload
    }
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

    /// The event as the map Lua and WASM guests see (`docs/processes.md`):
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

/// How much may wait in one mailbox (`process.host`'s `host.mailbox_size` and `host.mailbox_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MailboxBounds {
    /// Messages.
    pub(crate) messages: usize,
    /// Payload bytes.
    pub(crate) bytes: u64,
}

impl Default for MailboxBounds {
    fn default() -> Self {
        use crate::registry::kinds::hosts::{DEFAULT_MAILBOX_BYTES, DEFAULT_MAILBOX_SIZE};
        MailboxBounds { messages: DEFAULT_MAILBOX_SIZE, bytes: DEFAULT_MAILBOX_BYTES }
    }
}

/// A message refused because the mailbox is full: which bound it hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MailboxFull {
    /// `host.mailbox_size`, with its value.
    Messages(usize),
    /// `host.mailbox_bytes`, with its value.
    Bytes(u64),
}

/// The queues behind a mailbox. They allocate nothing until the first item arrives, so a process that never
/// receives costs a few words here.
#[derive(Default)]
struct Queues {
    messages: VecDeque<Message>,
    /// The weight of the queued messages.
    bytes: u64,
    events: VecDeque<Event>,
    closed: bool,
}

impl Queues {
    fn pop_message(&mut self) -> Option<Message> {
        let m = self.messages.pop_front()?;
        self.bytes = self.bytes.saturating_sub(m.weight());
        Some(m)
    }
}

struct Shared {
    queues: Mutex<Queues>,
    ready: Notify,
    bounds: MailboxBounds,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queues> {
        // Critical sections only push and pop: a panic cannot leave the queues half-updated.
        self.queues.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The sending side of a mailbox. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Mailbox(Arc<Shared>);

/// The receiving side of a mailbox, owned by the process.
pub(crate) struct Inbox(Arc<Shared>);

/// A new mailbox and its inbox.
pub(super) fn mailbox(bounds: MailboxBounds) -> (Mailbox, Inbox) {
    let shared = Arc::new(Shared { queues: Mutex::default(), ready: Notify::new(), bounds });
    (Mailbox(shared.clone()), Inbox(shared))
}

impl Message {
    /// What the message counts against `host.mailbox_bytes`: its payload's weight and its topic.
    pub(crate) fn weight(&self) -> u64 {
        (self.payload.weight() + self.topic.len()) as u64
    }
}

impl Mailbox {
    /// Queues a message; a closed mailbox (its process is gone) drops it silently. A full one refuses it.
    pub(crate) fn message(&self, m: Message) -> Result<(), MailboxFull> {
        {
            let mut q = self.0.lock();
            if q.closed {
                return Ok(());
            }
            let bounds = self.0.bounds;
            if q.messages.len() >= bounds.messages {
                return Err(MailboxFull::Messages(bounds.messages));
            }
            let weight = m.weight();
            if q.bytes.saturating_add(weight) > bounds.bytes {
                return Err(MailboxFull::Bytes(bounds.bytes));
            }
            q.bytes += weight;
            q.messages.push_back(m);
        }
        self.0.ready.notify_one();
        Ok(())
    }

    /// Queues an event; a closed mailbox drops it silently.
    pub(crate) fn event(&self, e: Event) {
        self.push(|q| q.events.push_back(e));
    }

    fn push(&self, put: impl FnOnce(&mut Queues)) {
        {
            let mut q = self.0.lock();
            if q.closed {
                return;
            }
            put(&mut q);
        }
        self.0.ready.notify_one();
    }

    /// The messages waiting, and their weight in bytes.
    pub(crate) fn depth(&self) -> (usize, u64) {
        let q = self.0.lock();
        (q.messages.len(), q.bytes)
    }

    /// Closes the mailbox: later items are dropped, and the inbox reports the end once it is drained.
    pub(crate) fn close(&self) {
        self.0.lock().closed = true;
        self.0.ready.notify_one();
    }
}

impl Inbox {
    fn pop(&self, events: bool, messages: bool) -> Result<Option<Received>, ()> {
        let mut q = self.0.lock();
        if events {
            if let Some(e) = q.events.pop_front() {
                return Ok(Some(Received::Event(e)));
            }
        }
        if messages {
            if let Some(m) = q.pop_message() {
                drop(q);
                received(&m);
                return Ok(Some(Received::Message(m)));
            }
        }
        if q.closed {
            return Err(());
        }
        Ok(None)
    }

    async fn wait(&self, events: bool, messages: bool) -> Option<Received> {
        loop {
            match self.pop(events, messages) {
                Ok(Some(r)) => return Some(r),
                Err(()) => return None,
                // `notify_one` keeps a permit when nobody waits, so an item pushed between the check and this wait
                // is never missed.
                Ok(None) => self.0.ready.notified().await,
            }
        }
    }

    /// The next event or message, events first; `None` once the mailbox is closed and drained.
    pub(crate) async fn recv(&mut self) -> Option<Received> {
        self.wait(true, true).await
    }

    /// Like [`Inbox::recv`], giving up after `timeout`.
    pub(crate) async fn recv_timeout(&mut self, timeout: Duration) -> Option<Received> {
        tokio::time::timeout(timeout, self.recv()).await.ok().flatten()
    }

    /// The next event only (messages stay queued).
    pub(crate) async fn recv_event(&mut self) -> Option<Event> {
        match self.wait(true, false).await {
            Some(Received::Event(e)) => Some(e),
            _ => None,
        }
    }

    /// The next message only (events stay queued).
    pub(crate) async fn recv_message(&mut self) -> Option<Message> {
        match self.wait(false, true).await {
            Some(Received::Message(m)) => Some(m),
            _ => None,
        }
    }

    /// A handle to wait on until the mailbox may have changed (for readers that drain it themselves).
    pub(crate) fn ready(&self) -> Ready {
        Ready(self.0.clone())
    }

    /// An event if one is queued now.
    pub(crate) fn try_recv_event(&mut self) -> Option<Event> {
        self.0.lock().events.pop_front()
    }

    /// A message if one is queued now.
    pub(crate) fn try_recv_message(&mut self) -> Option<Message> {
        let m = self.0.lock().pop_message();
        if let Some(m) = &m {
            received(m);
        }
        m
    }
}

/// Records the consumer span of a message taken from a mailbox (while spans are exported): a child of the receiving
/// process's span, linked to the sender's producer span.
fn received(m: &Message) {
    let Some(link) = &m.link else { return };
    let span = tracing::info_span!(
        "receive",
        otel.kind = "consumer",
        messaging.system = "wippy",
        messaging.operation.type = "receive",
        messaging.destination.name = %m.topic,
    );
    span.add_link(link.clone());
}

/// Records the producer span of a message being queued (a child of the sender's span, ended at once) and returns
/// its context for the receiver to link to; `None` unless spans are exported.
pub(super) fn sent(topic: &str, to: &Pid) -> Option<SpanContext> {
    let span = tracing::info_span!(
        "send",
        otel.kind = "producer",
        messaging.system = "wippy",
        messaging.operation.type = "send",
        messaging.destination.name = %topic,
        messaging.wippy.to = %to,
    );
    if span.is_disabled() {
        return None;
    }
    let cx = span.context().span().span_context().clone();
    cx.is_valid().then_some(cx)
}

/// Waits for a mailbox to change; owned, so no lock is held while waiting.
pub(crate) struct Ready(Arc<Shared>);

impl Ready {
    /// Completes when something was queued (or the mailbox closed) since the last wait.
    pub(crate) async fn notified(&self) {
        self.0.ready.notified().await;
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        let mut q = self.0.lock();
        q.closed = true;
        q.messages.clear();
        q.bytes = 0;
        q.events.clear();
    }
}
