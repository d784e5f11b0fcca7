//! A campaign's messages: one row per recipient, written while the audience is walked, then
//! frozen and sent a batch at a time. Also the audience walk itself.

use sqlx::FromRow;

use super::sql::Sql;
use super::{now_ms, Conn, Result};
use crate::ids::{EmailMessageId, PrefixedId};
use crate::tenancy::TenantCtx;

/// Who a campaign goes to: customers matching any `include` predicate (compiled segments on
/// `c`) or carrying any of `tags`, minus those matching an `exclude` predicate.
pub struct Audience<'a> {
    pub include: &'a [Sql],
    pub tags: &'a [String],
    pub exclude: &'a [Sql],
}

#[derive(Debug, Clone, FromRow)]
pub struct Recipient {
    pub id: String,
    pub email: String,
}

/// The next `limit` reachable members of the audience after customer `after`, in id order:
/// with an email address, not suppressed on email, not unsubscribed from email.
pub async fn audience_page(
    conn: &mut Conn,
    ctx: &TenantCtx,
    audience: &Audience<'_>,
    after: &str,
    limit: i64,
) -> Result<Vec<Recipient>> {
    let tenant = ctx.tenant_id.as_str();
    let mut sql = Sql::new("SELECT c.id, c.email FROM customers c WHERE c.tenant_id = ");
    sql.planned_per_call()
        .bind(tenant)
        .push(" AND c.id > ")
        .bind(after)
        .push(" AND c.email IS NOT NULL AND (");
    let mut first = true;
    for predicate in audience.include {
        sql.push(if first { "(" } else { " OR (" }).append(predicate).push(")");
        first = false;
    }
    if !audience.tags.is_empty() {
        sql.push(if first { "" } else { " OR " })
            .push("EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tenant_id = ")
            .bind(tenant)
            // Implied by `c.id > after`, but PostgreSQL does not carry a range across the join:
            // without it a merge join scanned the tags from the first customer on every page
            // (53 ms instead of 2 at 50,000, growing with the audience).
            .push(" AND t.customer_id > ")
            .bind(after)
            .push(" AND t.tag IN ")
            .bind_list(audience.tags.iter().map(String::as_str))
            .push(")");
        first = false;
    }
    if first {
        sql.push("1 = 0");
    }
    sql.push(")");
    for predicate in audience.exclude {
        sql.push(" AND NOT (").append(predicate).push(")");
    }
    sql.push(" AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.tenant_id = ")
        .bind(tenant)
        .push(" AND s.channel = 'email' AND s.address = c.email)")
        .push(" AND NOT EXISTS (SELECT 1 FROM customer_consents k WHERE k.customer_id = c.id AND k.tenant_id = ")
        .bind(tenant)
        .push(" AND k.customer_id > ")
        .bind(after)
        .push(" AND k.channel = 'email' AND k.status = 'unsubscribed') ORDER BY c.id LIMIT ")
        .bind(limit);
    Ok(sql.fetch_all(conn).await?)
}

/// Writes message rows for `recipients`, numbering batches of `batch_size` from `first_seq`
/// (the campaign's recipients so far). An address already in the campaign is skipped. Answers
/// how many rows were written.
pub async fn insert_page(
    tx: &mut Conn,
    ctx: &TenantCtx,
    campaign_id: &str,
    recipients: &[Recipient],
    first_seq: i64,
    batch_size: i64,
) -> Result<i64> {
    if recipients.is_empty() {
        return Ok(0);
    }
    let now = now_ms();
    let mut sql = Sql::new(
        "INSERT INTO email_messages (id, tenant_id, campaign_id, customer_id, email, batch_no, status, created_at) \
         VALUES ",
    );
    sql.push_rows(recipients.iter().enumerate(), |sql, (i, r)| {
        sql.bind(EmailMessageId::generate().as_str())
            .push(", ")
            .bind(ctx.tenant_id.as_str())
            .push(", ")
            .bind(campaign_id)
            .push(", ")
            .bind(r.id.as_str())
            .push(", ")
            .bind(r.email.as_str())
            .push(", ")
            .bind((first_seq + i as i64) / batch_size.max(1))
            .push(", 'queued', ")
            .bind(now);
    });
    sql.push(" ON CONFLICT (campaign_id, email) DO NOTHING");
    Ok(sql.execute(tx).await?.rows_affected() as i64)
}

/// What a template may say about a recipient.
#[derive(Debug, Clone, FromRow)]
pub struct Person {
    pub customer_id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub external_id: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
}

/// A customer as a template sees them.
pub async fn person(conn: &mut Conn, ctx: &TenantCtx, customer_id: &str) -> Result<Person> {
    sqlx::query_as(
        "SELECT id AS customer_id, email, first_name, last_name, phone, external_id, locale, timezone \
         FROM customers WHERE tenant_id = $1 AND id = $2",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(customer_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(super::StoreError::NotFound)
}

/// A message of a batch with what its template needs.
#[derive(Debug, Clone, FromRow)]
pub struct BatchMessage {
    pub id: String,
    pub batch_no: i64,
    pub status: String,
    /// The address the message goes to, as fixed when the audience was walked.
    pub to: String,
    #[sqlx(flatten)]
    pub person: Person,
}

/// Batches `batches` of a campaign, in batch then message id order.
pub async fn batches(
    conn: &mut Conn,
    ctx: &TenantCtx,
    campaign_id: &str,
    batches: std::ops::Range<i64>,
) -> Result<Vec<BatchMessage>> {
    Ok(sqlx::query_as(
        "SELECT m.id, m.batch_no, m.status, m.email AS \"to\", m.customer_id, c.email, c.first_name, c.last_name, \
         c.phone, c.external_id, c.locale, c.timezone FROM email_messages m LEFT JOIN customers c ON c.id = m.customer_id \
         WHERE m.tenant_id = $1 AND m.campaign_id = $2 AND m.batch_no >= $3 AND m.batch_no < $4 \
         ORDER BY m.batch_no, m.id",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(campaign_id)
    .bind(batches.start)
    .bind(batches.end)
    .fetch_all(&mut *conn)
    .await?)
}

/// Sets the status of the given messages.
pub async fn set_status(tx: &mut Conn, ctx: &TenantCtx, ids: &[&str], status: &str) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    // `tenant_id || ''` keeps SQLite from walking the tenant's index (every message of the
    // tenant: 25 ms a window at 100,000 messages, growing with the table) instead of looking
    // up the ids.
    let mut sql = Sql::new("UPDATE email_messages SET status = ");
    sql.bind(status)
        .push(" WHERE id IN ")
        .bind_list(ids.iter().copied())
        .push(" AND tenant_id || '' = ")
        .bind(ctx.tenant_id.as_str());
    sql.execute(tx).await?;
    Ok(())
}

/// Records messages as sent, with the provider's id of each (for support: matching Resend's
/// dashboard; provider events find messages by our id, see `resend_events`).
pub async fn mark_sent(tx: &mut Conn, ctx: &TenantCtx, sent: &[(&str, &str)]) -> Result<()> {
    if sent.is_empty() {
        return Ok(());
    }
    // One statement joining a VALUES list of (id, provider id): each message is found by its
    // key. (A CASE over the ids compared every row with every WHEN: a third of a send's CPU.)
    // `column1`/`column2` are the names both SQLite and PostgreSQL give VALUES columns. The ids
    // again as an IN list let PostgreSQL find the rows by key; by the join alone it hashed the
    // VALUES and scanned the whole table.
    let mut sql = Sql::new("UPDATE email_messages SET status = 'sent', sent_at = ");
    sql.bind(now_ms()).push(", provider_id = v.column2 FROM (VALUES ");
    sql.push_rows(sent, |sql, (id, provider_id)| {
        sql.bind_separated([*id, *provider_id]);
    });
    sql.push(") AS v WHERE email_messages.tenant_id = ")
        .bind(ctx.tenant_id.as_str())
        .push(" AND email_messages.id = v.column1 AND email_messages.id IN ")
        .bind_list(sent.iter().map(|(id, _)| *id));
    sql.execute(tx).await?;
    Ok(())
}

/// What the public links and provider events need of a message.
#[derive(Debug, Clone, FromRow)]
pub struct MessageRef {
    pub id: String,
    pub tenant_id: String,
    pub campaign_id: String,
    pub customer_id: String,
    pub email: String,
}

const REF_COLUMNS: &str = "SELECT id, tenant_id, campaign_id, customer_id, email FROM email_messages";

/// A message of any tenant: for public links, whose token names the message and was checked
/// before, and the platform Resend account's webhooks, whose signature was.
pub async fn by_id_any_tenant(conn: &mut Conn, message_id: &str) -> Result<Option<MessageRef>> {
    Ok(sqlx::query_as(&format!("{REF_COLUMNS} WHERE id = $1"))
        .bind(message_id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// The tenant's message `message_id`.
pub async fn by_id(conn: &mut Conn, ctx: &TenantCtx, message_id: &str) -> Result<Option<MessageRef>> {
    Ok(
        sqlx::query_as(&format!("{REF_COLUMNS} WHERE tenant_id = $1 AND id = $2"))
            .bind(ctx.tenant_id.as_str())
            .bind(message_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Moves a message's delivery status to `delivery` if its rank is higher than the current one;
/// true when it moved.
pub async fn advance_delivery(tx: &mut Conn, ctx: &TenantCtx, id: &str, delivery: &str, rank: i32) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE email_messages SET delivery = $3, delivery_rank = $4 \
         WHERE tenant_id = $1 AND id = $2 AND delivery_rank < $4",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(id)
    .bind(delivery)
    .bind(rank)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A sent message as the customer's timeline shows it.
#[derive(Debug, Clone, FromRow)]
pub struct TimelineMessage {
    pub id: String,
    pub campaign_id: String,
    pub campaign_name: String,
    pub email: String,
    pub delivery: Option<String>,
    pub sent_at: i64,
    pub opens: i64,
    pub clicks: i64,
}

/// A customer's sent messages, newest first; `before` is `(sent_at, id)` of the last entry of the
/// previous page.
pub async fn of_customer(
    conn: &mut Conn,
    ctx: &TenantCtx,
    customer_id: &str,
    before: Option<(i64, &str)>,
    limit: i64,
) -> Result<Vec<TimelineMessage>> {
    let (at, id) = before.unwrap_or((i64::MAX, ""));
    Ok(sqlx::query_as(
        "SELECT m.id, m.campaign_id, c.name AS campaign_name, m.email, m.delivery, m.sent_at, \
         (SELECT COUNT(*) FROM email_events e WHERE e.tenant_id = $1 AND e.message_id = m.id AND e.kind = 'opened') AS opens, \
         (SELECT COUNT(*) FROM email_events e WHERE e.tenant_id = $1 AND e.message_id = m.id AND e.kind = 'clicked') AS clicks \
         FROM email_messages m JOIN email_campaigns c ON c.id = m.campaign_id AND c.tenant_id = $1 \
         WHERE m.tenant_id = $1 AND m.customer_id = $2 AND m.sent_at IS NOT NULL \
         AND (m.sent_at < $3 OR (m.sent_at = $3 AND m.id < $4) OR $4 = '') \
         ORDER BY m.sent_at DESC, m.id DESC LIMIT $5",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(customer_id)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// Erasure: a customer's messages keep counting in their campaigns' stats, but their address is
/// replaced by one that names only the message, and those not yet handed to the provider are
/// skipped so none is sent after the person is gone.
pub async fn anonymise_customer(tx: &mut Conn, ctx: &TenantCtx, customer_id: &str) -> Result<u64> {
    sqlx::query(
        "UPDATE email_messages SET status = 'skipped' WHERE tenant_id = $1 AND customer_id = $2 AND status = 'queued'",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(customer_id)
    .execute(&mut *tx)
    .await?;
    let done = sqlx::query(
        "UPDATE email_messages SET email = 'erased-' || id || '@erased.invalid' WHERE tenant_id = $1 AND customer_id = $2",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(customer_id)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected())
}
