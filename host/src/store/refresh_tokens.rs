//! Refresh tokens: stored as SHA-256 hashes, chained in families so that reuse of a rotated
//! token can revoke every token descended from the same login.

use sqlx::FromRow;

use super::{now_ms, Conn, Result};
use crate::ids::{RefreshTokenId, TenantId, UserId};

#[derive(Debug, Clone, FromRow)]
pub struct RefreshTokenRow {
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub family_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub struct NewRefreshToken<'a> {
    pub id: &'a RefreshTokenId,
    pub tenant_id: &'a TenantId,
    pub user_id: &'a UserId,
    pub family_id: &'a str,
    pub token_hash: &'a str,
    pub expires_at: i64,
}

pub async fn insert(tx: &mut Conn, t: NewRefreshToken<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, tenant_id, user_id, family_id, token_hash, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(t.id.as_str())
    .bind(t.tenant_id.as_str())
    .bind(t.user_id.as_str())
    .bind(t.family_id)
    .bind(t.token_hash)
    .bind(t.expires_at)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The token is the credential, so this lookup precedes knowing the tenant.
pub async fn find_by_hash(tx: &mut Conn, hash: &str) -> Result<Option<RefreshTokenRow>> {
    Ok(sqlx::query_as(
        "SELECT id, tenant_id, user_id, family_id, expires_at, used_at, revoked_at \
         FROM refresh_tokens WHERE token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(&mut *tx)
    .await?)
}

/// Marks a token used; false when another request used it first.
pub async fn mark_used(tx: &mut Conn, id: &str) -> Result<bool> {
    let done = sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
        .bind(id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn revoke_family(tx: &mut Conn, family_id: &str) -> Result<()> {
    sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
        .bind(family_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    Ok(())
}
