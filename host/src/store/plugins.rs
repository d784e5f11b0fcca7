//! Tenants' uploaded plugins and their versions (the component bytes live in the database so
//! every host can load them).

use sqlx::FromRow;

use super::{conflict_on, now_ms, Conn, Result, StoreError};
use crate::ids::PluginId;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct VersionRow {
    pub plugin_id: String,
    pub name: String,
    pub version: String,
    /// The manifest as JSON.
    pub manifest: String,
    pub sha256: String,
}

/// The tenant's plugin named `name`, creating it when new.
pub async fn ensure(tx: &mut Conn, ctx: &TenantCtx, name: &str) -> Result<PluginId> {
    let existing: Option<String> = sqlx::query_scalar("SELECT id FROM plugins WHERE tenant_id = $1 AND name = $2")
        .bind(ctx.tenant_id.as_str())
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(id) = existing {
        return Ok(crate::ids::PrefixedId::from_raw(id));
    }
    let id = <PluginId as crate::ids::PrefixedId>::generate();
    sqlx::query("INSERT INTO plugins (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id.as_str())
        .bind(ctx.tenant_id.as_str())
        .bind(name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(conflict_on("name"))?;
    Ok(id)
}

pub struct NewVersion<'a> {
    pub version: &'a str,
    pub manifest: &'a str,
    pub wasm: &'a [u8],
    pub sha256: &'a str,
}

pub async fn insert_version(tx: &mut Conn, ctx: &TenantCtx, plugin: &PluginId, v: &NewVersion<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO plugin_versions (plugin_id, tenant_id, version, manifest, wasm, sha256, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(plugin.as_str())
    .bind(ctx.tenant_id.as_str())
    .bind(v.version)
    .bind(v.manifest)
    .bind(v.wasm)
    .bind(v.sha256)
    .bind(now_ms())
    .execute(&mut *tx)
    .await
    .map_err(conflict_on("version"))?;
    Ok(())
}

const VERSION_COLUMNS: &str = "v.plugin_id, p.name, v.version, v.manifest, v.sha256";

/// One version of the tenant's plugin, or its newest when `version` is `None` (newest by
/// upload time: versions are added in order).
pub async fn version(tx: &mut Conn, ctx: &TenantCtx, plugin: &PluginId, version: Option<&str>) -> Result<VersionRow> {
    sqlx::query_as(&format!(
        "SELECT {VERSION_COLUMNS} FROM plugin_versions v JOIN plugins p ON p.id = v.plugin_id \
         WHERE v.tenant_id = $1 AND v.plugin_id = $2 AND ($3 = '' OR v.version = $3) \
         ORDER BY v.created_at DESC LIMIT 1"
    ))
    .bind(ctx.tenant_id.as_str())
    .bind(plugin.as_str())
    .bind(version.unwrap_or(""))
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(StoreError::NotFound)
}

/// The component bytes of a version.
pub async fn wasm(tx: &mut Conn, ctx: &TenantCtx, plugin: &PluginId, version: &str) -> Result<Vec<u8>> {
    sqlx::query_scalar("SELECT wasm FROM plugin_versions WHERE tenant_id = $1 AND plugin_id = $2 AND version = $3")
        .bind(ctx.tenant_id.as_str())
        .bind(plugin.as_str())
        .bind(version)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)
}
