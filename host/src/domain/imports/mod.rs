//! CSV imports of customers: the upload is spooled to disk and an import job does the rows.

pub mod ahead;
pub mod mapping;
mod pair;
pub mod run;
pub mod source;
pub mod upload;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use serde_json::json;
use tokio::io::AsyncRead;

use self::mapping::Mapping;
use crate::domain::crm::custom_fields;
use crate::domain::{audit, DomainError, Result};
use crate::ids::{ImportId, PrefixedId, TenantId};
use crate::jobs::{HandlerResult, Job, NewJob};
use crate::state::AppState;
use crate::store::{self, imports::ImportRow};
use crate::tenancy::{Actor, TenantCtx};

pub const JOB_KIND: &str = "customers.import";
/// Errors per page when writing the errors report.
const ERRORS_PAGE: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only new customers; a row whose identifiers exist is an error.
    Create,
    /// Merge into the customer matching email, phone or external id, or create.
    Upsert,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "create" => Some(Mode::Create),
            "upsert" => Some(Mode::Upsert),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mode::Create => "create",
            Mode::Upsert => "upsert",
        }
    }
}

/// How the rows of an upload are to be read.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `create` (default) or `upsert`.
    pub mode: Option<String>,
    /// JSON `{"<csv header>": "<target>"}`.
    pub mapping: Option<String>,
}

/// Checks the options, spools `body` to disk, then records the import and queues its job in
/// one transaction.
#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id))]
pub async fn create(
    state: &AppState,
    ctx: &TenantCtx,
    options: Options,
    body: impl AsyncRead + Send,
) -> Result<ImportRow> {
    let mode = match options.mode.as_deref() {
        None => Mode::Create,
        Some(m) => Mode::parse(m).ok_or_else(|| DomainError::invalid("mode", "must be create or upsert"))?,
    };
    let mapping = match options.mapping.as_deref() {
        None => None,
        Some(raw) => {
            let mut read = state.store.tenant_read(ctx).await?;
            let defs = custom_fields::definitions(&mut read, ctx).await?;
            read.commit().await?;
            Some(Mapping::parse(raw, &defs)?)
        }
    };
    let id = ImportId::generate();
    let path = upload::path_for(&state.config.data_dir, &ctx.tenant_id, &id);
    let bytes = upload::save(body, &path, state.config.max_import_bytes).await?;
    let recorded = record(state, ctx, &id, mode, mapping.as_ref(), &path.to_string_lossy()).await;
    if recorded.is_err() {
        upload::discard(&path).await;
    }
    tracing::info!(import = %id, bytes, "import queued");
    recorded
}

async fn record(
    state: &AppState,
    ctx: &TenantCtx,
    id: &ImportId,
    mode: Mode,
    mapping: Option<&Mapping>,
    path: &str,
) -> Result<ImportRow> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let mapping = mapping.map(Mapping::to_json);
    let row = store::imports::insert(&mut tx, ctx, id, mode.name(), mapping.as_deref(), path).await?;
    let job = NewJob {
        tenant_id: Some(ctx.tenant_id.to_string()),
        kind: JOB_KIND,
        payload: json!({ "import_id": id }),
        idempotency_key: Some(id.to_string()),
    };
    state.jobs.enqueue(&mut tx, &job).await?;
    audit::record(&mut tx, ctx, "import.created", "import", id.as_str()).await?;
    tx.commit().await?;
    state.jobs.wake();
    Ok(row)
}

pub async fn get(state: &AppState, ctx: &TenantCtx, id: &ImportId) -> Result<ImportRow> {
    let mut read = state.store.tenant_read(ctx).await?;
    let row = store::imports::get(&mut read, ctx, id).await?;
    read.commit().await?;
    Ok(row)
}

/// The import's row errors as CSV: `row,column,reason`.
pub async fn errors_csv(state: &AppState, ctx: &TenantCtx, id: &ImportId) -> Result<Vec<u8>> {
    let mut read = state.store.tenant_read(ctx).await?;
    store::imports::get(&mut read, ctx, id).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| DomainError::Io(e.into());
    out.write_record(["row", "column", "reason"]).map_err(csv_error)?;
    let mut after = 0;
    loop {
        let page = store::imports::errors(&mut read, ctx, id, after, ERRORS_PAGE).await?;
        for e in &page {
            out.write_record([e.row_number.to_string().as_str(), &e.column_name, &e.reason])
                .map_err(csv_error)?;
        }
        match page.last() {
            Some(last) if page.len() as i64 == ERRORS_PAGE => after = last.row_number,
            _ => break,
        }
    }
    read.commit().await?;
    out.into_inner().map_err(|e| DomainError::Io(e.into_error()))
}

/// The job handler for [`JOB_KIND`].
pub fn run_job(state: Arc<AppState>, job: Job) -> BoxFuture<'static, HandlerResult> {
    async move { run_import(&state, &job).await }.boxed()
}

async fn run_import(state: &AppState, job: &Job) -> HandlerResult {
    let tenant = job.tenant_id.clone().ok_or("an import job needs a tenant")?;
    let id = job.payload["import_id"]
        .as_str()
        .and_then(ImportId::parse)
        .ok_or("an import job needs an import_id")?;
    let ctx = TenantCtx::new(TenantId::from_raw(tenant), Actor::System, None);
    let import = get(state, &ctx, &id).await?;
    if import.status == "done" || import.status == "failed" {
        return Ok(());
    }
    set_status(state, &ctx, &id, "running", None).await?;
    match run::run(state, &ctx, job, &id, &import).await {
        Ok(()) => {
            end(state, &ctx, job, &id, "done", None).await?;
            run::cleanup(&import).await;
            Ok(())
        }
        Err(e) if e.is_permanent() || job.is_last_attempt() => {
            end(state, &ctx, job, &id, "failed", Some(&e.to_string())).await?;
            run::cleanup(&import).await;
            // A file that cannot be read will not read on a retry either: the import has failed,
            // the job has done its work.
            if e.is_permanent() {
                Ok(())
            } else {
                Err(e.into())
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Ends the import with `status`, unless the job's lease passed to another worker meanwhile:
/// then that worker, which carries on from the last batch, ends it and removes the file (a
/// stale worker ending it had removed the file under the new one, which then failed the import
/// although every row was in).
async fn end(
    state: &AppState,
    ctx: &TenantCtx,
    job: &Job,
    id: &ImportId,
    status: &str,
    error: Option<&str>,
) -> Result<(), run::RunError> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    run::hold_lease(state, &mut tx, job).await?;
    store::imports::set_status(&mut tx, ctx, id, status, error).await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    Ok(())
}

async fn set_status(state: &AppState, ctx: &TenantCtx, id: &ImportId, status: &str, error: Option<&str>) -> Result<()> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    store::imports::set_status(&mut tx, ctx, id, status, error).await?;
    tx.commit().await?;
    Ok(())
}
