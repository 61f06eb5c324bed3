//! Monitors and links between processes.
//!
//! A monitor is one-way: the watcher receives the target's EXIT (at once if the target is already dead). A link is
//! two-way: when either side exits abnormally the other is killed, or receives LINK_DOWN when it traps links. Both
//! live in the target's [`Record`](super::record::Record), so they work while the target runs guest code.

use std::sync::Arc;
use std::time::SystemTime;

use super::mailbox::{Event, Exit};
use super::record::Record;
use super::remote::ExitSignal;
use super::system::Place;
use super::{Pid, SpawnOptions, System};
use crate::error::ProcessError;
use crate::value::Value;

impl System {
    /// Attaches a freshly started child to its parent (monitor and/or link). A dead parent kills the child.
    pub(super) fn attach(&self, parent: &Pid, child: &std::sync::Arc<super::record::Record>, opts: SpawnOptions) {
        if opts.monitor {
            child.ctl().monitors.push(parent.clone());
        }
        if opts.link && self.remote_of(parent).is_some() {
            // The parent's node records its side when the spawn returns.
            child.ctl().links.push(parent.clone());
        } else if opts.link {
            if let Err(e) = self.link(parent, child.pid.as_str()) {
                self.kill(child, Value::from(format!("spawn_linked: {e}")));
            }
        }
    }

    /// `watcher` receives EXIT when `target` ends; immediately when `target` is already dead.
    pub(crate) fn monitor(&self, watcher: &Pid, target: &str) -> Result<(), ProcessError> {
        let watcher_record =
            self.record(watcher.as_str()).ok_or_else(|| ProcessError::NoProcess { pid: watcher.to_string() })?;
        let target_pid = Pid::parse(target).ok_or_else(|| ProcessError::BadPid { text: target.to_owned() })?;
        if let Place::Remote(remote) = self.place(&target_pid)? {
            return remote.monitor(watcher, &target_pid);
        }
        if let Some(t) = self.record(target) {
            let mut ctl = t.ctl();
            if !ctl.exited {
                if !ctl.monitors.contains(watcher) {
                    ctl.monitors.push(watcher.clone());
                }
                return Ok(());
            }
        }
        watcher_record.mailbox.event(Event::Exit(Exit {
            from: target_pid,
            value: Value::Nil,
            error: Some(Value::from("no such process: it had already exited (or never existed) when it was monitored")),
            at: SystemTime::now(),
        }));
        Ok(())
    }

    /// Stops delivery of `target`'s EXIT to `watcher`.
    pub(crate) fn unmonitor(&self, watcher: &Pid, target: &str) {
        if let Some(remote) = Pid::parse(target).and_then(|p| self.remote_of(&p).map(|r| (p, r))) {
            remote.1.unmonitor(watcher, &remote.0);
            return;
        }
        if let Some(t) = self.record(target) {
            t.ctl().monitors.retain(|p| p != watcher);
        }
    }

    /// Links two live processes. Linking to a dead process is an error.
    pub(crate) fn link(&self, a: &Pid, b: &str) -> Result<(), ProcessError> {
        if a.as_str() == b {
            return Ok(());
        }
        if let Some(pb) = Pid::parse(b) {
            if let Place::Remote(remote) = self.place(&pb)? {
                let ra = self.record(a.as_str()).ok_or_else(|| ProcessError::NoProcess { pid: a.to_string() })?;
                {
                    let mut ctl = ra.ctl();
                    if ctl.exited {
                        return Err(ProcessError::NoProcess { pid: a.to_string() });
                    }
                    if !ctl.links.contains(&pb) {
                        ctl.links.push(pb.clone());
                    }
                }
                if let Err(e) = remote.link(a, &pb) {
                    ra.ctl().links.retain(|p| p != &pb);
                    return Err(e);
                }
                return Ok(());
            }
        }
        let ra = self.record(a.as_str()).ok_or_else(|| ProcessError::NoProcess { pid: a.to_string() })?;
        let rb = self.record(b).ok_or_else(|| ProcessError::NoProcess { pid: b.to_owned() })?;
        // Lock in PID order so two concurrent links never deadlock.
        let (first, second) = if ra.pid < rb.pid { (&ra, &rb) } else { (&rb, &ra) };
        let mut c1 = first.ctl();
        let mut c2 = second.ctl();
        if c1.exited || c2.exited {
            let dead = if c1.exited { &first.pid } else { &second.pid };
            return Err(ProcessError::NoProcess { pid: dead.to_string() });
        }
        if !c1.links.contains(&second.pid) {
            c1.links.push(second.pid.clone());
        }
        if !c2.links.contains(&first.pid) {
            c2.links.push(first.pid.clone());
        }
        Ok(())
    }

    /// Removes a link (both directions).
    pub(crate) fn unlink(&self, a: &Pid, b: &str) {
        if let Some(ra) = self.record(a.as_str()) {
            ra.ctl().links.retain(|p| p.as_str() != b);
        }
        if let Some(remote) = Pid::parse(b).and_then(|p| self.remote_of(&p).map(|r| (p, r))) {
            remote.1.unlink(a, &remote.0);
            return;
        }
        if let Some(rb) = self.record(b) {
            rb.ctl().links.retain(|p| p != a);
        }
    }

    /// Whether LINK_DOWN is delivered as an event (true) or kills the process (false, the default).
    pub(crate) fn set_trap_links(&self, pid: &Pid, trap: bool) {
        if let Some(r) = self.record(pid.as_str()) {
            r.ctl().trap_links = trap;
        }
    }

    /// Whether `pid` traps links.
    pub(crate) fn trap_links(&self, pid: &Pid) -> bool {
        self.record(pid.as_str()).is_some_and(|r| r.ctl().trap_links)
    }
}

impl System {
    /// What the end of `from` does to a process linked to it: the link goes; an abnormal end (`error`) is LINK_DOWN
    /// for a process that traps links and kills one that does not.
    pub(crate) fn link_exit(&self, peer: &Arc<Record>, from: &Pid, error: Option<&Value>) {
        let trap = {
            let mut c = peer.ctl();
            c.links.retain(|p| p != from);
            c.trap_links
        };
        let Some(err) = error else { return };
        if trap {
            peer.mailbox.event(Event::LinkDown { from: from.clone(), error: err.clone() });
        } else {
            let reason = format!("linked process {from} exited: {}", super::describe(err));
            self.kill(peer, Value::from(reason));
        }
    }

    /// Applies what the end of a process on another node means to the local process `to` (see
    /// [`ExitSignal`]); nothing when `to` is gone.
    pub(crate) fn deliver_exit_signal(&self, to: &str, from: &Pid, signal: ExitSignal) {
        let Some(record) = self.record(to) else { return };
        match signal {
            ExitSignal::Exit(event) => record.mailbox.event(event),
            // Only while still linked: an unlink may have crossed the signal on the way.
            ExitSignal::Link(error) => {
                if record.ctl().links.contains(from) {
                    self.link_exit(&record, from, error.as_ref());
                }
            }
        }
    }

    /// `remote`, a process on another node, monitors (`link` false) or links to (`link` true) the local `local`;
    /// false when `local` is not alive.
    pub(crate) fn add_remote_tie(&self, remote: &Pid, local: &str, link: bool) -> bool {
        let Some(t) = self.record(local) else { return false };
        let mut ctl = t.ctl();
        if ctl.exited {
            return false;
        }
        let list = if link { &mut ctl.links } else { &mut ctl.monitors };
        if !list.contains(remote) {
            list.push(remote.clone());
        }
        true
    }

    /// Removes the monitors and links held by processes of `node` (the node is lost): every local process linked
    /// to one of them receives LINK_DOWN (or is killed) with `error`.
    pub(crate) fn node_lost(&self, node: &str, error: &Value) {
        let on_node = |p: &Pid| p.node() == Some(node);
        let records: Vec<Arc<Record>> = self.table.iter().map(|e| e.value().clone()).collect();
        for r in records {
            let lost_links: Vec<Pid> = {
                let mut ctl = r.ctl();
                ctl.monitors.retain(|p| !on_node(p));
                ctl.links.iter().filter(|p| on_node(p)).cloned().collect()
            };
            for from in lost_links {
                self.link_exit(&r, &from, Some(error));
            }
        }
    }
}
