//! Email campaigns: their content, audience, state, and send checkpoints.

use sqlx::FromRow;

use super::scoped::{self, Table};
use super::{now_ms, Conn, Result, StoreError};
use crate::ids::EmailCampaignId;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct CampaignRow {
    pub id: String,
    pub name: String,
    pub status: String,
    pub from_name: Option<String>,
    pub from_email: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub html: String,
    pub text_body: Option<String>,
    /// JSON `{segment_ids, tags, exclude_segment_ids}`.
    pub audience: String,
    pub send_at: Option<i64>,
    pub timezone: Option<String>,
    pub batch_size: i32,
    pub prepared_after: String,
    pub prepared_at: Option<i64>,
    pub recipients: i64,
    pub batches_done: i64,
    pub sent: i64,
    pub skipped: i64,
    /// Audience members whose address cannot be sent to.
    pub invalid: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

const TABLE: Table = Table {
    name: "email_campaigns",
    columns: "id, name, status, from_name, from_email, reply_to, subject, html, text_body, audience, send_at, \
              timezone, batch_size, prepared_after, prepared_at, recipients, batches_done, sent, skipped, invalid, \
              created_at, updated_at, started_at, finished_at",
};

/// What a campaign says, as written.
pub struct Fields<'a> {
    pub name: &'a str,
    pub from_name: Option<&'a str>,
    pub from_email: &'a str,
    pub reply_to: Option<&'a str>,
    pub subject: &'a str,
    pub html: &'a str,
    pub text_body: Option<&'a str>,
    pub audience: &'a str,
    pub send_at: Option<i64>,
    pub timezone: Option<&'a str>,
}

pub async fn insert(
    tx: &mut Conn,
    ctx: &TenantCtx,
    id: &EmailCampaignId,
    f: &Fields<'_>,
    batch_size: i32,
) -> Result<CampaignRow> {
    let insert = sqlx::query(
        "INSERT INTO email_campaigns (id, tenant_id, name, from_name, from_email, reply_to, subject, html, \
         text_body, audience, send_at, timezone, batch_size, created_at, updated_at, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, 'draft')",
    );
    bind_fields(insert, id, ctx, f)
        .bind(batch_size)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    get(tx, ctx, id).await
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds `$1` id, `$2` tenant, then the fields as `$3` to `$12`.
fn bind_fields<'q>(q: Query<'q>, id: &'q EmailCampaignId, ctx: &'q TenantCtx, f: &'q Fields<'q>) -> Query<'q> {
    q.bind(id.as_str())
        .bind(ctx.tenant_id.as_str())
        .bind(f.name)
        .bind(f.from_name)
        .bind(f.from_email)
        .bind(f.reply_to)
        .bind(f.subject)
        .bind(f.html)
        .bind(f.text_body)
        .bind(f.audience)
        .bind(f.send_at)
        .bind(f.timezone)
}

/// Rewrites a draft's content; `NotFound` when it is not a draft of this tenant.
pub async fn update_draft(tx: &mut Conn, ctx: &TenantCtx, id: &EmailCampaignId, f: &Fields<'_>) -> Result<CampaignRow> {
    let update = sqlx::query(
        "UPDATE email_campaigns SET name = $3, from_name = $4, from_email = $5, reply_to = $6, subject = $7, \
         html = $8, text_body = $9, audience = $10, send_at = $11, timezone = $12, updated_at = $13 \
         WHERE id = $1 AND tenant_id = $2 AND status = 'draft'",
    );
    let done = bind_fields(update, id, ctx, f).bind(now_ms()).execute(&mut *tx).await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get(tx, ctx, id).await
}

pub async fn get(conn: &mut Conn, ctx: &TenantCtx, id: &EmailCampaignId) -> Result<CampaignRow> {
    scoped::get(conn, ctx, &TABLE, id.as_str()).await
}

pub async fn page(conn: &mut Conn, ctx: &TenantCtx, after: Option<&str>, limit: i64) -> Result<Vec<CampaignRow>> {
    scoped::page(conn, ctx, &TABLE, after, limit).await
}

/// Deletes a draft; false when there is no such draft.
pub async fn delete_draft(tx: &mut Conn, ctx: &TenantCtx, id: &EmailCampaignId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM email_campaigns WHERE tenant_id = $1 AND id = $2 AND status = 'draft'")
        .bind(ctx.tenant_id.as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves the campaign from one of `from` to `to`; false when it was in none of them.
pub async fn transition(tx: &mut Conn, ctx: &TenantCtx, id: &EmailCampaignId, from: &[&str], to: &str) -> Result<bool> {
    let now = now_ms();
    let mut sql = super::sql::Sql::new("UPDATE email_campaigns SET status = ");
    sql.bind(to)
        .push(", updated_at = ")
        .bind(now)
        .push(", started_at = CASE WHEN ")
        .bind(to)
        .push(" = 'sending' AND started_at IS NULL THEN ")
        .bind(now)
        .push(" ELSE started_at END, finished_at = CASE WHEN ")
        .bind(to)
        .push(" IN ('sent', 'cancelled') THEN ")
        .bind(now)
        .push(" ELSE finished_at END WHERE tenant_id = ")
        .bind(ctx.tenant_id.as_str())
        .push(" AND id = ")
        .bind(id.as_str())
        .push(" AND status IN ")
        .bind_list(from.iter().copied());
    Ok(sql.execute(tx).await?.rows_affected() == 1)
}

/// Records a page of the audience walk: message rows up to `after` exist, `added` more of them.
pub async fn prepared_page(
    tx: &mut Conn,
    ctx: &TenantCtx,
    id: &EmailCampaignId,
    after: &str,
    added: i64,
    invalid: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE email_campaigns SET prepared_after = $3, recipients = recipients + $4, invalid = invalid + $6, \
         updated_at = $5 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(id.as_str())
    .bind(after)
    .bind(added)
    .bind(now_ms())
    .bind(invalid)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Marks the audience walk as over.
pub async fn prepared(tx: &mut Conn, ctx: &TenantCtx, id: &EmailCampaignId) -> Result<()> {
    sqlx::query("UPDATE email_campaigns SET prepared_at = $3, updated_at = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(ctx.tenant_id.as_str())
        .bind(id.as_str())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Records the batches of `batches` as handed over: `sent` messages went, `skipped` did not.
/// Only from where the campaign is, so a window recorded twice counts once.
pub async fn batches_done(
    tx: &mut Conn,
    ctx: &TenantCtx,
    id: &EmailCampaignId,
    batches: std::ops::Range<i64>,
    sent: i64,
    skipped: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE email_campaigns SET batches_done = $7, sent = sent + $4, skipped = skipped + $5, updated_at = $6 \
         WHERE tenant_id = $1 AND id = $2 AND batches_done = $3",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(id.as_str())
    .bind(batches.start)
    .bind(sent)
    .bind(skipped)
    .bind(now_ms())
    .bind(batches.end)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
