//! What peers send: frames arrive at this node's agent and are handled here, one message at a time, in the
//! order the peer sent them (see the parent module for ordering and loss).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::{lock, now_ms, Node, ANSWERED, LOST, MAX_EARLY_BYTES, MAX_EARLY_FRAMES, UNANSWERED};
use crate::cluster::wire::{decode, decode_frame, Frame, Wire};
use crate::error::ProcessError;
use crate::process::{Event, Exit, ExitSignal, Pid, SpawnOptions, SpawnRequest, System};
use crate::value::{kind, Value};

impl Node {
    /// Handles a frame a peer sent.
    ///
    /// A frame from a peer that is not adopted yet (its side of the session was ready first) waits until the peer
    /// is; the empty frame [`Node::node_up`] sends to this agent replays the waiting ones, in order, before any
    /// later frame of that peer.
    pub(in crate::cluster) fn receive(self: &Arc<Self>, bytes: &[u8]) {
        let Some(frame) = decode_frame(bytes) else {
            tracing::warn!(node = %self.name, "dropped a cluster frame that does not decode");
            return;
        };
        let Some(system) = self.system.upgrade() else { return };
        let earlier = {
            let mut early = lock(&self.early);
            if !self.is_connected(&frame.from) {
                let (waiting, size) = early.entry(frame.from.clone()).or_default();
                if waiting.len() < MAX_EARLY_FRAMES && *size + bytes.len() <= MAX_EARLY_BYTES {
                    *size += bytes.len();
                    waiting.push((frame, bytes.len()));
                } else {
                    tracing::warn!(node = %self.name, peer = %frame.from, "dropped a frame from a node not adopted yet");
                }
                return;
            }
            early.remove(&frame.from).map(|(frames, _)| frames).unwrap_or_default()
        };
        for (Frame { from: peer, items }, len) in earlier.into_iter().chain(std::iter::once((frame, bytes.len()))) {
            let mut data = false;
            for item in &items {
                match decode(item) {
                    Some(Wire::Ack { bytes }) => self.acked(&peer, bytes as usize),
                    Some(body) => {
                        data = true;
                        self.handle(&system, &peer, body);
                    }
                    None => {
                        data = true;
                        tracing::warn!(node = %self.name, %peer, "dropped a cluster message that does not decode");
                    }
                }
            }
            // Frames of messages are acknowledged (acknowledgements themselves are not).
            if data {
                self.handled(&peer, len);
            }
        }
    }

    /// Handles one message from `peer`.
    fn handle(self: &Arc<Self>, system: &Arc<System>, peer: &str, body: Wire) {
        match body {
            Wire::Send { from, to, topic, payload } => {
                let from = from.as_deref().and_then(Pid::parse);
                if let Err(e) = system.send(from.as_ref(), &to, &topic, payload) {
                    tracing::debug!(to, error = %e, "a message from node `{peer}` was not delivered");
                }
            }
            spawn @ Wire::Spawn { .. } => self.spawn_here(system, peer, spawn),
            Wire::Spawned { id, result } => self.spawned(system, peer, id, result),
            Wire::Monitor { watcher, target } => {
                let Some(w) = Pid::parse(&watcher) else { return };
                if !system.add_remote_tie(&w, &target, false) {
                    let error =
                        Value::from("no such process: it had already exited (or never existed) when it was monitored");
                    let exit = Wire::Exit {
                        to: watcher,
                        from: target,
                        value: Value::Nil,
                        error: Some(error),
                        at_ms: now_ms(),
                    };
                    let _ = self.post(peer, exit);
                }
            }
            Wire::Unmonitor { watcher, target } => {
                if let Some(w) = Pid::parse(&watcher) {
                    system.unmonitor(&w, &target);
                }
            }
            Wire::Link { remote, local } => {
                let Some(r) = Pid::parse(&remote) else { return };
                if !system.add_remote_tie(&r, &local, true) {
                    let error = Value::from(format!("no such process: {local} is not alive"));
                    let _ = self.post(peer, Wire::LinkExit { to: remote, from: local, error: Some(error) });
                }
            }
            Wire::Unlink { remote, local } => {
                if let (Some(r), Some(record)) = (Pid::parse(&remote), system.record(&local)) {
                    record.ctl().links.retain(|p| p != &r);
                }
            }
            Wire::Cancel { from, to, reason, timeout_ms } => {
                let from = from.as_deref().and_then(Pid::parse);
                let timeout = timeout_ms.map(Duration::from_millis);
                if let Err(e) = system.cancel(from.as_ref(), &to, reason, timeout) {
                    tracing::debug!(to, error = %e, "a cancel from node `{peer}` found no process");
                }
            }
            Wire::Terminate { to, reason } => system.terminate(&to, reason),
            Wire::Exit { to, from, value, error, at_ms } => {
                let (Some(w), Some(f)) = (Pid::parse(&to), Pid::parse(&from)) else { return };
                // Only for a monitor still in place: an unmonitor may have crossed the EXIT on the way.
                if !lock(&self.watches).remove(&(w, f.clone())) {
                    return;
                }
                let at = UNIX_EPOCH + Duration::from_millis(at_ms);
                let exit = Exit { from: f.clone(), value, error, at };
                system.deliver_exit_signal(&to, &f, ExitSignal::Exit(Event::Exit(exit)));
            }
            Wire::Ack { bytes } => self.acked(peer, bytes as usize),
            Wire::LinkExit { to, from, error } => {
                let Some(f) = Pid::parse(&from) else { return };
                system.deliver_exit_signal(&to, &f, ExitSignal::Link(error));
            }
        }
    }

    /// Spawns what `peer` asked for ([`Wire::Spawn`]); the answer goes back before the child runs.
    fn spawn_here(self: &Arc<Self>, system: &Arc<System>, peer: &str, spawn: Wire) {
        let Wire::Spawn { id, parent, monitor, link, host, entry, args, context } = spawn else { return };
        let (node, system, peer) = (self.clone(), system.clone(), peer.to_owned());
        tokio::spawn(async move {
            let parent = parent.as_deref().and_then(Pid::parse);
            let answered = Arc::new(std::sync::atomic::AtomicU8::new(UNANSWERED));
            let mut req = SpawnRequest::new(&entry, &host, args, Arc::new(context));
            if let Some(p) = &parent {
                req = req.child_of(p, SpawnOptions { monitor, link });
            }
            let (n, a, to) = (node.clone(), answered.clone(), peer.clone());
            req.announce = Some(Box::new(move |child: &Pid| {
                let posted = n.post(&to, Wire::Spawned { id, result: Ok(child.to_string()) });
                a.store(if posted.is_ok() { ANSWERED } else { LOST }, Ordering::Relaxed);
            }));
            match system.spawn(req).await {
                // Nobody can know of this child (the asking node is gone): it ends at once.
                Ok((child, _)) if answered.load(Ordering::Relaxed) == LOST => {
                    system.terminate(child.as_str(), Value::from("noconnection: the node that spawned it is gone"));
                }
                Ok(_) => {}
                Err(e) if answered.load(Ordering::Relaxed) == UNANSWERED => {
                    let result = Err((e.kind().to_owned(), e.to_string()));
                    let _ = node.post(&peer, Wire::Spawned { id, result });
                }
                Err(_) => {}
            }
        });
    }

    /// `peer` answered our spawn `id`.
    fn spawned(&self, system: &System, peer: &str, id: u64, result: Result<String, (String, String)>) {
        let Some(p) = lock(&self.pending).remove(&id) else { return };
        let result = match result {
            Ok(text) => match Pid::parse(&text) {
                Some(child) => {
                    self.attach_remote_child(system, p.parent.as_ref(), &child);
                    Ok(child)
                }
                None => Err(ProcessError::BadPid { text }),
            },
            Err((k, message)) => Err(ProcessError::Remote { node: peer.to_owned(), kind: kind::intern(&k), message }),
        };
        let _ = p.reply.send(result);
    }

    /// A remote spawn returned `child`: the parent's side of its monitor and link.
    fn attach_remote_child(&self, system: &System, parent: Option<&(Pid, SpawnOptions)>, child: &Pid) {
        let Some((parent, opts)) = parent else { return };
        if opts.monitor {
            lock(&self.watches).insert((parent.clone(), child.clone()));
        }
        if opts.link {
            let linked = system.record(parent.as_str()).is_some_and(|r| {
                let mut ctl = r.ctl();
                if !ctl.exited && !ctl.links.contains(child) {
                    ctl.links.push(child.clone());
                }
                !ctl.exited
            });
            if !linked {
                // The parent is gone: the child's link fires as it would have on one node.
                let error = Some(Value::from(format!("no such process: {parent} is not alive")));
                let _ = self.post_to(child, Wire::LinkExit { to: child.to_string(), from: parent.to_string(), error });
            }
        }
    }
}
