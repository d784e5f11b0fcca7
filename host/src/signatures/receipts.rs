//! Replay protection for inbound webhooks: each delivery id is processed once. Record the receipt
//! in the transaction that applies the webhook's effects, so a crash between the two can't drop the
//! effect yet keep the receipt (the sender's retry then applies it).

use std::time::Duration;

use crate::store::{self, now_ms, Conn, Store, StoreError};

/// How long receipts are kept: longer than any provider retries a delivery (Svix about a day and a
/// half, Shopify two days).
pub const RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// True the first time `(source, id)` is seen. `source` names the sender and scope, e.g.
/// `resend:ten_…` or `shopify:ins_…`.
pub async fn first_delivery(conn: &mut Conn, source: &str, id: &str) -> Result<bool, StoreError> {
    store::webhook_receipts::insert_if_new(conn, source, id, now_ms()).await
}

/// Forgets receipts past the retention.
pub async fn prune(store: &Store) -> Result<u64, StoreError> {
    let mut tx = store.system_tx().await?;
    let pruned = store::webhook_receipts::prune(&mut tx, now_ms() - RETENTION.as_millis() as i64).await?;
    tx.commit().await?;
    Ok(pruned)
}
