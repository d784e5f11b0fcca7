//! Opens and clicks arrive far faster than one transaction each could commit, so they are
//! group-committed: each request queues its event and waits for the commit that includes it; a
//! writer takes whatever is queued (up to [`BATCH`]), looks the messages up in one query and
//! writes each tenant's events in one atomic write of multi-row statements, sent at once
//! ([`Store::write_at_once`]: one round trip on PostgreSQL). A request still
//! answers only once its event is durable, so a hit that was answered is never lost.
//!
//! On PostgreSQL several writers run side by side: a request waits about one commit (an
//! fsync), so with one writer the throughput was the number of waiting clients per fsync. On
//! SQLite there is one writer, as the database takes one at a time.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::Any;
use tokio::sync::{mpsc, oneshot, Mutex};

use super::message_events::{self, Engagement};
use crate::domain::{DomainError, Result};
use crate::ids::{PrefixedId, TenantId};
use crate::store::email_messages::{self, MessageRef};
use crate::store::{now_ms, Backend, Store};
use crate::tenancy::{Actor, TenantCtx};

/// Most events in one commit.
const BATCH: usize = 512;
/// Writers committing at once on PostgreSQL (each holds a connection).
const POSTGRES_WRITERS: usize = 4;

/// An open, or a click on `url`.
pub struct Hit {
    pub message_id: String,
    pub url: Option<String>,
    /// The tenant whose tracking domain the request came in on: another tenant's message is
    /// not found there.
    pub host_tenant: Option<TenantId>,
}

type Reply = oneshot::Sender<Result<()>>;

pub struct Recorder {
    queue: mpsc::Sender<(Hit, Reply)>,
}

impl Recorder {
    /// Starts the writers on the current runtime.
    pub fn start(store: Store) -> Self {
        let (queue, rx) = mpsc::channel(BATCH * 8);
        spawn_writers(store, rx);
        Self { queue }
    }

    /// Records `hit` and waits until it is committed; `NotFound` when its message is not there.
    pub async fn record(&self, hit: Hit) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        let gone = || DomainError::Io(std::io::Error::other("the tracking recorder stopped"));
        self.queue.send((hit, tx)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }
}

fn spawn_writers(store: Store, rx: mpsc::Receiver<(Hit, Reply)>) {
    let writers = match store.backend() {
        Backend::Sqlite => 1,
        Backend::Postgres => POSTGRES_WRITERS,
    };
    let queue = Arc::new(Mutex::new(rx));
    for _ in 0..writers {
        tokio::spawn(writer(store.clone(), queue.clone()));
    }
}

/// Takes a batch whenever it is free, so what queues while every writer is busy goes into the
/// next batch. It keeps one connection (see [`Store::connection`]), replaced after an error.
async fn writer(store: Store, queue: Arc<Mutex<mpsc::Receiver<(Hit, Reply)>>>) {
    let mut conn = None;
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        if queue.lock().await.recv_many(&mut batch, BATCH).await == 0 {
            return;
        }
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match store.connection().await {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    fail(batch, &e.into());
                    continue;
                }
            },
        };
        if !write(&store, c, batch).await {
            conn = None;
        }
    }
}

/// Writes one batch and answers every request in it; false when something failed.
async fn write(store: &Store, conn: &mut PoolConnection<Any>, batch: Vec<(Hit, Reply)>) -> bool {
    let ids: Vec<&str> = batch.iter().map(|(h, _)| h.message_id.as_str()).collect();
    let found = match email_messages::by_ids_any_tenant(conn, &ids).await {
        Ok(found) => found.into_iter().map(|m| (m.id.clone(), m)).collect::<HashMap<_, _>>(),
        Err(e) => {
            fail(batch, &e.into());
            return false;
        }
    };
    let mut by_tenant: HashMap<String, Vec<(Hit, Reply, MessageRef)>> = HashMap::new();
    for (hit, reply) in batch {
        let here = found
            .get(&hit.message_id)
            .filter(|m| hit.host_tenant.as_ref().is_none_or(|t| t.as_str() == m.tenant_id));
        match here {
            Some(m) => by_tenant
                .entry(m.tenant_id.clone())
                .or_default()
                .push((hit, reply, m.clone())),
            None => {
                let _ = reply.send(Err(DomainError::NotFound));
            }
        }
    }
    let mut ok = true;
    for (tenant, hits) in by_tenant {
        let ctx = TenantCtx::new(TenantId::from_raw(tenant), Actor::System, None);
        if let Err(e) = commit(store, conn, &ctx, &hits).await {
            tracing::warn!(error = %e, "recording opens and clicks failed");
            let message = e.to_string();
            for (_, reply, _) in hits {
                let _ = reply.send(Err(DomainError::Io(std::io::Error::other(message.clone()))));
            }
            ok = false;
            continue;
        }
        for (_, reply, _) in hits {
            let _ = reply.send(Ok(()));
        }
    }
    ok
}

async fn commit(
    store: &Store,
    conn: &mut PoolConnection<Any>,
    ctx: &TenantCtx,
    hits: &[(Hit, Reply, MessageRef)],
) -> Result<()> {
    let engagements: Vec<Engagement> = hits.iter().map(|(hit, _, m)| (m, hit.url.as_deref())).collect();
    let statements = message_events::engagement_statements(ctx, &engagements, now_ms());
    store.write_at_once(conn, &statements).await?;
    Ok(())
}

fn fail(batch: Vec<(Hit, Reply)>, e: &DomainError) {
    tracing::warn!(error = %e, "recording opens and clicks failed");
    for (_, reply) in batch {
        let _ = reply.send(Err(DomainError::Io(std::io::Error::other(e.to_string()))));
    }
}
