//! Tenants.

use sqlx::FromRow;

use super::{now_ms, Conn, Result, StoreError};
use crate::ids::TenantId;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct TenantRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Creates a tenant; runs in the system transaction that also creates its owner.
pub async fn insert(tx: &mut Conn, id: &TenantId, name: &str) -> Result<TenantRow> {
    let now = now_ms();
    sqlx::query("INSERT INTO tenants (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)")
        .bind(id.as_str())
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    Ok(TenantRow {
        id: id.to_string(),
        name: name.to_owned(),
        created_at: now,
        updated_at: now,
    })
}

pub async fn get(tx: &mut Conn, ctx: &TenantCtx) -> Result<TenantRow> {
    sqlx::query_as("SELECT id, name, created_at, updated_at FROM tenants WHERE id = $1")
        .bind(ctx.tenant_id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn rename(tx: &mut Conn, ctx: &TenantCtx, name: &str) -> Result<TenantRow> {
    sqlx::query("UPDATE tenants SET name = $2, updated_at = $3 WHERE id = $1")
        .bind(ctx.tenant_id.as_str())
        .bind(name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    get(tx, ctx).await
}
