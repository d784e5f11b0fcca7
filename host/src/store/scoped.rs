//! Lookups by id and cursor pages, shared by the tenant-owned tables. The tenant predicate is
//! written here once; table and column names are constants of the calling module, never input.

use sqlx::any::AnyRow;
use sqlx::FromRow;

use super::{Conn, Result, StoreError};
use crate::tenancy::TenantCtx;

pub struct Table {
    pub name: &'static str,
    pub columns: &'static str,
}

/// The row with `id` in the context's tenant.
pub async fn get<T>(conn: &mut Conn, ctx: &TenantCtx, table: &Table, id: &str) -> Result<T>
where
    T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    sqlx::query_as(&format!(
        "SELECT {} FROM {} WHERE tenant_id = $1 AND id = $2",
        table.columns, table.name
    ))
    .bind(ctx.tenant_id.as_str())
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)
}

/// Up to `limit` rows of the context's tenant with ids after `after`, oldest first.
pub async fn page<T>(conn: &mut Conn, ctx: &TenantCtx, table: &Table, after: Option<&str>, limit: i64) -> Result<Vec<T>>
where
    T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    Ok(sqlx::query_as(&format!(
        "SELECT {} FROM {} WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        table.columns, table.name
    ))
    .bind(ctx.tenant_id.as_str())
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// Deletes the row with `id` in the context's tenant; `NotFound` when there is none.
pub async fn delete(conn: &mut Conn, ctx: &TenantCtx, table: &Table, id: &str) -> Result<()> {
    let done = sqlx::query(&format!("DELETE FROM {} WHERE tenant_id = $1 AND id = $2", table.name))
        .bind(ctx.tenant_id.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
