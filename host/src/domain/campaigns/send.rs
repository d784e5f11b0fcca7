//! The send job. It walks the audience into message rows (one transaction per page, with a
//! checkpoint), then sends window after window of batches in order. Exactly once: a batch's
//! messages are fixed by `batch_no` before anything is sent, frozen (`sending`) in their own
//! transaction before the provider call, and handed over with an idempotency key per batch, so a
//! retry after a crash at any point sends the same requests again and the provider delivers each
//! once.
//!
//! A window is many batches frozen in one transaction, handed over side by side and recorded in
//! one transaction: per batch, the database round trips and commits (an fsync each on
//! PostgreSQL) and the provider's latency were what bounded throughput.
//!
//! A run sends for a while, then queues its continuation and ends, so the queue's per-tenant
//! turns let other tenants' jobs in between.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt, TryStreamExt};
use serde_json::{Map, Value};
use sqlx::pool::PoolConnection;
use sqlx::Any;

use super::audience::{AudienceSpec, Walk};
use super::template::{self, Renderer};
use super::{custom_values, enqueue, from_header};
use super::{tracking, unsubscribe};
use crate::domain::crm::consent;
use crate::domain::email::message_events;
use crate::domain::email::tracking_domain;
use crate::domain::{outbox, validate, DomainError, Result};
use crate::ids::{EmailCampaignId, PrefixedId, TenantId};
use crate::jobs::{HandlerResult, Job};
use crate::providers::email::{Email, EmailProvider};
use crate::state::AppState;
use crate::store::email_campaigns::CampaignRow;
use crate::store::email_messages::{BatchMessage, MessageRef, Recipient};
use crate::store::statistics::Grown;
use crate::store::{self, now_ms, Backend, Conn};
use crate::tenancy::{Actor, TenantCtx};

pub const JOB_KIND: &str = "email.campaign.send";
/// Audience rows per transaction while preparing.
const PAGE: i64 = 1000;
/// How long one run sends before it yields to other jobs.
const SLICE: Duration = Duration::from_secs(2);
/// Emails per window (whole batches; at least one).
const WINDOW: i64 = 1000;
/// Messages marked sent per statement (two parameters each).
const SENT_PER_STATEMENT: usize = 500;
/// Recipients from which preparing refreshes the planner's statistics of the message rows.
pub const STATISTICS_FROM: i64 = 10_000;

pub fn run_job(state: Arc<AppState>, job: Job) -> BoxFuture<'static, HandlerResult> {
    async move { run(&state, &job).await.map_err(Into::into) }.boxed()
}

#[tracing::instrument(skip_all, fields(job = %job.id))]
async fn run(state: &AppState, job: &Job) -> Result<()> {
    let tenant = job
        .tenant_id
        .clone()
        .ok_or_else(|| DomainError::invalid("job", "needs a tenant"))?;
    let id = job.payload["campaign_id"]
        .as_str()
        .and_then(EmailCampaignId::parse)
        .ok_or_else(|| DomainError::invalid("job", "needs a campaign_id"))?;
    let ctx = TenantCtx::new(TenantId::from_raw(tenant), Actor::System, None);
    let started = Instant::now();
    let mut campaign = super::get(state, &ctx, &id).await?;
    if campaign.status == "scheduled" {
        // The scheduled run: it is due (the queue held it until `send_at`).
        let mut tx = state.store.tenant_tx(&ctx).await?;
        store::email_campaigns::transition(&mut tx, &ctx, &id, &["scheduled"], "sending").await?;
        tx.commit().await?;
        campaign = super::get(state, &ctx, &id).await?;
    }
    if campaign.status != "sending" {
        return Ok(());
    }
    if campaign.prepared_at.is_none() {
        prepare(state, &ctx, &id, &campaign).await?;
        campaign = super::get(state, &ctx, &id).await?;
        // Without it PostgreSQL planned each window's updates from the table as it was before
        // (measured at 1M messages: an index walk over every message of the tenant per
        // statement, half its time).
        if campaign.recipients >= STATISTICS_FROM {
            state.store.refresh_statistics(Grown::Messages).await?;
        }
    }
    let mut conn = state.store.connection().await?;
    // On PostgreSQL the next window is frozen and rendered on a second connection while the
    // last one is handed over and recorded (measured: the two halves took about as long). On
    // SQLite one connection does both in turn: a commit on another connection empties its
    // page cache, and the database takes one writer at a time anyway.
    let mut second = match state.store.backend() {
        Backend::Postgres => Some(state.store.connection().await?),
        Backend::Sqlite => None,
    };
    let renderer = Renderer::new(&campaign.subject, &campaign.html, campaign.text_body.as_deref())?;
    let provider = crate::domain::email::for_tenant(state, &ctx).await?;
    let base = tracking_domain::link_base(state, &ctx).await?;
    let sender = Sender {
        campaign: &campaign,
        renderer: &renderer,
        provider: provider.as_ref(),
        base: &base,
    };
    let batch_size = i64::from(campaign.batch_size.max(1));
    let batches = (campaign.recipients.max(0) as u64).div_ceil(batch_size as u64) as i64;
    let window = (WINDOW / batch_size).max(1);
    let mut next = campaign.batches_done;
    // A window frozen, not yet handed over (PostgreSQL only): it is handed over before the run
    // stops for any reason but an error, so windows are recorded in order.
    let mut in_flight: Option<Ready> = None;
    let stop = loop {
        if next >= batches {
            break Stop::Sent;
        }
        if started.elapsed() > SLICE {
            break Stop::Yield;
        }
        if status(state, &mut conn, &ctx, &id).await? != "sending" {
            break Stop::Halted; // paused or cancelled meanwhile
        }
        let end = (next + window).min(batches);
        let ready = match (second.as_mut(), in_flight.take()) {
            (Some(other), Some(last)) => {
                let (ready, handed) = tokio::join!(
                    ready_window(state, &mut conn, &ctx, &sender, next..end),
                    hand_over(state, other, &ctx, &sender, last),
                );
                handed?;
                ready?
            }
            _ => ready_window(state, &mut conn, &ctx, &sender, next..end).await?,
        };
        match second {
            Some(_) => in_flight = Some(ready),
            None => hand_over(state, &mut conn, &ctx, &sender, ready).await?,
        }
        next = end;
    };
    if let Some(last) = in_flight.take() {
        hand_over(state, second.as_mut().unwrap_or(&mut conn), &ctx, &sender, last).await?;
    }
    match stop {
        Stop::Sent => {
            let mut tx = state.store.tenant_tx(&ctx).await?;
            store::email_campaigns::transition(&mut tx, &ctx, &id, &["sending"], "sent").await?;
            tx.commit().await?;
            tracing::info!(campaign = %id, "campaign sent");
        }
        Stop::Yield => {
            let mut tx = state.store.tenant_tx(&ctx).await?;
            enqueue(state, &mut tx, &ctx, &id, now_ms()).await?;
            tx.commit().await?;
            state.jobs.wake();
        }
        Stop::Halted => {}
    }
    Ok(())
}

/// Why a run stops sending.
enum Stop {
    /// Every batch is sent.
    Sent,
    /// Its time slice is over: it queues its continuation.
    Yield,
    Halted,
}

/// The campaign's status, read on the run's connection.
async fn status(
    state: &AppState,
    conn: &mut PoolConnection<Any>,
    ctx: &TenantCtx,
    id: &EmailCampaignId,
) -> Result<String> {
    let mut read = state.store.tenant_read_on(conn, ctx).await?;
    let row = store::email_campaigns::get(&mut read, ctx, id).await?;
    read.commit().await?;
    Ok(row.status)
}

/// Walks the audience from the checkpoint, writing message rows a page per transaction.
async fn prepare(state: &AppState, ctx: &TenantCtx, id: &EmailCampaignId, campaign: &CampaignRow) -> Result<()> {
    let spec = AudienceSpec::from_stored(&campaign.audience)?;
    let mut read = state.store.tenant_read(ctx).await?;
    let walk = Walk::new(&mut read, ctx, &spec).await?;
    read.commit().await?;
    let (mut after, mut seq) = (campaign.prepared_after.clone(), campaign.recipients);
    let mut conn = state.store.connection().await?;
    loop {
        let mut tx = state.store.tenant_tx_on(&mut conn, ctx).await?;
        let page = walk.page(&mut tx, ctx, &after, PAGE).await?;
        let (sendable, invalid): (Vec<Recipient>, Vec<Recipient>) =
            page.iter().cloned().partition(|r| validate::sendable_email(&r.email));
        let added =
            store::email_messages::insert_page(&mut tx, ctx, id.as_str(), &sendable, seq, campaign.batch_size as i64)
                .await?;
        if let Some(last) = page.last() {
            after = last.id.clone();
            store::email_campaigns::prepared_page(&mut tx, ctx, id, &after, added, invalid.len() as i64).await?;
        }
        if (page.len() as i64) < PAGE {
            store::email_campaigns::prepared(&mut tx, ctx, id).await?;
            tx.commit().await?;
            return Ok(());
        }
        tx.commit().await?;
        seq += added;
    }
}

/// What every batch of a run is sent with.
struct Sender<'a> {
    campaign: &'a CampaignRow,
    renderer: &'a Renderer<'a>,
    provider: &'a dyn EmailProvider,
    /// Where the links in the emails point (the tenant's tracking domain or the public URL).
    base: &'a str,
}

/// A window frozen and rendered: what is left is to hand it over and record that.
struct Ready {
    window: Range<i64>,
    /// The frozen messages, in batch order, and their emails.
    frozen: Vec<BatchMessage>,
    emails: Vec<Email>,
    skipped: i64,
}

/// Freezes the batches of `window` and renders their emails (the first half of sending them
/// exactly once, see the module's comment).
async fn ready_window(
    state: &AppState,
    conn: &mut PoolConnection<Any>,
    ctx: &TenantCtx,
    sender: &Sender<'_>,
    window: Range<i64>,
) -> Result<Ready> {
    let mut tx = state.store.tenant_tx_on(conn, ctx).await?;
    let mut messages = store::email_messages::batches(&mut tx, ctx, &sender.campaign.id, window.clone()).await?;
    freeze(&mut tx, ctx, &mut messages).await?;
    let skipped = messages.iter().filter(|m| m.status == "skipped").count() as i64;
    let frozen: Vec<BatchMessage> = messages.into_iter().filter(|m| m.status == "sending").collect();
    let customers: Vec<&str> = frozen.iter().map(|m| m.person.customer_id.as_str()).collect();
    let custom = custom_values(&mut tx, ctx, &customers).await?;
    tx.commit().await?;
    let emails = render(state, sender, &frozen, custom)?;
    Ok(Ready {
        window,
        frozen,
        emails,
        skipped,
    })
}

/// Hands a ready window's batches to the provider side by side, then records them as sent.
async fn hand_over(
    state: &AppState,
    conn: &mut PoolConnection<Any>,
    ctx: &TenantCtx,
    sender: &Sender<'_>,
    ready: Ready,
) -> Result<()> {
    let campaign = sender.campaign;
    let id = EmailCampaignId::from_raw(campaign.id.clone());
    let Ready {
        window,
        frozen,
        emails,
        skipped,
    } = ready;
    // `frozen` is in batch order: each batch is one run of it, and one provider request.
    let batches: Vec<&[BatchMessage]> = frozen.chunk_by(|a, b| a.batch_no == b.batch_no).collect();
    let keys: Vec<String> = batches
        .iter()
        .map(|b| format!("{}/{}", campaign.id, b[0].batch_no))
        .collect();
    let mut rest = emails.as_slice();
    let mut requests = Vec::with_capacity(batches.len());
    for (batch, key) in batches.iter().zip(&keys) {
        let (these, after) = rest.split_at(batch.len());
        requests.push(sender.provider.send(these, key));
        rest = after;
    }
    let provider_ids: Vec<Vec<String>> = futures_util::stream::iter(requests)
        .buffered(sender.provider.concurrency().max(1))
        .try_collect()
        .await
        .map_err(|e| DomainError::Io(std::io::Error::other(e)))?;
    let sent: Vec<(&str, &str)> = frozen
        .iter()
        .zip(provider_ids.iter().flatten())
        .map(|(m, p)| (m.id.as_str(), p.as_str()))
        .collect();
    let now = now_ms();
    let events: Vec<_> = frozen
        .iter()
        .map(|m| {
            let r = MessageRef {
                id: m.id.clone(),
                tenant_id: ctx.tenant_id.to_string(),
                campaign_id: campaign.id.clone(),
                customer_id: m.person.customer_id.clone(),
                email: m.to.clone(),
            };
            message_events::data(&r, now)
        })
        .collect();
    let mut tx = state.store.tenant_tx_on(conn, ctx).await?;
    for batch in sent.chunks(SENT_PER_STATEMENT) {
        store::email_messages::mark_sent(&mut tx, ctx, batch).await?;
    }
    outbox::emit_many(&mut tx, ctx, outbox::MESSAGE_SENT, &events).await?;
    store::email_campaigns::batches_done(&mut tx, ctx, &id, window, sent.len() as i64, skipped).await?;
    tx.commit().await?;
    Ok(())
}

/// Freezes the queued `messages`: consent as of now decides who is in them, for good.
async fn freeze(tx: &mut Conn, ctx: &TenantCtx, messages: &mut [BatchMessage]) -> Result<()> {
    let queued: Vec<usize> = (0..messages.len())
        .filter(|&i| messages[i].status == "queued")
        .collect();
    if queued.is_empty() {
        return Ok(());
    }
    let who: Vec<(Option<&str>, &str)> = queued
        .iter()
        .map(|&i| (Some(messages[i].person.customer_id.as_str()), messages[i].to.as_str()))
        .collect();
    let blocked = store::consents::blocked(tx, ctx, consent::EMAIL, &who).await?;
    for (n, &i) in queued.iter().enumerate() {
        messages[i].status = if blocked.contains(&n) { "skipped" } else { "sending" }.into();
    }
    for status in ["skipped", "sending"] {
        let ids: Vec<&str> = queued
            .iter()
            .filter(|&&i| messages[i].status == status)
            .map(|&i| messages[i].id.as_str())
            .collect();
        store::email_messages::set_status(tx, ctx, &ids, status).await?;
    }
    Ok(())
}

/// The emails of `messages`, with each customer's custom field values from `custom`.
fn render(
    state: &AppState,
    sender: &Sender<'_>,
    messages: &[BatchMessage],
    mut custom: HashMap<String, Map<String, Value>>,
) -> Result<Vec<Email>> {
    let campaign = sender.campaign;
    let from = from_header(campaign);
    messages
        .iter()
        .map(|m| {
            let custom = custom.remove(&m.person.customer_id).unwrap_or_default();
            let data = template::person_data(&m.person, custom);
            let content = sender.renderer.render(&data)?;
            Ok(Email {
                from: from.clone(),
                to: m.to.clone(),
                reply_to: campaign.reply_to.clone(),
                subject: content.subject,
                html: tracking::instrument(&content.html, sender.base, &state.link_key, &m.id),
                text: content.text,
                headers: unsubscribe::headers(sender.base, &state.link_key, &m.id),
                key: m.id.clone(),
            })
        })
        .collect()
}
