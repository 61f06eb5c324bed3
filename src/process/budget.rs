//! Memory budgets (SPEC §10): how many bytes of guest memory may be reserved in total, across every instance that
//! charges the budget. One budget covers a whole host (every WASM instance, functions and processes); a
//! `process.host` with `host.memory_budget` has its own for its processes as well.
//!
//! Charging is lock-free (one compare-and-swap loop per growth); what an instance took is given back when it ends.
//! A budget knows no guest language: the WASM store's resource limiter charges it.

use std::sync::atomic::{AtomicU64, Ordering};

/// A bound on the guest memory reserved at once, and what is reserved now.
#[derive(Debug)]
pub(crate) struct MemoryBudget {
    limit: u64,
    used: AtomicU64,
    /// The setting that sets it, for messages (`host.memory_budget` of `app:processes`).
    setting: String,
}

impl MemoryBudget {
    /// A budget of `limit` bytes, set by `setting`.
    pub(crate) fn new(limit: u64, setting: impl Into<String>) -> MemoryBudget {
        MemoryBudget { limit, used: AtomicU64::new(0), setting: setting.into() }
    }

    /// Reserves `bytes`; false (and nothing reserved) when that would pass the limit.
    pub(crate) fn try_take(&self, bytes: u64) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    /// Gives back `bytes` reserved earlier.
    pub(crate) fn give_back(&self, bytes: u64) {
        let _ = self.used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| Some(used.saturating_sub(bytes)));
    }

    /// The limit in bytes.
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// What is reserved now.
    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    /// The setting that sets it.
    pub(crate) fn setting(&self) -> &str {
        &self.setting
    }
}

/// The default budget of a host: half of the machine's physical memory (8 GiB when it cannot be read).
pub(crate) fn default_memory_budget() -> u64 {
    // SAFETY: `sysconf` only reads system configuration values.
    let (pages, page) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    if pages > 0 && page > 0 {
        (pages as u64).saturating_mul(page as u64) / 2
    } else {
        8 << 30
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_up_to_the_limit_and_gives_back() {
        let b = MemoryBudget::new(100, "test");
        assert!(b.try_take(60));
        assert!(!b.try_take(50), "past the limit");
        assert_eq!(b.used(), 60);
        assert!(b.try_take(40));
        b.give_back(60);
        assert_eq!(b.used(), 40);
        assert!(default_memory_budget() > 0);
    }
}
