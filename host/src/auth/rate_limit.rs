//! Rate limits (governor's GCRA): per principal for the API, per email and per client address
//! for login attempts.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct Limiter {
    inner: DefaultKeyedRateLimiter<String>,
}

impl Limiter {
    pub fn per_second(rate: u32, burst: u32) -> Self {
        let quota = Quota::per_second(nonzero(rate)).allow_burst(nonzero(burst));
        Self {
            inner: RateLimiter::keyed(quota),
        }
    }

    pub fn per_minute(rate: u32) -> Self {
        Self {
            inner: RateLimiter::keyed(Quota::per_minute(nonzero(rate))),
        }
    }

    /// `Err(wait)` when `key` is over its limit.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.inner
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Drops state of keys that are back under their limit, bounding memory.
    pub fn shrink(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refusal_with_a_wait() {
        let limiter = Limiter::per_minute(2);
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_ok());
        let wait = limiter.check("a").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(30));
        assert!(limiter.check("b").is_ok(), "keys are independent");
    }
}
