//! When delivery attempts run: `SWITCHBOARD_WEBHOOKS_RETRY_SCHEDULE`, the delay before each
//! attempt, as comma-separated durations. The default is close to Svix's: at once, then 5 s,
//! 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (eight attempts over about 28 hours).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RetrySchedule(Vec<Duration>);

const DEFAULT: &str = "0s,5s,5m,30m,2h,5h,10h,10h";

impl Default for RetrySchedule {
    fn default() -> Self {
        DEFAULT.parse().expect("the default schedule parses")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BadSchedule {
    #[error("the retry schedule needs at least one duration")]
    Empty,
    #[error("{0:?} is not a duration such as 5s, 5m or 2h")]
    Duration(String),
}

impl FromStr for RetrySchedule {
    type Err = BadSchedule;
    fn from_str(s: &str) -> Result<Self, BadSchedule> {
        let delays = s
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| humantime::parse_duration(part).map_err(|_| BadSchedule::Duration(part.to_owned())))
            .collect::<Result<Vec<_>, _>>()?;
        if delays.is_empty() {
            return Err(BadSchedule::Empty);
        }
        Ok(RetrySchedule(delays))
    }
}

impl TryFrom<String> for RetrySchedule {
    type Error = BadSchedule;
    fn try_from(s: String) -> Result<Self, BadSchedule> {
        s.parse()
    }
}

impl From<RetrySchedule> for String {
    fn from(r: RetrySchedule) -> String {
        r.to_string()
    }
}

impl fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|d| humantime::format_duration(*d).to_string())
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl RetrySchedule {
    /// Attempts a delivery gets.
    pub fn attempts(&self) -> u32 {
        self.0.len() as u32
    }

    /// The delay before attempt `attempt` (1 for the first), jittered down by up to a fifth so
    /// that deliveries failing together (an endpoint outage) do not all retry in one instant;
    /// `None` after the last attempt.
    pub fn delay_before(&self, attempt: u32) -> Option<Duration> {
        let base = *self.0.get(attempt.checked_sub(1)? as usize)?;
        let jitter = rand::thread_rng().gen_range(0.8..=1.0);
        Some(base.mul_f64(jitter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_svix_like() {
        let s = RetrySchedule::default();
        assert_eq!(s.attempts(), 8);
        assert_eq!(s.delay_before(1), Some(Duration::ZERO));
        let second = s.delay_before(2).unwrap();
        assert!(
            (Duration::from_secs(4)..=Duration::from_secs(5)).contains(&second),
            "{second:?}"
        );
        let last = s.delay_before(8).unwrap();
        assert!((Duration::from_secs(8 * 3600)..=Duration::from_secs(10 * 3600)).contains(&last));
        assert_eq!(s.delay_before(9), None);
        assert_eq!(s.delay_before(0), None);
    }

    #[test]
    fn schedules_parse_and_print() {
        let s: RetrySchedule = " 1s, 5s ,5m,".parse().unwrap();
        assert_eq!(s.attempts(), 3);
        assert_eq!(s.to_string(), "1s,5s,5m");
        assert_eq!("10ms".parse::<RetrySchedule>().unwrap().to_string(), "10ms");
        assert!(matches!("".parse::<RetrySchedule>(), Err(BadSchedule::Empty)));
        assert!(matches!(
            "5 parsecs".parse::<RetrySchedule>(),
            Err(BadSchedule::Duration(_))
        ));
    }
}
