//! The import job: reads the file in batches of rows, one transaction per batch, and
//! checkpoints `rows_done` with each commit so a restarted job resumes after the last batch.

use std::path::Path;
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::Any;
use tokio::sync::mpsc;

use super::ahead::{self, Batch, Definitions, Preparing};
use super::mapping::{Columns, Mapping};
use super::source::{Row, Source, SourceError};
use super::{pair, upload, Mode};
use crate::domain::crm::bulk;
use crate::domain::crm::custom_fields;
use crate::domain::crm::customers::{self, Upserted};
use crate::domain::DomainError;
use crate::ids::ImportId;
use crate::jobs::Job;
use crate::state::AppState;
use crate::store::imports::{ImportErrorRow, ImportRow, Progress};
use crate::store::savepoint::Mark;
use crate::store::statistics::Grown;
use crate::store::{self, now_ms, Backend, BulkWork, Conn, StoreError};
use crate::tenancy::TenantCtx;

/// Rows per transaction. Every batch pays fixed costs (the lease check, the identifier lookup,
/// the commit and its WAL writes of the index pages it touched), so batches are large: 5,000
/// rows took half the CPU per row of 500 on SQLite and are about a second of work.
pub const BATCH_ROWS: usize = 5_000;
/// Imports of at least this many rows end by settling the tables (see `Store::settle`):
/// measured over 1,000,000 imported customers on PostgreSQL without autovacuum, a 3-condition
/// segment count took 1.7 s before it and 0.83 s after.
pub const SETTLE_FROM: i64 = BATCH_ROWS as i64;
/// Rows between refreshes of the planner's statistics (see `store::statistics`).
const STATISTICS_EVERY: i64 = 50_000;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The file cannot be imported at all; retrying will not help.
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{0}")]
    Mapping(String),
    /// Another worker holds the job now; it carries on from the last committed batch.
    #[error("the job's lease passed to another worker")]
    LeaseLost,
    /// The task reading the file ended before the file did (see the log); a retry reads again.
    #[error("reading the file stopped before its end")]
    ReaderStopped,
    /// Anything else (the database, the disk) may pass: the job retries.
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<StoreError> for RunError {
    fn from(e: StoreError) -> Self {
        RunError::Domain(e.into())
    }
}

impl RunError {
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            RunError::Source(SourceError::NoHeader | SourceError::HeaderEncoding) | RunError::Mapping(_)
        )
    }
}

/// Imports the rows after `import.rows_done`.
#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id, import = %id))]
pub async fn run(
    state: &AppState,
    ctx: &TenantCtx,
    job: &Job,
    id: &ImportId,
    import: &ImportRow,
) -> Result<(), RunError> {
    let mode = Mode::parse(&import.mode).unwrap_or(Mode::Create);
    let source = Source::open(Path::new(&import.file_path)).await?;
    let mut conn = state.store.bulk_connection(BulkWork::Import).await?;
    let mapping = import.mapping.as_deref().map(Mapping::from_stored);
    let columns = Mapping::bind(mapping.as_ref(), &source.headers).map_err(RunError::Mapping)?;
    let preparing = match mode {
        Mode::Create => {
            let mut read = state.store.tenant_read_on(&mut conn, ctx).await?;
            let defs = custom_fields::definitions(&mut read, ctx).await?;
            read.commit().await.map_err(StoreError::from)?;
            Some(Preparing {
                columns: columns.clone(),
                defs: Arc::new(defs),
            })
        }
        Mode::Upsert => None,
    };
    // PostgreSQL writes create-mode batches two at once (`pair`); SQLite has one writer.
    let mut second_conn = match (state.store.backend(), mode) {
        (Backend::Postgres, Mode::Create) => Some(state.store.bulk_connection(BulkWork::Import).await?),
        _ => None,
    };
    // Rows committed by an earlier attempt are read past, not written again.
    let mut batches = Batches {
        reader: ahead::start(source, import.rows_done, preparing),
        ended: false,
    };
    let mut row_number = import.rows_done;
    while let Some(batch) = batches.next().await? {
        let before = row_number;
        row_number = batch.rows.last().map_or(row_number, |(n, _)| *n);
        let later = match second_conn {
            Some(_) => batches.next().await?,
            None => None,
        };
        match (later, second_conn.as_mut()) {
            (Some(later), Some(second)) => {
                row_number = later.rows.last().map_or(row_number, |(n, _)| *n);
                let conns = (&mut conn, second);
                pair::create_two(state, conns, ctx, job, id, &columns, (batch, later)).await?;
            }
            _ => write_batch(state, &mut conn, ctx, job, id, mode, &columns, batch).await?,
        }
        if batches.ended {
            break;
        }
        // After the first batch and then every so often, while the tables grow fastest
        // relative to their size.
        if before == 0 || before / STATISTICS_EVERY != row_number / STATISTICS_EVERY {
            state.store.refresh_statistics(Grown::Crm).await?;
        }
    }
    // The rows are in; what follows only speeds up reading them, so a failure is not the
    // import's. Small imports leave it to autovacuum.
    if row_number >= SETTLE_FROM {
        if let Err(e) = state.store.settle(Grown::Crm).await {
            tracing::warn!(error = %e, "settling the imported tables failed");
        }
    }
    Ok(())
}

/// The reader's batches, up to the last: a batch shorter than [`BATCH_ROWS`] is the last, and
/// so is the end the reader sends after a full one.
struct Batches {
    reader: mpsc::Receiver<ahead::Next>,
    ended: bool,
}

impl Batches {
    async fn next(&mut self) -> Result<Option<Batch>, RunError> {
        if self.ended {
            return Ok(None);
        }
        match self.reader.recv().await {
            Some(Ok(batch)) => {
                self.ended = batch.as_ref().is_none_or(|b| b.rows.len() < BATCH_ROWS);
                Ok(batch)
            }
            Some(Err(e)) => Err(e.into()),
            None => Err(RunError::ReaderStopped),
        }
    }
}

/// Renews `job`'s lease in `tx`; [`RunError::LeaseLost`] when another worker holds it now.
pub(super) async fn hold_lease(state: &AppState, tx: &mut Conn, job: &Job) -> Result<(), RunError> {
    let until = now_ms() + state.config.job_lease_ms as i64;
    if !store::jobs::heartbeat(tx, &job.id, &job.locked_by, until).await? {
        return Err(RunError::LeaseLost);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn write_batch(
    state: &AppState,
    conn: &mut PoolConnection<Any>,
    ctx: &TenantCtx,
    job: &Job,
    id: &ImportId,
    mode: Mode,
    columns: &Columns,
    batch: Batch,
) -> Result<(), RunError> {
    let mut tx = state.store.tenant_tx_on(conn, ctx).await?;
    // Renewing the lease in the batch's own transaction keeps it alive however busy the
    // database is, and fences this worker off if another took the job over meanwhile.
    hold_lease(state, &mut tx, job).await?;
    let defs = custom_fields::definitions(&mut tx, ctx).await?;
    if matches!(mode, Mode::Create) {
        return create_batch(tx, ctx, id, &defs, columns, batch).await;
    }
    let mut progress = Progress {
        rows: batch.rows.len() as i64,
        ..Progress::default()
    };
    let mut mark = Mark::new("import_row");
    for (row_number, row) in batch.rows {
        let errors = match row {
            Row::Invalid(reason) => vec![(String::new(), reason)],
            Row::Cells(cells) => match upsert_row(&mut tx, &mut mark, ctx, &defs, columns, &cells).await? {
                Ok(Upserted::Created(_)) => {
                    progress.created += 1;
                    continue;
                }
                Ok(Upserted::Updated(_)) => {
                    progress.updated += 1;
                    continue;
                }
                Err(errors) => errors,
            },
        };
        progress.failed += 1;
        for (column_name, reason) in errors {
            let e = ImportErrorRow {
                row_number,
                column_name,
                reason,
            };
            store::imports::insert_error(&mut tx, ctx, id, &e).await?;
        }
    }
    store::imports::add_progress(&mut tx, ctx, id, progress).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// Create mode: the whole batch goes through the bulk path (validated in memory, written with
/// multi-row statements), which is what makes large imports fast.
async fn create_batch(
    mut tx: store::BulkTx<'_>,
    ctx: &TenantCtx,
    id: &ImportId,
    defs: &Definitions,
    columns: &Columns,
    mut batch: Batch,
) -> Result<(), RunError> {
    let prepared = batch.prepared_for(columns, defs);
    let results = bulk::write(&mut tx, ctx, prepared).await?;
    record_created(tx, ctx, id, columns, batch.rows, results).await
}

/// Ends a create-mode batch written in `tx`: the errors of its refused rows (`results`, and the
/// unreadable ones among `rows`) and its progress, then the commit.
pub(super) async fn record_created(
    mut tx: store::BulkTx<'_>,
    ctx: &TenantCtx,
    id: &ImportId,
    columns: &Columns,
    rows: Vec<(i64, Row)>,
    results: Vec<bulk::RowResult>,
) -> Result<(), RunError> {
    let mut progress = Progress {
        rows: rows.len() as i64,
        ..Progress::default()
    };
    let mut errors: Vec<(i64, RowErrors)> = rows
        .into_iter()
        .filter_map(|(row_number, row)| match row {
            Row::Invalid(reason) => Some((row_number, vec![(String::new(), reason)])),
            Row::Cells(_) => None,
        })
        .collect();
    for (row_number, result) in results {
        match result {
            Ok(_) => progress.created += 1,
            Err(e) => errors.push((row_number as i64, refusal(columns, e))),
        }
    }
    errors.sort_by_key(|(n, _)| *n);
    for (row_number, refused) in errors {
        progress.failed += 1;
        for (column_name, reason) in refused {
            store::imports::insert_error(
                &mut tx,
                ctx,
                id,
                &ImportErrorRow {
                    row_number,
                    column_name,
                    reason,
                },
            )
            .await?;
        }
    }
    store::imports::add_progress(&mut tx, ctx, id, progress).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// A refused row's errors, each named by the CSV column it came from where known.
fn refusal(columns: &Columns, e: DomainError) -> RowErrors {
    match e {
        DomainError::Invalid(fields) => fields
            .into_iter()
            .map(|f| (columns.header_of(&f.field), f.message))
            .collect(),
        DomainError::Conflict { field, message } => {
            vec![(field.map(|f| columns.header_of(&f)).unwrap_or_default(), message)]
        }
        other => vec![(String::new(), other.to_string())],
    }
}

/// `(column, reason)` pairs of a row the domain refused.
type RowErrors = Vec<(String, String)>;

/// Upserts one row after `mark` (create mode writes whole batches, [`create_batch`]): a refused
/// row leaves nothing behind. Only failures that are about the row come back as row errors; the
/// rest abort the batch.
async fn upsert_row(
    tx: &mut Conn,
    mark: &mut Mark,
    ctx: &TenantCtx,
    defs: &Definitions,
    columns: &Columns,
    cells: &[String],
) -> Result<Result<Upserted, RowErrors>, RunError> {
    let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
    let input = columns.input(&cells, defs);
    mark.set(tx).await?;
    let refused = match customers::upsert_in(tx, ctx, defs, input).await {
        Ok(done) => return Ok(Ok(done)),
        Err(e @ (DomainError::Invalid(_) | DomainError::Conflict { .. })) => refusal(columns, e),
        Err(other) => return Err(other.into()),
    };
    mark.undo(tx).await?;
    Ok(Err(refused))
}

/// Removes the file once the import has ended either way.
pub async fn cleanup(import: &ImportRow) {
    upload::discard(Path::new(&import.file_path)).await;
}
