//! A tenant's own email provider account, overriding the platform's.

use sqlx::FromRow;

use super::{now_ms, Conn, Result};
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct SettingsRow {
    pub provider: String,
    pub api_key: String,
    pub base_url: Option<String>,
    /// The Standard Webhooks secret the account signs its webhooks with.
    pub webhook_secret: Option<String>,
    pub updated_at: i64,
}

pub async fn get(conn: &mut Conn, ctx: &TenantCtx) -> Result<Option<SettingsRow>> {
    Ok(sqlx::query_as(
        "SELECT provider, api_key, base_url, webhook_secret, updated_at FROM email_provider_settings WHERE tenant_id = $1",
    )
    .bind(ctx.tenant_id.as_str())
    .fetch_optional(&mut *conn)
    .await?)
}

/// A tenant's own account as written.
pub struct Account<'a> {
    pub provider: &'a str,
    pub api_key: &'a str,
    pub base_url: Option<&'a str>,
    pub webhook_secret: Option<&'a str>,
}

pub async fn put(tx: &mut Conn, ctx: &TenantCtx, account: &Account<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO email_provider_settings (tenant_id, provider, api_key, base_url, webhook_secret, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id) DO UPDATE SET provider = excluded.provider, \
         api_key = excluded.api_key, base_url = excluded.base_url, webhook_secret = excluded.webhook_secret, \
         updated_at = excluded.updated_at",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(account.provider)
    .bind(account.api_key)
    .bind(account.base_url)
    .bind(account.webhook_secret)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// True when there was something to remove.
pub async fn delete(tx: &mut Conn, ctx: &TenantCtx) -> Result<bool> {
    let done = sqlx::query("DELETE FROM email_provider_settings WHERE tenant_id = $1")
        .bind(ctx.tenant_id.as_str())
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected() > 0)
}
