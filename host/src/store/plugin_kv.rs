//! Each installation's key-value store.

use super::{Conn, Result};
use crate::tenancy::TenantCtx;

pub async fn get(conn: &mut Conn, ctx: &TenantCtx, installation: &str, key: &str) -> Result<Option<Vec<u8>>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM plugin_kv WHERE tenant_id = $1 AND installation_id = $2 AND key = $3")
            .bind(ctx.tenant_id.as_str())
            .bind(installation)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Bytes stored by the installation (keys and values), not counting `except_key`.
pub async fn usage(conn: &mut Conn, ctx: &TenantCtx, installation: &str, except_key: &str) -> Result<i64> {
    let used: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(SUM(LENGTH(key) + LENGTH(value)) AS BIGINT) FROM plugin_kv \
         WHERE tenant_id = $1 AND installation_id = $2 AND key <> $3",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(installation)
    .bind(except_key)
    .fetch_one(&mut *conn)
    .await?;
    Ok(used.unwrap_or(0))
}

pub async fn put(tx: &mut Conn, ctx: &TenantCtx, installation: &str, key: &str, value: &[u8]) -> Result<()> {
    sqlx::query(
        "INSERT INTO plugin_kv (tenant_id, installation_id, key, value) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (installation_id, key) DO UPDATE SET value = excluded.value",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(installation)
    .bind(key)
    .bind(value)
    .execute(&mut *tx)
    .await?;
    Ok(())
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
) -> Result<Vec<String>> {
    // A range instead of LIKE, so '%' and '_' in keys are literal.
    let upper = format!("{prefix}\u{10FFFF}");
    Ok(sqlx::query_scalar(
        "SELECT key FROM plugin_kv WHERE tenant_id = $1 AND installation_id = $2 AND key >= $3 AND key < $4 \
         AND key > $5 ORDER BY key LIMIT $6",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(installation)
    .bind(prefix)
    .bind(upper)
    .bind(after)
    .bind(limit)
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
) -> Result<Vec<(String, Option<Vec<u8>>)>> {
    Ok(sqlx::query_as(
        "SELECT key, CASE WHEN LENGTH(value) <= $3 THEN value END FROM plugin_kv \
         WHERE tenant_id = $1 AND installation_id = $2 ORDER BY key LIMIT $4",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(installation)
    .bind(inline_bytes)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}
