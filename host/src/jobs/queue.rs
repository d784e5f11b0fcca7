//! Enqueueing jobs and the registry of handlers by kind.

use std::collections::HashMap;
use std::error::Error;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::sync::{watch, Notify};

use crate::domain::{page_limit, DomainError};
use crate::ids::{JobId, PrefixedId};
use crate::state::AppState;
use crate::store::{self, jobs::JobRow, now_ms, Conn, Store, StoreError};
use crate::tenancy::TenantCtx;

/// A claimed job as a handler sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub tenant_id: Option<String>,
    pub kind: String,
    pub payload: serde_json::Value,
    /// This attempt's number, from 1.
    pub attempt: u32,
    pub max_attempts: u32,
    /// The worker holding the lease: long handlers renew it inside their own transactions,
    /// which also fences off a worker whose lease was taken over.
    pub locked_by: String,
}

impl Job {
    /// True on the attempt after which a failure dead-letters the job.
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_attempts
    }
}

impl From<JobRow> for Job {
    fn from(r: JobRow) -> Self {
        Self {
            payload: serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::Null),
            id: r.id,
            tenant_id: r.tenant_id,
            kind: r.kind,
            attempt: r.attempts.max(0) as u32,
            max_attempts: r.max_attempts.max(1) as u32,
            locked_by: r.locked_by.unwrap_or_default(),
        }
    }
}

pub type HandlerResult = Result<(), Box<dyn Error + Send + Sync>>;
/// Runs one attempt of a job. An error schedules a retry (or dead-letters on the last attempt).
pub type Handler = fn(Arc<AppState>, Job) -> BoxFuture<'static, HandlerResult>;

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub tenant_id: Option<String>,
    pub kind: &'static str,
    pub payload: serde_json::Value,
    /// A second job with the same key is refused, so a retried request never queues twice.
    pub idempotency_key: Option<String>,
}

/// The queue as this process sees it: handlers, the wake-up for local workers, and a count of
/// settled attempts that tests (and anyone waiting for background work) can watch.
pub struct Queue {
    handlers: HashMap<&'static str, Handler>,
    wake: Notify,
    settled: watch::Sender<u64>,
    max_attempts: u32,
}

impl Queue {
    pub fn new(max_attempts: u32) -> Self {
        Self {
            handlers: HashMap::new(),
            wake: Notify::new(),
            settled: watch::Sender::new(0),
            max_attempts: max_attempts.max(1),
        }
    }

    /// Registers the handler for `kind`.
    pub fn with(mut self, kind: &'static str, handler: Handler) -> Self {
        self.handlers.insert(kind, handler);
        self
    }

    pub(crate) fn handler(&self, kind: &str) -> Option<Handler> {
        self.handlers.get(kind).copied()
    }

    /// Writes the job in the caller's transaction: it exists iff that transaction commits.
    /// Call [`Queue::wake`] after the commit.
    pub async fn enqueue(&self, tx: &mut Conn, job: &NewJob) -> Result<JobId, StoreError> {
        self.enqueue_at(tx, job, now_ms()).await
    }

    /// Like [`Queue::enqueue`], for a job first due at `run_at` (epoch ms): scheduled work.
    pub async fn enqueue_at(&self, tx: &mut Conn, job: &NewJob, run_at: i64) -> Result<JobId, StoreError> {
        let id = JobId::generate();
        let payload = job.payload.to_string();
        store::jobs::insert(tx, &id, &self.row(job, &payload, run_at)).await?;
        Ok(id)
    }

    /// Like [`Queue::enqueue_at`] for a job with an idempotency key, when a job with that key
    /// existing already is fine: answers whether this one was queued.
    pub async fn enqueue_once_at(&self, tx: &mut Conn, job: &NewJob, run_at: i64) -> Result<bool, StoreError> {
        let payload = job.payload.to_string();
        store::jobs::insert_once(tx, &JobId::generate(), &self.row(job, &payload, run_at)).await
    }

    fn row<'a>(&self, job: &'a NewJob, payload: &'a str, run_at: i64) -> store::jobs::NewJob<'a> {
        store::jobs::NewJob {
            tenant_id: job.tenant_id.as_deref(),
            kind: job.kind,
            payload,
            max_attempts: self.max_attempts as i32,
            idempotency_key: job.idempotency_key.as_deref(),
            run_at,
        }
    }

    /// Enqueues a job that goes with no other change, and wakes a worker.
    pub async fn submit(&self, store: &Store, job: &NewJob) -> Result<JobId, StoreError> {
        self.submit_at(store, job, now_ms()).await
    }

    /// Enqueues a job due at `run_at` (epoch ms) that goes with no other change.
    pub async fn submit_at(&self, store: &Store, job: &NewJob, run_at: i64) -> Result<JobId, StoreError> {
        let mut tx = store.system_tx().await?;
        let id = self.enqueue_at(&mut tx, job, run_at).await?;
        tx.commit().await?;
        self.wake();
        Ok(id)
    }

    /// Wakes one idle local worker (or the next to go idle) to claim at once.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) async fn woken(&self) {
        self.wake.notified().await
    }

    /// Counts attempts settled by this process's workers; changes after every one.
    pub fn settled(&self) -> watch::Receiver<u64> {
        self.settled.subscribe()
    }

    pub(crate) fn mark_settled(&self) {
        self.settled.send_modify(|n| *n += 1);
    }
}

/// One job by id, for operators and tests.
pub async fn get(store: &Store, id: &JobId) -> Result<Option<JobRow>, StoreError> {
    let mut conn = store.system_read().await?;
    store::jobs::get(&mut conn, id.as_str()).await
}

/// Claims up to `limit` due jobs for `worker` at time `now` (epoch ms), leased for `lease_ms`.
pub async fn claim(store: &Store, worker: &str, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<Job>, StoreError> {
    let mut tx = store.system_tx().await?;
    let rows = store::jobs::claim(&mut tx, store.backend(), worker, now, lease_ms, limit).await?;
    tx.commit().await?;
    Ok(rows.into_iter().map(Job::from).collect())
}

pub const STATUSES: [&str; 4] = ["queued", "running", "done", "dead"];

/// The tenant's jobs, oldest first: the dead-letter view for `status = dead`.
pub async fn list(
    store: &Store,
    ctx: &TenantCtx,
    status: Option<&str>,
    after: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<JobRow>, DomainError> {
    if status.is_some_and(|s| !STATUSES.contains(&s)) {
        return Err(DomainError::invalid("status", "must be queued, running, done or dead"));
    }
    let mut read = store.tenant_read(ctx).await?;
    let rows = store::jobs::list(&mut read, ctx, status, after, page_limit(limit)).await?;
    read.commit().await?;
    Ok(rows)
}

/// One of the tenant's jobs.
pub async fn get_for(store: &Store, ctx: &TenantCtx, id: &JobId) -> Result<JobRow, DomainError> {
    let mut read = store.tenant_read(ctx).await?;
    let row = store::jobs::get_for(&mut read, ctx, id.as_str()).await?;
    read.commit().await?;
    Ok(row)
}

/// Puts a dead-lettered job back in the queue with a fresh set of attempts; a job that is not
/// dead is a conflict.
#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id, job = %id))]
pub async fn retry(state: &AppState, ctx: &TenantCtx, id: &JobId) -> Result<JobRow, DomainError> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let row = match store::jobs::retry_dead(&mut tx, ctx, id.as_str(), now_ms()).await? {
        Some(row) => row,
        None => {
            // Not found and not dead answer differently: only the tenant's own jobs are seen.
            store::jobs::get_for(&mut tx, ctx, id.as_str()).await?;
            return Err(DomainError::Conflict {
                field: Some("status".into()),
                message: "only a dead job can be retried".into(),
            });
        }
    };
    crate::domain::audit::record(&mut tx, ctx, "job.retried", "job", id.as_str()).await?;
    tx.commit().await?;
    state.jobs.wake();
    Ok(row)
}
