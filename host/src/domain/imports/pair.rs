//! Create mode on PostgreSQL: two batches written at once, on two connections, committed in
//! order. One PostgreSQL backend writing was the import's limit (a core's worth of CPU, with the
//! host's own work a sixth of another); two share the machine's cores.
//!
//! The later batch's customers that share an email, phone or external id with the earlier
//! batch's are held back until the earlier one commits, then checked against the database like
//! any row: the two transactions never wait on each other's unique keys, and every row ends as
//! it would have one batch after the other. The later batch renews the lease and adds its
//! progress after the earlier one commits (both lock those rows), so `rows_done` still only
//! moves past rows that are committed.

use sqlx::pool::PoolConnection;
use sqlx::Any;

use super::ahead::Batch;
use super::mapping::Columns;
use super::run::{hold_lease, record_created, RunError};
use crate::domain::crm::{bulk, custom_fields};
use crate::ids::ImportId;
use crate::jobs::Job;
use crate::state::AppState;
use crate::tenancy::TenantCtx;

/// Writes `earlier` on `conns.0` and `later` on `conns.1`, and commits them in that order.
#[allow(clippy::too_many_arguments)]
pub(super) async fn create_two(
    state: &AppState,
    conns: (&mut PoolConnection<Any>, &mut PoolConnection<Any>),
    ctx: &TenantCtx,
    job: &Job,
    id: &ImportId,
    columns: &Columns,
    (mut earlier, mut later): (Batch, Batch),
) -> Result<(), RunError> {
    let mut first = state.store.tenant_tx_on(conns.0, ctx).await?;
    hold_lease(state, &mut first, job).await?;
    let defs = custom_fields::definitions(&mut first, ctx).await?;
    let first_rows = earlier.prepared_for(columns, &defs);
    let mut second = state.store.tenant_tx_on(conns.1, ctx).await?;
    let defs = custom_fields::definitions(&mut second, ctx).await?;
    let mut second_rows = later.prepared_for(columns, &defs);
    let held = second_rows.split_off_sharing(first_rows.identifiers());
    let (first_results, mut second_results) = tokio::try_join!(
        bulk::write(&mut first, ctx, first_rows),
        bulk::write(&mut second, ctx, second_rows)
    )?;
    record_created(first, ctx, id, columns, earlier.rows, first_results).await?;
    second_results.extend(bulk::write(&mut second, ctx, held).await?);
    hold_lease(state, &mut second, job).await?;
    record_created(second, ctx, id, columns, later.rows, second_results).await
}
