//! Webhook endpoints: a URL, the event types it wants, extra headers, a rate limit, and the
//! secret that signs what it receives.

use std::collections::BTreeMap;

use reqwest::header::{HeaderName, HeaderValue};

use super::filter;
use crate::domain::crm::customers::Patch;
use crate::domain::{audit, outbox, page_limit, validate, DomainError, FieldError, Result};
use crate::egress::target;
use crate::ids::{PrefixedId, WebhookEndpointId};
use crate::signatures::standard_webhooks::Secret;
use crate::state::AppState;
use crate::store::{self, now_ms, webhook_endpoints::EndpointRow, webhook_endpoints::Fields};
use crate::tenancy::TenantCtx;

/// Most custom headers on one endpoint.
pub const MAX_HEADERS: usize = 20;
/// Highest rate limit, in deliveries per second.
pub const MAX_RATE_LIMIT: u32 = 10_000;

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub headers: BTreeMap<String, String>,
    pub rate_limit: Option<u32>,
    /// `whsec_…`
    pub secret: String,
    /// When the secret before the last rotation stops signing.
    pub previous_secret_until: Option<i64>,
    /// `None` while enabled.
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Endpoint {
    pub fn enabled(&self) -> bool {
        self.disabled_at.is_none()
    }
}

/// JSON we stored; unreadable JSON is our fault, so it is an internal error.
pub(crate) fn stored<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)).into())
}

impl TryFrom<EndpointRow> for Endpoint {
    type Error = DomainError;
    fn try_from(r: EndpointRow) -> Result<Self> {
        Ok(Self {
            event_types: stored(&r.event_types)?,
            headers: stored(&r.headers)?,
            rate_limit: r.rate_limit.map(|n| n as u32),
            disabled_at: r.disabled_at,
            previous_secret_until: r.previous_secret.as_ref().and(r.previous_secret_until),
            id: r.id,
            url: r.url,
            description: r.description,
            secret: r.secret,
            disabled_reason: r.disabled_reason,
            failing_since: r.failing_since,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub struct EndpointInput {
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub headers: BTreeMap<String, String>,
    pub rate_limit: Option<u32>,
    pub enabled: bool,
}

/// Changes to an endpoint: `None`/`Keep` leave a field as it is.
#[derive(Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub description: Patch<String>,
    pub event_types: Option<Vec<String>>,
    pub headers: Option<BTreeMap<String, String>>,
    pub rate_limit: Patch<u32>,
    pub enabled: Option<bool>,
}

/// The types endpoints may subscribe to: every domain event.
pub fn subscribable() -> Vec<&'static str> {
    outbox::EVENT_TYPES.iter().map(|(t, _)| *t).collect()
}

fn url(state: &AppState, raw: &str) -> Result<String> {
    let policy = state.webhooks.egress.policy();
    target::check(raw, state.config.webhooks_allow_http, policy)
        .map(|u| u.to_string())
        .map_err(|e| DomainError::invalid("url", e.to_string()))
}

fn description(raw: &str) -> Result<String> {
    validate::name("description", raw, 1000)
}

/// Header names we set ourselves, or that would break the request.
fn reserved(name: &HeaderName) -> bool {
    let n = name.as_str();
    n.starts_with("webhook-")
        || [
            "content-type",
            "content-length",
            "host",
            "connection",
            "transfer-encoding",
            "te",
            "upgrade",
            "trailer",
            "keep-alive",
            "proxy-authorization",
        ]
        .contains(&n)
}

fn headers(raw: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>> {
    if raw.len() > MAX_HEADERS {
        return Err(DomainError::invalid(
            "headers",
            format!("must have at most {MAX_HEADERS} entries"),
        ));
    }
    let mut errors = Vec::new();
    let mut clean = BTreeMap::new();
    for (name, value) in raw {
        let field = format!("headers.{name}");
        match HeaderName::from_bytes(name.as_bytes()) {
            Err(_) => errors.push(FieldError::new(field, "is not a valid header name")),
            Ok(n) if reserved(&n) => {
                errors.push(FieldError::new(field, "is set by Switchboard and cannot be overridden"))
            }
            Ok(_) if value.len() > 1000 || HeaderValue::from_str(value).is_err() => errors.push(FieldError::new(
                field,
                "must be visible ASCII of at most 1000 characters",
            )),
            Ok(n) => {
                clean.insert(n.as_str().to_owned(), value.clone());
            }
        }
    }
    if errors.is_empty() {
        Ok(clean)
    } else {
        Err(DomainError::Invalid(errors))
    }
}

fn rate_limit(n: u32) -> Result<u32> {
    if (1..=MAX_RATE_LIMIT).contains(&n) {
        Ok(n)
    } else {
        Err(DomainError::invalid(
            "rate_limit",
            format!("must be 1 to {MAX_RATE_LIMIT} per second"),
        ))
    }
}

/// The stored form of checked fields, reporting every bad field at once.
struct Checked {
    url: String,
    description: Option<String>,
    event_types: String,
    headers: String,
    rate_limit: Option<u32>,
    enabled: bool,
}

fn check(state: &AppState, input: EndpointInput) -> Result<Checked> {
    let catalog = subscribable();
    let url = url(state, &input.url);
    let description = input.description.as_deref().map(description).transpose();
    let event_types = filter::validate("event_types", &input.event_types, &catalog);
    let headers = headers(&input.headers);
    let rate = input.rate_limit.map(rate_limit).transpose();
    validate::report([
        validate::errors_of(&url),
        validate::errors_of(&description),
        validate::errors_of(&event_types),
        validate::errors_of(&headers),
        validate::errors_of(&rate),
    ])?;
    Ok(Checked {
        url: url?,
        description: description?,
        event_types: serde_json::to_string(&event_types?).unwrap_or_default(),
        headers: serde_json::to_string(&headers?).unwrap_or_default(),
        rate_limit: rate?,
        enabled: input.enabled,
    })
}

impl Checked {
    fn fields<'a>(&'a self, disabled_at: Option<i64>, disabled_reason: Option<&'a str>) -> Fields<'a> {
        Fields {
            url: &self.url,
            description: self.description.as_deref(),
            event_types: &self.event_types,
            headers: &self.headers,
            rate_limit: self.rate_limit.map(i64::from),
            disabled_at,
            disabled_reason,
        }
    }
}

const DISABLED_BY_USER: &str = "disabled by a user";

#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id))]
pub async fn create(state: &AppState, ctx: &TenantCtx, input: EndpointInput) -> Result<Endpoint> {
    let checked = check(state, input)?;
    let id = WebhookEndpointId::generate();
    let mut tx = state.store.tenant_tx(ctx).await?;
    let disabled = (!checked.enabled).then(now_ms);
    let fields = checked.fields(disabled, disabled.and(Some(DISABLED_BY_USER)));
    let row = store::webhook_endpoints::insert(&mut tx, ctx, &id, &fields, &Secret::generate().to_whsec()).await?;
    audit::record(
        &mut tx,
        ctx,
        "webhook_endpoint.created",
        "webhook_endpoint",
        id.as_str(),
    )
    .await?;
    tx.commit().await?;
    row.try_into()
}

pub async fn get(state: &AppState, ctx: &TenantCtx, id: &WebhookEndpointId) -> Result<Endpoint> {
    let mut read = state.store.tenant_read(ctx).await?;
    let row = store::webhook_endpoints::get(&mut read, ctx, id).await?;
    read.commit().await?;
    row.try_into()
}

pub async fn list(state: &AppState, ctx: &TenantCtx, after: Option<&str>, limit: Option<u32>) -> Result<Vec<Endpoint>> {
    let mut read = state.store.tenant_read(ctx).await?;
    let rows = store::webhook_endpoints::page(&mut read, ctx, after, page_limit(limit)).await?;
    read.commit().await?;
    rows.into_iter().map(Endpoint::try_from).collect()
}

#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id))]
pub async fn update(
    state: &AppState,
    ctx: &TenantCtx,
    id: &WebhookEndpointId,
    patch: EndpointPatch,
) -> Result<Endpoint> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let current: Endpoint = store::webhook_endpoints::get(&mut tx, ctx, id).await?.try_into()?;
    let (was_disabled_at, was_reason) = (current.disabled_at, current.disabled_reason.clone());
    let input = EndpointInput {
        url: patch.url.unwrap_or(current.url),
        description: patch.description.apply(current.description),
        event_types: patch.event_types.unwrap_or(current.event_types),
        headers: patch.headers.unwrap_or(current.headers),
        rate_limit: patch.rate_limit.apply(current.rate_limit),
        enabled: patch.enabled.unwrap_or(was_disabled_at.is_none()),
    };
    let checked = check(state, input)?;
    // A disabled endpoint that stays disabled keeps its time and reason (perhaps the failure
    // rule's); enabling clears them.
    let (disabled_at, reason) = match (was_disabled_at, checked.enabled) {
        (_, true) => (None, None),
        (None, false) => (Some(now_ms()), Some(DISABLED_BY_USER.to_owned())),
        (Some(at), false) => (Some(at), was_reason),
    };
    let fields = checked.fields(disabled_at, reason.as_deref());
    let row = store::webhook_endpoints::update(&mut tx, ctx, id, &fields).await?;
    audit::record(
        &mut tx,
        ctx,
        "webhook_endpoint.updated",
        "webhook_endpoint",
        id.as_str(),
    )
    .await?;
    tx.commit().await?;
    row.try_into()
}

pub async fn delete(state: &AppState, ctx: &TenantCtx, id: &WebhookEndpointId) -> Result<()> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    store::webhook_endpoints::delete(&mut tx, ctx, id).await?;
    audit::record(
        &mut tx,
        ctx,
        "webhook_endpoint.deleted",
        "webhook_endpoint",
        id.as_str(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Issues a new secret; the old one keeps signing (next to the new) for the grace period, so
/// receivers can switch without dropping a delivery.
#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id))]
pub async fn rotate_secret(state: &AppState, ctx: &TenantCtx, id: &WebhookEndpointId) -> Result<Endpoint> {
    let grace_ms = state.config.webhooks_secret_grace_secs.saturating_mul(1000) as i64;
    let mut tx = state.store.tenant_tx(ctx).await?;
    let secret = Secret::generate().to_whsec();
    let row = store::webhook_endpoints::rotate_secret(&mut tx, ctx, id, &secret, now_ms() + grace_ms).await?;
    audit::record(
        &mut tx,
        ctx,
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint",
        id.as_str(),
    )
    .await?;
    tx.commit().await?;
    row.try_into()
}
