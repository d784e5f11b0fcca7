//! Running an installation and recording the run: outcome, cost and the plugin's log lines,
//! plus a line saying why when it failed.

use std::sync::Arc;

use super::host::TenantHost;
use super::installations::Loaded;
use crate::domain::{page_limit, DomainError, Result};
use crate::ids::{InstallationId, PluginRunId};
use crate::plugins::runtime::CallSetup;
use crate::plugins::{Input, Outcome, Output, Run};
use crate::state::AppState;
use crate::store::{self, plugin_runs::LogRow, plugin_runs::NewRun, plugin_runs::RunRow};
use crate::tenancy::TenantCtx;

/// What started a run.
#[derive(Clone, Copy)]
pub enum Trigger {
    Invoke,
    Webhook,
    Event,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Invoke => "invoke",
            Trigger::Webhook => "webhook",
            Trigger::Event => "event",
        }
    }
}

/// Runs `input` in a fresh sandbox on a blocking thread and records the run.
#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id, installation = %loaded.id))]
pub async fn run(
    state: &Arc<AppState>,
    ctx: &TenantCtx,
    loaded: &Loaded,
    trigger: Trigger,
    input: Input,
) -> Result<(PluginRunId, Run)> {
    let prepared = super::code::prepared(state, ctx, &loaded.code).await?;
    let setup = CallSetup {
        host: Box::new(TenantHost {
            state: state.clone(),
            ctx: ctx.clone(),
            installation: loaded.id.to_string(),
            runtime: tokio::runtime::Handle::current(),
        }),
        grants: loaded.grants.clone(),
        config: loaded.config.clone(),
    };
    let permit = state
        .plugins
        .permits()
        .acquire_owned()
        .await
        .map_err(|e| DomainError::Io(std::io::Error::other(e)))?;
    let runtime = state.plugins.runtime.clone();
    let run = tokio::task::spawn_blocking(move || {
        let run = runtime.invoke(&prepared, setup, input);
        drop(permit);
        run
    })
    .await
    .map_err(|e| DomainError::Io(std::io::Error::other(e)))?;
    let id = record(state, ctx, loaded, trigger, &run).await?;
    Ok((id, run))
}

async fn record(
    state: &AppState,
    ctx: &TenantCtx,
    loaded: &Loaded,
    trigger: Trigger,
    run: &Run,
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
    let installation = loaded.id.as_str();
    let mut tx = state.store.tenant_tx(ctx).await?;
    let id = store::plugin_runs::insert(&mut tx, ctx, installation, &row).await?;
    for line in &run.logs {
        store::plugin_runs::insert_log(&mut tx, ctx, installation, &id, line.level, &line.message).await?;
    }
    if run.outcome != Outcome::Ok {
        let why = format!(
            "run failed ({}): {}",
            run.outcome.as_str(),
            run.error.as_deref().unwrap_or("no reason given")
        );
        store::plugin_runs::insert_log(&mut tx, ctx, installation, &id, "error", &why).await?;
    }
    tx.commit().await?;
    Ok(id)
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
