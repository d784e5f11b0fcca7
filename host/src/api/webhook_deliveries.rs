//! The webhook delivery log: deliveries, their attempts, and replays.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::Value;
use time::OffsetDateTime;

use super::path_id::path_id;
use super::problem::ApiResult;
use super::responses::{at, page};
use super::security::BearerAuth;
use super::webhooks::Queued;
use super::Tag;
use crate::auth::permissions::{WEBHOOKS_READ, WEBHOOKS_WRITE};
use crate::domain::webhooks::deliveries::{self, Query as LogQuery};
use crate::state::AppState;
use crate::store::webhook_attempts::AttemptRow;
use crate::store::webhook_deliveries::DeliveryRow;

/// One event on its way to one endpoint.
#[derive(Object)]
pub struct WebhookDeliveryOut {
    /// `wdl_…`
    pub id: String,
    pub endpoint_id: String,
    /// The event's id, also sent as `webhook-id`.
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// When the next attempt is due (while pending).
    pub next_attempt_at: Option<OffsetDateTime>,
    /// The last attempt's HTTP status, if one came back.
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    /// The request body.
    pub payload: Value,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<DeliveryRow> for WebhookDeliveryOut {
    fn from(d: DeliveryRow) -> Self {
        Self {
            payload: serde_json::from_str(&d.payload).unwrap_or(Value::Null),
            id: d.id,
            endpoint_id: d.endpoint_id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at.filter(|_| d.attempts < d.max_attempts).map(at),
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: at(d.created_at),
            updated_at: at(d.updated_at),
        }
    }
}

/// One request made for a delivery.
#[derive(Object)]
pub struct WebhookAttemptOut {
    /// `wat_…`
    pub id: String,
    pub delivery_id: String,
    /// 1 for the first.
    pub attempt: i32,
    /// `succeeded` (a 2xx answer) or `failed`.
    pub status: String,
    pub response_code: Option<i32>,
    /// The first 4 KB of the response body.
    pub response_body: Option<String>,
    /// Why no usable answer came (timeout, refused address, connection error, HTTP status).
    pub error: Option<String>,
    pub latency_ms: i64,
    pub created_at: OffsetDateTime,
}

impl From<AttemptRow> for WebhookAttemptOut {
    fn from(a: AttemptRow) -> Self {
        Self {
            id: a.id,
            delivery_id: a.delivery_id,
            attempt: a.attempt,
            status: a.status,
            response_code: a.response_code,
            response_body: a.response_body,
            error: a.error,
            latency_ms: a.latency_ms,
            created_at: at(a.created_at),
        }
    }
}

#[derive(Object)]
pub struct WebhookDeliveryList {
    /// Newest first.
    pub data: Vec<WebhookDeliveryOut>,
    pub next_cursor: Option<String>,
}

#[derive(Object)]
pub struct WebhookAttemptList {
    /// Newest first.
    pub data: Vec<WebhookAttemptOut>,
    pub next_cursor: Option<String>,
}

/// Which failed deliveries to send again.
#[derive(Object)]
pub struct ReplayIn {
    /// Failed deliveries created at or after this time.
    pub since: OffsetDateTime,
}

#[derive(Object)]
pub struct ReplayOut {
    /// Deliveries queued again.
    pub queued: u64,
}

#[derive(Default)]
pub struct WebhookDeliveriesApi;

#[OpenApi(tag = "Tag::Webhooks")]
impl WebhookDeliveriesApi {
    /// An endpoint's deliveries, newest first.
    #[oai(
        path = "/v1/webhook-endpoints/:id/deliveries",
        method = "get",
        operation_id = "listWebhookDeliveries"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        /// `pending`, `succeeded` or `failed`.
        status: Query<Option<String>>,
        /// Only this event type.
        event_type: Query<Option<String>>,
        /// The `next_cursor` of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<WebhookDeliveryList>> {
        let ctx = auth.0.require(&state, WEBHOOKS_READ).await?;
        let q = LogQuery {
            status: status.0.as_deref(),
            event_type: event_type.0.as_deref(),
            after: after.0.as_deref(),
            limit: limit.0,
        };
        let rows = deliveries::list(&state, &ctx, &path_id(&id)?, q).await?;
        let (data, next_cursor) = page(rows, limit.0, |d| &d.id);
        Ok(Json(WebhookDeliveryList { data, next_cursor }))
    }

    /// One delivery.
    #[oai(
        path = "/v1/webhook-endpoints/:id/deliveries/:delivery_id",
        method = "get",
        operation_id = "getWebhookDelivery"
    )]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        delivery_id: Path<String>,
    ) -> ApiResult<Json<WebhookDeliveryOut>> {
        let ctx = auth.0.require(&state, WEBHOOKS_READ).await?;
        let row = deliveries::get(&state, &ctx, &path_id(&id)?, &path_id(&delivery_id)?).await?;
        Ok(Json(row.into()))
    }

    /// Send a finished (succeeded or failed) delivery once more, now.
    #[oai(
        path = "/v1/webhook-endpoints/:id/deliveries/:delivery_id/retry",
        method = "post",
        operation_id = "retryWebhookDelivery"
    )]
    async fn retry(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        delivery_id: Path<String>,
    ) -> ApiResult<Queued> {
        let ctx = auth.0.require(&state, WEBHOOKS_WRITE).await?;
        let row = deliveries::retry(&state, &ctx, &path_id(&id)?, &path_id(&delivery_id)?).await?;
        Ok(Queued::Accepted(Json(row.into())))
    }

    /// Send once more every failed delivery created since a time.
    #[oai(
        path = "/v1/webhook-endpoints/:id/replay",
        method = "post",
        operation_id = "replayWebhookDeliveries"
    )]
    async fn replay(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        body: Json<ReplayIn>,
    ) -> ApiResult<Json<ReplayOut>> {
        let ctx = auth.0.require(&state, WEBHOOKS_WRITE).await?;
        let since = (body.0.since.unix_timestamp_nanos() / 1_000_000) as i64;
        let queued = deliveries::replay_failed(&state, &ctx, &path_id(&id)?, since).await?;
        Ok(Json(ReplayOut { queued }))
    }

    /// An endpoint's attempts, newest first: status, response code, latency and the first 4 KB
    /// of each response.
    #[oai(
        path = "/v1/webhook-endpoints/:id/attempts",
        method = "get",
        operation_id = "listWebhookAttempts"
    )]
    async fn attempts(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        /// Only this delivery's attempts.
        delivery_id: Query<Option<String>>,
        /// The `next_cursor` of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<WebhookAttemptList>> {
        let ctx = auth.0.require(&state, WEBHOOKS_READ).await?;
        let delivery = delivery_id.0.as_deref().map(path_id).transpose()?;
        let rows = deliveries::attempts(
            &state,
            &ctx,
            &path_id(&id)?,
            delivery.as_ref(),
            after.0.as_deref(),
            limit.0,
        )
        .await?;
        let (data, next_cursor) = page(rows, limit.0, |a| &a.id);
        Ok(Json(WebhookAttemptList { data, next_cursor }))
    }
}
