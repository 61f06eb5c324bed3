//! Monitors and links between processes.
//!
//! A monitor is one-way: the watcher receives the target's EXIT (at once if the target is already dead). A link is
//! two-way: when either side exits abnormally the other is killed, or receives LINK_DOWN when it traps links. Both
//! live in the target's [`Record`](super::record::Record), so they work while the target runs guest code.

use std::time::SystemTime;

use super::mailbox::{Event, Exit};
use super::{Pid, SpawnOptions, System};
use crate::error::ProcessError;
use crate::value::Value;

impl System {
    /// Attaches a freshly started child to its parent (monitor and/or link). A dead parent kills the child.
    pub(super) fn attach(&self, parent: &Pid, child: &std::sync::Arc<super::record::Record>, opts: SpawnOptions) {
        if opts.monitor {
            child.ctl().monitors.push(parent.clone());
        }
        if opts.link {
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
        if let Some(t) = self.record(target) {
            t.ctl().monitors.retain(|p| p != watcher);
        }
    }

    /// Links two live processes. Linking to a dead process is an error.
    pub(crate) fn link(&self, a: &Pid, b: &str) -> Result<(), ProcessError> {
        if a.as_str() == b {
            return Ok(());
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
