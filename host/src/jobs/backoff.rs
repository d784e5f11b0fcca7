//! Retry delays: exponential in the attempt number, with jitter so jobs that failed together
//! (a provider outage) do not all retry in the same instant.

use rand::Rng;

/// Longest delay between attempts, whatever the base.
const MAX_DELAY_MS: u64 = 60 * 60 * 1000;

/// The delay after failed attempt `attempt` (1 for the first): `base · 2^(attempt-1)`, capped,
/// then a uniformly random 50–100 % of it.
pub fn delay_ms(base_ms: u64, attempt: u32) -> u64 {
    let exp = base_ms
        .saturating_mul(1u64 << attempt.saturating_sub(1).min(30))
        .min(MAX_DELAY_MS);
    rand::thread_rng().gen_range(exp / 2..=exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_per_attempt_with_bounded_jitter_and_a_cap() {
        for attempt in 1..=5u32 {
            let full = 100 * (1u64 << (attempt - 1));
            let d = delay_ms(100, attempt);
            assert!((full / 2..=full).contains(&d), "attempt {attempt}: {d}");
        }
        assert!(delay_ms(1_000, 64) <= MAX_DELAY_MS);
        assert_eq!(delay_ms(0, 3), 0);
    }
}
