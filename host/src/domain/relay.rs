//! The outbox relay: hands every domain event, once, to each consumer (webhooks, plugins).
//!
//! The relay keeps its place in the outbox in one row ([`outbox_cursor`]), in commit order, so
//! handing an event on writes nothing to the event (a mark per event cost PostgreSQL a tenth of
//! its CPU under tracking load). A batch is taken and the place moved in the transaction that
//! gives it to every sink: a crash before the commit relays it again, never loses it, and a
//! sink never sees half a batch. On PostgreSQL hosts relay in turn: the place's row is locked.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::watch;

use super::Result;
use crate::ids::{PrefixedId, TenantId};
use crate::state::AppState;
use crate::store::outbox::DomainEventRow;
use crate::store::outbox_cursor;
use crate::store::Conn;
use crate::tenancy::{Actor, TenantCtx};

/// A consumer of relayed events: writes what it needs in the relay's transaction.
pub type Sink = for<'a> fn(&'a AppState, &'a mut Conn, &'a [DomainEventRow]) -> BoxFuture<'a, Result<()>>;

/// Every consumer, by name.
pub const SINKS: &[(&str, Sink)] = &[
    ("webhooks", super::webhooks::fanout::sink),
    ("plugins", super::plugins::dispatch::sink),
];

/// A batch's events by tenant, each with a system context of that tenant: what a sink scopes
/// its lookups with.
pub fn by_tenant(events: &[DomainEventRow]) -> Vec<(TenantCtx, Vec<&DomainEventRow>)> {
    let mut groups: BTreeMap<&str, Vec<&DomainEventRow>> = BTreeMap::new();
    for e in events {
        groups.entry(e.tenant_id.as_str()).or_default().push(e);
    }
    groups
        .into_iter()
        .map(|(tenant, events)| {
            let ctx = TenantCtx::new(TenantId::from_raw(tenant.to_owned()), Actor::System, None);
            (ctx, events)
        })
        .collect()
}

/// Events relayed per transaction.
const BATCH: i64 = 500;

/// Relays until `stopped` turns true.
pub async fn run(state: Arc<AppState>, mut stopped: watch::Receiver<bool>) {
    let poll = Duration::from_millis(state.config.webhooks_poll_ms.max(1));
    let mut behind = false;
    while !*stopped.borrow() {
        behind = match relay_batch(&state, behind).await {
            Ok(n) => n as i64 == BATCH,
            Err(e) => {
                tracing::error!(error = %e, "relaying domain events failed");
                false
            }
        };
        if behind {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = stopped.changed() => {}
        }
    }
}

/// Relays one batch; returns its size. Unless `behind` (the last batch was full), it looks on
/// a plain connection first, which keeps an idle SQLite from taking its write lock at every
/// poll.
async fn relay_batch(state: &AppState, behind: bool) -> Result<usize> {
    if !behind {
        let mut read = state.store.system_read().await?;
        let waiting = outbox_cursor::waiting(&mut read, state.store.backend()).await?;
        read.commit().await?;
        if !waiting {
            return Ok(0);
        }
    }
    let mut tx = state.store.system_tx().await?;
    let events = outbox_cursor::claim(&mut tx, state.store.backend(), BATCH).await?;
    for (name, sink) in SINKS {
        if let Err(e) = sink(state, &mut tx, &events).await {
            tracing::error!(sink = name, error = %e, "a relay consumer failed; the batch will be retried");
            return Err(e);
        }
    }
    tx.commit().await?;
    state.webhooks.wake();
    state.jobs.wake();
    Ok(events.len())
}
