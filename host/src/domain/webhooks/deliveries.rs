//! The delivery log (deliveries and their attempts), manual replays, and test sends.

use serde_json::json;

use super::{envelope, TEST_EVENT};
use crate::domain::{audit, page_limit, DomainError, Result};
use crate::ids::{DomainEventId, PrefixedId, WebhookDeliveryId, WebhookEndpointId};
use crate::state::AppState;
use crate::store::webhook_attempts::AttemptRow;
use crate::store::webhook_deliveries::{self as rows, DeliveryRow, Filter, NewDelivery};
use crate::store::{self, now_ms};
use crate::tenancy::TenantCtx;

pub const STATUSES: [&str; 3] = [rows::PENDING, rows::SUCCEEDED, rows::FAILED];

pub struct Query<'a> {
    pub status: Option<&'a str>,
    pub event_type: Option<&'a str>,
    pub after: Option<&'a str>,
    pub limit: Option<u32>,
}

/// An endpoint's deliveries, newest first.
pub async fn list(
    state: &AppState,
    ctx: &TenantCtx,
    endpoint: &WebhookEndpointId,
    q: Query<'_>,
) -> Result<Vec<DeliveryRow>> {
    if q.status.is_some_and(|s| !STATUSES.contains(&s)) {
        return Err(DomainError::invalid("status", "must be pending, succeeded or failed"));
    }
    let filter = Filter {
        status: q.status,
        event_type: q.event_type,
        after: q.after,
        limit: page_limit(q.limit),
    };
    let mut read = state.store.tenant_read(ctx).await?;
    store::webhook_endpoints::get(&mut read, ctx, endpoint).await?;
    let rows = rows::list(&mut read, ctx, endpoint, &filter).await?;
    read.commit().await?;
    Ok(rows)
}

pub async fn get(
    state: &AppState,
    ctx: &TenantCtx,
    endpoint: &WebhookEndpointId,
    id: &WebhookDeliveryId,
) -> Result<DeliveryRow> {
    let mut read = state.store.tenant_read(ctx).await?;
    let row = rows::get(&mut read, ctx, endpoint, id).await?;
    read.commit().await?;
    Ok(row)
}

/// An endpoint's attempts, newest first, optionally of one delivery.
pub async fn attempts(
    state: &AppState,
    ctx: &TenantCtx,
    endpoint: &WebhookEndpointId,
    delivery: Option<&WebhookDeliveryId>,
    after: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<AttemptRow>> {
    let mut read = state.store.tenant_read(ctx).await?;
    store::webhook_endpoints::get(&mut read, ctx, endpoint).await?;
    let delivery = delivery.map(|d| d.as_str());
    let rows = store::webhook_attempts::list(&mut read, ctx, endpoint, delivery, after, page_limit(limit)).await?;
    read.commit().await?;
    Ok(rows)
}

/// Sends a finished delivery once more, now. A delivery still pending is left as it is (409).
#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id))]
pub async fn retry(
    state: &AppState,
    ctx: &TenantCtx,
    endpoint: &WebhookEndpointId,
    id: &WebhookDeliveryId,
) -> Result<DeliveryRow> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    if !rows::retry(&mut tx, ctx, endpoint, id, now_ms()).await? {
        rows::get(&mut tx, ctx, endpoint, id).await?;
        return Err(DomainError::Conflict {
            field: None,
            message: "the delivery is still pending".into(),
        });
    }
    audit::record(
        &mut tx,
        ctx,
        "webhook_delivery.retried",
        "webhook_delivery",
        id.as_str(),
    )
    .await?;
    let row = rows::get(&mut tx, ctx, endpoint, id).await?;
    tx.commit().await?;
    state.webhooks.wake();
    Ok(row)
}

/// Sends once more every failed delivery of the endpoint created at or after `since`; returns
/// how many.
#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id))]
pub async fn replay_failed(state: &AppState, ctx: &TenantCtx, endpoint: &WebhookEndpointId, since: i64) -> Result<u64> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    store::webhook_endpoints::get(&mut tx, ctx, endpoint).await?;
    let n = rows::retry_failed_since(&mut tx, ctx, endpoint, since, now_ms()).await?;
    audit::record(
        &mut tx,
        ctx,
        "webhook_endpoint.replayed",
        "webhook_endpoint",
        endpoint.as_str(),
    )
    .await?;
    tx.commit().await?;
    state.webhooks.wake();
    Ok(n)
}

/// Queues a sample `webhook.test` event to the endpoint alone, whatever its filter, with a
/// single attempt: its log entry shows at once whether the receiver works.
#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id))]
pub async fn send_test(state: &AppState, ctx: &TenantCtx, endpoint: &WebhookEndpointId) -> Result<DeliveryRow> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    store::webhook_endpoints::get(&mut tx, ctx, endpoint).await?;
    let event_id = DomainEventId::generate();
    let now = now_ms();
    let data = json!({"endpoint_id": endpoint.as_str(), "message": "A test event from Switchboard."});
    let delivery = NewDelivery {
        id: WebhookDeliveryId::generate(),
        endpoint_id: endpoint.as_str().to_owned(),
        event_id: event_id.to_string(),
        event_type: TEST_EVENT.to_owned(),
        payload: envelope::build(event_id.as_str(), TEST_EVENT, ctx.tenant_id.as_str(), now, data),
        max_attempts: 1,
    };
    rows::insert_many(&mut tx, ctx, std::slice::from_ref(&delivery), now).await?;
    let row = rows::get(&mut tx, ctx, endpoint, &delivery.id).await?;
    tx.commit().await?;
    state.webhooks.wake();
    Ok(row)
}
