//! Channels for Lua: buffered queues with `send`, `receive`, `close` and `select`, in the style of Go.
//!
//! A [`Chan`] is a queue under a mutex plus a `Notify` that wakes every waiter on any change. Waiters register
//! (`Notified::enable`) before they look at the queue, so no wake-up is lost. A channel of capacity 0 behaves as
//! capacity 1 (a send completes once its value is queued).
//!
//! Items stay Rust values until a Lua receiver takes them ([`Item`]): messages and events from a process's mailbox,
//! [`Value`]s from Rust tasks (a timer, a `funcs.async` result), or Lua values sent by Lua code.
//!
//! A process's `inbox()`, `events()` and `listen(topic)` channels are fed from its mailbox by a [`Pump`]: before a
//! receiver looks at such a channel it drains the mailbox into the right channels (events, the listener of the
//! message's topic, or the inbox), and while it waits it also waits on the mailbox. Order is kept: messages reach
//! each channel in the order they arrived.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

use crate::process::{Event, Message, Payload};
use crate::value::Value;

/// Something in a channel.
pub(crate) enum Item {
    /// A Lua value sent by Lua code.
    Lua(mlua::Value),
    /// A value from Rust.
    Value(Value),
    /// A message from the mailbox.
    Message(Message),
    /// A payload (a `funcs.async` result).
    Payload(Payload),
    /// An event from the mailbox.
    Event(Event),
    /// A tick of a timer or ticker: a Time object in the host's zone.
    Time(jiff::Timestamp),
}

/// Drains a mailbox into channels; implemented by a Lua process's I/O state.
pub(crate) trait Pump: Send + Sync {
    /// Moves everything queued in the mailbox into its channels.
    fn pump(&self);
    /// Waits until the mailbox may have something new.
    fn changed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

struct State {
    queue: VecDeque<Item>,
    capacity: usize,
    closed: bool,
}

/// A channel.
pub(crate) struct Chan {
    state: Mutex<State>,
    notify: Notify,
    pump: Option<Weak<dyn Pump>>,
    /// Made by `channel.new`: only Lua code of its invocation sends on it (no host task feeds it), so waiting on
    /// it can only end by another coroutine of the invocation (the deadlock rule, SPEC 5.1).
    local: bool,
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Closed;

impl Chan {
    /// A channel with room for `capacity` items (0 acts as 1).
    pub(crate) fn new(capacity: usize) -> Arc<Chan> {
        Chan::with(capacity.max(1), None)
    }

    /// A channel made by Lua code (`channel.new`): see [`Chan::is_local`].
    pub(crate) fn new_local(capacity: usize) -> Arc<Chan> {
        let mut c = Chan::with(capacity.max(1), None);
        if let Some(c) = Arc::get_mut(&mut c) {
            c.local = true;
        }
        c
    }

    /// Whether only Lua code of its invocation can send on it.
    pub(crate) fn is_local(&self) -> bool {
        self.local
    }

    /// An unbounded channel fed by `pump` (a process's inbox, events or listener).
    pub(crate) fn pumped(pump: Weak<dyn Pump>) -> Arc<Chan> {
        Chan::with(usize::MAX, Some(pump))
    }

    fn with(capacity: usize, pump: Option<Weak<dyn Pump>>) -> Arc<Chan> {
        Arc::new(Chan {
            state: Mutex::new(State { queue: VecDeque::new(), capacity, closed: false }),
            notify: Notify::new(),
            pump,
            local: false,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues an item without waiting (used by pumps and timers; ignores capacity).
    pub(crate) fn push(&self, item: Item) {
        let mut s = self.lock();
        if s.closed {
            return;
        }
        s.queue.push_back(item);
        drop(s);
        self.notify.notify_waiters();
    }

    /// Queues an item if there is room.
    pub(crate) fn try_send(&self, item: Item) -> Result<Option<Item>, Closed> {
        let mut s = self.lock();
        if s.closed {
            return Err(Closed);
        }
        if s.queue.len() >= s.capacity {
            return Ok(Some(item));
        }
        s.queue.push_back(item);
        drop(s);
        self.notify.notify_waiters();
        Ok(None)
    }

    /// Takes an item if one is there. `Ok(None)`: empty; `Err(Closed)`: empty and closed.
    pub(crate) fn try_receive(&self) -> Result<Option<Item>, Closed> {
        self.pump_now();
        let mut s = self.lock();
        match s.queue.pop_front() {
            Some(item) => {
                drop(s);
                self.notify.notify_waiters();
                Ok(Some(item))
            }
            None if s.closed => Err(Closed),
            None => Ok(None),
        }
    }

    /// Closes the channel: sends fail, receives drain what is left and then report the end.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_waiters();
    }

    /// How many items are queued.
    pub(crate) fn len(&self) -> usize {
        self.lock().queue.len()
    }

    fn pump_now(&self) {
        if let Some(p) = self.pump.as_ref().and_then(Weak::upgrade) {
            p.pump();
        }
    }

    /// Sends, waiting for room.
    pub(crate) async fn send(&self, mut item: Item) -> Result<(), Closed> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.try_send(item)? {
                None => return Ok(()),
                Some(back) => item = back,
            }
            notified.await;
        }
    }

    /// Receives, waiting for an item; `None` once the channel is closed and empty.
    pub(crate) async fn receive(self: &Arc<Self>) -> Option<Item> {
        match select(&[Case::Receive(self.clone())]).await {
            (_, Selected::Received(item)) => item,
            (_, Selected::Sent) => None,
        }
    }
}

/// One case of a `select`.
pub(super) enum Case {
    /// Receive from a channel.
    Receive(Arc<Chan>),
    /// Send an item to a channel.
    Send(Arc<Chan>, Arc<Mutex<Option<Item>>>),
}

impl Case {
    pub(crate) fn chan(&self) -> &Arc<Chan> {
        match self {
            Case::Receive(c) | Case::Send(c, _) => c,
        }
    }
}

/// What the chosen case did.
pub(super) enum Selected {
    /// Received an item (`None`: the channel is closed).
    Received(Option<Item>),
    /// Sent its item.
    Sent,
}

/// Waits until one of `cases` can proceed, and performs it; returns its index. Cases are tried in order.
pub(super) async fn select(cases: &[Case]) -> (usize, Selected) {
    loop {
        // Register every waiter before looking, so a change between the look and the wait is not missed.
        let mut waits: Vec<Pin<Box<Notified<'_>>>> = Vec::with_capacity(cases.len());
        let mut pumps: Vec<Arc<dyn Pump>> = Vec::new();
        for c in cases {
            let mut n = Box::pin(c.chan().notify.notified());
            n.as_mut().enable();
            waits.push(n);
            if let Some(p) = c.chan().pump.as_ref().and_then(Weak::upgrade) {
                if !pumps.iter().any(|q| Arc::ptr_eq(q, &p)) {
                    pumps.push(p);
                }
            }
        }
        let mailbox: Vec<Pin<Box<dyn Future<Output = ()> + Send + '_>>> = pumps.iter().map(|p| p.changed()).collect();
        if let Some(done) = attempt(cases) {
            return done;
        }
        AnyOf { notified: waits, mailbox }.await;
    }
}

/// Performs the first of `cases` that can proceed now, if one can (`select` with a default).
pub(super) fn try_select(cases: &[Case]) -> Option<(usize, Selected)> {
    attempt(cases)
}

/// One pass over `cases`, in order: the first that can proceed is performed.
fn attempt(cases: &[Case]) -> Option<(usize, Selected)> {
    for (i, c) in cases.iter().enumerate() {
        match c {
            Case::Receive(ch) => match ch.try_receive() {
                Ok(Some(item)) => return Some((i, Selected::Received(Some(item)))),
                Err(Closed) => return Some((i, Selected::Received(None))),
                Ok(None) => {}
            },
            Case::Send(ch, slot) => {
                let item = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
                if let Some(item) = item {
                    match ch.try_send(item) {
                        Ok(None) => return Some((i, Selected::Sent)),
                        Ok(Some(back)) => *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(back),
                        Err(Closed) => return Some((i, Selected::Received(None))),
                    }
                }
            }
        }
    }
    None
}

/// Completes when any of the futures does.
struct AnyOf<'a> {
    notified: Vec<Pin<Box<Notified<'a>>>>,
    mailbox: Vec<Pin<Box<dyn Future<Output = ()> + Send + 'a>>>,
}

impl Future for AnyOf<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        for n in &mut this.notified {
            if n.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
        }
        for m in &mut this.mailbox {
            if m.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(item: Option<Item>) -> Option<Value> {
        match item {
            Some(Item::Value(v)) => Some(v),
            _ => None,
        }
    }

    #[tokio::test]
    async fn fifo_and_close() {
        let c = Chan::new(4);
        c.send(Item::Value(1.into())).await.expect("open");
        c.send(Item::Value(2.into())).await.expect("open");
        c.close();
        assert!(c.send(Item::Value(3.into())).await.is_err());
        assert_eq!(value(c.receive().await), Some(Value::Int(1)));
        assert_eq!(value(c.receive().await), Some(Value::Int(2)));
        assert!(c.receive().await.is_none(), "closed and drained");
    }

    #[tokio::test]
    async fn a_full_channel_waits_for_room() {
        let c = Chan::new(1);
        c.send(Item::Value(1.into())).await.expect("room");
        let c2 = c.clone();
        let sender = tokio::spawn(async move { c2.send(Item::Value(2.into())).await });
        assert_eq!(value(c.receive().await), Some(Value::Int(1)));
        sender.await.expect("task").expect("sent once there was room");
        assert_eq!(value(c.receive().await), Some(Value::Int(2)));
    }

    #[tokio::test]
    async fn select_takes_the_ready_case() {
        let (a, b) = (Chan::new(1), Chan::new(1));
        let b2 = b.clone();
        tokio::spawn(async move { b2.send(Item::Value("b".into())).await });
        let (i, got) = select(&[Case::Receive(a.clone()), Case::Receive(b.clone())]).await;
        assert_eq!(i, 1);
        assert!(matches!(got, Selected::Received(Some(Item::Value(Value::Str(s)))) if s == "b"));
        let slot = Arc::new(Mutex::new(Some(Item::Value(7.into()))));
        let (i, got) = select(&[Case::Receive(a.clone()), Case::Send(a.clone(), slot)]).await;
        assert_eq!(i, 1);
        assert!(matches!(got, Selected::Sent));
        assert_eq!(a.len(), 1);
    }
}
