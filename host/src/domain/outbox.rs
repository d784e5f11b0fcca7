//! Domain events: every change to CRM data writes one into the outbox, in the change's own
//! transaction, as an envelope `{id, type, tenant_id, occurred_at, data}`. Webhooks and plugins
//! deliver them later; the outbox is readable through `GET /v1/domain-events`.

use serde_json::Value;

use super::Result;
use crate::ids::{DomainEventId, PrefixedId};
use crate::store::{self, now_ms, Conn};
use crate::tenancy::TenantCtx;

pub const CUSTOMER_CREATED: &str = "customer.created";
pub const CUSTOMER_UPDATED: &str = "customer.updated";
pub const CUSTOMER_DELETED: &str = "customer.deleted";
pub const CUSTOMER_TAGGED: &str = "customer.tagged";
pub const CONSENT_CHANGED: &str = "consent.changed";
pub const EVENT_TRACKED: &str = "event.tracked";
pub const WEBHOOK_ENDPOINT_DISABLED: &str = "webhook_endpoint.disabled";
pub const MESSAGE_SENT: &str = "message.sent";
pub const MESSAGE_DELIVERED: &str = "message.delivered";
pub const MESSAGE_OPENED: &str = "message.opened";
pub const MESSAGE_CLICKED: &str = "message.clicked";
pub const MESSAGE_BOUNCED: &str = "message.bounced";

/// Every event type, with what it means.
pub const EVENT_TYPES: &[(&str, &str)] = &[
    (CUSTOMER_CREATED, "A customer was created; data is the customer."),
    (
        CUSTOMER_UPDATED,
        "A customer's fields changed; data is the customer after the change.",
    ),
    (CUSTOMER_DELETED, "A customer was deleted or erased; data is `{id}`."),
    (
        CUSTOMER_TAGGED,
        "Tags were added or removed; data is `{customer_id, added, removed}`.",
    ),
    (
        CONSENT_CHANGED,
        "A consent status changed; data is `{customer_id, channel, status, source, keyword}`.",
    ),
    (EVENT_TRACKED, "A custom event was tracked; data is the event."),
    (
        WEBHOOK_ENDPOINT_DISABLED,
        "A webhook endpoint was disabled after failing continuously; data is `{endpoint_id, url, reason, failing_since}`.",
    ),
    (
        MESSAGE_SENT,
        "An email was handed to the provider; data is the message `{message_id, channel, campaign_id, customer_id, to, occurred_at}`.",
    ),
    (
        MESSAGE_DELIVERED,
        "The provider reported an email delivered; data is the message.",
    ),
    (
        MESSAGE_OPENED,
        "An email was opened (every open); data is the message.",
    ),
    (
        MESSAGE_CLICKED,
        "A link in an email was clicked (every click); data is the message and the `url`.",
    ),
    (
        MESSAGE_BOUNCED,
        "An email bounced; data is the message and `bounce_type` (`hard` or `soft`).",
    ),
];

/// Writes an event into the outbox of the context's tenant.
pub async fn emit(tx: &mut Conn, ctx: &TenantCtx, event_type: &'static str, data: &Value) -> Result<()> {
    store::outbox::insert(tx, ctx, event_type, &data.to_string(), now_ms()).await?;
    Ok(())
}

/// Writes one event of `event_type` per payload, in multi-row statements.
pub async fn emit_many(tx: &mut Conn, ctx: &TenantCtx, event_type: &'static str, data: &[Value]) -> Result<()> {
    emit_all(tx, ctx, data.iter().map(|d| (event_type, d))).await
}

/// Writes each `(event type, payload)`, in multi-row statements.
pub async fn emit_all<'v>(
    tx: &mut Conn,
    ctx: &TenantCtx,
    events: impl IntoIterator<Item = (&'static str, &'v Value)>,
) -> Result<()> {
    store::bulk::insert_domain_events(tx, ctx, &rows(events)).await?;
    Ok(())
}

/// Outbox rows: `(new id, type, JSON text)`.
fn rows<'v>(events: impl IntoIterator<Item = (&'static str, &'v Value)>) -> Vec<(String, &'static str, String)> {
    events
        .into_iter()
        .map(|(event_type, d)| (DomainEventId::generate().to_string(), event_type, d.to_string()))
        .collect()
}

pub async fn list(
    state: &crate::state::AppState,
    ctx: &TenantCtx,
    after: Option<&str>,
    event_type: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<store::outbox::DomainEventRow>> {
    let mut read = state.store.tenant_read(ctx).await?;
    let rows = store::outbox::list(&mut read, ctx, after, event_type, super::page_limit(limit)).await?;
    read.commit().await?;
    Ok(rows)
}
