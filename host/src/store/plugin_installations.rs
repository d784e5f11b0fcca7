//! Installations: a plugin version in a tenant, with its config, sealed secrets and grants.

use sqlx::FromRow;

use super::scoped::{self, Table};
use super::{now_ms, Conn, Result, StoreError};
use crate::ids::InstallationId;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct InstallationRow {
    pub id: String,
    pub plugin: String,
    pub version: String,
    pub enabled: i64,
    /// JSON without the secret fields.
    pub config: String,
    pub secrets: Option<Vec<u8>>,
    /// JSON array of capability names.
    pub capabilities: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const TABLE: Table = Table {
    name: "plugin_installations",
    columns: "id, plugin, version, enabled, config, secrets, capabilities, created_at, updated_at",
};

/// What an installation is made of, as written.
pub struct Fields<'a> {
    pub plugin: &'a str,
    pub version: &'a str,
    pub enabled: bool,
    pub config: &'a str,
    pub secrets: Option<&'a [u8]>,
    pub capabilities: &'a str,
}

pub async fn insert(tx: &mut Conn, ctx: &TenantCtx, id: &InstallationId, f: &Fields<'_>) -> Result<InstallationRow> {
    sqlx::query(
        "INSERT INTO plugin_installations \
         (id, tenant_id, plugin, version, enabled, config, secrets, capabilities, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(id.as_str())
    .bind(ctx.tenant_id.as_str())
    .bind(f.plugin)
    .bind(f.version)
    .bind(i64::from(f.enabled))
    .bind(f.config)
    .bind(f.secrets)
    .bind(f.capabilities)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    get(tx, ctx, id).await
}

pub async fn update(tx: &mut Conn, ctx: &TenantCtx, id: &InstallationId, f: &Fields<'_>) -> Result<InstallationRow> {
    let done = sqlx::query(
        "UPDATE plugin_installations SET plugin = $3, version = $4, enabled = $5, config = $6, secrets = $7, \
         capabilities = $8, updated_at = $9 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(id.as_str())
    .bind(f.plugin)
    .bind(f.version)
    .bind(i64::from(f.enabled))
    .bind(f.config)
    .bind(f.secrets)
    .bind(f.capabilities)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get(tx, ctx, id).await
}

pub async fn get(tx: &mut Conn, ctx: &TenantCtx, id: &InstallationId) -> Result<InstallationRow> {
    scoped::get(tx, ctx, &TABLE, id.as_str()).await
}

/// The tenant's enabled installations: the candidates for its domain events.
pub async fn enabled(tx: &mut Conn, ctx: &TenantCtx) -> Result<Vec<InstallationRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {} FROM {} WHERE tenant_id = $1 AND enabled = 1 ORDER BY id",
        TABLE.columns, TABLE.name
    ))
    .bind(ctx.tenant_id.as_str())
    .fetch_all(&mut *tx)
    .await?)
}

pub async fn page(tx: &mut Conn, ctx: &TenantCtx, after: Option<&str>, limit: i64) -> Result<Vec<InstallationRow>> {
    scoped::page(tx, ctx, &TABLE, after, limit).await
}

/// Deletes the installation; its KV data, runs and logs go with it.
pub async fn delete(tx: &mut Conn, ctx: &TenantCtx, id: &InstallationId) -> Result<()> {
    for table in ["plugin_kv", "plugin_logs", "plugin_runs"] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE tenant_id = $1 AND installation_id = $2"
        ))
        .bind(ctx.tenant_id.as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    }
    let done = sqlx::query("DELETE FROM plugin_installations WHERE tenant_id = $1 AND id = $2")
        .bind(ctx.tenant_id.as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
