//! Webhook endpoints: registering, changing, rotating secrets and sending test events.

use std::collections::BTreeMap;
use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use time::OffsetDateTime;

use super::path_id::path_id;
use super::problem::ApiResult;
use super::responses::{at, page, Created, NoContent};
use super::security::BearerAuth;
use super::text::Text;
use super::webhook_deliveries::WebhookDeliveryOut;
use super::Tag;
use crate::auth::permissions::{WEBHOOKS_READ, WEBHOOKS_WRITE};
use crate::domain::crm::customers::Patch;
use crate::domain::webhooks::deliveries;
use crate::domain::webhooks::endpoints::{self, Endpoint, EndpointInput, EndpointPatch};
use crate::state::AppState;

/// Where a tenant's events are delivered.
#[derive(Object)]
pub struct WebhookEndpointOut {
    /// `wep_…`
    pub id: String,
    pub url: String,
    pub description: Option<String>,
    /// Event types delivered: exact types and `prefix.*` wildcards; empty means every type.
    pub event_types: Vec<String>,
    /// Extra headers sent with every request.
    pub headers: BTreeMap<String, String>,
    /// Most deliveries per second; none when absent.
    pub rate_limit: Option<u32>,
    /// `whsec_…`: the Standard Webhooks key that signs requests to this endpoint.
    pub secret: String,
    /// After a rotation, the previous secret also signs until this time.
    pub previous_secret_expires_at: Option<OffsetDateTime>,
    pub enabled: bool,
    /// Why the endpoint is disabled (by a user, or failing continuously).
    pub disabled_reason: Option<String>,
    /// Start of the current unbroken run of failed attempts.
    pub failing_since: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<Endpoint> for WebhookEndpointOut {
    fn from(e: Endpoint) -> Self {
        Self {
            enabled: e.enabled(),
            id: e.id,
            url: e.url,
            description: e.description,
            event_types: e.event_types,
            headers: e.headers,
            rate_limit: e.rate_limit,
            secret: e.secret,
            previous_secret_expires_at: e.previous_secret_until.map(at),
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since.map(at),
            created_at: at(e.created_at),
            updated_at: at(e.updated_at),
        }
    }
}

fn default_enabled() -> bool {
    true
}

/// A new endpoint.
#[derive(Object)]
pub struct WebhookEndpointIn {
    /// `https://…` (plain `http` only where the operator allows it); no credentials; no
    /// private, loopback or link-local address.
    pub url: Text,
    pub description: Option<Text>,
    /// `customer.created`, `customer.*`…; empty or absent means every type.
    #[oai(default)]
    pub event_types: Vec<Text>,
    /// Extra request headers (at most 20; `webhook-*` and `content-type` are ours).
    #[oai(default)]
    pub headers: BTreeMap<String, Text>,
    /// Most deliveries per second, 1 to 10,000.
    pub rate_limit: Option<u32>,
    #[oai(default = "default_enabled")]
    pub enabled: bool,
}

/// Changes to an endpoint: absent fields stay; `null` clears a description or rate limit.
#[derive(Object)]
pub struct WebhookEndpointPatchIn {
    pub url: Option<Text>,
    pub description: MaybeUndefined<Text>,
    pub event_types: Option<Vec<Text>>,
    pub headers: Option<BTreeMap<String, Text>>,
    pub rate_limit: MaybeUndefined<u32>,
    /// Re-enabling also restarts the failure count that disables an endpoint.
    pub enabled: Option<bool>,
}

#[derive(Object)]
pub struct WebhookEndpointList {
    pub data: Vec<WebhookEndpointOut>,
    pub next_cursor: Option<String>,
}

/// 202 with the queued delivery.
#[derive(ApiResponse)]
pub enum Queued {
    /// Queued; follow it in the delivery log.
    #[oai(status = 202)]
    Accepted(Json<WebhookDeliveryOut>),
}

fn texts(v: Vec<Text>) -> Vec<String> {
    v.into_iter().map(|t| t.0).collect()
}

fn header_map(h: BTreeMap<String, Text>) -> BTreeMap<String, String> {
    h.into_iter().map(|(k, v)| (k, v.0)).collect()
}

#[derive(Default)]
pub struct WebhooksApi;

#[OpenApi(tag = "Tag::Webhooks")]
impl WebhooksApi {
    /// Register a webhook endpoint; the answer shows its signing secret.
    #[oai(
        path = "/v1/webhook-endpoints",
        method = "post",
        operation_id = "createWebhookEndpoint"
    )]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<WebhookEndpointIn>,
    ) -> ApiResult<Created<WebhookEndpointOut>> {
        let ctx = auth.0.require(&state, WEBHOOKS_WRITE).await?;
        let b = body.0;
        let input = EndpointInput {
            url: b.url.0,
            description: b.description.map(|d| d.0),
            event_types: texts(b.event_types),
            headers: header_map(b.headers),
            rate_limit: b.rate_limit,
            enabled: b.enabled,
        };
        Ok(Created::Created(Json(
            endpoints::create(&state, &ctx, input).await?.into(),
        )))
    }

    /// List webhook endpoints, oldest first.
    #[oai(
        path = "/v1/webhook-endpoints",
        method = "get",
        operation_id = "listWebhookEndpoints"
    )]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// The `next_cursor` of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<WebhookEndpointList>> {
        let ctx = auth.0.require(&state, WEBHOOKS_READ).await?;
        let rows = endpoints::list(&state, &ctx, after.0.as_deref(), limit.0).await?;
        let (data, next_cursor) = page(rows, limit.0, |e| &e.id);
        Ok(Json(WebhookEndpointList { data, next_cursor }))
    }

    /// Get a webhook endpoint.
    #[oai(
        path = "/v1/webhook-endpoints/:id",
        method = "get",
        operation_id = "getWebhookEndpoint"
    )]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
    ) -> ApiResult<Json<WebhookEndpointOut>> {
        let ctx = auth.0.require(&state, WEBHOOKS_READ).await?;
        Ok(Json(endpoints::get(&state, &ctx, &path_id(&id)?).await?.into()))
    }

    /// Change a webhook endpoint.
    #[oai(
        path = "/v1/webhook-endpoints/:id",
        method = "patch",
        operation_id = "updateWebhookEndpoint"
    )]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        body: Json<WebhookEndpointPatchIn>,
    ) -> ApiResult<Json<WebhookEndpointOut>> {
        let ctx = auth.0.require(&state, WEBHOOKS_WRITE).await?;
        let b = body.0;
        let patch = EndpointPatch {
            url: b.url.map(|u| u.0),
            description: match b.description {
                MaybeUndefined::Undefined => Patch::Keep,
                MaybeUndefined::Null => Patch::Clear,
                MaybeUndefined::Value(d) => Patch::Set(d.0),
            },
            event_types: b.event_types.map(texts),
            headers: b.headers.map(header_map),
            rate_limit: match b.rate_limit {
                MaybeUndefined::Undefined => Patch::Keep,
                MaybeUndefined::Null => Patch::Clear,
                MaybeUndefined::Value(n) => Patch::Set(n),
            },
            enabled: b.enabled,
        };
        Ok(Json(
            endpoints::update(&state, &ctx, &path_id(&id)?, patch).await?.into(),
        ))
    }

    /// Delete a webhook endpoint and its delivery log.
    #[oai(
        path = "/v1/webhook-endpoints/:id",
        method = "delete",
        operation_id = "deleteWebhookEndpoint"
    )]
    async fn delete(&self, state: Data<&Arc<AppState>>, auth: BearerAuth, id: Path<String>) -> ApiResult<NoContent> {
        let ctx = auth.0.require(&state, WEBHOOKS_WRITE).await?;
        endpoints::delete(&state, &ctx, &path_id(&id)?).await?;
        Ok(NoContent::NoContent)
    }

    /// Issue a new signing secret; the previous one keeps signing, next to it, for a grace
    /// period (`webhook-signature` then carries both).
    #[oai(
        path = "/v1/webhook-endpoints/:id/rotate-secret",
        method = "post",
        operation_id = "rotateWebhookEndpointSecret"
    )]
    async fn rotate_secret(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
    ) -> ApiResult<Json<WebhookEndpointOut>> {
        let ctx = auth.0.require(&state, WEBHOOKS_WRITE).await?;
        Ok(Json(
            endpoints::rotate_secret(&state, &ctx, &path_id(&id)?).await?.into(),
        ))
    }

    /// Send a sample `webhook.test` event to this endpoint (whatever its filter), once.
    #[oai(
        path = "/v1/webhook-endpoints/:id/test",
        method = "post",
        operation_id = "testWebhookEndpoint"
    )]
    async fn test(&self, state: Data<&Arc<AppState>>, auth: BearerAuth, id: Path<String>) -> ApiResult<Queued> {
        let ctx = auth.0.require(&state, WEBHOOKS_WRITE).await?;
        let delivery = deliveries::send_test(&state, &ctx, &path_id(&id)?).await?;
        Ok(Queued::Accepted(Json(delivery.into())))
    }
}
