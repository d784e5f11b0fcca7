//! Per-channel consent of customers, and the tenant's suppression list.

use sqlx::FromRow;

use super::sql::Sql;
use super::{now_ms, Conn, Result};
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct ConsentRow {
    pub customer_id: String,
    pub channel: String,
    pub status: String,
    pub source: Option<String>,
    pub keyword: Option<String>,
    pub updated_at: i64,
}

pub async fn set(
    tx: &mut Conn,
    ctx: &TenantCtx,
    customer_id: &str,
    channel: &str,
    status: &str,
    source: Option<&str>,
    keyword: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO customer_consents (tenant_id, customer_id, channel, status, source, keyword, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (customer_id, channel) DO UPDATE SET \
         status = excluded.status, source = excluded.source, keyword = excluded.keyword, updated_at = excluded.updated_at",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(customer_id)
    .bind(channel)
    .bind(status)
    .bind(source)
    .bind(keyword)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub async fn of_customers(tx: &mut Conn, ctx: &TenantCtx, ids: &[&str]) -> Result<Vec<ConsentRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(
        "SELECT customer_id, channel, status, source, keyword, updated_at FROM customer_consents WHERE tenant_id = ",
    );
    sql.bind(ctx.tenant_id.as_str())
        .push(" AND customer_id IN ")
        .bind_list(ids.iter().copied());
    sql.push(" ORDER BY customer_id, channel");
    Ok(sql.fetch_all(tx).await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct SuppressionRow {
    pub channel: String,
    pub address: String,
    pub reason: String,
    pub created_at: i64,
}

/// Adds (or re-reasons) a suppression; returns it as stored, first creation time included.
pub async fn suppress(
    tx: &mut Conn,
    ctx: &TenantCtx,
    channel: &str,
    address: &str,
    reason: &str,
) -> Result<SuppressionRow> {
    Ok(sqlx::query_as(
        "INSERT INTO suppressions (tenant_id, channel, address, reason, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, channel, address) DO UPDATE SET reason = excluded.reason \
         RETURNING channel, address, reason, created_at",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(channel)
    .bind(address)
    .bind(reason)
    .bind(now_ms())
    .fetch_one(&mut *tx)
    .await?)
}

pub async fn unsuppress(tx: &mut Conn, ctx: &TenantCtx, channel: &str, address: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM suppressions WHERE tenant_id = $1 AND channel = $2 AND address = $3")
        .bind(ctx.tenant_id.as_str())
        .bind(channel)
        .bind(address)
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn suppressions(
    tx: &mut Conn,
    ctx: &TenantCtx,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<SuppressionRow>> {
    Ok(sqlx::query_as(
        "SELECT channel, address, reason, created_at FROM suppressions WHERE tenant_id = $1 \
         AND (channel || ':' || address) > $2 ORDER BY channel || ':' || address LIMIT $3",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?)
}

/// Which of these (customer, address) pairs may not be contacted on `channel` now: the address
/// is suppressed, or the customer unsubscribed. Answers their positions in `who`.
pub async fn blocked(
    conn: &mut Conn,
    ctx: &TenantCtx,
    channel: &str,
    who: &[(Option<&str>, &str)],
) -> Result<std::collections::HashSet<usize>> {
    if who.is_empty() {
        return Ok(Default::default());
    }
    let tenant = ctx.tenant_id.as_str();
    let mut sql = Sql::new("SELECT address FROM suppressions WHERE tenant_id = ");
    sql.bind(tenant)
        .push(" AND channel = ")
        .bind(channel)
        .push(" AND address IN ")
        .bind_list(who.iter().map(|(_, a)| *a));
    let suppressed: std::collections::HashSet<String> = sql.fetch_scalars(conn).await?.into_iter().collect();
    let customers: Vec<&str> = who.iter().filter_map(|(c, _)| *c).collect();
    let mut unsubscribed = std::collections::HashSet::new();
    if !customers.is_empty() {
        let mut sql = Sql::new("SELECT customer_id FROM customer_consents WHERE tenant_id = ");
        sql.bind(tenant)
            .push(" AND channel = ")
            .bind(channel)
            .push(" AND status = 'unsubscribed' AND customer_id IN ")
            .bind_list(customers);
        unsubscribed = sql.fetch_scalars::<String>(conn).await?.into_iter().collect();
    }
    Ok(who
        .iter()
        .enumerate()
        .filter(|(_, (c, a))| suppressed.contains(*a) || c.is_some_and(|c| unsubscribed.contains(c)))
        .map(|(i, _)| i)
        .collect())
}
