//! Saved segments: a name and a rule tree, kept as the JSON the client sent.

use sqlx::FromRow;

use super::scoped::{self, Table};
use super::{now_ms, Conn, Result, StoreError};
use crate::ids::SegmentId;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct SegmentRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// JSON rule tree.
    pub rules: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const TABLE: Table = Table {
    name: "segments",
    columns: "id, name, description, rules, created_at, updated_at",
};

/// What a segment is made of, as written.
pub struct Fields<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub rules: &'a str,
}

pub async fn insert(tx: &mut Conn, ctx: &TenantCtx, id: &SegmentId, f: &Fields<'_>) -> Result<SegmentRow> {
    sqlx::query(
        "INSERT INTO segments (id, tenant_id, name, description, rules, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(id.as_str())
    .bind(ctx.tenant_id.as_str())
    .bind(f.name)
    .bind(f.description)
    .bind(f.rules)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    get(tx, ctx, id).await
}

pub async fn update(tx: &mut Conn, ctx: &TenantCtx, id: &SegmentId, f: &Fields<'_>) -> Result<SegmentRow> {
    let done = sqlx::query(
        "UPDATE segments SET name = $3, description = $4, rules = $5, updated_at = $6 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(id.as_str())
    .bind(f.name)
    .bind(f.description)
    .bind(f.rules)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get(tx, ctx, id).await
}

pub async fn get(tx: &mut Conn, ctx: &TenantCtx, id: &SegmentId) -> Result<SegmentRow> {
    scoped::get(tx, ctx, &TABLE, id.as_str()).await
}

pub async fn page(tx: &mut Conn, ctx: &TenantCtx, after: Option<&str>, limit: i64) -> Result<Vec<SegmentRow>> {
    scoped::page(tx, ctx, &TABLE, after, limit).await
}

pub async fn delete(tx: &mut Conn, ctx: &TenantCtx, id: &SegmentId) -> Result<()> {
    scoped::delete(tx, ctx, &TABLE, id.as_str()).await
}
