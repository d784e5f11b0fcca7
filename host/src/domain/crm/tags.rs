//! Tags: bulk add/remove over ids or a segment, and counts.

use serde_json::json;

use super::{segments, validate as v};
use crate::domain::{audit, outbox, DomainError, Result};
use crate::ids::{CustomerId, PrefixedId, SegmentId};
use crate::state::AppState;
use crate::store::{self, customer_tags::TagCount, Conn};
use crate::tenancy::TenantCtx;

/// Adds and removes tags on one customer, emitting `customer.tagged` when anything changed.
pub async fn apply(
    tx: &mut Conn,
    ctx: &TenantCtx,
    customer_id: &str,
    add: &[String],
    remove: &[String],
) -> Result<bool> {
    let added = store::customer_tags::add(tx, ctx, customer_id, add).await?;
    let removed = store::customer_tags::remove(tx, ctx, customer_id, remove).await?;
    if added + removed == 0 {
        return Ok(false);
    }
    outbox::emit(
        tx,
        ctx,
        outbox::CUSTOMER_TAGGED,
        &json!({"customer_id": customer_id, "added": add, "removed": remove}),
    )
    .await?;
    Ok(true)
}

pub struct Bulk {
    pub add: Vec<String>,
    pub remove: Vec<String>,
    /// The customers to change; at most 1000 per call (use a segment for more).
    pub customer_ids: Vec<String>,
    /// Instead of ids: every customer the segment matches when the call runs.
    pub segment_id: Option<String>,
}

/// Most customers one call may name; a segment has no limit.
pub const MAX_IDS: usize = 1000;

/// How many of a segment's customers are loaded at a time.
const SEGMENT_PAGE: i64 = 500;

fn clean(field: &str, tags: &[String]) -> Result<Vec<String>> {
    tags.iter()
        .enumerate()
        .map(|(i, t)| v::tag(&format!("{field}[{i}]"), t))
        .collect()
}

/// The tags to add and to remove, checked; at least one.
fn checked(add: &[String], remove: &[String]) -> Result<(Vec<String>, Vec<String>)> {
    let (add, remove) = (clean("add", add)?, clean("remove", remove)?);
    if add.is_empty() && remove.is_empty() {
        return Err(DomainError::invalid("add", "give tags to add or remove"));
    }
    Ok((add, remove))
}

/// Audits a change of `changed` customers' tags. Tagging customers who already have the tags
/// changes nothing, and is not audited.
async fn audit_change(tx: &mut Conn, ctx: &TenantCtx, add: &[String], remove: &[String], changed: u64) -> Result<()> {
    if changed == 0 {
        return Ok(());
    }
    let tags = add.iter().chain(remove).cloned().collect::<Vec<_>>().join(",");
    audit::record(tx, ctx, "customers.tagged", "tags", &tags).await
}

/// Tags one customer inside `tx`; `NotFound` when the tenant has no such customer. Returns
/// whether anything changed.
pub async fn tag_customer(
    tx: &mut Conn,
    ctx: &TenantCtx,
    id: &CustomerId,
    add: &[String],
    remove: &[String],
) -> Result<bool> {
    let (add, remove) = checked(add, remove)?;
    store::customers::get(tx, ctx, id).await?;
    let changed = tag_one(tx, ctx, id, &add, &remove).await?;
    audit_change(tx, ctx, &add, &remove, u64::from(changed)).await?;
    Ok(changed)
}

/// Applies a bulk change; customers of other tenants or unknown ids are skipped. Returns how
/// many customers changed.
pub async fn bulk(state: &AppState, ctx: &TenantCtx, bulk: Bulk) -> Result<u64> {
    let (add, remove) = checked(&bulk.add, &bulk.remove)?;
    if bulk.customer_ids.len() > MAX_IDS {
        return Err(DomainError::invalid(
            "customer_ids",
            format!("at most {MAX_IDS} ids per call"),
        ));
    }
    if bulk.segment_id.is_some() && !bulk.customer_ids.is_empty() {
        return Err(DomainError::invalid(
            "segment_id",
            "give customer_ids or segment_id, not both",
        ));
    }
    let mut tx = state.store.tenant_tx(ctx).await?;
    let mut changed = 0;
    if let Some(raw) = &bulk.segment_id {
        let segment = SegmentId::parse(raw).ok_or(DomainError::NotFound)?;
        let predicate = segments::predicate_of(&mut tx, ctx, &segment).await?;
        let mut after = String::new();
        loop {
            let ids = store::customers::ids_matching(&mut tx, ctx, &predicate, &after, SEGMENT_PAGE).await?;
            for id in &ids {
                changed += u64::from(tag_one(&mut tx, ctx, &CustomerId::from_raw(id.clone()), &add, &remove).await?);
            }
            match ids.last() {
                Some(last) if ids.len() as i64 == SEGMENT_PAGE => after = last.clone(),
                _ => break,
            }
        }
    }
    for id in &bulk.customer_ids {
        let Some(id) = CustomerId::parse(id) else {
            continue;
        };
        if store::customers::get(&mut tx, ctx, &id).await.is_err() {
            continue;
        }
        changed += u64::from(tag_one(&mut tx, ctx, &id, &add, &remove).await?);
    }
    audit_change(&mut tx, ctx, &add, &remove, changed).await?;
    tx.commit().await?;
    Ok(changed)
}

/// Tags one existing customer, marking it changed when anything was.
async fn tag_one(tx: &mut Conn, ctx: &TenantCtx, id: &CustomerId, add: &[String], remove: &[String]) -> Result<bool> {
    let changed = apply(tx, ctx, id.as_str(), add, remove).await?;
    if changed {
        store::customers::touch(tx, ctx, id).await?;
    }
    Ok(changed)
}

pub async fn counts(state: &AppState, ctx: &TenantCtx) -> Result<Vec<TagCount>> {
    let mut read = state.store.tenant_read(ctx).await?;
    let counts = store::customer_tags::counts(&mut read, ctx).await?;
    read.commit().await?;
    Ok(counts)
}
