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
    /// When the job is first due (epoch ms).
    pub run_at: i64,
}

/// Queues a job in the caller's transaction; a second job with the same idempotency key is a
/// conflict.
pub async fn insert(tx: &mut Conn, id: &JobId, job: &NewJob<'_>) -> Result<()> {
    write(tx, id, job, "").await.map_err(conflict_on("idempotency_key"))?;
    Ok(())
}

/// Queues a job unless one with its idempotency key exists; answers whether it was queued.
/// Unlike a conflict, an existing key leaves the caller's transaction usable.
pub async fn insert_once(tx: &mut Conn, id: &JobId, job: &NewJob<'_>) -> Result<bool> {
    Ok(write(tx, id, job, " ON CONFLICT (idempotency_key) DO NOTHING").await? == 1)
}

/// Whether a job whose idempotency key starts with `prefix` is queued or running (found
/// through the status index: unfinished jobs are few next to finished ones).
pub async fn pending_with_key(conn: &mut Conn, prefix: &str) -> Result<bool> {
    let escaped = prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let found: Option<String> = sqlx::query_scalar(
        "SELECT id FROM jobs WHERE status IN ('queued', 'running') AND idempotency_key LIKE $1 ESCAPE '\\' LIMIT 1",
    )
    .bind(format!("{escaped}%"))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.is_some())
}

/// Inserts the job's row (and its lane's), with `on_conflict` appended; answers rows inserted.
async fn write(tx: &mut Conn, id: &JobId, job: &NewJob<'_>, on_conflict: &str) -> sqlx::Result<u64> {
    let lane = job.tenant_id.unwrap_or("");
    // The lane's row exists before its first job can be claimed; an existing one is left alone
    // (no lock taken), so concurrent enqueues of one tenant do not queue up behind each other.
    sqlx::query("INSERT INTO job_lanes (lane, last_claimed_at) VALUES ($1, 0) ON CONFLICT (lane) DO NOTHING")
        .bind(lane)
        .execute(&mut *tx)
        .await?;
    let done = sqlx::query(&format!(
        "INSERT INTO jobs (id, tenant_id, lane, kind, payload, status, attempts, max_attempts, run_at, \
         idempotency_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $7, $8, $9, $9){on_conflict}"
    ))
    .bind(id.as_str())
    .bind(job.tenant_id)
    .bind(lane)
    .bind(job.kind)
    .bind(job.payload)
    .bind(job.max_attempts)
    .bind(job.run_at)
    .bind(job.idempotency_key)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected())
}

/// Locks up to `limit` due jobs to `worker` until `now + lease_ms`, counting the attempt.
/// Running jobs whose lease expired (their worker died) come first; otherwise the jobs are the
/// oldest due ones of one lane: the lane with due jobs that was served longest ago, so tenants
/// take turns however many jobs each has queued.
pub async fn claim(
    tx: &mut Conn,
    backend: Backend,
    worker: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<JobRow>> {
    let lock = dialect::claim_lock(backend);
    let expired =
        format!("SELECT id FROM jobs WHERE status = 'running' AND locked_until < $3 ORDER BY run_at LIMIT $4{lock}");
    let rows = take(tx, &expired, None, worker, now, lease_ms, limit).await?;
    if !rows.is_empty() {
        return Ok(rows);
    }
    // Walks lanes in turn order and stops at the first with a due job: one index probe per
    // lane passed, however long the queues are.
    let lane: Option<String> = sqlx::query_scalar(
        "SELECT l.lane FROM job_lanes l WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.status = 'queued' \
         AND j.lane = l.lane AND j.run_at <= $1) ORDER BY l.last_claimed_at, l.lane LIMIT 1",
    )
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(lane) = lane else { return Ok(Vec::new()) };
    let due = format!(
        "SELECT id FROM jobs WHERE status = 'queued' AND lane = $5 AND run_at <= $3 ORDER BY run_at LIMIT $4{lock}"
    );
    let rows = take(tx, &due, Some(&lane), worker, now, lease_ms, limit).await?;
    sqlx::query("UPDATE job_lanes SET last_claimed_at = $2 WHERE lane = $1")
        .bind(&lane)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    Ok(rows)
}

/// Leases the jobs `select` picks (binding `$3` now, `$4` limit, `$5` lane).
async fn take(
    tx: &mut Conn,
    select: &str,
    lane: Option<&str>,
    worker: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<JobRow>> {
    let sql = format!(
        "UPDATE jobs SET status = 'running', locked_until = $1, locked_by = $2, attempts = attempts + 1, \
         updated_at = $3 WHERE id IN ({select}) RETURNING {COLUMNS}"
    );
    let mut query = sqlx::query_as(&sql)
        .bind(now + lease_ms)
        .bind(worker)
        .bind(now)
        .bind(limit);
    if let Some(lane) = lane {
        query = query.bind(lane);
    }
    Ok(query.fetch_all(&mut *tx).await?)
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

/// Puts the tenant's dead job back in the queue, due at `now`, with a fresh set of attempts;
/// `None` when it is not the tenant's dead job.
pub async fn retry_dead(tx: &mut Conn, ctx: &TenantCtx, id: &str, now: i64) -> Result<Option<JobRow>> {
    Ok(sqlx::query_as(&format!(
        "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $3, updated_at = $3 \
         WHERE id = $1 AND tenant_id = $2 AND status = 'dead' RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(ctx.tenant_id.as_str())
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?)
}

/// One of the tenant's jobs.
pub async fn get_for(conn: &mut Conn, ctx: &TenantCtx, id: &str) -> Result<JobRow> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1 AND tenant_id = $2"))
        .bind(id)
        .bind(ctx.tenant_id.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(super::StoreError::NotFound)
}

/// One job by id, any tenant: for the worker's own bookkeeping and tests.
pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<JobRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}
