//! Function pools: how many calls of one entry run at once, and how many may wait (`docs/limits.md`).
//!
//! Every call gets a fresh instance (the pooling allocator makes that cheap), so a pool holds no instances: it is a
//! semaphore with `concurrency` permits plus a bound on waiters. A call that finds no free permit and a full queue
//! fails at once with [`CallError::Busy`] instead of hanging. `inline` pools have no bound at all.
//!
//! Cancellation: a waiting call that is dropped leaves the queue (its place is given back by a guard), and a running
//! call that is dropped returns its permit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::CallError;
use crate::id::EntryId;
use crate::registry::kinds::PoolConfig;

/// The concurrency and queue bound of one function entry.
pub(super) struct Pool {
    sem: Option<Arc<Semaphore>>,
    waiting: AtomicUsize,
    queue: usize,
}

/// A slot in a pool; the slot is free again when this is dropped.
pub(super) struct Slot {
    _permit: Option<OwnedSemaphorePermit>,
}

struct Waiter<'a>(&'a AtomicUsize);

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Pool {
    /// A pool for `config`.
    pub(super) fn new(config: &PoolConfig) -> Pool {
        Pool {
            sem: config.concurrency.map(|n| Arc::new(Semaphore::new(n))),
            waiting: AtomicUsize::new(0),
            queue: config.queue,
        }
    }

    /// Takes a slot, waiting in the queue when all are busy; fails when the queue is full.
    pub(super) async fn acquire(&self, entry: &EntryId) -> Result<Slot, CallError> {
        let Some(sem) = &self.sem else { return Ok(Slot { _permit: None }) };
        if let Ok(p) = sem.clone().try_acquire_owned() {
            return Ok(Slot { _permit: Some(p) });
        }
        let queued = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiter = Waiter(&self.waiting);
        if queued >= self.queue {
            return Err(CallError::Busy { entry: entry.clone(), queued });
        }
        let permit = sem
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| CallError::Cancelled { entry: entry.clone(), message: "the host is shutting down".into() })?;
        Ok(Slot { _permit: Some(permit) })
    }
}
