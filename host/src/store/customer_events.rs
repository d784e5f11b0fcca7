//! Custom events tracked on customers (the timeline's own entries).

use sqlx::FromRow;

use super::{sql, Conn, Result, StoreError};
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub id: String,
    pub customer_id: String,
    pub event_type: String,
    /// JSON object.
    pub properties: String,
    pub occurred_at: i64,
}

/// The outbox row announcing an event (`event.tracked`).
pub struct Announcement<'a> {
    pub id: &'a str,
    pub event_type: &'a str,
    /// JSON text.
    pub data: &'a str,
    pub at: i64,
}

/// Records `row` and, in the same round trip, `announce` in the outbox; `NotFound`, and neither
/// written, when the tenant has no customer `row.customer_id` (checked by the inserts themselves,
/// which saves a query before them). PostgreSQL gets one statement, the outbox insert fed by
/// the event's; SQLite two in one call, the second inserting only when the first did.
pub async fn insert_announced(
    tx: &mut Conn,
    ctx: &TenantCtx,
    row: &EventRow,
    announce: Announcement<'_>,
) -> Result<()> {
    const EVENT: &str =
        "INSERT INTO customer_events (id, tenant_id, customer_id, event_type, properties, occurred_at) \
         SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM customers WHERE tenant_id = $2 AND id = $3)";
    const OUTBOX: &str =
        "INSERT INTO domain_events (id, tenant_id, event_type, data, occurred_at) SELECT $7, $2, $8, $9, $10";
    let text = if sql::is_sqlite(tx) {
        format!("{EVENT}; {OUTBOX} WHERE changes() > 0")
    } else {
        format!("WITH event AS ({EVENT} RETURNING 1) {OUTBOX} FROM event")
    };
    let inserted = sqlx::query(&text)
        .bind(row.id.as_str())
        .bind(ctx.tenant_id.as_str())
        .bind(row.customer_id.as_str())
        .bind(row.event_type.as_str())
        .bind(row.properties.as_str())
        .bind(row.occurred_at)
        .bind(announce.id)
        .bind(announce.event_type)
        .bind(announce.data)
        .bind(announce.at)
        .execute(&mut *tx)
        .await?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Newest first; `before` is `(occurred_at, id)` of the last entry of the previous page.
pub async fn of_customer(
    tx: &mut Conn,
    ctx: &TenantCtx,
    customer_id: &str,
    before: Option<(i64, &str)>,
    limit: i64,
) -> Result<Vec<EventRow>> {
    let (at, id) = before.unwrap_or((i64::MAX, ""));
    Ok(sqlx::query_as(
        "SELECT id, customer_id, event_type, properties, occurred_at FROM customer_events \
         WHERE tenant_id = $1 AND customer_id = $2 AND (occurred_at < $3 OR (occurred_at = $3 AND id < $4) OR $4 = '') \
         ORDER BY occurred_at DESC, id DESC LIMIT $5",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(customer_id)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?)
}

/// Every event of a customer, oldest first (data export).
pub async fn all_of_customer(tx: &mut Conn, ctx: &TenantCtx, customer_id: &str) -> Result<Vec<EventRow>> {
    Ok(sqlx::query_as(
        "SELECT id, customer_id, event_type, properties, occurred_at FROM customer_events \
         WHERE tenant_id = $1 AND customer_id = $2 ORDER BY occurred_at, id",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(customer_id)
    .fetch_all(&mut *tx)
    .await?)
}
