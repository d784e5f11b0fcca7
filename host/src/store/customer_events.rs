//! Custom events tracked on customers (the timeline's own entries).

use sqlx::FromRow;

use super::{Conn, Result, StoreError};
use crate::ids::EventId;
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

/// Records an event of customer `customer_id`; `NotFound` when the tenant has no such customer
/// (checked by the insert itself, which saves a query before it).
pub async fn insert(
    tx: &mut Conn,
    ctx: &TenantCtx,
    id: &EventId,
    customer_id: &str,
    event_type: &str,
    properties: &str,
    occurred_at: i64,
) -> Result<EventRow> {
    let inserted = sqlx::query(
        "INSERT INTO customer_events (id, tenant_id, customer_id, event_type, properties, occurred_at) \
         SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM customers WHERE tenant_id = $2 AND id = $3)",
    )
    .bind(id.as_str())
    .bind(ctx.tenant_id.as_str())
    .bind(customer_id)
    .bind(event_type)
    .bind(properties)
    .bind(occurred_at)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(EventRow {
        id: id.to_string(),
        customer_id: customer_id.to_owned(),
        event_type: event_type.to_owned(),
        properties: properties.to_owned(),
        occurred_at,
    })
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
