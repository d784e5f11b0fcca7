//! The outbox relay's webhook consumer: each relayed event becomes one delivery per enabled
//! endpoint of its tenant whose filter matches, written in the relay's transaction (so an event
//! is handed on exactly when its deliveries exist).

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::endpoints::stored;
use super::{envelope, filter};
use crate::domain::{relay, Result};
use crate::ids::{PrefixedId, WebhookDeliveryId};
use crate::state::AppState;
use crate::store::outbox::DomainEventRow;
use crate::store::webhook_deliveries::NewDelivery;
use crate::store::{self, now_ms, Conn};

/// The relay sink (see [`crate::domain::relay`]).
pub fn sink<'a>(state: &'a AppState, tx: &'a mut Conn, events: &'a [DomainEventRow]) -> BoxFuture<'a, Result<()>> {
    async move { fan_out(state, tx, events).await }.boxed()
}

async fn fan_out(state: &AppState, tx: &mut Conn, events: &[DomainEventRow]) -> Result<()> {
    let max_attempts = state.config.webhooks_retry_schedule.attempts() as i32;
    let mut queued = 0;
    for (ctx, events) in relay::by_tenant(events) {
        let endpoints = store::webhook_endpoints::enabled(tx, &ctx).await?;
        if endpoints.is_empty() {
            continue;
        }
        let filters = endpoints
            .iter()
            .map(|e| stored::<Vec<String>>(&e.event_types))
            .collect::<Result<Vec<_>>>()?;
        let mut rows = Vec::new();
        for event in events {
            let mut body = None;
            for (endpoint, patterns) in endpoints.iter().zip(&filters) {
                if filter::matches(patterns, &event.event_type) {
                    rows.push(NewDelivery {
                        id: WebhookDeliveryId::generate(),
                        endpoint_id: endpoint.id.clone(),
                        event_id: event.id.clone(),
                        event_type: event.event_type.clone(),
                        payload: body.get_or_insert_with(|| envelope::of_row(event)).clone(),
                        max_attempts,
                    });
                }
            }
        }
        store::webhook_deliveries::insert_many(tx, &ctx, &rows, now_ms()).await?;
        queued += rows.len();
    }
    if queued > 0 {
        tracing::debug!(queued, "webhook deliveries queued");
    }
    Ok(())
}
