//! What each installation's KV entries take, as this process last read it plus what it put
//! since, so a put far below the quota skips reading the total. The total is a sum over the
//! installation's usage rows (128 shards on PostgreSQL, kept by a trigger): in the shopify
//! benchmark that read made the KV put the most expensive statement of a webhook. A reading is
//! trusted for a second, and only while it leaves a quarter of the quota free: puts of other
//! processes meanwhile are not in it, so they would have to put that quarter within the second
//! to pass the quota unnoticed. Near the quota every put reads the total again.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a reading of the total is trusted.
const FRESH: Duration = Duration::from_secs(1);

struct Reading {
    total: i64,
    /// Bytes this process put since (overwritten and deleted entries not taken off).
    since: AtomicI64,
}

pub struct KvUsage {
    readings: moka::sync::Cache<String, Arc<Reading>>,
}

impl Default for KvUsage {
    fn default() -> Self {
        Self {
            readings: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(FRESH)
                .build(),
        }
    }
}

impl KvUsage {
    /// Whether a put of `bytes` surely keeps the installation within `quota` without reading
    /// its total.
    pub fn has_room(&self, installation: &str, bytes: i64, quota: i64) -> bool {
        self.readings
            .get(installation)
            .is_some_and(|r| r.total + r.since.load(Ordering::Relaxed) + bytes <= quota - quota / 4)
    }

    /// The total as just read.
    pub fn read(&self, installation: &str, total: i64) {
        let reading = Reading {
            total,
            since: AtomicI64::new(0),
        };
        self.readings.insert(installation.to_owned(), Arc::new(reading));
    }

    /// A put of `bytes` this process made.
    pub fn put(&self, installation: &str, bytes: i64) {
        if let Some(r) = self.readings.get(installation) {
            r.since.fetch_add(bytes, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_known_only_after_a_reading_and_shrinks_with_puts() {
        let usage = KvUsage::default();
        assert!(!usage.has_room("ins", 1, 1000), "no reading yet");
        usage.read("ins", 600);
        assert!(usage.has_room("ins", 150, 1000));
        assert!(!usage.has_room("ins", 151, 1000), "a quarter of the quota stays free");
        usage.put("ins", 100);
        assert!(usage.has_room("ins", 50, 1000));
        assert!(!usage.has_room("ins", 51, 1000));
        assert!(!usage.has_room("other", 1, 1000));
    }
}
