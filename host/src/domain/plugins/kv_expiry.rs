//! Forgetting expired KV entries: they are invisible from the moment they expire, and deleted
//! hourly by housekeeping so the table holds only what is live.

use crate::store::{self, now_ms, Store, StoreError};

/// Entries deleted per transaction.
const BATCH: i64 = 5_000;

/// Deletes the entries of every installation expired by now. Returns how many went.
pub async fn prune(store: &Store) -> Result<u64, StoreError> {
    let now = now_ms();
    store
        .delete_in_batches(BATCH, |tx, limit| {
            Box::pin(store::plugin_kv::prune_expired(tx, now, limit))
        })
        .await
}
