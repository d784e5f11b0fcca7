//! Webhook deliveries: one row per (event, endpoint), and the delivery queue itself. A pending
//! row is due at `next_attempt_at`; claiming it pushes `next_attempt_at` out by a lease, so a
//! dispatcher that dies mid-attempt leaves a row that is simply due again later.

use sqlx::FromRow;

use super::sql::{Arg, Sql};
use super::{dialect, Backend, Conn, Result, StoreError};
use crate::ids::{WebhookDeliveryId, WebhookEndpointId};
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct DeliveryRow {
    pub id: String,
    pub tenant_id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub next_attempt_at: Option<i64>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, tenant_id, endpoint_id, event_id, event_type, payload, status, attempts, max_attempts, \
                       next_attempt_at, last_status_code, last_error, created_at, updated_at";

pub const PENDING: &str = "pending";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";

pub struct NewDelivery {
    pub id: WebhookDeliveryId,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
    pub max_attempts: i32,
}

/// Rows per INSERT statement: SQLite allows 32,766 bound values, PostgreSQL 65,535.
const INSERT_CHUNK: usize = 500;

/// Queues deliveries of the context's tenant, due at `due`.
pub async fn insert_many(tx: &mut Conn, ctx: &TenantCtx, rows: &[NewDelivery], due: i64) -> Result<()> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut sql = Sql::new(
            "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, payload, status, \
             attempts, max_attempts, next_attempt_at, created_at, updated_at) VALUES ",
        );
        sql.push_rows(chunk, |sql, r| {
            let values: [Arg; 12] = [
                r.id.as_str().into(),
                ctx.tenant_id.as_str().into(),
                r.endpoint_id.as_str().into(),
                r.event_id.as_str().into(),
                r.event_type.as_str().into(),
                r.payload.as_str().into(),
                PENDING.into(),
                0i64.into(),
                i64::from(r.max_attempts).into(),
                due.into(),
                due.into(),
                due.into(),
            ];
            sql.bind_separated(values);
        });
        sql.execute(tx).await?;
    }
    Ok(())
}

/// Takes up to `limit` due deliveries of any tenant, counting the attempt and leasing each
/// until `now + lease_ms`.
pub async fn claim(tx: &mut Conn, backend: Backend, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<DeliveryRow>> {
    Ok(sqlx::query_as(&format!(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $1, updated_at = $2 \
         WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $2 \
         ORDER BY next_attempt_at LIMIT $3{}) RETURNING {COLUMNS}",
        dialect::claim_lock(backend)
    ))
    .bind(now + lease_ms)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?)
}

/// How attempts ended, shared by a group of deliveries settled in one statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ending {
    /// `pending` (to retry), `succeeded` or `failed`.
    pub status: &'static str,
    /// The attempt that ended; a delivery claimed again since (its lease lost) is left alone.
    pub attempt: i32,
    pub code: Option<i32>,
    pub error: Option<String>,
}

/// Records one ending for many deliveries: `(id, next attempt time)` pairs, the time used
/// only when retrying. One statement per group; a batch has few groups (nearly every success
/// is a first attempt answered 200). Returns how many rows it applied to.
pub async fn settle_many(conn: &mut Conn, ending: &Ending, rows: &[(&str, i64)], now: i64) -> Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut sql = Sql::new("UPDATE webhook_deliveries SET status = ");
    sql.bind(ending.status).push(", next_attempt_at = ");
    if ending.status == PENDING {
        sql.push("CASE id");
        for (id, at) in rows {
            sql.push(" WHEN ").bind(*id).push(" THEN ").bind(*at);
        }
        sql.push(" END");
    } else {
        sql.push("NULL");
    }
    sql.push(", last_status_code = ").bind_opt(ending.code.map(i64::from));
    sql.push(", last_error = ").bind_opt(ending.error.as_deref());
    sql.push(", updated_at = ").bind(now);
    sql.push(" WHERE status = 'pending' AND attempts = ")
        .bind(i64::from(ending.attempt));
    sql.push(" AND id IN ").bind_list(rows.iter().map(|(id, _)| *id));
    Ok(sql.execute(conn).await?.rows_affected())
}

/// Puts a claimed delivery back without counting the attempt (its endpoint was busy or over
/// its rate), due again at `at`.
pub async fn defer(conn: &mut Conn, id: &str, attempt: i32, at: i64, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET next_attempt_at = $3, attempts = attempts - 1, updated_at = $4 \
         WHERE id = $1 AND attempts = $2 AND status = 'pending'",
    )
    .bind(id)
    .bind(attempt)
    .bind(at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Filters of the delivery log.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub status: Option<&'a str>,
    pub event_type: Option<&'a str>,
    pub after: Option<&'a str>,
    pub limit: i64,
}

/// An endpoint's deliveries, newest first.
pub async fn list(
    tx: &mut Conn,
    ctx: &TenantCtx,
    endpoint: &WebhookEndpointId,
    f: &Filter<'_>,
) -> Result<Vec<DeliveryRow>> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE tenant_id = "));
    sql.bind(ctx.tenant_id.as_str())
        .push(" AND endpoint_id = ")
        .bind(endpoint.as_str());
    if let Some(after) = f.after {
        sql.push(" AND id < ").bind(after);
    }
    if let Some(status) = f.status {
        sql.push(" AND status = ").bind(status);
    }
    if let Some(event_type) = f.event_type {
        sql.push(" AND event_type = ").bind(event_type);
    }
    sql.push(" ORDER BY id DESC LIMIT ").bind(f.limit);
    Ok(sql.fetch_all(tx).await?)
}

pub async fn get(
    tx: &mut Conn,
    ctx: &TenantCtx,
    endpoint: &WebhookEndpointId,
    id: &WebhookDeliveryId,
) -> Result<DeliveryRow> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2 AND id = $3"
    ))
    .bind(ctx.tenant_id.as_str())
    .bind(endpoint.as_str())
    .bind(id.as_str())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(StoreError::NotFound)
}

/// Queues one more attempt of a finished delivery, due at `now`; a pending one is left alone.
/// Returns whether it was queued.
pub async fn retry(
    tx: &mut Conn,
    ctx: &TenantCtx,
    endpoint: &WebhookEndpointId,
    id: &WebhookDeliveryId,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', max_attempts = attempts + 1, next_attempt_at = $4, \
         updated_at = $4 WHERE tenant_id = $1 AND endpoint_id = $2 AND id = $3 AND status <> 'pending'",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(endpoint.as_str())
    .bind(id.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Queues one more attempt of every failed delivery of the endpoint created since `since`.
/// Returns how many.
pub async fn retry_failed_since(
    tx: &mut Conn,
    ctx: &TenantCtx,
    endpoint: &WebhookEndpointId,
    since: i64,
    now: i64,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', max_attempts = attempts + 1, next_attempt_at = $4, \
         updated_at = $4 WHERE tenant_id = $1 AND endpoint_id = $2 AND status = 'failed' AND created_at >= $3",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(endpoint.as_str())
    .bind(since)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes up to `limit` finished deliveries of any tenant created before `before`, oldest
/// first, with their attempts. Returns how many deliveries went.
pub async fn prune(conn: &mut Conn, before: i64, limit: i64) -> Result<u64> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM webhook_deliveries WHERE created_at < $1 AND status <> 'pending' \
         ORDER BY created_at LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let mut attempts = Sql::new("DELETE FROM webhook_attempts WHERE delivery_id IN ");
    attempts.bind_list(ids.iter().map(String::as_str));
    attempts.execute(conn).await?;
    let mut deliveries = Sql::new("DELETE FROM webhook_deliveries WHERE id IN ");
    deliveries.bind_list(ids.iter().map(String::as_str));
    Ok(deliveries.execute(conn).await?.rows_affected())
}
