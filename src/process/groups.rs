//! Process groups of one host: named sets of processes for `members` and `broadcast`.
//!
//! A process may join many groups; it leaves all of them when it exits. Member lists show only live processes,
//! in join order. Groups belong to one host: two hosts never see each other's.

use dashmap::DashMap;

use super::mailbox::{Message, Payload};
use super::{Pid, System};
use crate::error::ProcessError;

/// Group names to their members, in join order.
#[derive(Default)]
pub(crate) struct Groups(DashMap<String, Vec<Pid>>);

impl Groups {
    /// Removes `pid` (an exiting process) from `groups`.
    pub(super) fn release(&self, pid: &Pid, groups: Vec<String>) {
        for g in groups {
            self.leave(&g, pid.as_str());
        }
    }

    fn leave(&self, group: &str, pid: &str) {
        if let Some(mut members) = self.0.get_mut(group) {
            members.retain(|p| p.as_str() != pid);
        }
        self.0.remove_if(group, |_, m| m.is_empty());
    }
}

impl System {
    /// How many groups have members.
    pub(crate) fn group_count(&self) -> usize {
        self.groups.0.len()
    }

    /// Adds `pid` to `group`.
    pub(crate) fn join(&self, group: &str, pid: &str) -> Result<(), ProcessError> {
        let record = self.record(pid).ok_or_else(|| ProcessError::NoProcess { pid: pid.to_owned() })?;
        let mut ctl = record.ctl();
        if ctl.exited {
            return Err(ProcessError::NoProcess { pid: pid.to_owned() });
        }
        let mut members = self.groups.0.entry(group.to_owned()).or_default();
        if !members.contains(&record.pid) {
            members.push(record.pid.clone());
            ctl.groups.push(group.to_owned());
        }
        Ok(())
    }

    /// Removes `pid` from `group`.
    pub(crate) fn leave(&self, group: &str, pid: &str) {
        self.groups.leave(group, pid);
        if let Some(r) = self.record(pid) {
            r.ctl().groups.retain(|g| g != group);
        }
    }

    /// The live members of `group`, in join order.
    pub(crate) fn members(&self, group: &str) -> Vec<Pid> {
        let members = self.groups.0.get(group).map(|m| m.clone()).unwrap_or_default();
        members.into_iter().filter(|p| self.is_alive(p.as_str())).collect()
    }

    /// Sends to every live member of `group`; returns how many were sent to. A member whose mailbox is full is
    /// skipped (a broadcast is best effort, as a send to each member would be).
    pub(crate) fn broadcast(
        &self,
        from: Option<&Pid>,
        group: &str,
        topic: &str,
        payload: Payload,
    ) -> Result<usize, ProcessError> {
        super::check_topic(topic)?;
        let mut sent = 0;
        for m in self.members(group) {
            if let Some(r) = self.record(m.as_str()) {
                let m = Message { from: from.cloned(), topic: topic.to_owned(), payload: payload.clone() };
                if r.mailbox.message(m).is_ok() {
                    sent += 1;
                }
            }
        }
        Ok(sent)
    }
}
