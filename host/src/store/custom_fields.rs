//! Custom field definitions.

use sqlx::FromRow;

use super::{conflict_on, now_ms, Conn, Result, StoreError};
use crate::ids::CustomFieldId;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct CustomFieldRow {
    pub id: String,
    pub key: String,
    pub label: String,
    pub field_type: String,
    /// JSON array of allowed values for enums.
    pub options: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, key, label, field_type, options, created_at";

pub async fn insert(
    tx: &mut Conn,
    ctx: &TenantCtx,
    id: &CustomFieldId,
    key: &str,
    label: &str,
    field_type: &str,
    options: Option<&str>,
) -> Result<CustomFieldRow> {
    sqlx::query(
        "INSERT INTO custom_fields (id, tenant_id, key, label, field_type, options, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.as_str())
    .bind(ctx.tenant_id.as_str())
    .bind(key)
    .bind(label)
    .bind(field_type)
    .bind(options)
    .bind(now_ms())
    .execute(&mut *tx)
    .await
    .map_err(conflict_on("key"))?;
    get(tx, ctx, key).await
}

pub async fn get(tx: &mut Conn, ctx: &TenantCtx, key: &str) -> Result<CustomFieldRow> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM custom_fields WHERE tenant_id = $1 AND key = $2"
    ))
    .bind(ctx.tenant_id.as_str())
    .bind(key)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(StoreError::NotFound)
}

pub async fn list(tx: &mut Conn, ctx: &TenantCtx) -> Result<Vec<CustomFieldRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM custom_fields WHERE tenant_id = $1 ORDER BY key"
    ))
    .bind(ctx.tenant_id.as_str())
    .fetch_all(&mut *tx)
    .await?)
}

pub async fn update(
    tx: &mut Conn,
    ctx: &TenantCtx,
    key: &str,
    label: &str,
    options: Option<&str>,
) -> Result<CustomFieldRow> {
    sqlx::query("UPDATE custom_fields SET label = $3, options = $4 WHERE tenant_id = $1 AND key = $2")
        .bind(ctx.tenant_id.as_str())
        .bind(key)
        .bind(label)
        .bind(options)
        .execute(&mut *tx)
        .await?;
    get(tx, ctx, key).await
}

/// Deletes the definition and every value stored under it.
pub async fn delete(tx: &mut Conn, ctx: &TenantCtx, key: &str) -> Result<()> {
    get(tx, ctx, key).await?;
    // One statement per partial value index, so each finds its rows through the index; every
    // stored value has a text or a number.
    for column in ["value_num", "value_text"] {
        sqlx::query(&format!(
            "DELETE FROM customer_field_values WHERE field_key = $2 AND tenant_id = $1 AND {column} IS NOT NULL"
        ))
        .bind(ctx.tenant_id.as_str())
        .bind(key)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM custom_fields WHERE tenant_id = $1 AND key = $2")
        .bind(ctx.tenant_id.as_str())
        .bind(key)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
