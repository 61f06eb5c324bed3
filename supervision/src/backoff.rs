//! Restart delays: exponential backoff with jitter, and the attempt counter that resets once a child has been
//! stable.
//!
//! The delay before restart attempt `n` (counting from 0) is `initial_delay * factor^n`, capped at `max_delay`, then
//! spread by up to `jitter` in either direction: `base * (1 + jitter * (2u - 1))` for a uniform `u` in `[0, 1)`.
//! [`Backoff::delay`] is pure (the caller supplies `u`), so the formula is tested without randomness.

use std::time::Duration;

/// How restarts of one child are spaced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The delay before the first restart.
    pub initial_delay: Duration,
    /// The largest delay.
    pub max_delay: Duration,
    /// The growth factor per attempt.
    pub factor: f64,
    /// The spread, as a fraction of the delay (0.1 = up to 10% either way).
    pub jitter: f64,
    /// Give up after this many consecutive failed attempts (0 = never).
    pub max_attempts: u32,
    /// A child that ran this long before exiting starts its attempt count from zero again.
    pub stable_threshold: Duration,
}

impl Backoff {
    /// Restart at once, every time (OTP's behaviour).
    pub const IMMEDIATE: Backoff = Backoff {
        initial_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
        factor: 1.0,
        jitter: 0.0,
        max_attempts: 0,
        stable_threshold: Duration::from_secs(5),
    };

    /// The delay before attempt `attempt` (0-based), before jitter.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let initial = self.initial_delay.as_secs_f64();
        let grown = initial * self.factor.max(1.0).powi(attempt.min(1_000) as i32);
        let capped = grown.min(self.max_delay.as_secs_f64().max(initial));
        Duration::from_secs_f64(if capped.is_finite() { capped.max(0.0) } else { self.max_delay.as_secs_f64() })
    }

    /// The delay before attempt `attempt`, spread by `unit` (uniform in `[0, 1)`): within
    /// `base * (1 - jitter)` and `base * (1 + jitter)`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let base = self.base_delay(attempt).as_secs_f64();
        let spread = self.jitter.clamp(0.0, 1.0) * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        Duration::from_secs_f64((base * (1.0 + spread)).max(0.0))
    }

    /// Whether attempt `attempt` (0-based) may still be made.
    pub fn allows(&self, attempt: u32) -> bool {
        self.max_attempts == 0 || attempt < self.max_attempts
    }
}

impl Default for Backoff {
    /// Wippy's service defaults: 1 s doubling up to 90 s, 10% jitter, unlimited attempts, stable after 5 s.
    fn default() -> Self {
        Backoff {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(90),
            factor: 2.0,
            jitter: 0.1,
            max_attempts: 0,
            stable_threshold: Duration::from_secs(5),
        }
    }
}

/// A small xorshift generator for jitter; seeded per supervisor, no global state.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// A generator seeded from the clock and `salt`.
    pub fn new(salt: u64) -> Jitter {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        Jitter((nanos ^ salt.rotate_left(17)) | 1)
    }

    /// The next uniform value in `[0, 1)`.
    pub fn next_unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b() -> Backoff {
        Backoff {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            factor: 2.0,
            jitter: 0.1,
            ..Backoff::default()
        }
    }

    #[test]
    fn grows_by_the_factor_and_caps() {
        let b = b();
        let ms: Vec<u128> = (0..7).map(|n| b.base_delay(n).as_millis()).collect();
        assert_eq!(ms, vec![100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(b.base_delay(u32::MAX), Duration::from_secs(2), "huge attempt counts stay capped");
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let b = b();
        for n in 0..8 {
            let base = b.base_delay(n).as_secs_f64();
            assert!((b.delay(n, 0.0).as_secs_f64() - base * 0.9).abs() < 1e-9);
            assert!((b.delay(n, 1.0).as_secs_f64() - base * 1.1).abs() < 1e-9);
            assert!((b.delay(n, 0.5).as_secs_f64() - base).abs() < 1e-9);
        }
        let mut j = Jitter::new(7);
        for _ in 0..1000 {
            let u = j.next_unit();
            assert!((0.0..1.0).contains(&u));
            let d = b.delay(3, u).as_secs_f64();
            assert!((0.72..=0.88).contains(&d), "{d}");
        }
    }

    #[test]
    fn attempts_are_bounded_only_when_asked() {
        assert!(Backoff::default().allows(1_000_000));
        let b = Backoff { max_attempts: 3, ..b() };
        assert!(b.allows(2) && !b.allows(3));
    }

    #[test]
    fn immediate_is_zero() {
        assert_eq!(Backoff::IMMEDIATE.delay(5, 0.9), Duration::ZERO);
    }
}
