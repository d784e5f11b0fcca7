//! Running an installation and recording the run: outcome, cost and the plugin's log lines,
//! plus a line saying why when it failed. The follow-ups the run scheduled are queued with its
//! record when it ended `ok`, and dropped (the log says so) when it did not.

use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::Any;
use tokio::sync::OwnedSemaphorePermit;

use super::dispatch::{self, FollowUp};
use super::host::TenantHost;
use super::installations::Loaded;
use super::run_writes::BROKEN;
use crate::domain::{page_limit, DomainError, Result};
use crate::ids::{InstallationId, PluginRunId};
use crate::plugins::runtime::CallSetup;
use crate::plugins::{Input, Outcome, Output, Run};
use crate::state::AppState;
use crate::store::{self, plugin_runs::LogRow, plugin_runs::NewRun, plugin_runs::RunRow, Tx};
use crate::tenancy::TenantCtx;

/// What started a run.
#[derive(Clone, Copy)]
pub enum Trigger {
    Invoke,
    Webhook,
    Event,
    /// A follow-up the installation scheduled.
    Schedule,
    /// One of the manifest's schedules.
    Tick,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Invoke => "invoke",
            Trigger::Webhook => "webhook",
            Trigger::Event => "event",
            Trigger::Schedule => "schedule",
            Trigger::Tick => "tick",
        }
    }
}

/// A run's turn: one of the process's plugin permits and, when the caller read the installation
/// on it, that connection, for the run to go on with (each return to the pool costs a ping).
/// The permit comes first: runs holding one wait for connections, so no one may hold a
/// connection while waiting for a permit.
pub struct Slot {
    permit: OwnedSemaphorePermit,
    conn: Option<PoolConnection<Any>>,
}

impl Slot {
    pub async fn take(state: &AppState) -> Result<Self> {
        let permit = state
            .plugins
            .permits()
            .acquire_owned()
            .await
            .map_err(|e| DomainError::Io(std::io::Error::other(e)))?;
        Ok(Self { permit, conn: None })
    }

    /// Hands `conn` on to the run.
    pub fn hold(&mut self, conn: PoolConnection<Any>) {
        self.conn = Some(conn);
    }
}

/// Runs `input` in a fresh sandbox on a blocking thread and records the run.
pub async fn run(
    state: &Arc<AppState>,
    ctx: &TenantCtx,
    loaded: &Loaded,
    trigger: Trigger,
    input: Input,
) -> Result<(PluginRunId, Run)> {
    let slot = Slot::take(state).await?;
    run_in(state, ctx, (loaded, slot), trigger, input).await
}

/// [`run`] in a slot the caller took.
#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id, installation = %loaded.id))]
pub async fn run_in(
    state: &Arc<AppState>,
    ctx: &TenantCtx,
    (loaded, mut slot): (&Loaded, Slot),
    trigger: Trigger,
    input: Input,
) -> Result<(PluginRunId, Run)> {
    let prepared = super::code::prepared(state, ctx, &loaded.code, slot.conn.as_mut()).await?;
    // What started the run, for the keys of the messages it sends: a retried event sends the
    // same keys, so a message is handed over once.
    let origin = match &input {
        Input::Event(event) => event.id.clone(),
        _ => uuid::Uuid::now_v7().simple().to_string(),
    };
    let host = TenantHost::new(
        state.clone(),
        ctx.clone(),
        loaded.id.to_string(),
        origin,
        tokio::runtime::Handle::current(),
    );
    let follow_ups = host.follow_ups();
    let writes = host.writes();
    let held = host.held();
    if let Some(conn) = slot.conn {
        held.put(conn);
    }
    let setup = CallSetup {
        host: Box::new(host),
        grants: loaded.grants.clone(),
        config: loaded.config.clone(),
    };
    let permit = slot.permit;
    let runtime = state.plugins.runtime.clone();
    let (state, ctx, installation) = (state.clone(), ctx.clone(), loaded.id.clone());
    let tokio = tokio::runtime::Handle::current();
    // The run is recorded on its thread, before its store is torn down: when it wrote, its
    // transaction holds the writer's turn on SQLite until then, and neither the teardown nor a
    // hand-back to an async task should be part of that.
    let (id, run) = tokio::task::spawn_blocking(move || {
        let recorded = runtime.invoke_then(&prepared, setup, input, |mut run| {
            let writes = writes.take();
            if writes.as_ref().is_some_and(|w| w.broken) && run.outcome == Outcome::Ok {
                run.outcome = Outcome::Error;
                run.output = None;
                run.error = Some(BROKEN.to_owned());
            }
            let id = tokio.block_on(record(
                &state,
                &ctx,
                &installation,
                trigger,
                &run,
                &follow_ups.take(),
                writes.map(|w| w.tx).ok_or_else(|| held.take()),
            ));
            id.map(|id| (id, run))
        });
        drop(permit);
        recorded
    })
    .await
    .map_err(|e| DomainError::Io(std::io::Error::other(e)))??;
    Ok((id, run))
}

/// Records the run: in its transaction (`Ok`) when it wrote, else in one of its own, begun on
/// the connection the run held for its reads (`Err`) when there is one.
async fn record(
    state: &AppState,
    ctx: &TenantCtx,
    installation: &InstallationId,
    trigger: Trigger,
    run: &Run,
    follow_ups: &[FollowUp],
    writes: std::result::Result<Tx, Option<PoolConnection<Any>>>,
) -> Result<PluginRunId> {
    let output = match &run.output {
        Some(Output::Event(s)) if !s.is_empty() => Some(s.clone()),
        Some(Output::Transform(r)) => Some(format!("HTTP {}", r.status)),
        _ => None,
    };
    let row = NewRun {
        trigger: trigger.as_str(),
        outcome: run.outcome.as_str(),
        error: run.error.as_deref(),
        output: output.as_deref(),
        duration_us: run.duration_us as i64,
        fuel_used: run.fuel_used as i64,
        memory_peak_bytes: run.memory_peak_bytes as i64,
        host_calls: i64::from(run.host_calls),
    };
    // A run that ended ok commits its writes with its record; a failed run's are undone.
    let mut tx = match writes {
        Ok(tx) if run.outcome == Outcome::Ok => tx,
        Ok(tx) => {
            tx.rollback().await?;
            state.store.tenant_tx(ctx).await?
        }
        Err(held) => state.store.tenant_tx_with(held, ctx).await?,
    };
    let id = store::plugin_runs::insert(&mut tx, ctx, installation.as_str(), &row).await?;
    for line in &run.logs {
        store::plugin_runs::insert_log(&mut tx, ctx, installation.as_str(), &id, line.level, &line.message).await?;
    }
    if run.outcome != Outcome::Ok {
        let why = format!(
            "run failed ({}): {}",
            run.outcome.as_str(),
            run.error.as_deref().unwrap_or("no reason given")
        );
        store::plugin_runs::insert_log(&mut tx, ctx, installation.as_str(), &id, "error", &why).await?;
        if !follow_ups.is_empty() {
            let dropped = format!("{} scheduled follow-ups dropped: the run failed", follow_ups.len());
            store::plugin_runs::insert_log(&mut tx, ctx, installation.as_str(), &id, "warn", &dropped).await?;
        }
    } else {
        dispatch::schedule(state, &mut tx, ctx, installation, follow_ups).await?;
    }
    tx.commit().await?;
    if run.outcome == Outcome::Ok && !follow_ups.is_empty() {
        state.jobs.wake();
    }
    Ok(id)
}

/// Adds a line about run `run` to the installation's log.
pub async fn note(
    state: &AppState,
    ctx: &TenantCtx,
    installation: &InstallationId,
    run: &PluginRunId,
    level: &str,
    message: &str,
) -> Result<()> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    store::plugin_runs::insert_log(&mut tx, ctx, installation.as_str(), run, level, message).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn runs(
    state: &AppState,
    ctx: &TenantCtx,
    installation: &InstallationId,
    before: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<RunRow>> {
    let mut read = state.store.tenant_read(ctx).await?;
    store::plugin_installations::get(&mut read, ctx, installation).await?;
    let rows = store::plugin_runs::runs(&mut read, ctx, installation.as_str(), before, page_limit(limit)).await?;
    read.commit().await?;
    Ok(rows)
}

pub async fn logs(
    state: &AppState,
    ctx: &TenantCtx,
    installation: &InstallationId,
    before: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<LogRow>> {
    let mut read = state.store.tenant_read(ctx).await?;
    store::plugin_installations::get(&mut read, ctx, installation).await?;
    let rows = store::plugin_runs::logs(&mut read, ctx, installation.as_str(), before, page_limit(limit)).await?;
    read.commit().await?;
    Ok(rows)
}
