//! What happened to sent messages (opens, clicks, delivery moves, unsubscribes), and the
//! campaign figures counted from them.

use sqlx::FromRow;

use super::{Conn, Result};
use crate::ids::{EmailEventId, PrefixedId};
use crate::tenancy::TenantCtx;

/// One event of one message.
pub struct NewEvent<'a> {
    pub campaign_id: &'a str,
    pub message_id: &'a str,
    /// `delivered`, `delivery_delayed`, `bounced`, `complained`, `opened`, `clicked` or
    /// `unsubscribed`.
    pub kind: &'a str,
    pub url: Option<&'a str>,
    pub occurred_at: i64,
}

pub async fn insert(tx: &mut Conn, ctx: &TenantCtx, event: &NewEvent<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO email_events (id, tenant_id, campaign_id, message_id, kind, url, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(EmailEventId::generate().as_str())
    .bind(ctx.tenant_id.as_str())
    .bind(event.campaign_id)
    .bind(event.message_id)
    .bind(event.kind)
    .bind(event.url)
    .bind(event.occurred_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A campaign's messages by outcome.
#[derive(Debug, Clone, Default, FromRow)]
pub struct MessageCounts {
    pub sent: i64,
    pub delivered: i64,
    pub bounced: i64,
    pub complained: i64,
}

pub async fn message_counts(conn: &mut Conn, ctx: &TenantCtx, campaign_id: &str) -> Result<MessageCounts> {
    Ok(sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END), 0) AS sent, \
         COALESCE(SUM(CASE WHEN delivery IN ('delivered', 'complained') THEN 1 ELSE 0 END), 0) AS delivered, \
         COALESCE(SUM(CASE WHEN delivery = 'bounced' THEN 1 ELSE 0 END), 0) AS bounced, \
         COALESCE(SUM(CASE WHEN delivery = 'complained' THEN 1 ELSE 0 END), 0) AS complained \
         FROM email_messages WHERE tenant_id = $1 AND campaign_id = $2",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(campaign_id)
    .fetch_one(&mut *conn)
    .await?)
}

/// Events of one kind in one hour (`hour` is hours since the epoch; `None` for all time).
#[derive(Debug, Clone, FromRow)]
pub struct KindCount {
    pub hour: Option<i64>,
    pub kind: String,
    pub total: i64,
    /// Distinct messages.
    pub messages: i64,
}

/// A campaign's events per kind, overall.
pub async fn totals(conn: &mut Conn, ctx: &TenantCtx, campaign_id: &str) -> Result<Vec<KindCount>> {
    Ok(sqlx::query_as(
        "SELECT CAST(NULL AS BIGINT) AS hour, kind, COUNT(*) AS total, COUNT(DISTINCT message_id) AS messages \
         FROM email_events WHERE tenant_id = $1 AND campaign_id = $2 GROUP BY kind",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(campaign_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// A campaign's events per hour and kind, sends (`sent`, from the messages) included.
pub async fn hourly(conn: &mut Conn, ctx: &TenantCtx, campaign_id: &str) -> Result<Vec<KindCount>> {
    Ok(sqlx::query_as(
        "SELECT occurred_at / 3600000 AS hour, kind, COUNT(*) AS total, COUNT(DISTINCT message_id) AS messages \
         FROM email_events WHERE tenant_id = $1 AND campaign_id = $2 GROUP BY occurred_at / 3600000, kind \
         UNION ALL \
         SELECT sent_at / 3600000 AS hour, 'sent' AS kind, COUNT(*) AS total, COUNT(*) AS messages \
         FROM email_messages WHERE tenant_id = $1 AND campaign_id = $2 AND sent_at IS NOT NULL \
         GROUP BY sent_at / 3600000 ORDER BY hour, kind",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(campaign_id)
    .fetch_all(&mut *conn)
    .await?)
}
