//! What happens to an email after it was handed over, recorded per message: opens and clicks
//! (from our tracking links or the provider), moves of its delivery status (which only go
//! forward), unsubscribes. Each is a row the campaign stats count and, for the types the event
//! catalog lists, a domain event webhooks carry.

use serde_json::{json, Value};

use crate::domain::{outbox, Result};
use crate::store::email_events::{self, NewEvent};
use crate::store::email_messages::{self, MessageRef};
use crate::store::Conn;
use crate::tenancy::TenantCtx;

/// Something that happened to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happened<'a> {
    Delivered,
    DeliveryDelayed,
    Bounced { hard: bool },
    Complained,
    Opened,
    Clicked { url: &'a str },
    Unsubscribed,
}

impl Happened<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Happened::Delivered => "delivered",
            Happened::DeliveryDelayed => "delivery_delayed",
            Happened::Bounced { .. } => "bounced",
            Happened::Complained => "complained",
            Happened::Opened => "opened",
            Happened::Clicked { .. } => "clicked",
            Happened::Unsubscribed => "unsubscribed",
        }
    }

    /// The rank of a delivery status (higher wins), for the kinds that are one.
    fn delivery_rank(&self) -> Option<i32> {
        match self {
            Happened::DeliveryDelayed => Some(2),
            Happened::Delivered => Some(3),
            Happened::Bounced { .. } => Some(4),
            Happened::Complained => Some(5),
            _ => None,
        }
    }

    fn domain_event(&self) -> Option<&'static str> {
        match self {
            Happened::Delivered => Some(outbox::MESSAGE_DELIVERED),
            Happened::Bounced { .. } => Some(outbox::MESSAGE_BOUNCED),
            Happened::Opened => Some(outbox::MESSAGE_OPENED),
            Happened::Clicked { .. } => Some(outbox::MESSAGE_CLICKED),
            _ => None,
        }
    }
}

/// The rank of `sent`, below every status a provider reports later.
pub const SENT_RANK: i32 = 1;

/// The domain event data of a message.
pub fn data(m: &MessageRef, occurred_at: i64) -> Value {
    json!({
        "message_id": m.id,
        "channel": "email",
        "campaign_id": m.campaign_id,
        "customer_id": m.customer_id,
        "to": m.email,
        "occurred_at": crate::domain::crm::customers::rfc3339_text(occurred_at),
    })
}

/// Records `what` inside `tx`. A delivery status that would move backwards (a late
/// `delivered` after `bounced`) is dropped: answers false, records nothing.
pub async fn record(tx: &mut Conn, ctx: &TenantCtx, m: &MessageRef, what: Happened<'_>, at: i64) -> Result<bool> {
    if let Some(rank) = what.delivery_rank() {
        if !email_messages::advance_delivery(tx, ctx, &m.id, what.kind(), rank).await? {
            return Ok(false);
        }
    }
    let url = match what {
        Happened::Clicked { url } => Some(url),
        _ => None,
    };
    let event = NewEvent {
        campaign_id: &m.campaign_id,
        message_id: &m.id,
        kind: what.kind(),
        url,
        occurred_at: at,
    };
    email_events::insert(tx, ctx, &event).await?;
    if let Some((event_type, payload)) = domain_event(m, what, at) {
        outbox::emit(tx, ctx, event_type, &payload).await?;
    }
    Ok(true)
}

/// The domain event of `what`, for the types the catalog lists.
fn domain_event(m: &MessageRef, what: Happened<'_>, at: i64) -> Option<(&'static str, Value)> {
    let event_type = what.domain_event()?;
    let mut payload = data(m, at);
    match what {
        Happened::Clicked { url } => payload["url"] = json!(url),
        Happened::Bounced { hard } => payload["bounce_type"] = json!(if hard { "hard" } else { "soft" }),
        _ => {}
    }
    Some((event_type, payload))
}
