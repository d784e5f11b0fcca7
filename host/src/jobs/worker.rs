//! The worker pool: `job_workers` tasks that claim one job at a time, run its handler while
//! renewing its lease, and record the outcome.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::backoff;
use super::queue::{self, Job};
use crate::state::AppState;
use crate::store::jobs::{self as rows, Outcome};
use crate::store::{now_ms, StoreError};

/// Running workers; [`Workers::stop`] lets each finish its current job.
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    pub fn start(state: Arc<AppState>) -> Self {
        let count = state.config.job_workers;
        Self::start_with(state, count)
    }

    /// Starts `count` workers whatever the configuration says (benchmarks).
    pub fn start_with(state: Arc<AppState>, count: usize) -> Self {
        let (stop, stopped) = watch::channel(false);
        let host = uuid::Uuid::now_v7().simple().to_string();
        let tasks = (0..count)
            .map(|n| {
                let worker = Worker {
                    state: state.clone(),
                    name: format!("{host}-{n}"),
                    stopped: stopped.clone(),
                };
                tokio::spawn(worker.run())
            })
            .collect();
        Self { stop, tasks }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "job worker panicked");
            }
        }
    }
}

struct Worker {
    state: Arc<AppState>,
    name: String,
    stopped: watch::Receiver<bool>,
}

impl Worker {
    async fn run(mut self) {
        let poll = Duration::from_millis(self.state.config.job_poll_ms.max(1));
        while !*self.stopped.borrow() {
            let lease = self.state.config.job_lease_ms as i64;
            match queue::claim(&self.state.store, &self.name, now_ms(), lease, 1).await {
                Ok(jobs) if !jobs.is_empty() => {
                    for job in jobs {
                        self.attempt(job).await;
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "claiming jobs failed"),
            }
            tokio::select! {
                _ = self.state.jobs.woken() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = self.stopped.changed() => {}
            }
        }
    }

    /// Runs one attempt to the end (shutdown waits for it) and records the outcome.
    #[tracing::instrument(skip_all, fields(job = %job.id, kind = %job.kind, attempt = job.attempt))]
    async fn attempt(&self, job: Job) {
        let result = match self.state.jobs.handler(&job.kind) {
            Some(handler) => {
                self.with_heartbeat(&job.id, handler(self.state.clone(), job.clone()))
                    .await
            }
            // Maybe a newer host knows this kind: retry rather than drop it.
            None => Err(format!("no handler for job kind {:?}", job.kind).into()),
        };
        let error = result.err().map(|e| e.to_string());
        let outcome = match &error {
            None => Outcome::Done,
            Some(error) if job.is_last_attempt() => Outcome::Dead { error },
            Some(error) => Outcome::Retry {
                run_at: now_ms() + backoff::delay_ms(self.state.config.job_backoff_base_ms, job.attempt) as i64,
                error,
            },
        };
        match &outcome {
            Outcome::Done => tracing::info!("job done"),
            Outcome::Retry { error, .. } => tracing::warn!(%error, "job failed; will retry"),
            Outcome::Dead { error } => tracing::error!(%error, "job failed for the last time"),
        }
        match self.settle(&job, outcome).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!("job lease was lost before the attempt ended"),
            Err(e) => tracing::error!(error = %e, "recording the job outcome failed"),
        }
        self.state.jobs.mark_settled();
    }

    /// Drives the handler while a separate task renews the lease every third of it, so a long
    /// job is not taken by another worker while this one is alive. The renewal must not share
    /// the handler's task: it can wait on a row lock the handler's open transaction holds
    /// (import batches renew the lease themselves), and the handler must keep running meanwhile.
    async fn with_heartbeat<F: std::future::Future>(&self, id: &str, handler: F) -> F::Output {
        let lease = self.state.config.job_lease_ms.max(3);
        let (state, worker, id) = (self.state.clone(), self.name.clone(), id.to_owned());
        let beat = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(lease / 3));
            every.tick().await;
            loop {
                every.tick().await;
                if let Err(e) = renew(&state, &id, &worker, lease as i64).await {
                    tracing::warn!(error = %e, "renewing the job lease failed");
                }
            }
        });
        let out = handler.await;
        beat.abort();
        out
    }

    async fn settle(&self, job: &Job, outcome: Outcome<'_>) -> Result<bool, StoreError> {
        let mut tx = self.state.store.system_tx().await?;
        let settled = rows::settle(&mut tx, &job.id, &self.name, outcome).await?;
        tx.commit().await?;
        Ok(settled)
    }
}

/// Extends the lease `worker` holds on job `id`.
async fn renew(state: &AppState, id: &str, worker: &str, lease_ms: i64) -> Result<(), StoreError> {
    let mut tx = state.store.system_tx().await?;
    let held = rows::heartbeat(&mut tx, id, worker, now_ms() + lease_ms).await?;
    tx.commit().await?;
    if !held {
        tracing::warn!("job lease was taken by another worker");
    }
    Ok(())
}
