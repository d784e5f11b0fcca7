//! Invitations to join a tenant; the token is stored as a SHA-256 hash.

use sqlx::FromRow;

use super::scoped::{self, Table};
use super::{now_ms, Conn, Result};
use crate::ids::InvitationId;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct InvitationRow {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    pub role: String,
    pub invited_by: String,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, tenant_id, email, role, invited_by, expires_at, accepted_at, revoked_at, created_at";
const TABLE: Table = Table {
    name: "invitations",
    columns: COLUMNS,
};

pub struct NewInvitation<'a> {
    pub id: &'a InvitationId,
    pub email: &'a str,
    pub role: &'a str,
    pub token_hash: &'a str,
    pub expires_at: i64,
}

pub async fn insert(tx: &mut Conn, ctx: &TenantCtx, inv: NewInvitation<'_>) -> Result<InvitationRow> {
    sqlx::query(
        "INSERT INTO invitations (id, tenant_id, email, role, token_hash, invited_by, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(inv.id.as_str())
    .bind(ctx.tenant_id.as_str())
    .bind(inv.email)
    .bind(inv.role)
    .bind(inv.token_hash)
    .bind(ctx.actor.subject())
    .bind(inv.expires_at)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    get(tx, ctx, inv.id).await
}

pub async fn get(tx: &mut Conn, ctx: &TenantCtx, id: &InvitationId) -> Result<InvitationRow> {
    scoped::get(tx, ctx, &TABLE, id.as_str()).await
}

pub async fn list(tx: &mut Conn, ctx: &TenantCtx, after: Option<&str>, limit: i64) -> Result<Vec<InvitationRow>> {
    scoped::page(tx, ctx, &TABLE, after, limit).await
}

/// The token is the credential, so this lookup precedes knowing the tenant.
pub async fn find_by_hash(tx: &mut Conn, hash: &str) -> Result<Option<InvitationRow>> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM invitations WHERE token_hash = $1"))
            .bind(hash)
            .fetch_optional(&mut *tx)
            .await?,
    )
}

/// Marks an invitation accepted; false when it was accepted or revoked concurrently.
pub async fn mark_accepted(tx: &mut Conn, id: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE invitations SET accepted_at = $2 WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn revoke(tx: &mut Conn, ctx: &TenantCtx, id: &InvitationId) -> Result<InvitationRow> {
    sqlx::query(
        "UPDATE invitations SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 \
         AND revoked_at IS NULL AND accepted_at IS NULL",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(id.as_str())
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    get(tx, ctx, id).await
}
