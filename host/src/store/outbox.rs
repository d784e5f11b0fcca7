//! The domain-event outbox: one row per change, in the change's transaction.

use sqlx::FromRow;

use super::scoped::{self, Table};
use super::{Conn, Result};
use crate::ids::{DomainEventId, PrefixedId};
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct DomainEventRow {
    pub id: String,
    pub tenant_id: String,
    pub event_type: String,
    /// JSON object.
    pub data: String,
    pub occurred_at: i64,
}

const TABLE: Table = Table {
    name: "domain_events",
    columns: "id, tenant_id, event_type, data, occurred_at",
};

pub async fn insert(tx: &mut Conn, ctx: &TenantCtx, event_type: &str, data: &str, occurred_at: i64) -> Result<String> {
    let id = DomainEventId::generate();
    sqlx::query("INSERT INTO domain_events (id, tenant_id, event_type, data, occurred_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id.as_str())
        .bind(ctx.tenant_id.as_str())
        .bind(event_type)
        .bind(data)
        .bind(occurred_at)
        .execute(&mut *tx)
        .await?;
    Ok(id.to_string())
}

/// One of the tenant's events.
pub async fn get(tx: &mut Conn, ctx: &TenantCtx, id: &str) -> Result<DomainEventRow> {
    scoped::get(tx, ctx, &TABLE, id).await
}

/// Oldest first after `after`, optionally of one type.
pub async fn list(
    tx: &mut Conn,
    ctx: &TenantCtx,
    after: Option<&str>,
    event_type: Option<&str>,
    limit: i64,
) -> Result<Vec<DomainEventRow>> {
    Ok(sqlx::query_as(
        "SELECT id, tenant_id, event_type, data, occurred_at FROM domain_events WHERE tenant_id = $1 \
         AND id > $2 AND ($3 IS NULL OR event_type = $3) ORDER BY id LIMIT $4",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(after.unwrap_or(""))
    .bind(event_type)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?)
}

/// Outbox entries whose payload mentions `needle` (a customer id), oldest first.
pub async fn mentioning(tx: &mut Conn, ctx: &TenantCtx, needle: &str) -> Result<Vec<DomainEventRow>> {
    Ok(sqlx::query_as(
        "SELECT id, tenant_id, event_type, data, occurred_at FROM domain_events \
         WHERE tenant_id = $1 AND data LIKE $2 ORDER BY id",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(format!("%\"{needle}\"%"))
    .fetch_all(&mut *tx)
    .await?)
}

/// Replaces the payload of the given entries (erasure keeps the fact, drops the personal data).
pub async fn redact(tx: &mut Conn, ctx: &TenantCtx, ids: &[String], data: &str) -> Result<()> {
    for id in ids {
        sqlx::query("UPDATE domain_events SET data = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(ctx.tenant_id.as_str())
            .bind(id.as_str())
            .bind(data)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
