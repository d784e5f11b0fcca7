//! Tenants' tracking domains.

use super::{conflict_on, now_ms, Conn, Result};
use crate::tenancy::TenantCtx;

pub async fn get(conn: &mut Conn, ctx: &TenantCtx) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT domain FROM tracking_domains WHERE tenant_id = $1")
            .bind(ctx.tenant_id.as_str())
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Sets the tenant's domain; `Conflict` when another tenant has it.
pub async fn put(tx: &mut Conn, ctx: &TenantCtx, domain: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO tracking_domains (tenant_id, domain, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id) DO UPDATE SET domain = excluded.domain, created_at = excluded.created_at",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(domain)
    .bind(now_ms())
    .execute(&mut *tx)
    .await
    .map_err(conflict_on("domain"))?;
    Ok(())
}

/// True when there was something to remove.
pub async fn delete(tx: &mut Conn, ctx: &TenantCtx) -> Result<bool> {
    let done = sqlx::query("DELETE FROM tracking_domains WHERE tenant_id = $1")
        .bind(ctx.tenant_id.as_str())
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The tenant whose tracking domain `domain` is, any tenant: for requests arriving on it.
pub async fn tenant_of(conn: &mut Conn, domain: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT tenant_id FROM tracking_domains WHERE domain = $1")
            .bind(domain)
            .fetch_optional(&mut *conn)
            .await?,
    )
}
