//! Recording and reading the audit log.

use super::{page_limit, Result};
use crate::state::AppState;
use crate::store::{self, audit::AuditRow, audit::Entry, audit::Filter, Conn};
use crate::tenancy::TenantCtx;

/// Records a change in the transaction that makes it, so neither exists without the other.
pub async fn record(tx: &mut Conn, ctx: &TenantCtx, action: &str, target_type: &str, target_id: &str) -> Result<()> {
    store::audit::record(
        tx,
        ctx,
        Entry {
            action,
            target_type,
            target_id,
        },
    )
    .await?;
    Ok(())
}

pub struct Query {
    pub after: Option<String>,
    pub limit: Option<u32>,
    pub action: Option<String>,
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

pub async fn list(state: &AppState, ctx: &TenantCtx, q: Query) -> Result<Vec<AuditRow>> {
    let filter = Filter {
        after: q.after,
        limit: page_limit(q.limit),
        action: q.action,
        actor_id: q.actor_id,
        target_id: q.target_id,
        since_ms: q.since_ms,
        until_ms: q.until_ms,
    };
    let mut tx = state.store.tenant_read(ctx).await?;
    let rows = store::audit::list(&mut tx, ctx, &filter).await?;
    tx.commit().await?;
    Ok(rows)
}
