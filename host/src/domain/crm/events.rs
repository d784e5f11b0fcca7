//! Tracked custom events and the customer timeline.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::customers::{self, CustomerInput, Patch};
use crate::domain::{outbox, validate, DomainError, Result};
use crate::ids::{CustomerId, DomainEventId, EventId, PrefixedId};
use crate::state::AppState;
use crate::store::customer_events::{Announcement, EventRow};
use crate::store::email_messages::TimelineMessage;
use crate::store::{self, now_ms, Conn};
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: String,
    pub customer_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub properties: Map<String, Value>,
    #[serde(serialize_with = "customers::rfc3339")]
    pub occurred_at: i64,
}

impl From<EventRow> for Event {
    fn from(r: EventRow) -> Self {
        Self {
            properties: serde_json::from_str(&r.properties).unwrap_or_default(),
            id: r.id,
            customer_id: r.customer_id,
            event_type: r.event_type,
            occurred_at: r.occurred_at,
        }
    }
}

pub struct Track {
    pub event_type: String,
    pub properties: Map<String, Value>,
    pub occurred_at: Option<i64>,
}

/// Largest properties object accepted, as JSON text.
const MAX_PROPERTIES: usize = 16 * 1024;

fn check(t: &Track) -> Result<String> {
    let ok = (1..=100).contains(&t.event_type.len())
        && t.event_type
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b));
    if !ok {
        return Err(DomainError::invalid(
            "type",
            "must be 1 to 100 of letters, digits, '.', '_', '-' and ':'",
        ));
    }
    let props = Value::Object(t.properties.clone()).to_string();
    if props.len() > MAX_PROPERTIES {
        return Err(DomainError::invalid("properties", "must be at most 16 KiB of JSON"));
    }
    Ok(props)
}

pub async fn track_in(tx: &mut Conn, ctx: &TenantCtx, customer: &CustomerId, t: Track) -> Result<Event> {
    let row = EventRow {
        id: EventId::generate().to_string(),
        customer_id: customer.as_str().to_owned(),
        properties: check(&t)?,
        occurred_at: t.occurred_at.unwrap_or_else(now_ms),
        event_type: t.event_type.clone(),
    };
    // The event from its parts, not from the row: the row's properties are the same object
    // serialised, and parsing it back would be work for nothing.
    let event = Event {
        id: row.id.clone(),
        customer_id: row.customer_id.clone(),
        event_type: t.event_type,
        properties: t.properties,
        occurred_at: row.occurred_at,
    };
    let announce = Announcement {
        id: &DomainEventId::generate().to_string(),
        event_type: outbox::EVENT_TRACKED,
        data: &json!(event).to_string(),
        at: now_ms(),
    };
    store::customer_events::insert_announced(tx, ctx, &row, announce).await?;
    Ok(event)
}

pub async fn track(state: &AppState, ctx: &TenantCtx, customer: &CustomerId, t: Track) -> Result<Event> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let event = track_in(&mut tx, ctx, customer, t).await?;
    tx.commit().await?;
    Ok(event)
}

pub struct Identify {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub external_id: Option<String>,
    /// Create the customer when no one matches.
    pub create: bool,
}

/// Tracks an event on the customer identified by email, phone or external id.
pub async fn track_identified(state: &AppState, ctx: &TenantCtx, who: Identify, t: Track) -> Result<Event> {
    check(&t)?;
    let set = |v: Option<String>| v.map(Patch::Set).unwrap_or_default();
    let input = CustomerInput {
        email: set(who.email.clone()),
        phone: set(who.phone.clone()),
        external_id: set(who.external_id.clone()),
        ..CustomerInput::default()
    };
    let mut tx = state.store.tenant_tx(ctx).await?;
    let id = if who.create {
        match customers::upsert_on(&mut tx, ctx, input).await? {
            customers::Upserted::Created(c) | customers::Upserted::Updated(c) => c.id,
        }
    } else {
        let email = who.email.as_deref().map(|e| validate::email("email", e)).transpose()?;
        let phone = who
            .phone
            .as_deref()
            .map(|p| super::validate::phone("phone", p))
            .transpose()?;
        let found = store::customers::find_by_identifiers(
            &mut tx,
            ctx,
            email.as_deref(),
            phone.as_deref(),
            who.external_id.as_deref(),
        )
        .await?;
        match found.as_slice() {
            [one] => one.id.clone(),
            [] => return Err(DomainError::NotFound),
            _ => {
                return Err(DomainError::Conflict {
                    field: None,
                    message: "the identifiers given belong to different customers".into(),
                })
            }
        }
    };
    let event = track_in(&mut tx, ctx, &CustomerId::from_raw(id), t).await?;
    tx.commit().await?;
    Ok(event)
}

/// One entry of a customer's timeline: a tracked event or a message sent to them. Later
/// channels add calls and conversations.
#[derive(Debug, Clone)]
pub struct TimelineEntry {
    /// `event` or `message`.
    pub kind: String,
    pub occurred_at: i64,
    pub event: Option<Event>,
    pub message: Option<TimelineMessage>,
}

impl TimelineEntry {
    /// The page cursor after this entry.
    fn cursor(&self) -> String {
        let id = match (&self.event, &self.message) {
            (Some(e), _) => e.id.as_str(),
            (_, Some(m)) => m.id.as_str(),
            _ => "",
        };
        format!("{}.{id}", self.occurred_at)
    }
}

/// Newest first; `before` is the cursor of the last entry of the previous page.
pub async fn timeline(
    state: &AppState,
    ctx: &TenantCtx,
    id: &CustomerId,
    before: Option<&str>,
    limit: Option<u32>,
) -> Result<(Vec<TimelineEntry>, Option<String>)> {
    let limit = crate::domain::page_limit(limit);
    let cursor = match before {
        Some(raw) => {
            let (at, id) = raw
                .split_once('.')
                .ok_or_else(|| DomainError::invalid("before", "is not a timeline cursor"))?;
            Some((
                at.parse::<i64>()
                    .map_err(|_| DomainError::invalid("before", "is not a timeline cursor"))?,
                id.to_owned(),
            ))
        }
        None => None,
    };
    let before = cursor.as_ref().map(|(a, i)| (*a, i.as_str()));
    let mut read = state.store.tenant_read(ctx).await?;
    store::customers::get(&mut read, ctx, id).await?;
    let events = store::customer_events::of_customer(&mut read, ctx, id.as_str(), before, limit).await?;
    let messages = store::email_messages::of_customer(&mut read, ctx, id.as_str(), before, limit).await?;
    read.commit().await?;
    // Both sources are newest first after the same cursor: merged, the first `limit` are the
    // page (ids of the two kinds never tie, their prefixes differ).
    let mut entries: Vec<TimelineEntry> = events
        .into_iter()
        .map(|r| TimelineEntry {
            kind: "event".into(),
            occurred_at: r.occurred_at,
            event: Some(Event::from(r)),
            message: None,
        })
        .chain(messages.into_iter().map(|m| TimelineEntry {
            kind: "message".into(),
            occurred_at: m.sent_at,
            event: None,
            message: Some(m),
        }))
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse((e.occurred_at, e.cursor())));
    entries.truncate(limit as usize);
    let next = (entries.len() as i64 == limit)
        .then(|| entries.last().map(TimelineEntry::cursor))
        .flatten();
    Ok((entries, next))
}
