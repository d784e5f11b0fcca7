//! Webhook endpoints: where a tenant wants its events, with the secret that signs them.

use sqlx::FromRow;

use super::scoped::{self, Table};
use super::sql::Sql;
use super::{now_ms, Conn, Result, StoreError};
use crate::ids::WebhookEndpointId;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct EndpointRow {
    pub id: String,
    pub tenant_id: String,
    pub url: String,
    pub description: Option<String>,
    /// JSON array of patterns.
    pub event_types: String,
    /// JSON object.
    pub headers: String,
    pub rate_limit: Option<i64>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<i64>,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, tenant_id, url, description, event_types, headers, rate_limit, secret, previous_secret, \
                       previous_secret_until, disabled_at, disabled_reason, failing_since, created_at, updated_at";

const TABLE: Table = Table {
    name: "webhook_endpoints",
    columns: COLUMNS,
};

/// What a tenant sets on an endpoint.
pub struct Fields<'a> {
    pub url: &'a str,
    pub description: Option<&'a str>,
    pub event_types: &'a str,
    pub headers: &'a str,
    pub rate_limit: Option<i64>,
    /// `None` when enabled.
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<&'a str>,
}

pub async fn insert(
    tx: &mut Conn,
    ctx: &TenantCtx,
    id: &WebhookEndpointId,
    f: &Fields<'_>,
    secret: &str,
) -> Result<EndpointRow> {
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, tenant_id, url, description, event_types, headers, rate_limit, secret, \
         disabled_at, disabled_reason, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(id.as_str())
    .bind(ctx.tenant_id.as_str())
    .bind(f.url)
    .bind(f.description)
    .bind(f.event_types)
    .bind(f.headers)
    .bind(f.rate_limit)
    .bind(secret)
    .bind(f.disabled_at)
    .bind(f.disabled_reason)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    get(tx, ctx, id).await
}

/// Replaces the tenant's fields. Enabling clears the failure run, so the disable rule starts over.
pub async fn update(tx: &mut Conn, ctx: &TenantCtx, id: &WebhookEndpointId, f: &Fields<'_>) -> Result<EndpointRow> {
    let done = sqlx::query(
        "UPDATE webhook_endpoints SET url = $3, description = $4, event_types = $5, headers = $6, rate_limit = $7, \
         disabled_at = $8, disabled_reason = $9, \
         failing_since = CASE WHEN $8 IS NULL THEN NULL ELSE failing_since END, updated_at = $10 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(id.as_str())
    .bind(f.url)
    .bind(f.description)
    .bind(f.event_types)
    .bind(f.headers)
    .bind(f.rate_limit)
    .bind(f.disabled_at)
    .bind(f.disabled_reason)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get(tx, ctx, id).await
}

/// Installs a new secret; the current one keeps signing until `previous_until`.
pub async fn rotate_secret(
    tx: &mut Conn,
    ctx: &TenantCtx,
    id: &WebhookEndpointId,
    secret: &str,
    previous_until: i64,
) -> Result<EndpointRow> {
    let done = sqlx::query(
        "UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = $4, secret = $3, \
         updated_at = $5 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(id.as_str())
    .bind(secret)
    .bind(previous_until)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get(tx, ctx, id).await
}

pub async fn get(tx: &mut Conn, ctx: &TenantCtx, id: &WebhookEndpointId) -> Result<EndpointRow> {
    scoped::get(tx, ctx, &TABLE, id.as_str()).await
}

pub async fn page(tx: &mut Conn, ctx: &TenantCtx, after: Option<&str>, limit: i64) -> Result<Vec<EndpointRow>> {
    scoped::page(tx, ctx, &TABLE, after, limit).await
}

pub async fn delete(tx: &mut Conn, ctx: &TenantCtx, id: &WebhookEndpointId) -> Result<()> {
    scoped::delete(tx, ctx, &TABLE, id.as_str()).await
}

/// The tenant's enabled endpoints: the fan-out's subscribers.
pub async fn enabled(tx: &mut Conn, ctx: &TenantCtx) -> Result<Vec<EndpointRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND disabled_at IS NULL ORDER BY id"
    ))
    .bind(ctx.tenant_id.as_str())
    .fetch_all(&mut *tx)
    .await?)
}

/// Endpoints by id across tenants, for the dispatcher holding their deliveries.
pub async fn by_ids(conn: &mut Conn, ids: &[&str]) -> Result<Vec<EndpointRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id IN "));
    sql.bind_list(ids.iter().copied());
    Ok(sql.fetch_all(conn).await?)
}

/// Records the outcome of a batch of attempts: endpoints that succeeded end their failure run,
/// endpoints that only failed start one (or continue it).
pub async fn record_health(conn: &mut Conn, succeeded: &[&str], failed: &[&str], now: i64) -> Result<()> {
    if !succeeded.is_empty() {
        let mut sql =
            Sql::new("UPDATE webhook_endpoints SET failing_since = NULL WHERE failing_since IS NOT NULL AND id IN ");
        sql.bind_list(succeeded.iter().copied());
        sql.execute(conn).await?;
    }
    if !failed.is_empty() {
        let mut sql = Sql::new("UPDATE webhook_endpoints SET failing_since = ");
        sql.bind(now).push(" WHERE failing_since IS NULL AND id IN ");
        sql.bind_list(failed.iter().copied());
        sql.execute(conn).await?;
    }
    Ok(())
}

/// Of `ids`, the enabled endpoints failing without a success since before `cutoff`.
pub async fn failing_since_before(conn: &mut Conn, ids: &[&str], cutoff: i64) -> Result<Vec<EndpointRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE disabled_at IS NULL AND failing_since < "
    ));
    sql.bind(cutoff).push(" AND id IN ");
    sql.bind_list(ids.iter().copied());
    Ok(sql.fetch_all(conn).await?)
}

/// Disables an endpoint on the system's behalf, saying why.
pub async fn disable(tx: &mut Conn, ctx: &TenantCtx, id: &str, reason: &str) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "UPDATE webhook_endpoints SET disabled_at = $3, disabled_reason = $4, updated_at = $3 \
         WHERE tenant_id = $1 AND id = $2 AND disabled_at IS NULL",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(id)
    .bind(now)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
