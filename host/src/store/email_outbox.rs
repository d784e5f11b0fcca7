//! The dev outbox: emails (and SMS, which has no provider yet) recorded instead of sent, once
//! per message key.

use sqlx::FromRow;

use super::scoped::{self, Table};
use super::{now_ms, Conn, Result};
use crate::ids::{OutboxEmailId, PrefixedId};
use crate::providers::email::Email;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct OutboxRow {
    pub id: String,
    /// `email` or `sms`.
    pub channel: String,
    pub message_key: String,
    pub from_addr: String,
    pub to_addr: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub html: String,
    pub text_body: String,
    /// JSON object.
    pub headers: String,
    pub created_at: i64,
}

const TABLE: Table = Table {
    name: "email_outbox",
    columns: "id, channel, message_key, from_addr, to_addr, reply_to, subject, html, text_body, headers, created_at",
};

/// Records `email` unless its key was recorded before; answers the recorded id either way.
pub async fn record(tx: &mut Conn, ctx: &TenantCtx, email: &Email) -> Result<String> {
    insert(tx, ctx, "email", email).await
}

/// Records an SMS of `text` to `phone` unless `key` was recorded before; answers its id.
pub async fn record_sms(tx: &mut Conn, ctx: &TenantCtx, phone: &str, text: &str, key: &str) -> Result<String> {
    let sms = Email {
        from: String::new(),
        to: phone.to_owned(),
        reply_to: None,
        subject: String::new(),
        html: String::new(),
        text: text.to_owned(),
        headers: Vec::new(),
        key: key.to_owned(),
    };
    insert(tx, ctx, "sms", &sms).await
}

async fn insert(tx: &mut Conn, ctx: &TenantCtx, channel: &str, email: &Email) -> Result<String> {
    let headers: serde_json::Map<String, serde_json::Value> = email
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    sqlx::query(
        "INSERT INTO email_outbox (id, tenant_id, message_key, from_addr, to_addr, reply_to, subject, html, \
         text_body, headers, created_at, channel) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (tenant_id, message_key) DO NOTHING",
    )
    .bind(OutboxEmailId::generate().as_str())
    .bind(ctx.tenant_id.as_str())
    .bind(&email.key)
    .bind(&email.from)
    .bind(&email.to)
    .bind(email.reply_to.as_deref())
    .bind(&email.subject)
    .bind(&email.html)
    .bind(&email.text)
    .bind(serde_json::Value::Object(headers).to_string())
    .bind(now_ms())
    .bind(channel)
    .execute(&mut *tx)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT id FROM email_outbox WHERE tenant_id = $1 AND message_key = $2")
            .bind(ctx.tenant_id.as_str())
            .bind(&email.key)
            .fetch_one(&mut *tx)
            .await?,
    )
}

pub async fn page(conn: &mut Conn, ctx: &TenantCtx, after: Option<&str>, limit: i64) -> Result<Vec<OutboxRow>> {
    scoped::page(conn, ctx, &TABLE, after, limit).await
}
