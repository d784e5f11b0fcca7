//! Receipts of inbound provider webhooks, by the sender's delivery id.

use super::{Conn, Result};

/// Records the receipt; false when `(source, id)` was recorded before.
pub async fn insert_if_new(conn: &mut Conn, source: &str, id: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO webhook_receipts (source, receipt_id, received_at) VALUES ($1, $2, $3) \
         ON CONFLICT (source, receipt_id) DO NOTHING",
    )
    .bind(source)
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets receipts older than `before` (epoch ms).
pub async fn prune(conn: &mut Conn, before: i64) -> Result<u64> {
    let done = sqlx::query("DELETE FROM webhook_receipts WHERE received_at < $1")
        .bind(before)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
