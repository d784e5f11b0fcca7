//! Events to plugins through the durable job queue, at least once.
//!
//! The outbox relay's plugin consumer queues one job per domain event and enabled installation
//! of the event's tenant whose manifest subscribes to its type (exactly, `customer.*` or `*`),
//! in the relay's transaction: an event is handed on exactly when its jobs exist. The
//! same job kind carries the follow-ups a plugin schedules for itself (`schedule`), due later.
//! A job runs the installation's `on_event`; a run that does not end `ok` fails the job, which
//! the queue retries with its backoff and dead-letters after the last attempt. Every attempt is
//! a run of the installation, and the last one's log says the event was given up.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use serde::{Deserialize, Serialize};

use super::installations::{self, Loaded};
use super::invoke::{self, Trigger};
use crate::domain::relay;
use crate::domain::webhooks::filter;
use crate::domain::{DomainError, Result};
use crate::ids::{InstallationId, PrefixedId, TenantId};
use crate::jobs::{HandlerResult, Job, NewJob};
use crate::plugins::bindings::Event;
use crate::plugins::manifest::Manifest;
use crate::plugins::{Input, Outcome};
use crate::state::AppState;
use crate::store::outbox::DomainEventRow;
use crate::store::{self, now_ms, Conn};
use crate::tenancy::{Actor, TenantCtx};

pub const JOB_KIND: &str = "plugin.event";

/// What a job handler fails with.
pub(super) type JobError = Box<dyn std::error::Error + Send + Sync>;

/// A job's payload.
#[derive(Debug, Serialize, Deserialize)]
struct Delivery {
    installation: String,
    #[serde(flatten)]
    what: What,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
enum What {
    /// A domain event, read from the outbox when the job runs: the queue holds no copy of the
    /// personal data an erasure redacts.
    Domain { event_id: String },
    /// A follow-up the installation scheduled at `scheduled_at` (epoch ms).
    FollowUp {
        event_type: String,
        data: String,
        scheduled_at: i64,
    },
}

/// A follow-up a run asked for: `event_type` with `data` (JSON), `delay_ms` after the run. It
/// is queued with the run's record only when the run ends `ok`, so a failed attempt that is
/// retried does not schedule twice.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUp {
    pub delay_ms: u64,
    pub event_type: String,
    pub data: String,
}

/// Whether a manifest subscribes to `event_type`.
pub fn subscribes(manifest: &Manifest, event_type: &str) -> bool {
    manifest.events.iter().any(|p| filter::matches_one(p, event_type))
}

/// The relay sink (see [`crate::domain::relay`]).
pub fn sink<'a>(state: &'a AppState, tx: &'a mut Conn, events: &'a [DomainEventRow]) -> BoxFuture<'a, Result<()>> {
    async move { fan_out(state, tx, events).await }.boxed()
}

async fn fan_out(state: &AppState, tx: &mut Conn, events: &[DomainEventRow]) -> Result<()> {
    let mut queued = 0;
    for (ctx, events) in relay::by_tenant(events) {
        let mut subscribers = Vec::new();
        for row in store::plugin_installations::enabled(tx, &ctx).await? {
            match super::code::resolve(state, tx, &ctx, &row.plugin, Some(&row.version), "plugin").await {
                Ok(code) if !code.manifest.events.is_empty() => subscribers.push((row.id, code.manifest)),
                Ok(_) => {}
                // One installation whose code is gone (a catalog plugin removed from this host)
                // must not hold up every tenant's events: it misses them, loudly.
                Err(error) => {
                    tracing::error!(installation = %row.id, %error, "cannot resolve an installation's plugin; its events are skipped")
                }
            }
        }
        for event in events {
            for (installation, manifest) in &subscribers {
                if subscribes(manifest, &event.event_type) {
                    let what = What::Domain {
                        event_id: event.id.clone(),
                    };
                    state.jobs.enqueue(tx, &job(&ctx, installation, what)).await?;
                    queued += 1;
                }
            }
        }
    }
    if queued > 0 {
        tracing::debug!(queued, "plugin event deliveries queued");
    }
    Ok(())
}

fn job(ctx: &TenantCtx, installation: &str, what: What) -> NewJob {
    let delivery = Delivery {
        installation: installation.to_owned(),
        what,
    };
    NewJob {
        tenant_id: Some(ctx.tenant_id.to_string()),
        kind: JOB_KIND,
        payload: serde_json::to_value(delivery).unwrap_or_default(),
        idempotency_key: None,
    }
}

/// Queues `follow_ups` of `installation` in `tx` (a run's record); wake the queue after commit.
pub async fn schedule(
    state: &AppState,
    tx: &mut Conn,
    ctx: &TenantCtx,
    installation: &InstallationId,
    follow_ups: &[FollowUp],
) -> Result<()> {
    let now = now_ms();
    for f in follow_ups {
        let what = What::FollowUp {
            event_type: f.event_type.clone(),
            data: f.data.clone(),
            scheduled_at: now,
        };
        let due = now.saturating_add(i64::try_from(f.delay_ms).unwrap_or(i64::MAX));
        state
            .jobs
            .enqueue_at(tx, &job(ctx, installation.as_str(), what), due)
            .await?;
    }
    Ok(())
}

/// The job handler.
pub fn run_job(state: Arc<AppState>, job: Job) -> BoxFuture<'static, HandlerResult> {
    async move { deliver(&state, &job).await }.boxed()
}

/// The tenant of a plugin job and the installation it names, loaded; `None` when the
/// installation was deleted since the job was queued.
pub(super) async fn installation_of(
    state: &AppState,
    job: &Job,
    installation: &str,
) -> std::result::Result<Option<(TenantCtx, Loaded)>, JobError> {
    let tenant = job.tenant_id.clone().ok_or("a plugin job without a tenant")?;
    let ctx = TenantCtx::new(TenantId::from_raw(tenant), Actor::System, None);
    let id = InstallationId::parse(installation).ok_or("a plugin job without an installation")?;
    match installations::load(state, &ctx, &id).await {
        Ok(loaded) => Ok(Some((ctx, loaded))),
        Err(DomainError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn deliver(state: &Arc<AppState>, job: &Job) -> HandlerResult {
    let delivery: Delivery = serde_json::from_value(job.payload.clone())?;
    let (ctx, loaded) = match installation_of(state, job, &delivery.installation).await? {
        Some((ctx, loaded)) if loaded.enabled => (ctx, loaded),
        // Uninstalled or disabled since: the event is not for it any more.
        _ => return Ok(()),
    };
    let (event, trigger) = match delivery.what {
        What::Domain { event_id } => {
            let mut read = state.store.autocommit_read().await?;
            let row = store::outbox::get(&mut read, &ctx, &event_id).await;
            read.commit().await?;
            let row = match row {
                Ok(row) => row,
                Err(store::StoreError::NotFound) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            // An upgrade may have dropped the subscription since the event was queued.
            if !subscribes(&loaded.code.manifest, &row.event_type) {
                return Ok(());
            }
            let event = Event {
                id: row.id,
                event_type: row.event_type,
                data: row.data,
                occurred_at_ms: row.occurred_at,
            };
            (event, Trigger::Event)
        }
        What::FollowUp {
            event_type,
            data,
            scheduled_at,
        } => {
            // The job id is the follow-up's id: the same on every attempt.
            let event = Event {
                id: job.id.clone(),
                event_type,
                data,
                occurred_at_ms: scheduled_at,
            };
            (event, Trigger::Schedule)
        }
    };
    let event_id = event.id.clone();
    let (run_id, run) = invoke::run(state, &ctx, &loaded, trigger, Input::Event(event)).await?;
    if run.outcome == Outcome::Ok {
        return Ok(());
    }
    if job.is_last_attempt() {
        let note = format!(
            "gave up on event {event_id} after {} attempts: its job {} is dead-lettered",
            job.attempt, job.id
        );
        invoke::note(state, &ctx, &loaded.id, &run_id, "error", &note).await?;
    }
    Err(format!(
        "run {run_id} of {} ended {}: {}",
        loaded.id,
        run.outcome.as_str(),
        run.error.as_deref().unwrap_or("no reason given")
    )
    .into())
}
