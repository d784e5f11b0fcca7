//! Opens and clicks arrive far faster than one transaction each could commit, so they are
//! group-committed: each request queues its event and waits for the commit that includes it; a
//! writer takes whatever is queued (up to [`BATCH`]) and writes it in one atomic write that
//! reads the messages once as it inserts ([`engagements`], sent at once by
//! [`Store::write_at_once`]: one round trip on both backends). A request still answers only
//! once its event is durable, so a hit that was answered is never lost.
//!
//! One writer runs on either backend. SQLite takes one writer at a time anyway. On PostgreSQL a
//! second writer running beside it split the waiting hits into smaller batches, and each batch
//! pays a statement's and a commit's fixed cost. Measured at 1,000,000 recipients with 64
//! clients, one writer used 34–39 µs of PostgreSQL's CPU per hit against 42–47 µs for two, and
//! served 7–20% more requests.

use std::collections::HashSet;

use tokio::sync::{mpsc, oneshot};

use crate::domain::crm::customers::rfc3339_text;
use crate::domain::{DomainError, Result};
use crate::ids::{DomainEventId, EmailEventId, PrefixedId, TenantId};
use crate::store::{engagements, now_ms, Store, TurnConn};

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
    /// Starts the writer on the current runtime.
    pub fn start(store: Store) -> Self {
        let (queue, rx) = mpsc::channel(BATCH * 8);
        tokio::spawn(writer(store, rx));
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

/// Takes a batch whenever it is free, so what queues while it writes goes into the next batch,
/// and writes it in its turn (see [`Store::turn`]).
async fn writer(store: Store, mut queue: mpsc::Receiver<(Hit, Reply)>) {
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        if queue.recv_many(&mut batch, BATCH).await == 0 {
            return;
        }
        match store.turn().await {
            Ok(mut conn) => write(&store, &mut conn, batch).await,
            Err(e) => fail(batch, &e.into()),
        }
    }
}

/// Writes one batch and answers every request in it.
async fn write(store: &Store, conn: &mut TurnConn, batch: Vec<(Hit, Reply)>) {
    let at = now_ms();
    let ids: Vec<(String, String)> = batch
        .iter()
        .map(|_| {
            (
                EmailEventId::generate().to_string(),
                DomainEventId::generate().to_string(),
            )
        })
        .collect();
    let hits: Vec<engagements::Hit<'_>> = batch
        .iter()
        .zip(&ids)
        .map(|((hit, _), (event_id, domain_event_id))| engagements::Hit {
            event_id,
            domain_event_id,
            message_id: &hit.message_id,
            url: hit.url.as_deref(),
            host_tenant: hit.host_tenant.as_ref().map(TenantId::as_str),
        })
        .collect();
    let found = [engagements::found(&hits)];
    let statements = engagements::statements(store.backend(), at, &rfc3339_text(at));
    match store.write_at_once::<(String,)>(conn, &found, &statements).await {
        Ok(recorded) => {
            // By event id, not message id: a hit on another tenant's tracking domain is not
            // found even when a hit on the right one for the same message is in the batch.
            let recorded: HashSet<String> = recorded.into_iter().map(|(id,)| id).collect();
            for ((_, reply), (event_id, _)) in batch.into_iter().zip(&ids) {
                let answer = match recorded.contains(event_id) {
                    true => Ok(()),
                    false => Err(DomainError::NotFound),
                };
                let _ = reply.send(answer);
            }
        }
        Err(e) => fail(batch, &e.into()),
    }
}

fn fail(batch: Vec<(Hit, Reply)>, e: &DomainError) {
    tracing::warn!(error = %e, "recording opens and clicks failed");
    for (_, reply) in batch {
        let _ = reply.send(Err(DomainError::Io(std::io::Error::other(e.to_string()))));
    }
}
