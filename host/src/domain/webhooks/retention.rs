//! Forgetting old deliveries: the delivery log keeps finished deliveries and their attempts for
//! `webhooks_retention_days`, so the tables stay as large as a few weeks of traffic.

use std::time::Duration;

use crate::state::AppState;
use crate::store::{self, now_ms, StoreError};

/// Deliveries deleted per transaction, so pruning never holds the write lock for long.
const BATCH: i64 = 5_000;

/// Deletes finished deliveries past the retention; pending ones stay whatever their age.
/// Returns how many went.
pub async fn prune(state: &AppState) -> Result<u64, StoreError> {
    let retention = Duration::from_secs(state.config.webhooks_retention_days.saturating_mul(24 * 3600));
    let before = now_ms() - retention.as_millis() as i64;
    state
        .store
        .delete_in_batches(BATCH, |tx, limit| {
            Box::pin(store::webhook_deliveries::prune(tx, before, limit))
        })
        .await
}
