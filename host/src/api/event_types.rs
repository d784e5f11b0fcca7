//! The event catalog: every event type a webhook can carry, with the JSON schema of its body.
//! Schemas come from the same poem-openapi types as the API, so the catalog, the OpenAPI spec's
//! `webhooks` section and the bodies we send cannot drift apart.

use std::sync::Arc;

use poem::http::Method;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaOperation, MetaRequest, MetaWebhook, Registry};
use poem_openapi::types::{ParseFromJSON, ToJSON, Type};
use poem_openapi::{ApiExtractor, ApiResponse, Object, OpenApi, Tags, Webhook};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::customers::CustomerOut;
use super::events::EventOut;
use super::problem::ApiResult;
use super::security::BearerAuth;
use super::Tag;
use crate::auth::permissions::DOMAIN_EVENTS_READ;
use crate::domain::outbox;
use crate::domain::webhooks::TEST_EVENT;
use crate::state::AppState;

/// The body of every webhook request: a domain event's envelope. Its id is also the
/// `webhook-id` header, the same on every retry: receivers dedupe on it.
#[derive(Object)]
pub struct WebhookEvent<T: ParseFromJSON + ToJSON + Send + Sync> {
    /// `dev_…`
    pub id: String,
    #[oai(rename = "type")]
    pub event_type: String,
    pub tenant_id: String,
    pub occurred_at: OffsetDateTime,
    pub data: T,
}

/// `customer.deleted`: the customer that was deleted or erased.
#[derive(Object)]
pub struct CustomerDeletedData {
    pub id: String,
}

/// `customer.tagged`: tags added to and removed from a customer.
#[derive(Object)]
pub struct CustomerTaggedData {
    pub customer_id: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// `consent.changed`: a customer's consent on one channel.
#[derive(Object)]
pub struct ConsentChangedData {
    pub customer_id: String,
    /// `email`, `sms`, `voice` or `whatsapp`.
    pub channel: String,
    /// `subscribed`, `unsubscribed` or `never`.
    pub status: String,
    pub source: Option<String>,
    pub keyword: Option<String>,
}

/// `webhook_endpoint.disabled`: an endpoint that failed continuously was disabled.
#[derive(Object)]
pub struct WebhookEndpointDisabledData {
    pub endpoint_id: String,
    pub url: String,
    pub reason: String,
    pub failing_since: OffsetDateTime,
}

/// `message.*`: something that happened to one message.
#[derive(Object)]
pub struct MessageEventData {
    /// `msg_…`
    pub message_id: String,
    /// `email`.
    pub channel: String,
    pub campaign_id: String,
    pub customer_id: String,
    /// The address the message went to.
    pub to: String,
    pub occurred_at: OffsetDateTime,
    /// `message.clicked`: the link's target.
    pub url: Option<String>,
    /// `message.bounced`: `hard` (the address is suppressed) or `soft`.
    pub bounce_type: Option<String>,
}

/// `webhook.test`: the sample event `POST /v1/webhook-endpoints/{id}/test` sends.
#[derive(Object)]
pub struct WebhookTestData {
    pub endpoint_id: String,
    pub message: String,
}

/// How the catalog knows the body of one event type.
struct Body {
    schema: fn() -> Value,
    request: fn() -> Option<MetaRequest>,
    register: fn(&mut Registry),
}

impl Body {
    fn of<T: ParseFromJSON + ToJSON + Send + Sync + 'static>() -> Self {
        Self {
            schema: schema_of::<WebhookEvent<T>>,
            request: <Json<WebhookEvent<T>> as ApiExtractor>::request_meta,
            register: <WebhookEvent<T> as Type>::register,
        }
    }
}

/// The body type of each event type; `None` for a type the catalog lacks (a unit test keeps
/// that from happening).
fn body_of(event_type: &str) -> Option<Body> {
    Some(match event_type {
        outbox::CUSTOMER_CREATED | outbox::CUSTOMER_UPDATED => Body::of::<CustomerOut>(),
        outbox::CUSTOMER_DELETED => Body::of::<CustomerDeletedData>(),
        outbox::CUSTOMER_TAGGED => Body::of::<CustomerTaggedData>(),
        outbox::CONSENT_CHANGED => Body::of::<ConsentChangedData>(),
        outbox::EVENT_TRACKED => Body::of::<EventOut>(),
        outbox::WEBHOOK_ENDPOINT_DISABLED => Body::of::<WebhookEndpointDisabledData>(),
        outbox::MESSAGE_SENT
        | outbox::MESSAGE_DELIVERED
        | outbox::MESSAGE_OPENED
        | outbox::MESSAGE_CLICKED
        | outbox::MESSAGE_BOUNCED => Body::of::<MessageEventData>(),
        TEST_EVENT => Body::of::<WebhookTestData>(),
        _ => return None,
    })
}

/// A self-contained JSON schema of `T`: its definition and those it refers to under `$defs`.
fn schema_of<T: Type>() -> Value {
    let mut registry = Registry::new();
    T::register(&mut registry);
    let schema = json!({
        "$ref": serde_json::to_value(T::schema_ref()).unwrap_or(Value::Null)["$ref"],
        "$defs": serde_json::to_value(&registry.schemas).unwrap_or(Value::Null),
    });
    let text = schema.to_string().replace("#/components/schemas/", "#/$defs/");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The JSON schema of a webhook body of `event_type`.
pub fn schema_for(event_type: &str) -> Option<Value> {
    body_of(event_type).map(|b| (b.schema)())
}

/// What a receiver answers. Never built: it only describes receivers in the spec.
#[derive(ApiResponse)]
#[allow(dead_code)]
enum Ack {
    /// Any 2xx acknowledges the delivery; anything else, or no answer in time, is retried.
    #[oai(status = 200)]
    Ok,
}

/// Every event type as an OpenAPI webhook (the spec's `webhooks` section): what our requests
/// to an endpoint look like. Written by hand because poem-openapi's `#[Webhook]` allows one
/// operation per HTTP method, and every webhook is a POST.
pub struct EventWebhooks;

impl Webhook for EventWebhooks {
    fn meta() -> Vec<MetaWebhook> {
        catalog()
            .filter_map(|(event_type, description)| {
                let body = body_of(event_type)?;
                Some(MetaWebhook {
                    name: event_type,
                    operation: MetaOperation {
                        method: Method::POST,
                        tags: vec![Tags::name(&Tag::Webhooks)],
                        summary: Some(description),
                        description: None,
                        external_docs: None,
                        params: vec![],
                        request: (body.request)(),
                        responses: Ack::meta(),
                        deprecated: false,
                        security: vec![],
                        operation_id: None,
                        code_samples: vec![],
                    },
                })
            })
            .collect()
    }

    fn register(registry: &mut Registry) {
        for (event_type, _) in catalog() {
            if let Some(body) = body_of(event_type) {
                (body.register)(registry);
            }
        }
        Ack::register(registry);
    }
}

/// Every type a webhook can carry: the domain events, and the test event.
pub fn catalog() -> impl Iterator<Item = (&'static str, &'static str)> {
    outbox::EVENT_TYPES.iter().copied().chain(std::iter::once((
        TEST_EVENT,
        "A test event sent by `POST /v1/webhook-endpoints/{id}/test`; data is `{endpoint_id, message}`.",
    )))
}

/// An event type with the JSON schema of the webhook body that carries it.
#[derive(Object)]
pub struct EventTypeSchema {
    #[oai(rename = "type")]
    pub event_type: String,
    pub description: String,
    /// JSON schema of the request body (the envelope with this type's `data`).
    pub schema: Value,
}

#[derive(Object)]
pub struct EventTypeCatalog {
    pub data: Vec<EventTypeSchema>,
}

#[derive(Default)]
pub struct EventTypesApi;

#[OpenApi(tag = "Tag::Webhooks")]
impl EventTypesApi {
    /// Every event type a webhook can carry, with the JSON schema of its body.
    #[oai(path = "/v1/event-types", method = "get", operation_id = "listEventTypes")]
    async fn list(&self, state: Data<&Arc<AppState>>, auth: BearerAuth) -> ApiResult<Json<EventTypeCatalog>> {
        auth.0.require(&state, DOMAIN_EVENTS_READ).await?;
        let data = catalog()
            .map(|(t, d)| EventTypeSchema {
                event_type: t.to_owned(),
                description: d.to_owned(),
                schema: schema_for(t).unwrap_or(Value::Null),
            })
            .collect();
        Ok(Json(EventTypeCatalog { data }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_a_schema_and_a_webhook_in_the_spec() {
        let spec: Value = serde_json::from_str(&crate::api::service("http://x").spec()).unwrap();
        for (t, _) in catalog() {
            let schema = schema_for(t).unwrap_or_else(|| panic!("{t} has no schema"));
            let root = schema["$ref"].as_str().unwrap().trim_start_matches("#/$defs/");
            assert!(schema["$defs"][root]["properties"]["data"].is_object(), "{t}: {schema}");
            assert!(
                spec["webhooks"][t]["post"].is_object(),
                "{t} is missing from the spec's webhooks"
            );
        }
        let in_spec = spec["webhooks"].as_object().unwrap().len();
        assert_eq!(in_spec, catalog().count(), "the spec lists a webhook the catalog lacks");
    }
}
