//! Process hosts: the `process.host` and `terminal.host` entries at run time, and the worker gate.
//!
//! A [`ProcessHost`] bounds its processes: at most `max_processes` alive (a spawn past it is refused), at most
//! `workers` executing guest code at the same moment, and at most `queue_size` waiting for a worker (a spawn past
//! it is refused rather than queued without bound). A process holds a worker only while its Step is being polled
//! ([`Gated`]), so one blocked in `receive` or a sleep holds none.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::ProcessError;
use crate::id::EntryId;

/// A `process.host` (or the `terminal.host`) with its bounds and counters.
pub(crate) struct ProcessHost {
    /// The host entry.
    pub(crate) id: EntryId,
    /// Its bounds and settings.
    pub(crate) limits: HostLimits,
    live: AtomicUsize,
    /// Permits to run guest code: `workers` processes execute at the same moment.
    workers: Semaphore,
    waiting: AtomicUsize,
    /// Its processes' memory budget (`host.memory_budget`), if it has one.
    pub(crate) memory: Option<std::sync::Arc<super::MemoryBudget>>,
}

/// The settings of a [`ProcessHost`].
pub(crate) struct HostLimits {
    /// Processes executing guest code at the same moment.
    pub(crate) workers: usize,
    /// Processes alive at once.
    pub(crate) max_processes: usize,
    /// Processes waiting for a worker.
    pub(crate) queue_size: usize,
    /// Time a cancelled process has before it is terminated.
    pub(crate) cancel_timeout: Duration,
    /// Whether processes get the real terminal.
    pub(crate) terminal: bool,
    /// How much may wait in one process's mailbox.
    pub(crate) mailbox: super::mailbox::MailboxBounds,
    /// `host.memory_budget`: the guest memory its processes may reserve in all, if set.
    pub(crate) memory_budget: Option<u64>,
}

impl ProcessHost {
    /// Processes waiting for a worker now.
    pub(crate) fn queued(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// A process host for the entry `id`.
    pub(crate) fn new(id: EntryId, limits: HostLimits) -> Self {
        let workers = Semaphore::new(limits.workers.max(1));
        let memory = limits
            .memory_budget
            .map(|b| std::sync::Arc::new(super::MemoryBudget::new(b, format!("`host.memory_budget` of `{id}`"))));
        ProcessHost { id, limits, live: AtomicUsize::new(0), workers, waiting: AtomicUsize::new(0), memory }
    }

    /// Reserves room for one more process (`max_processes`), unless too many wait for a worker (`queue_size`).
    pub(crate) fn reserve(&self) -> Result<(), ProcessError> {
        let HostLimits { queue_size, max_processes, .. } = self.limits;
        if self.waiting.load(Ordering::Acquire) >= queue_size {
            return Err(ProcessError::QueueFull { host: self.id.clone(), queue_size });
        }
        let mut cur = self.live.load(Ordering::Acquire);
        loop {
            if cur >= max_processes {
                return Err(ProcessError::MaxProcesses { host: self.id.clone(), max: max_processes });
            }
            match self.live.compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok(()),
                Err(now) => cur = now,
            }
        }
    }

    /// Gives back a reservation: the process ended, or never became one.
    pub(crate) fn release(&self) {
        self.live.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Polls `fut` only while holding one of the host's worker permits, and gives the permit back whenever `fut`
/// is pending (waiting in a host call or yielding at a preemption point).
pub(crate) struct Gated<'a, F> {
    fut: F,
    host: &'a ProcessHost,
    acquire: Option<Pin<Box<dyn Future<Output = Option<SemaphorePermit<'a>>> + Send + 'a>>>,
}

impl<'a, F: Future> Gated<'a, F> {
    /// Gates `fut` by `host`'s workers.
    pub(crate) fn new(host: &'a ProcessHost, fut: F) -> Self {
        Gated { fut, host, acquire: None }
    }
}

impl<F: Future + Unpin> Future for Gated<'_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let permit = match this.acquire.as_mut() {
            None => match this.host.workers.try_acquire() {
                Ok(p) => p,
                Err(_) => {
                    this.host.waiting.fetch_add(1, Ordering::AcqRel);
                    let sem = &this.host.workers;
                    this.acquire = Some(Box::pin(async move { sem.acquire().await.ok() }));
                    return Pin::new(this).poll(cx);
                }
            },
            Some(acq) => match acq.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(p) => {
                    this.acquire = None;
                    this.host.waiting.fetch_sub(1, Ordering::AcqRel);
                    match p {
                        Some(p) => p,
                        // The semaphore is never closed; run ungated rather than hang.
                        None => return Pin::new(&mut this.fut).poll(cx),
                    }
                }
            },
        };
        let r = Pin::new(&mut this.fut).poll(cx);
        drop(permit);
        r
    }
}

impl<F> Drop for Gated<'_, F> {
    fn drop(&mut self) {
        if self.acquire.take().is_some() {
            self.host.waiting.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(workers: usize, queue_size: usize) -> ProcessHost {
        let id = EntryId::parse("t:host").expect("valid id");
        let limits = HostLimits {
            workers,
            max_processes: 10,
            queue_size,
            cancel_timeout: Duration::from_secs(1),
            terminal: false,
            mailbox: Default::default(),
            memory_budget: None,
        };
        ProcessHost::new(id, limits)
    }

    #[test]
    fn the_gate_holds_a_worker_only_while_polling_and_bounds_the_queue() {
        let host = host(1, 1);
        let mut cx = Context::from_waker(std::task::Waker::noop());

        // Someone else runs: the only worker is taken.
        let busy = host.workers.try_acquire().expect("one permit");
        let mut gated = Gated::new(&host, std::future::ready(7));
        assert!(Pin::new(&mut gated).poll(&mut cx).is_pending(), "waits for the worker");
        assert_eq!(host.waiting.load(Ordering::Acquire), 1);
        assert!(matches!(host.reserve(), Err(ProcessError::QueueFull { queue_size: 1, .. })), "the queue is full");

        drop(busy);
        assert_eq!(Pin::new(&mut gated).poll(&mut cx), Poll::Ready(7), "runs once the worker is free");
        assert_eq!(host.waiting.load(Ordering::Acquire), 0);
        assert_eq!(host.workers.available_permits(), 1, "and gives the worker back");
        assert!(host.reserve().is_ok());
    }

    #[test]
    fn a_pending_step_gives_its_worker_back() {
        let host = host(1, 10);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut gated = Gated::new(&host, std::future::pending::<()>());
        assert!(Pin::new(&mut gated).poll(&mut cx).is_pending());
        assert_eq!(host.workers.available_permits(), 1, "blocked processes hold no worker");
    }
}
