//! Resend's webhooks: `email.sent`, `email.delivered`, `email.delivery_delayed`,
//! `email.bounced`, `email.complained`, `email.opened`, `email.clicked`, signed with Standard
//! Webhooks (`svix-id`, `svix-timestamp`, `svix-signature`) by the platform's account
//! (`SWITCHBOARD_RESEND_WEBHOOK_SECRET`) or a tenant's own (its `webhook_secret`).
//!
//! Idempotent: the `svix-id` is recorded in the transaction that applies the event, so a retry
//! changes nothing. Out-of-order safe: delivery statuses only move forward (see
//! [`message_events`]). A hard bounce or a complaint suppresses the address and unsubscribes
//! the customer from email.

use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::Value;

use super::message_events::{self, Happened};
use crate::domain::crm::consent::{self, Change};
use crate::domain::{audit, DomainError, Result};
use crate::ids::{CustomerId, PrefixedId, TenantId};
use crate::providers::email::resend::MESSAGE_TAG;
use crate::signatures::standard_webhooks::{self, Headers, Secret};
use crate::signatures::{self, SignatureError};
use crate::state::AppState;
use crate::store::email_messages::MessageRef;
use crate::store::{self, now_ms, Conn};
use crate::tenancy::{Actor, TenantCtx};

/// Whose Resend account signed the webhook.
pub enum Account {
    Platform,
    Tenant(TenantId),
}

/// What became of a webhook.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Seen before (a retry): nothing changed.
    Duplicate,
    /// A type we do not track, or a message that is not ours (test sends, other systems).
    Ignored,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    created_at: Option<String>,
    #[serde(default)]
    data: Data,
}

#[derive(Deserialize, Default)]
struct Data {
    /// The email's tags: an object (`{"message_id": "msg_…"}`) in Resend's webhook payloads,
    /// read leniently (also as the `[{"name", "value"}]` list they were sent as) because an
    /// unreadable event would be retried by Resend forever.
    #[serde(default)]
    tags: Value,
    bounce: Option<Bounce>,
    click: Option<Click>,
}

impl Data {
    fn tag(&self, name: &str) -> Option<&str> {
        match &self.tags {
            Value::Object(map) => map.get(name)?.as_str(),
            Value::Array(list) => list.iter().find(|t| t["name"] == name)?["value"].as_str(),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct Bounce {
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct Click {
    link: Option<String>,
}

impl Payload {
    fn happened(&self) -> Option<Happened<'_>> {
        Some(match self.kind.as_str() {
            "email.delivered" => Happened::Delivered,
            "email.delivery_delayed" => Happened::DeliveryDelayed,
            "email.bounced" => {
                let kind = self.data.bounce.as_ref().and_then(|b| b.kind.as_deref());
                // Resend reports permanent rejections as `email.bounced`; only an explicit
                // transient type is soft.
                Happened::Bounced {
                    hard: !matches!(kind, Some("Transient" | "transient")),
                }
            }
            "email.complained" => Happened::Complained,
            "email.opened" => Happened::Opened,
            "email.clicked" => Happened::Clicked {
                url: self.data.click.as_ref()?.link.as_deref()?,
            },
            _ => return None,
        })
    }

    fn occurred_at(&self) -> i64 {
        self.created_at
            .as_deref()
            .and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
            .map_or_else(now_ms, |t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
    }
}

async fn secret(state: &AppState, account: &Account) -> Result<Secret> {
    let raw = match account {
        Account::Platform => state
            .config
            .resend_webhook_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
        Account::Tenant(tenant) => {
            let ctx = TenantCtx::new(tenant.clone(), Actor::System, None);
            let mut read = state.store.tenant_read(&ctx).await?;
            let own = store::email_settings::get(&mut read, &ctx).await?;
            read.commit().await?;
            own.and_then(|o| o.webhook_secret)
        }
    };
    // No secret configured: there is no such webhook route.
    let raw = raw.ok_or(DomainError::NotFound)?;
    Secret::parse(&raw).map_err(|_| DomainError::invalid("webhook_secret", "is not a whsec_ secret"))
}

fn refused(e: SignatureError) -> DomainError {
    tracing::info!(error = %e, "refused a resend webhook");
    DomainError::Unauthenticated("the webhook signature does not verify")
}

/// Verifies and applies one webhook.
#[tracing::instrument(skip_all)]
pub async fn receive(state: &AppState, account: Account, headers: &Headers<'_>, body: &[u8]) -> Result<Outcome> {
    let secret = secret(state, &account).await?;
    let now_secs = now_ms() / 1000;
    standard_webhooks::verify(std::slice::from_ref(&secret), headers, body, now_secs).map_err(refused)?;
    let payload: Payload =
        serde_json::from_slice(body).map_err(|_| DomainError::invalid("body", "is not a Resend event"))?;
    // Our message's id travels as a tag (see `resend::MESSAGE_TAG`); an email without it is
    // not one of our campaign's (a test send, another system on the account).
    let (Some(what), Some(message_id)) = (payload.happened(), payload.data.tag(MESSAGE_TAG)) else {
        return Ok(Outcome::Ignored);
    };
    let (message, source) = match &account {
        Account::Platform => {
            let mut read = state.store.system_read().await?;
            let m = store::email_messages::by_id_any_tenant(&mut read, message_id).await?;
            read.commit().await?;
            (m, "resend:platform".to_owned())
        }
        Account::Tenant(tenant) => {
            let ctx = TenantCtx::new(tenant.clone(), Actor::System, None);
            let mut read = state.store.tenant_read(&ctx).await?;
            let m = store::email_messages::by_id(&mut read, &ctx, message_id).await?;
            read.commit().await?;
            (m, format!("resend:{tenant}"))
        }
    };
    let Some(message) = message else {
        return Ok(Outcome::Ignored);
    };
    let ctx = TenantCtx::new(TenantId::from_raw(message.tenant_id.clone()), Actor::System, None);
    let mut tx = state.store.tenant_tx(&ctx).await?;
    if !signatures::first_delivery(&mut tx, &source, headers.id).await? {
        tx.commit().await?;
        return Ok(Outcome::Duplicate);
    }
    let moved = message_events::record(&mut tx, &ctx, &message, what, payload.occurred_at()).await?;
    match what {
        Happened::Bounced { hard: true } if moved => opt_out(&mut tx, &ctx, &message, "hard bounce").await?,
        Happened::Complained if moved => opt_out(&mut tx, &ctx, &message, "complaint").await?,
        _ => {}
    }
    tx.commit().await?;
    Ok(Outcome::Applied)
}

/// Suppresses the message's address and unsubscribes its customer (if still there) from email.
async fn opt_out(tx: &mut Conn, ctx: &TenantCtx, m: &MessageRef, reason: &'static str) -> Result<()> {
    store::consents::suppress(tx, ctx, consent::EMAIL, &m.email, reason).await?;
    audit::record(
        tx,
        ctx,
        "suppression.added",
        "suppression",
        &format!("{}:{}", consent::EMAIL, m.email),
    )
    .await?;
    let change = Change {
        channel: consent::EMAIL,
        status: "unsubscribed",
        source: Some(reason),
        keyword: None,
    };
    match consent::set_in(tx, ctx, &CustomerId::from_raw(m.customer_id.clone()), change).await {
        Err(DomainError::NotFound) => Ok(()), // erased since: the suppression is what remains
        other => other,
    }
}
