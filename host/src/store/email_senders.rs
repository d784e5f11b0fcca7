//! Sender addresses tenants verified, or are verifying.

use sqlx::FromRow;

use super::{now_ms, Conn, Result, StoreError};
use crate::ids::EmailSenderId;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct SenderRow {
    pub id: String,
    pub email: String,
    /// `pending` or `verified`.
    pub status: String,
    pub created_at: i64,
    pub verified_at: Option<i64>,
}

const COLUMNS: &str = "SELECT id, email, status, created_at, verified_at FROM email_senders";

/// Adds a pending sender; `Conflict` when the tenant has the address already.
pub async fn insert(tx: &mut Conn, ctx: &TenantCtx, id: &EmailSenderId, email: &str) -> Result<SenderRow> {
    let done = sqlx::query(
        "INSERT INTO email_senders (id, tenant_id, email, status, created_at) VALUES ($1, $2, $3, 'pending', $4) \
         ON CONFLICT (tenant_id, email) DO NOTHING",
    )
    .bind(id.as_str())
    .bind(ctx.tenant_id.as_str())
    .bind(email)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict { field: "email" });
    }
    get(tx, ctx, id.as_str()).await
}

pub async fn get(conn: &mut Conn, ctx: &TenantCtx, id: &str) -> Result<SenderRow> {
    sqlx::query_as(&format!("{COLUMNS} WHERE tenant_id = $1 AND id = $2"))
        .bind(ctx.tenant_id.as_str())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn page(conn: &mut Conn, ctx: &TenantCtx, after: Option<&str>, limit: i64) -> Result<Vec<SenderRow>> {
    Ok(sqlx::query_as(&format!(
        "{COLUMNS} WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(ctx.tenant_id.as_str())
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// True when the tenant verified `email`.
pub async fn is_verified(conn: &mut Conn, ctx: &TenantCtx, email: &str) -> Result<bool> {
    let found: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM email_senders WHERE tenant_id = $1 AND email = $2 AND status = 'verified'",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(email)
    .fetch_one(&mut *conn)
    .await?;
    Ok(found > 0)
}

/// Marks a sender verified; true when it was pending.
pub async fn verify(tx: &mut Conn, ctx: &TenantCtx, id: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE email_senders SET status = 'verified', verified_at = $3 \
         WHERE tenant_id = $1 AND id = $2 AND status = 'pending'",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(id)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// True when there was something to remove.
pub async fn delete(tx: &mut Conn, ctx: &TenantCtx, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM email_senders WHERE tenant_id = $1 AND id = $2")
        .bind(ctx.tenant_id.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The tenant of a sender, any tenant: for the verification link, whose token names the
/// sender and was checked before.
pub async fn tenant_of(conn: &mut Conn, id: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT tenant_id FROM email_senders WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}
