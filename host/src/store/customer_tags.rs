//! Tags on customers.

use sqlx::FromRow;

use super::sql::Sql;
use super::{Conn, Result};
use crate::tenancy::TenantCtx;

/// Adds tags to one customer; returns how many it did not already have.
pub async fn add(tx: &mut Conn, ctx: &TenantCtx, customer_id: &str, tags: &[String]) -> Result<u64> {
    let rows: Vec<(String, String)> = tags.iter().map(|t| (customer_id.to_owned(), t.clone())).collect();
    super::bulk::insert_tags(tx, ctx, &rows).await
}

pub async fn remove(tx: &mut Conn, ctx: &TenantCtx, customer_id: &str, tags: &[String]) -> Result<u64> {
    if tags.is_empty() {
        return Ok(0);
    }
    let mut sql = Sql::new("DELETE FROM customer_tags WHERE tenant_id = ");
    sql.bind(ctx.tenant_id.as_str())
        .push(" AND customer_id = ")
        .bind(customer_id)
        .push(" AND tag IN ");
    sql.bind_list(tags.iter().map(String::as_str));
    Ok(sql.execute(tx).await?.rows_affected())
}

/// `(customer id, tag)` for the given customers.
pub async fn of_customers(tx: &mut Conn, ctx: &TenantCtx, ids: &[&str]) -> Result<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT customer_id, tag FROM customer_tags WHERE tenant_id = ");
    sql.bind(ctx.tenant_id.as_str())
        .push(" AND customer_id IN ")
        .bind_list(ids.iter().copied());
    sql.push(" ORDER BY customer_id, tag");
    Ok(sql.fetch_all(tx).await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct TagCount {
    pub tag: String,
    pub customers: i64,
}

pub async fn counts(tx: &mut Conn, ctx: &TenantCtx) -> Result<Vec<TagCount>> {
    Ok(sqlx::query_as(
        "SELECT tag, COUNT(*) AS customers FROM customer_tags WHERE tenant_id = $1 GROUP BY tag ORDER BY tag",
    )
    .bind(ctx.tenant_id.as_str())
    .fetch_all(&mut *tx)
    .await?)
}
