//! Each installation's key-value store. Entries may expire: reads take the time `now` (ms) and
//! see only entries live then; expired rows stay until [`prune_expired`] deletes them.

use super::{Conn, Result};
use crate::tenancy::TenantCtx;

/// The condition an entry is live at `$n` under.
macro_rules! live_at {
    ($n:literal) => {
        concat!("(expires_at IS NULL OR expires_at > $", $n, ")")
    };
}

pub async fn get(conn: &mut Conn, ctx: &TenantCtx, installation: &str, key: &str, now: i64) -> Result<Option<Vec<u8>>> {
    Ok(sqlx::query_scalar(concat!(
        "SELECT value FROM plugin_kv WHERE tenant_id = $1 AND installation_id = $2 AND key = $3 AND ",
        live_at!(4)
    ))
    .bind(ctx.tenant_id.as_str())
    .bind(installation)
    .bind(key)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Bytes (keys and values) of the installation's entries live at `now`: a sum over the
/// namespace, for when [`stored_bytes`] is over the quota.
pub async fn live_bytes(conn: &mut Conn, ctx: &TenantCtx, installation: &str, now: i64) -> Result<i64> {
    let used: Option<i64> = sqlx::query_scalar(concat!(
        "SELECT CAST(SUM(OCTET_LENGTH(key) + OCTET_LENGTH(value)) AS BIGINT) FROM plugin_kv \
         WHERE tenant_id = $1 AND installation_id = $2 AND ",
        live_at!(3)
    ))
    .bind(ctx.tenant_id.as_str())
    .bind(installation)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(used.unwrap_or(0))
}

/// Bytes (keys and values) the installation's entries take, expired ones not pruned yet
/// included: a sum over the usage rows the triggers of `plugin_kv` keep (in shards on
/// PostgreSQL), not over the namespace.
pub async fn stored_bytes(conn: &mut Conn, ctx: &TenantCtx, installation: &str) -> Result<i64> {
    let stored: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(SUM(bytes) AS BIGINT) FROM plugin_kv_usage WHERE tenant_id = $1 AND installation_id = $2",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(installation)
    .fetch_one(&mut *conn)
    .await?;
    Ok(stored.unwrap_or(0))
}

/// Stores `value` under `key`, until `expires_at` (ms) when given, else for good.
pub async fn put(
    tx: &mut Conn,
    ctx: &TenantCtx,
    installation: &str,
    (key, value): (&str, &[u8]),
    expires_at: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO plugin_kv (tenant_id, installation_id, key, value, expires_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (installation_id, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(installation)
    .bind(key)
    .bind(value)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Deletes up to `limit` entries (of every tenant) expired by `now`, soonest expired first.
/// Returns how many went.
pub async fn prune_expired(tx: &mut Conn, now: i64, limit: i64) -> Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM plugin_kv WHERE (installation_id, key) IN (SELECT installation_id, key FROM plugin_kv \
         WHERE expires_at IS NOT NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2)",
    )
    .bind(now)
    .bind(limit)
    .execute(&mut *tx)
    .await?
    .rows_affected())
}

pub async fn delete(tx: &mut Conn, ctx: &TenantCtx, installation: &str, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM plugin_kv WHERE tenant_id = $1 AND installation_id = $2 AND key = $3")
        .bind(ctx.tenant_id.as_str())
        .bind(installation)
        .bind(key)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Keys starting with `prefix` after `after`, in order.
pub async fn list(
    conn: &mut Conn,
    ctx: &TenantCtx,
    installation: &str,
    prefix: &str,
    after: &str,
    limit: i64,
    now: i64,
) -> Result<Vec<String>> {
    // A range instead of LIKE, so '%' and '_' in keys are literal.
    let upper = format!("{prefix}\u{10FFFF}");
    Ok(sqlx::query_scalar(concat!(
        "SELECT key FROM plugin_kv WHERE tenant_id = $1 AND installation_id = $2 AND key >= $3 AND key < $4 \
         AND key > $5 AND ",
        live_at!(7),
        " ORDER BY key LIMIT $6"
    ))
    .bind(ctx.tenant_id.as_str())
    .bind(installation)
    .bind(prefix)
    .bind(upper)
    .bind(after)
    .bind(limit)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?)
}

/// The installation's first `limit` keys in order, each with its value when that is at most
/// `inline_bytes` long (`None` when longer: read it with [`get`]).
pub async fn snapshot(
    conn: &mut Conn,
    ctx: &TenantCtx,
    installation: &str,
    limit: i64,
    inline_bytes: i64,
    now: i64,
) -> Result<Vec<(String, Option<Vec<u8>>)>> {
    Ok(sqlx::query_as(concat!(
        "SELECT key, CASE WHEN LENGTH(value) <= $3 THEN value END FROM plugin_kv \
         WHERE tenant_id = $1 AND installation_id = $2 AND ",
        live_at!(5),
        " ORDER BY key LIMIT $4"
    ))
    .bind(ctx.tenant_id.as_str())
    .bind(installation)
    .bind(inline_bytes)
    .bind(limit)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?)
}
