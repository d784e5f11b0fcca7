//! CSV imports and their per-row errors.

use sqlx::FromRow;

use super::scoped::{self, Table};
use super::{now_ms, Conn, Result, StoreError};
use crate::ids::ImportId;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct ImportRow {
    pub id: String,
    pub status: String,
    pub mode: String,
    pub mapping: Option<String>,
    pub file_path: String,
    pub rows_done: i64,
    pub created: i64,
    pub updated: i64,
    pub failed: i64,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const TABLE: Table = Table {
    name: "imports",
    columns: "id, status, mode, mapping, file_path, rows_done, created, updated, failed, error, created_at, updated_at",
};

pub async fn insert(
    tx: &mut Conn,
    ctx: &TenantCtx,
    id: &ImportId,
    mode: &str,
    mapping: Option<&str>,
    file_path: &str,
) -> Result<ImportRow> {
    sqlx::query(
        "INSERT INTO imports (id, tenant_id, status, mode, mapping, file_path, rows_done, created, updated, failed, \
         created_at, updated_at) VALUES ($1, $2, 'queued', $3, $4, $5, 0, 0, 0, 0, $6, $6)",
    )
    .bind(id.as_str())
    .bind(ctx.tenant_id.as_str())
    .bind(mode)
    .bind(mapping)
    .bind(file_path)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    get(tx, ctx, id).await
}

pub async fn get(conn: &mut Conn, ctx: &TenantCtx, id: &ImportId) -> Result<ImportRow> {
    scoped::get(conn, ctx, &TABLE, id.as_str()).await
}

/// Moves the import to `status` (with an error for `failed`).
pub async fn set_status(
    tx: &mut Conn,
    ctx: &TenantCtx,
    id: &ImportId,
    status: &str,
    error: Option<&str>,
) -> Result<()> {
    let done =
        sqlx::query("UPDATE imports SET status = $3, error = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2")
            .bind(ctx.tenant_id.as_str())
            .bind(id.as_str())
            .bind(status)
            .bind(error)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// What one committed batch adds to the counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub rows: i64,
    pub created: i64,
    pub updated: i64,
    pub failed: i64,
}

/// Adds a batch's counts, in the batch's transaction, so `rows_done` is exactly the rows committed.
pub async fn add_progress(tx: &mut Conn, ctx: &TenantCtx, id: &ImportId, p: Progress) -> Result<()> {
    sqlx::query(
        "UPDATE imports SET rows_done = rows_done + $3, created = created + $4, updated = updated + $5, \
         failed = failed + $6, updated_at = $7 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(id.as_str())
    .bind(p.rows)
    .bind(p.created)
    .bind(p.updated)
    .bind(p.failed)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ImportErrorRow {
    pub row_number: i64,
    pub column_name: String,
    pub reason: String,
}

pub async fn insert_error(tx: &mut Conn, ctx: &TenantCtx, id: &ImportId, e: &ImportErrorRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO import_errors (tenant_id, import_id, row_number, column_name, reason) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(id.as_str())
    .bind(e.row_number)
    .bind(&e.column_name)
    .bind(&e.reason)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Up to `limit` errors of the import after row `after_row`, in row order.
pub async fn errors(
    conn: &mut Conn,
    ctx: &TenantCtx,
    id: &ImportId,
    after_row: i64,
    limit: i64,
) -> Result<Vec<ImportErrorRow>> {
    Ok(sqlx::query_as(
        "SELECT row_number, column_name, reason FROM import_errors WHERE tenant_id = $1 AND import_id = $2 \
         AND row_number > $3 ORDER BY row_number LIMIT $4",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(id.as_str())
    .bind(after_row)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}
