//! The audit log: one row per mutating call, written in the same transaction as the change.

use sqlx::FromRow;

use super::{now_ms, Conn, Result};
use crate::ids::{AuditLogId, PrefixedId};
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct AuditRow {
    pub id: String,
    pub actor_type: String,
    pub actor_id: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub request_id: Option<String>,
    pub created_at: i64,
}

/// What changed: `action` is `resource.verb` (e.g. `api_key.created`).
pub struct Entry<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
}

pub async fn record(tx: &mut Conn, ctx: &TenantCtx, entry: Entry<'_>) -> Result<()> {
    let (actor_type, actor_id) = ctx.actor.parts();
    sqlx::query(
        "INSERT INTO audit_logs (id, tenant_id, actor_type, actor_id, action, target_type, target_id, request_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(AuditLogId::generate().as_str())
    .bind(ctx.tenant_id.as_str())
    .bind(actor_type)
    .bind(actor_id)
    .bind(entry.action)
    .bind(entry.target_type)
    .bind(entry.target_id)
    .bind(ctx.request_id.as_deref())
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[derive(Debug, Default)]
pub struct Filter {
    pub after: Option<String>,
    pub limit: i64,
    pub action: Option<String>,
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

/// Newest first; `after` is the id of the last entry of the previous page. Optional filters are
/// bound as NULL when absent (`$n IS NULL OR …`), so the statement text never changes.
pub async fn list(tx: &mut Conn, ctx: &TenantCtx, filter: &Filter) -> Result<Vec<AuditRow>> {
    Ok(sqlx::query_as(
        "SELECT id, actor_type, actor_id, action, target_type, target_id, request_id, created_at \
         FROM audit_logs WHERE tenant_id = $1 \
         AND ($2 IS NULL OR id < $2) AND ($3 IS NULL OR action = $3) \
         AND ($4 IS NULL OR actor_id = $4) AND ($5 IS NULL OR target_id = $5) \
         AND ($6 IS NULL OR created_at >= $6) AND ($7 IS NULL OR created_at < $7) \
         ORDER BY id DESC LIMIT $8",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(filter.after.as_deref())
    .bind(filter.action.as_deref())
    .bind(filter.actor_id.as_deref())
    .bind(filter.target_id.as_deref())
    .bind(filter.since_ms)
    .bind(filter.until_ms)
    .bind(filter.limit)
    .fetch_all(&mut *tx)
    .await?)
}

/// Entries about one target, oldest first (data export).
pub async fn about(tx: &mut Conn, ctx: &TenantCtx, target_id: &str) -> Result<Vec<AuditRow>> {
    Ok(sqlx::query_as(
        "SELECT id, actor_type, actor_id, action, target_type, target_id, request_id, created_at \
         FROM audit_logs WHERE tenant_id = $1 AND target_id = $2 ORDER BY id",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(target_id)
    .fetch_all(&mut *tx)
    .await?)
}
