//! Stored responses for `Idempotency-Key` replays.

use sqlx::FromRow;

use super::{now_ms, Conn, Result};

#[derive(Debug, Clone, FromRow)]
pub struct IdempotencyRow {
    pub request_hash: String,
    pub status: Option<i64>,
    pub content_type: Option<String>,
    pub body: Option<String>,
}

/// Claims `(scope, key)` for a new request; returns the existing row when already claimed.
pub async fn claim(tx: &mut Conn, scope: &str, key: &str, request_hash: &str) -> Result<Option<IdempotencyRow>> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (scope, key) DO NOTHING",
    )
    .bind(scope)
    .bind(key)
    .bind(request_hash)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(None);
    }
    Ok(sqlx::query_as(
        "SELECT request_hash, status, content_type, body FROM idempotency_keys WHERE scope = $1 AND key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_optional(&mut *tx)
    .await?)
}

pub async fn complete(
    tx: &mut Conn,
    scope: &str,
    key: &str,
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Result<()> {
    sqlx::query("UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5 WHERE scope = $1 AND key = $2")
        .bind(scope)
        .bind(key)
        .bind(status as i64)
        .bind(content_type)
        .bind(body)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Forgets a claim whose request failed on our side, so a retry runs again.
pub async fn release(tx: &mut Conn, scope: &str, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2")
        .bind(scope)
        .bind(key)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
