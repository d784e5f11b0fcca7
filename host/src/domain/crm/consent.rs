//! Consent per channel, and the suppression list every channel consults before sending.

use serde_json::json;

use crate::domain::{audit, outbox, validate, DomainError, Result};
use crate::ids::CustomerId;
use crate::state::AppState;
use crate::store::{self, consents::SuppressionRow, Conn};
use crate::tenancy::TenantCtx;

pub const CHANNELS: [&str; 4] = ["email", "sms", "voice", "whatsapp"];
pub const STATUSES: [&str; 3] = ["subscribed", "unsubscribed", "never"];
pub const EMAIL: &str = "email";

fn channel(field: &str, raw: &str) -> Result<&'static str> {
    CHANNELS
        .iter()
        .copied()
        .find(|c| *c == raw)
        .ok_or_else(|| DomainError::invalid(field, format!("must be one of {}", CHANNELS.join(", "))))
}

pub struct Change<'a> {
    pub channel: &'a str,
    pub status: &'a str,
    pub source: Option<&'a str>,
    pub keyword: Option<&'a str>,
}

/// Records a consent change inside `tx` (used by the API and by inbound STOP handling).
pub async fn set_in(tx: &mut Conn, ctx: &TenantCtx, id: &CustomerId, change: Change<'_>) -> Result<()> {
    let channel = channel("channel", change.channel)?;
    if !STATUSES.contains(&change.status) {
        return Err(DomainError::invalid(
            "status",
            format!("must be one of {}", STATUSES.join(", ")),
        ));
    }
    let source = change.source.map(|s| validate::name("source", s, 200)).transpose()?;
    let keyword = change.keyword.map(|s| validate::name("keyword", s, 50)).transpose()?;
    store::customers::get(tx, ctx, id).await?;
    store::consents::set(
        tx,
        ctx,
        id.as_str(),
        channel,
        change.status,
        source.as_deref(),
        keyword.as_deref(),
    )
    .await?;
    store::customers::touch(tx, ctx, id).await?;
    let data =
        json!({"customer_id": id, "channel": channel, "status": change.status, "source": source, "keyword": keyword});
    outbox::emit(tx, ctx, outbox::CONSENT_CHANGED, &data).await?;
    audit::record(tx, ctx, "consent.changed", "customer", id.as_str()).await?;
    Ok(())
}

pub async fn set(state: &AppState, ctx: &TenantCtx, id: &CustomerId, change: Change<'_>) -> Result<()> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    set_in(&mut tx, ctx, id, change).await?;
    tx.commit().await?;
    Ok(())
}

/// Whether a channel may send to `address` now: not suppressed, and the customer (when known)
/// has not unsubscribed. Every sending path asks this (campaign batches ask it for the whole
/// batch at once through `store::consents::blocked`).
pub async fn may_contact(
    tx: &mut Conn,
    ctx: &TenantCtx,
    channel: &str,
    address: &str,
    customer: Option<&CustomerId>,
) -> Result<bool> {
    let who = [(customer.map(CustomerId::as_str), address)];
    Ok(store::consents::blocked(tx, ctx, channel, &who).await?.is_empty())
}

/// Normalises an address for its channel (emails lower-cased, phones E.164).
fn address(channel: &str, raw: &str) -> Result<String> {
    match channel {
        "email" => validate::email("address", raw),
        _ => super::validate::phone("address", raw),
    }
}

pub async fn suppress(
    state: &AppState,
    ctx: &TenantCtx,
    channel_raw: &str,
    raw: &str,
    reason: &str,
) -> Result<SuppressionRow> {
    let channel = channel("channel", channel_raw)?;
    let addr = address(channel, raw)?;
    let reason = validate::name("reason", reason, 200)?;
    let mut tx = state.store.tenant_tx(ctx).await?;
    let row = store::consents::suppress(&mut tx, ctx, channel, &addr, &reason).await?;
    audit::record(
        &mut tx,
        ctx,
        "suppression.added",
        "suppression",
        &format!("{channel}:{addr}"),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn unsuppress(state: &AppState, ctx: &TenantCtx, channel_raw: &str, raw: &str) -> Result<()> {
    let channel = channel("channel", channel_raw)?;
    let addr = address(channel, raw)?;
    let mut tx = state.store.tenant_tx(ctx).await?;
    if !store::consents::unsuppress(&mut tx, ctx, channel, &addr).await? {
        return Err(DomainError::NotFound);
    }
    audit::record(
        &mut tx,
        ctx,
        "suppression.removed",
        "suppression",
        &format!("{channel}:{addr}"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn suppressions(
    state: &AppState,
    ctx: &TenantCtx,
    after: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<SuppressionRow>> {
    let mut read = state.store.tenant_read(ctx).await?;
    let rows = store::consents::suppressions(&mut read, ctx, after, crate::domain::page_limit(limit)).await?;
    read.commit().await?;
    Ok(rows)
}
