//! API keys: machine credentials, stored as SHA-256 hashes of their secrets.

use sqlx::FromRow;

use super::scoped::{self, Table};
use super::{now_ms, Conn, Result};
use crate::ids::ApiKeyId;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub role: String,
    pub prefix: String,
    pub created_by: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

const COLUMNS: &str = "id, tenant_id, name, role, prefix, created_by, created_at, revoked_at";
const TABLE: Table = Table {
    name: "api_keys",
    columns: COLUMNS,
};

pub struct NewApiKey<'a> {
    pub id: &'a ApiKeyId,
    pub name: &'a str,
    pub role: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a str,
}

pub async fn insert(tx: &mut Conn, ctx: &TenantCtx, key: NewApiKey<'_>) -> Result<ApiKeyRow> {
    sqlx::query(
        "INSERT INTO api_keys (id, tenant_id, name, role, prefix, secret_hash, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(key.id.as_str())
    .bind(ctx.tenant_id.as_str())
    .bind(key.name)
    .bind(key.role)
    .bind(key.prefix)
    .bind(key.secret_hash)
    .bind(ctx.actor.subject())
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    get(tx, ctx, key.id).await
}

/// Authentication lookup: the secret is the credential, so this precedes knowing the tenant.
pub async fn find_active_by_hash(tx: &mut Conn, hash: &str) -> Result<Option<ApiKeyRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL"
    ))
    .bind(hash)
    .fetch_optional(&mut *tx)
    .await?)
}

pub async fn get(tx: &mut Conn, ctx: &TenantCtx, id: &ApiKeyId) -> Result<ApiKeyRow> {
    scoped::get(tx, ctx, &TABLE, id.as_str()).await
}

pub async fn list(tx: &mut Conn, ctx: &TenantCtx, after: Option<&str>, limit: i64) -> Result<Vec<ApiKeyRow>> {
    scoped::page(tx, ctx, &TABLE, after, limit).await
}

pub async fn revoke(tx: &mut Conn, ctx: &TenantCtx, id: &ApiKeyId) -> Result<ApiKeyRow> {
    sqlx::query("UPDATE api_keys SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
        .bind(ctx.tenant_id.as_str())
        .bind(id.as_str())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    get(tx, ctx, id).await
}

/// Subjects holding each role, for the authorization policy.
pub async fn role_assignments(tx: &mut Conn, ctx: &TenantCtx) -> Result<Vec<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT id, role FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL")
            .bind(ctx.tenant_id.as_str())
            .fetch_all(&mut *tx)
            .await?,
    )
}
