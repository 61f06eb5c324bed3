//! The name registry of one host: names that stand for PIDs, in `send`, `lookup` and friends.
//!
//! A name belongs to one live process at a time; a process may hold several. A name whose holder has exited is
//! free: lookups do not see it, and registering it again succeeds even before the exit has finished releasing it
//! (see the exit ordering in [`super::lifecycle`]). Names belong to one host: two hosts never see each other's.
//!
//! Scopes (SPEC §8): a LOCAL name (the default) is seen on this node only. On a host in a cluster an EVENTUAL name
//! is also published to every node (through [`Remote::share`](super::Remote::share)); lookups look here first,
//! then at the names other nodes hold; a conflict after a partition is resolved by the cluster (the earlier
//! registration wins) and the loser's holder receives a `@name.lost` message. CONSISTENT and STRONG need
//! consensus, which is not built yet: in a cluster they are an error, on a single host they behave as LOCAL.

use dashmap::{DashMap, DashSet};

use super::mailbox::{Message, Payload};
use super::remote::Shared;
use super::{Pid, System};
use crate::error::ProcessError;
use crate::value::Value;

/// Names to PIDs.
#[derive(Default)]
pub(crate) struct Names {
    map: DashMap<String, Pid>,
    /// The names registered EVENTUAL (published to the cluster).
    eventual: DashSet<String>,
}

/// Where a name is seen (Wippy's `process.registry` scopes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// This node only.
    Local,
    /// Every node, by consensus (not built yet).
    Consistent,
    /// Every node, by gossip: converges after a partition heals.
    Eventual,
    /// Every node, linearizable (not built yet).
    Strong,
}

impl Scope {
    /// Wippy's number for a scope (`LOCAL=0 CONSISTENT=1 EVENTUAL=2 STRONG=3`).
    pub fn from_number(n: i64) -> Option<Scope> {
        Some(match n {
            0 => Scope::Local,
            1 => Scope::Consistent,
            2 => Scope::Eventual,
            3 => Scope::Strong,
            _ => return None,
        })
    }
}

impl System {
    /// Removes `names` held by `pid` (an exiting process); a name already taken over by another process stays.
    pub(super) fn release_names(&self, pid: &Pid, names: Vec<String>) {
        for n in names {
            if self.names.map.remove_if(&n, |_, p| p == pid).is_some() {
                self.withdraw_name(&n, pid);
            }
        }
    }

    /// Withdraws `name` from the cluster when it was EVENTUAL.
    fn withdraw_name(&self, name: &str, pid: &Pid) {
        if self.names.eventual.remove(name).is_some() {
            if let Some(remote) = self.remote() {
                remote.share(Shared::Name(name.to_owned(), pid.clone()), false);
            }
        }
    }

    /// Registers `name` for `pid` in `scope` (see the module docs).
    pub(crate) fn register_in(&self, name: &str, pid: &str, scope: Scope) -> Result<(), ProcessError> {
        let Some(remote) = self.remote() else { return self.register(name, pid) };
        match scope {
            Scope::Local => self.register(name, pid),
            Scope::Consistent | Scope::Strong => Err(ProcessError::ScopeNotSupported {
                scope: if scope == Scope::Consistent { "CONSISTENT" } else { "STRONG" },
            }),
            Scope::Eventual => {
                if let Some(holder) = remote.name(name) {
                    if holder.as_str() != pid {
                        return Err(ProcessError::NameTaken { name: name.to_owned(), pid: holder.to_string() });
                    }
                }
                self.register(name, pid)?;
                // Shared on every registration: the name may have been taken over from an exited holder whose
                // release has not run yet, and the cluster must learn the new holder.
                self.names.eventual.insert(name.to_owned());
                let holder = self.names.map.get(name).map(|p| p.clone());
                if let Some(holder) = holder {
                    remote.share(Shared::Name(name.to_owned(), holder), true);
                }
                Ok(())
            }
        }
    }

    /// The cluster took the EVENTUAL name `name` from `pid` (another node registered it first): it is
    /// unregistered here and `pid` receives `@name.lost` with `{name, holder}`.
    pub(crate) fn name_lost(&self, name: &str, pid: &Pid, holder: &Pid) {
        if self.names.map.remove_if(name, |_, p| p == pid).is_none() {
            return;
        }
        self.names.eventual.remove(name);
        if let Some(r) = self.record(pid.as_str()) {
            r.ctl().names.retain(|n| n != name);
            let payload = Value::map([("name", Value::from(name)), ("holder", Value::from(holder.as_str()))]);
            let m = Message::new(None, "@name.lost", Payload::Value(payload));
            let _ = self.queue(&r, m);
        }
    }

    /// How many names are registered (those of exited holders that are not released yet included).
    pub(crate) fn name_count(&self) -> usize {
        self.names.map.len()
    }

    /// Registers `name` for `pid`. A name held by another live process is an error.
    pub(crate) fn register(&self, name: &str, pid: &str) -> Result<(), ProcessError> {
        if name.is_empty() || name.starts_with('{') {
            return Err(ProcessError::BadName { name: name.to_owned() });
        }
        let record = self.record(pid).ok_or_else(|| ProcessError::NoProcess { pid: pid.to_owned() })?;
        let mut ctl = record.ctl();
        if ctl.exited {
            return Err(ProcessError::NoProcess { pid: pid.to_owned() });
        }
        match self.names.map.entry(name.to_owned()) {
            dashmap::Entry::Occupied(o) if o.get() == &record.pid => return Ok(()),
            dashmap::Entry::Occupied(o) if self.is_alive(o.get().as_str()) => {
                return Err(ProcessError::NameTaken { name: name.to_owned(), pid: o.get().to_string() })
            }
            dashmap::Entry::Occupied(mut o) => {
                // Its holder has exited and not released it yet: taken over.
                o.insert(record.pid.clone());
            }
            dashmap::Entry::Vacant(v) => {
                v.insert(record.pid.clone());
            }
        }
        ctl.names.push(name.to_owned());
        Ok(())
    }

    /// The live process registered as `name`: here, or an EVENTUAL name held on another connected node.
    pub(crate) fn lookup(&self, name: &str) -> Option<Pid> {
        let here = self.names.map.get(name).map(|p| p.clone()).filter(|p| self.is_alive(p.as_str()));
        here.or_else(|| self.remote()?.name(name))
    }

    /// Removes a name; returns whether a live process held it.
    pub(crate) fn unregister(&self, name: &str) -> bool {
        match self.names.map.remove(name) {
            Some((_, pid)) => match self.record(pid.as_str()) {
                Some(r) => {
                    r.ctl().names.retain(|n| n != name);
                    self.withdraw_name(name, &pid);
                    true
                }
                None => false,
            },
            None => false,
        }
    }
}
