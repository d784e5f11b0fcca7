//! Opens and clicks arrive far faster than one transaction each could commit, so they are
//! group-committed: each request queues its event and waits for the commit that includes it, a
//! single task takes whatever is queued (up to [`BATCH`]), looks the messages up in one query
//! and writes each tenant's events in one transaction. A request still answers only once its
//! event is durable.

use std::collections::HashMap;

use tokio::sync::{mpsc, oneshot};

use super::message_events::{self, Happened};
use crate::domain::{DomainError, Result};
use crate::ids::{PrefixedId, TenantId};
use crate::store::email_messages::{self, MessageRef};
use crate::store::{now_ms, Store};
use crate::tenancy::{Actor, TenantCtx};

/// Most events in one commit.
const BATCH: usize = 512;

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
    /// Starts the writing task on the current runtime.
    pub fn start(store: Store) -> Self {
        let (queue, rx) = mpsc::channel(BATCH * 8);
        tokio::spawn(run(store, rx));
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

async fn run(store: Store, mut rx: mpsc::Receiver<(Hit, Reply)>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        write(&store, std::mem::take(&mut batch)).await;
    }
}

/// Writes one batch and answers every request in it.
async fn write(store: &Store, batch: Vec<(Hit, Reply)>) {
    let ids: Vec<&str> = batch.iter().map(|(h, _)| h.message_id.as_str()).collect();
    let found = match lookup(store, &ids).await {
        Ok(found) => found,
        Err(e) => return fail(batch, &e),
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
    for (tenant, hits) in by_tenant {
        let ctx = TenantCtx::new(TenantId::from_raw(tenant), Actor::System, None);
        if let Err(e) = commit(store, &ctx, &hits).await {
            tracing::warn!(error = %e, "recording opens and clicks failed");
            let message = e.to_string();
            for (_, reply, _) in hits {
                let _ = reply.send(Err(DomainError::Io(std::io::Error::other(message.clone()))));
            }
            continue;
        }
        for (_, reply, _) in hits {
            let _ = reply.send(Ok(()));
        }
    }
}

async fn lookup(store: &Store, ids: &[&str]) -> Result<HashMap<String, MessageRef>> {
    let mut read = store.system_read().await?;
    let found = email_messages::by_ids_any_tenant(&mut read, ids).await?;
    read.commit().await?;
    Ok(found.into_iter().map(|m| (m.id.clone(), m)).collect())
}

async fn commit(store: &Store, ctx: &TenantCtx, hits: &[(Hit, Reply, MessageRef)]) -> Result<()> {
    let mut tx = store.tenant_tx(ctx).await?;
    let at = now_ms();
    for (hit, _, m) in hits {
        let what = match &hit.url {
            Some(url) => Happened::Clicked { url },
            None => Happened::Opened,
        };
        message_events::record(&mut tx, ctx, m, what, at).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn fail(batch: Vec<(Hit, Reply)>, e: &DomainError) {
    tracing::warn!(error = %e, "looking up tracked messages failed");
    for (_, reply) in batch {
        let _ = reply.send(Err(DomainError::Io(std::io::Error::other(e.to_string()))));
    }
}
