//! Manifest schedules: each `[[schedules]]` entry of an installation's plugin is a chain of
//! `plugin.tick` jobs, each running `tick(name, due)` and queueing the next one `every_secs`
//! later (never more often than `plugin_tick_min_secs`). Installing or changing an installation
//! starts the chains it lacks; a chain ends when its installation is deleted or its plugin
//! version no longer has the schedule. A disabled installation's chain keeps its pace without
//! running the plugin. A failed tick is a failed run in the log and is not retried: the next
//! tick comes on time. Each job's idempotency key names its installation, schedule and due
//! time, so a chain never doubles.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use serde::{Deserialize, Serialize};

use super::invoke::{self, Trigger};
use crate::domain::Result;
use crate::ids::InstallationId;
use crate::jobs::{HandlerResult, Job, NewJob};
use crate::plugins::manifest::{Manifest, Schedule};
use crate::plugins::Input;
use crate::state::AppState;
use crate::store::{self, now_ms, Conn};
use crate::tenancy::TenantCtx;

pub const JOB_KIND: &str = "plugin.tick";

#[derive(Debug, Serialize, Deserialize)]
struct Tick {
    installation: String,
    schedule: String,
    /// When this tick is due (epoch ms): the `now-ms` the plugin's `tick` gets.
    due: i64,
}

fn key_prefix(installation: &str, schedule: &str) -> String {
    format!("plugin-tick/{installation}/{schedule}/")
}

fn every_ms(state: &AppState, schedule: &Schedule) -> i64 {
    let secs = schedule.every_secs.max(state.config.plugin_tick_min_secs);
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Queues the tick of `schedule` due at `due`, unless it is queued already.
async fn queue(
    state: &AppState,
    tx: &mut Conn,
    ctx: &TenantCtx,
    installation: &str,
    schedule: &str,
    due: i64,
) -> Result<()> {
    let tick = Tick {
        installation: installation.to_owned(),
        schedule: schedule.to_owned(),
        due,
    };
    let job = NewJob {
        tenant_id: Some(ctx.tenant_id.to_string()),
        kind: JOB_KIND,
        payload: serde_json::to_value(tick).unwrap_or_default(),
        idempotency_key: Some(format!("{}{due}", key_prefix(installation, schedule))),
    };
    state.jobs.enqueue_once_at(tx, &job, due).await?;
    Ok(())
}

/// Starts, in `tx`, the chain of every schedule of `manifest` that `installation` has none
/// running for; the first tick is due one period from now.
pub async fn arm(
    state: &AppState,
    tx: &mut Conn,
    ctx: &TenantCtx,
    installation: &InstallationId,
    manifest: &Manifest,
) -> Result<()> {
    for schedule in &manifest.schedules {
        let prefix = key_prefix(installation.as_str(), &schedule.name);
        if !store::jobs::pending_with_key(tx, &prefix).await? {
            let due = now_ms().saturating_add(every_ms(state, schedule));
            queue(state, tx, ctx, installation.as_str(), &schedule.name, due).await?;
        }
    }
    Ok(())
}

/// The job handler.
pub fn run_job(state: Arc<AppState>, job: Job) -> BoxFuture<'static, HandlerResult> {
    async move { fire(&state, &job).await }.boxed()
}

async fn fire(state: &Arc<AppState>, job: &Job) -> HandlerResult {
    let tick: Tick = serde_json::from_value(job.payload.clone())?;
    let Some((ctx, loaded)) = super::dispatch::installation_of(state, job, &tick.installation).await? else {
        return Ok(());
    };
    let Some(schedule) = loaded.code.manifest.schedules.iter().find(|s| s.name == tick.schedule) else {
        return Ok(());
    };
    // The next tick first, so the chain goes on whatever this one does; a late tick (the queue
    // was down) does not make up for the ones it missed.
    let next = tick.due.saturating_add(every_ms(state, schedule)).max(now_ms());
    let mut tx = state.store.tenant_tx(&ctx).await?;
    queue(state, &mut tx, &ctx, loaded.id.as_str(), &schedule.name, next).await?;
    tx.commit().await?;
    state.jobs.wake();
    if loaded.enabled {
        let input = Input::Tick {
            schedule: tick.schedule,
            now_ms: tick.due,
        };
        invoke::run(state, &ctx, &loaded, Trigger::Tick, input).await?;
    }
    Ok(())
}
