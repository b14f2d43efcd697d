//! Login attempts are limited per client IP and per account, so neither a single
//! address nor a distributed guess at one account gets far.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::DefaultClock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// Per-IP and per-account login limiters.
pub struct LoginLimiter {
    by_ip: Keyed<IpAddr>,
    by_account: Keyed<String>,
    /// Attempts counted so far; every `SWEEP_EVERY`th drops idle keys.
    attempts: AtomicU64,
}

/// How often (in attempts) keys back at full quota are forgotten, so the limiter's
/// memory follows recent attackers, not every address ever seen.
const SWEEP_EVERY: u64 = 1024;

impl std::fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginLimiter")
    }
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl LoginLimiter {
    pub fn new(per_ip: u32, per_account: u32) -> Self {
        Self {
            by_ip: RateLimiter::keyed(per_minute(per_ip)),
            by_account: RateLimiter::keyed(per_minute(per_account)),
            attempts: AtomicU64::new(0),
        }
    }

    /// Counts one attempt; `Err(seconds)` when either limit is exhausted.
    pub fn check(&self, ip: Option<IpAddr>, account: &str) -> Result<(), u64> {
        if self.attempts.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep();
        }
        let wait = |e: governor::NotUntil<_>| {
            e.wait_time_from(governor::clock::Clock::now(&DefaultClock::default()))
                .as_secs()
                .max(1)
        };
        if let Some(ip) = ip {
            self.by_ip.check_key(&ip).map_err(wait)?;
        }
        self.by_account
            .check_key(&account.to_owned())
            .map_err(wait)?;
        Ok(())
    }

    /// Drops state of keys that are back at full quota.
    fn sweep(&self) {
        self.by_ip.retain_recent();
        self.by_account.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-account limit applies across addresses; other accounts are unaffected.
    #[test]
    fn account_limit() {
        let l = LoginLimiter::new(100, 3);
        for i in 0..3 {
            assert!(l.check(Some(IpAddr::from([10, 0, 0, i])), "a@x").is_ok());
        }
        assert!(l.check(Some(IpAddr::from([10, 0, 0, 9])), "a@x").is_err());
        assert!(l.check(Some(IpAddr::from([10, 0, 0, 9])), "b@x").is_ok());
    }

    /// The per-IP limit applies across accounts.
    #[test]
    fn ip_limit() {
        let l = LoginLimiter::new(2, 100);
        let ip = Some(IpAddr::from([127, 0, 0, 1]));
        assert!(l.check(ip, "a").is_ok());
        assert!(l.check(ip, "b").is_ok());
        assert!(l.check(ip, "c").is_err());
    }
}
