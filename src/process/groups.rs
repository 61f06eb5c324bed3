//! Process groups of one host: named sets of processes for `members` and `broadcast`.
//!
//! A process may join many groups; it leaves all of them when it exits. Member lists show only live processes,
//! in join order. Groups belong to one host: two hosts never see each other's. On a host in a cluster groups are
//! cluster-wide (SPEC §8): every membership is published to the other nodes, `members` lists this node's members
//! then the other nodes', and `broadcast` sends to all of them.

use dashmap::DashMap;

use super::mailbox::{Message, Payload};
use super::remote::Shared;
use super::{Pid, System};
use crate::error::ProcessError;

/// Group names to their members, in join order.
#[derive(Default)]
pub(crate) struct Groups(DashMap<String, Vec<Pid>>);

impl Groups {
    /// Removes `pid` from `group`; whether it was a member.
    fn leave(&self, group: &str, pid: &str) -> bool {
        let mut was = false;
        if let Some(mut members) = self.0.get_mut(group) {
            let before = members.len();
            members.retain(|p| p.as_str() != pid);
            was = members.len() != before;
        }
        self.0.remove_if(group, |_, m| m.is_empty());
        was
    }
}

impl System {
    /// Removes `pid` (an exiting process) from `groups`.
    pub(super) fn release_groups(&self, pid: &Pid, groups: Vec<String>) {
        for g in groups {
            if self.groups.leave(&g, pid.as_str()) {
                if let Some(remote) = self.remote() {
                    remote.share(Shared::Member(g, pid.clone()), false);
                }
            }
        }
    }

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
            if let Some(remote) = self.remote() {
                remote.share(Shared::Member(group.to_owned(), record.pid.clone()), true);
            }
        }
        Ok(())
    }

    /// Removes `pid` from `group`.
    pub(crate) fn leave(&self, group: &str, pid: &str) {
        let was = self.groups.leave(group, pid);
        if let Some(r) = self.record(pid) {
            r.ctl().groups.retain(|g| g != group);
            if let (true, Some(remote)) = (was, self.remote()) {
                remote.share(Shared::Member(group.to_owned(), r.pid.clone()), false);
            }
        }
    }

    /// The live members of `group`, in join order: this node's, then (in a cluster) the other nodes'.
    pub(crate) fn members(&self, group: &str) -> Vec<Pid> {
        let members = self.groups.0.get(group).map(|m| m.clone()).unwrap_or_default();
        let mut live: Vec<Pid> = members.into_iter().filter(|p| self.is_alive(p.as_str())).collect();
        if let Some(remote) = self.remote() {
            live.extend(remote.members(group));
        }
        live
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
            if let Some(remote) = self.remote_of(&m) {
                if remote.send(from, &m, topic, payload.clone()).is_ok() {
                    sent += 1;
                }
            } else if let Some(r) = self.record(m.as_str()) {
                let m = Message::new(from.cloned(), topic, payload.clone());
                if self.queue(&r, m).is_ok() {
                    sent += 1;
                }
            }
        }
        Ok(sent)
    }
}
