//! The job queue table. Jobs are cross-tenant: claiming reads every tenant's jobs, so only the
//! worker (on the owner connection) claims; tenants enqueue and list their own.

use sqlx::FromRow;

use super::{conflict_on, dialect, now_ms, Backend, Conn, Result};
use crate::ids::JobId;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct JobRow {
    pub id: String,
    pub tenant_id: Option<String>,
    pub kind: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: i64,
    pub locked_until: Option<i64>,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, tenant_id, kind, payload, status, attempts, max_attempts, run_at, locked_until, \
                       locked_by, last_error, created_at, updated_at";

pub struct NewJob<'a> {
    pub tenant_id: Option<&'a str>,
    pub kind: &'a str,
    pub payload: &'a str,
    pub max_attempts: i32,
    pub idempotency_key: Option<&'a str>,
}

/// Queues a job in the caller's transaction; a second job with the same idempotency key is a
/// conflict.
pub async fn insert(tx: &mut Conn, id: &JobId, job: &NewJob<'_>) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO jobs (id, tenant_id, kind, payload, status, attempts, max_attempts, run_at, idempotency_key, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $6, $6)",
    )
    .bind(id.as_str())
    .bind(job.tenant_id)
    .bind(job.kind)
    .bind(job.payload)
    .bind(job.max_attempts)
    .bind(now)
    .bind(job.idempotency_key)
    .execute(&mut *tx)
    .await
    .map_err(conflict_on("idempotency_key"))?;
    Ok(())
}

/// Locks up to `limit` due jobs (queued and due, or running with an expired lease) to `worker`
/// until `now + lease_ms`, counting the attempt.
pub async fn claim(
    tx: &mut Conn,
    backend: Backend,
    worker: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<JobRow>> {
    Ok(sqlx::query_as(&format!(
        "UPDATE jobs SET status = 'running', locked_until = $1, locked_by = $2, attempts = attempts + 1, \
         updated_at = $3 WHERE id IN (SELECT id FROM jobs WHERE (status = 'queued' AND run_at <= $3) \
         OR (status = 'running' AND locked_until < $3) ORDER BY run_at LIMIT $4{}) RETURNING {COLUMNS}",
        dialect::claim_lock(backend)
    ))
    .bind(now + lease_ms)
    .bind(worker)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?)
}

/// Extends the lease while `worker` still holds it; false when it has lost it.
pub async fn heartbeat(conn: &mut Conn, id: &str, worker: &str, locked_until: i64) -> Result<bool> {
    let done = sqlx::query("UPDATE jobs SET locked_until = $3 WHERE id = $1 AND locked_by = $2 AND status = 'running'")
        .bind(id)
        .bind(worker)
        .bind(locked_until)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// How an attempt ended.
pub enum Outcome<'a> {
    Done,
    Retry { run_at: i64, error: &'a str },
    Dead { error: &'a str },
}

/// Records the outcome of `worker`'s attempt; ignored when the lease was lost to another worker.
pub async fn settle(conn: &mut Conn, id: &str, worker: &str, outcome: Outcome<'_>) -> Result<bool> {
    let (status, run_at, error) = match outcome {
        Outcome::Done => ("done", None, None),
        Outcome::Retry { run_at, error } => ("queued", Some(run_at), Some(error)),
        Outcome::Dead { error } => ("dead", None, Some(error)),
    };
    let done = sqlx::query(
        "UPDATE jobs SET status = $3, run_at = COALESCE($4, run_at), last_error = COALESCE($5, last_error), \
         locked_until = NULL, locked_by = NULL, updated_at = $6 \
         WHERE id = $1 AND locked_by = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(worker)
    .bind(status)
    .bind(run_at)
    .bind(error)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The tenant's jobs after `after`, oldest first, optionally in one status.
pub async fn list(
    conn: &mut Conn,
    ctx: &TenantCtx,
    status: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<JobRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE tenant_id = $1 AND id > $2 AND ($3 IS NULL OR status = $3) \
         ORDER BY id LIMIT $4"
    ))
    .bind(ctx.tenant_id.as_str())
    .bind(after.unwrap_or(""))
    .bind(status)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// One job by id, any tenant: for the worker's own bookkeeping and tests.
pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<JobRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}
