//! The name registry of one host: names that stand for PIDs, in `send`, `lookup` and friends.
//!
//! A name belongs to one live process at a time; a process may hold several. A name whose holder has exited is
//! free: lookups do not see it, and registering it again succeeds even before the exit has finished releasing it
//! (see the exit ordering in [`super::lifecycle`]). Names belong to one host: two hosts never see each other's.

use dashmap::DashMap;

use super::{Pid, System};
use crate::error::ProcessError;

/// Names to PIDs.
#[derive(Default)]
pub(crate) struct Names(DashMap<String, Pid>);

impl Names {
    /// Removes `names` held by `pid` (an exiting process); a name already taken over by another process stays.
    pub(super) fn release(&self, pid: &Pid, names: Vec<String>) {
        for n in names {
            self.0.remove_if(&n, |_, p| p == pid);
        }
    }
}

impl System {
    /// How many names are registered (those of exited holders that are not released yet included).
    pub(crate) fn name_count(&self) -> usize {
        self.names.0.len()
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
        match self.names.0.entry(name.to_owned()) {
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

    /// The live process registered as `name`.
    pub(crate) fn lookup(&self, name: &str) -> Option<Pid> {
        self.names.0.get(name).map(|p| p.clone()).filter(|p| self.is_alive(p.as_str()))
    }

    /// Removes a name; returns whether a live process held it.
    pub(crate) fn unregister(&self, name: &str) -> bool {
        match self.names.0.remove(name) {
            Some((_, pid)) => match self.record(pid.as_str()) {
                Some(r) => {
                    r.ctl().names.retain(|n| n != name);
                    true
                }
                None => false,
            },
            None => false,
        }
    }
}
