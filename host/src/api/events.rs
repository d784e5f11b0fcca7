//! Tracked events, timelines and the domain-event outbox.

use std::collections::BTreeMap;
use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::Value;
use time::OffsetDateTime;

use super::path_id::path_id;
use super::problem::ApiResult;
use super::responses::{at, Created};
use super::security::BearerAuth;
use super::text::Text;
use super::Tag;
use crate::auth::permissions::{CUSTOMERS_READ, DOMAIN_EVENTS_READ, EVENTS_WRITE};
use crate::domain::crm::events::{self, Event, Identify, Track};
use crate::domain::outbox;
use crate::state::AppState;
use crate::store::email_messages::TimelineMessage;
use crate::store::outbox::DomainEventRow;

/// A custom event tracked on a customer.
#[derive(Object)]
pub struct EventOut {
    /// `evt_…`
    pub id: String,
    pub customer_id: String,
    #[oai(rename = "type")]
    pub event_type: String,
    pub properties: BTreeMap<String, Value>,
    pub occurred_at: OffsetDateTime,
}

impl From<Event> for EventOut {
    fn from(e: Event) -> Self {
        Self {
            id: e.id,
            customer_id: e.customer_id,
            event_type: e.event_type,
            properties: e.properties.into_iter().collect(),
            occurred_at: at(e.occurred_at),
        }
    }
}

#[derive(Object)]
pub struct EventIn {
    /// 1 to 100 of letters, digits, `.`, `_`, `-` and `:`, e.g. `order.placed`.
    #[oai(rename = "type")]
    pub event_type: Text,
    #[oai(default)]
    pub properties: BTreeMap<String, Value>,
    /// When it happened; defaults to now.
    pub occurred_at: Option<OffsetDateTime>,
}

/// An event for a customer named by an identifier rather than an id.
#[derive(Object)]
pub struct IdentifiedEventIn {
    #[oai(rename = "type")]
    pub event_type: Text,
    #[oai(default)]
    pub properties: BTreeMap<String, Value>,
    pub occurred_at: Option<OffsetDateTime>,
    pub email: Option<Text>,
    pub phone: Option<Text>,
    pub external_id: Option<Text>,
    /// Create the customer when nobody matches (default false: 404).
    #[oai(default)]
    pub create_customer: bool,
}

/// A message sent to a customer, as their timeline shows it.
#[derive(Object)]
pub struct TimelineMessageOut {
    /// `msg_…`
    pub id: String,
    /// `email`.
    pub channel: String,
    pub campaign_id: String,
    pub campaign_name: String,
    pub to: String,
    /// What the provider last reported: `delivery_delayed`, `delivered`, `bounced`,
    /// `complained`; absent until it reports.
    pub delivery: Option<String>,
    pub sent_at: OffsetDateTime,
    pub opens: i64,
    pub clicks: i64,
}

impl From<TimelineMessage> for TimelineMessageOut {
    fn from(m: TimelineMessage) -> Self {
        Self {
            id: m.id,
            channel: "email".into(),
            campaign_id: m.campaign_id,
            campaign_name: m.campaign_name,
            to: m.email,
            delivery: m.delivery,
            sent_at: at(m.sent_at),
            opens: m.opens,
            clicks: m.clicks,
        }
    }
}

/// One entry of a customer's timeline.
#[derive(Object)]
pub struct TimelineEntryOut {
    /// `event` or `message` (channels add `call` and `conversation`).
    pub kind: String,
    pub occurred_at: OffsetDateTime,
    pub event: Option<EventOut>,
    pub message: Option<TimelineMessageOut>,
}

#[derive(Object)]
pub struct Timeline {
    /// Newest first.
    pub data: Vec<TimelineEntryOut>,
    /// Pass as `before` for older entries.
    pub next_cursor: Option<String>,
}

/// The envelope of every domain event, as stored in the outbox and delivered to webhooks and
/// plugins.
#[derive(Object)]
pub struct DomainEvent {
    /// `dev_…`; receivers dedupe on it.
    pub id: String,
    /// E.g. `customer.created`.
    #[oai(rename = "type")]
    pub event_type: String,
    pub tenant_id: String,
    pub occurred_at: OffsetDateTime,
    /// The event's payload; its shape depends on `type`.
    pub data: Value,
}

impl From<DomainEventRow> for DomainEvent {
    fn from(r: DomainEventRow) -> Self {
        Self {
            data: serde_json::from_str(&r.data).unwrap_or(Value::Null),
            id: r.id,
            event_type: r.event_type,
            tenant_id: r.tenant_id,
            occurred_at: at(r.occurred_at),
        }
    }
}

#[derive(Object)]
pub struct DomainEventList {
    /// Oldest first.
    pub data: Vec<DomainEvent>,
    pub next_cursor: Option<String>,
}

#[derive(Object)]
pub struct EventTypeOut {
    #[oai(rename = "type")]
    pub event_type: String,
    pub description: String,
}

#[derive(Object)]
pub struct EventTypeList {
    pub data: Vec<EventTypeOut>,
}

fn ms(t: Option<OffsetDateTime>) -> Option<i64> {
    t.map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn track(event_type: &Text, properties: &BTreeMap<String, Value>, occurred_at: Option<OffsetDateTime>) -> Track {
    Track {
        event_type: event_type.0.clone(),
        properties: properties.clone().into_iter().collect(),
        occurred_at: ms(occurred_at),
    }
}

#[derive(Default)]
pub struct EventsApi;

#[OpenApi(tag = "Tag::Events")]
impl EventsApi {
    /// Track an event on a customer.
    #[oai(
        path = "/v1/customers/:id/events",
        method = "post",
        operation_id = "trackCustomerEvent"
    )]
    async fn track_on(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        body: Json<EventIn>,
    ) -> ApiResult<Created<EventOut>> {
        let ctx = auth.0.require(&state, EVENTS_WRITE).await?;
        let event = events::track(
            &state,
            &ctx,
            &path_id(&id)?,
            track(&body.event_type, &body.properties, body.occurred_at),
        )
        .await?;
        Ok(Created::Created(Json(event.into())))
    }

    /// Track an event on the customer with this email, phone or external id.
    #[oai(path = "/v1/events", method = "post", operation_id = "trackEvent")]
    async fn track_identified(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<IdentifiedEventIn>,
    ) -> ApiResult<Created<EventOut>> {
        let ctx = auth.0.require(&state, EVENTS_WRITE).await?;
        let who = Identify {
            email: body.email.as_ref().map(|t| t.0.clone()),
            phone: body.phone.as_ref().map(|t| t.0.clone()),
            external_id: body.external_id.as_ref().map(|t| t.0.clone()),
            create: body.create_customer,
        };
        let event = events::track_identified(
            &state,
            &ctx,
            who,
            track(&body.event_type, &body.properties, body.occurred_at),
        )
        .await?;
        Ok(Created::Created(Json(event.into())))
    }

    /// A customer's timeline, newest first.
    #[oai(
        path = "/v1/customers/:id/timeline",
        method = "get",
        operation_id = "getCustomerTimeline"
    )]
    async fn timeline(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        /// The `next_cursor` of the previous page.
        before: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<Timeline>> {
        let ctx = auth.0.require(&state, CUSTOMERS_READ).await?;
        let (entries, next_cursor) =
            events::timeline(&state, &ctx, &path_id(&id)?, before.0.as_deref(), limit.0).await?;
        let data = entries
            .into_iter()
            .map(|e| TimelineEntryOut {
                kind: e.kind,
                occurred_at: at(e.occurred_at),
                event: e.event.map(Into::into),
                message: e.message.map(Into::into),
            })
            .collect();
        Ok(Json(Timeline { data, next_cursor }))
    }

    /// Read the domain-event outbox, oldest first.
    #[oai(path = "/v1/domain-events", method = "get", operation_id = "listDomainEvents")]
    async fn domain_events(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// The `next_cursor` of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
        /// Only this type, e.g. `customer.created`.
        #[oai(name = "type")]
        event_type: Query<Option<String>>,
    ) -> ApiResult<Json<DomainEventList>> {
        let ctx = auth.0.require(&state, DOMAIN_EVENTS_READ).await?;
        let rows = outbox::list(&state, &ctx, after.0.as_deref(), event_type.0.as_deref(), limit.0).await?;
        let (data, next_cursor) = super::responses::page(rows, limit.0, |r| &r.id);
        Ok(Json(DomainEventList { data, next_cursor }))
    }

    /// Every domain event type.
    #[oai(
        path = "/v1/domain-event-types",
        method = "get",
        operation_id = "listDomainEventTypes"
    )]
    async fn event_types(&self, state: Data<&Arc<AppState>>, auth: BearerAuth) -> ApiResult<Json<EventTypeList>> {
        auth.0.require(&state, DOMAIN_EVENTS_READ).await?;
        let data = outbox::EVENT_TYPES
            .iter()
            .map(|(t, d)| EventTypeOut {
                event_type: t.to_string(),
                description: d.to_string(),
            })
            .collect();
        Ok(Json(EventTypeList { data }))
    }
}
