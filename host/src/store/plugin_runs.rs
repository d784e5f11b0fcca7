//! Runs of installations and the lines they logged, read newest first.

use sqlx::FromRow;

use super::{now_ms, Conn, Result};
use crate::ids::{PluginLogId, PluginRunId, PrefixedId};
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct RunRow {
    pub id: String,
    pub trigger: String,
    pub outcome: String,
    pub error: Option<String>,
    pub output: Option<String>,
    pub duration_us: i64,
    pub fuel_used: i64,
    pub memory_peak_bytes: i64,
    pub host_calls: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct LogRow {
    pub id: String,
    pub run_id: String,
    pub level: String,
    pub message: String,
    pub created_at: i64,
}

pub struct NewRun<'a> {
    pub trigger: &'a str,
    pub outcome: &'a str,
    pub error: Option<&'a str>,
    pub output: Option<&'a str>,
    pub duration_us: i64,
    pub fuel_used: i64,
    pub memory_peak_bytes: i64,
    pub host_calls: i64,
}

pub async fn insert(tx: &mut Conn, ctx: &TenantCtx, installation: &str, run: &NewRun<'_>) -> Result<PluginRunId> {
    let id = PluginRunId::generate();
    sqlx::query(
        "INSERT INTO plugin_runs (id, tenant_id, installation_id, trigger, outcome, error, output, duration_us, \
         fuel_used, memory_peak_bytes, host_calls, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(id.as_str())
    .bind(ctx.tenant_id.as_str())
    .bind(installation)
    .bind(run.trigger)
    .bind(run.outcome)
    .bind(run.error)
    .bind(run.output)
    .bind(run.duration_us)
    .bind(run.fuel_used)
    .bind(run.memory_peak_bytes)
    .bind(run.host_calls)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    Ok(id)
}

pub async fn insert_log(
    tx: &mut Conn,
    ctx: &TenantCtx,
    installation: &str,
    run: &PluginRunId,
    level: &str,
    message: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO plugin_logs (id, tenant_id, installation_id, run_id, level, message, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(PluginLogId::generate().as_str())
    .bind(ctx.tenant_id.as_str())
    .bind(installation)
    .bind(run.as_str())
    .bind(level)
    .bind(message)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Newest first: `before` is the last id of the previous page.
async fn newest<T>(
    conn: &mut Conn,
    ctx: &TenantCtx,
    table: &str,
    columns: &str,
    installation: &str,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<T>>
where
    T: for<'r> FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    Ok(sqlx::query_as(&format!(
        "SELECT {columns} FROM {table} WHERE tenant_id = $1 AND installation_id = $2 AND ($3 = '' OR id < $3) \
         ORDER BY id DESC LIMIT $4"
    ))
    .bind(ctx.tenant_id.as_str())
    .bind(installation)
    .bind(before.unwrap_or(""))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn runs(
    conn: &mut Conn,
    ctx: &TenantCtx,
    installation: &str,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<RunRow>> {
    let columns =
        "id, trigger, outcome, error, output, duration_us, fuel_used, memory_peak_bytes, host_calls, created_at";
    newest(conn, ctx, "plugin_runs", columns, installation, before, limit).await
}

pub async fn logs(
    conn: &mut Conn,
    ctx: &TenantCtx,
    installation: &str,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<LogRow>> {
    let columns = "id, run_id, level, message, created_at";
    newest(conn, ctx, "plugin_logs", columns, installation, before, limit).await
}
