//! Tags: bulk add/remove over ids or a segment, and counts.

use serde_json::json;

use super::validate as v;
use crate::domain::{audit, outbox, DomainError, Result};
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
}

/// Most customers one call may name; a segment has no limit.
pub const MAX_IDS: usize = 1000;

fn clean(field: &str, tags: &[String]) -> Result<Vec<String>> {
    tags.iter()
        .enumerate()
        .map(|(i, t)| v::tag(&format!("{field}[{i}]"), t))
        .collect()
}

/// Applies a bulk change; customers of other tenants or unknown ids are skipped. Returns how
/// many customers changed.
pub async fn bulk(state: &AppState, ctx: &TenantCtx, bulk: Bulk) -> Result<u64> {
    let add = clean("add", &bulk.add)?;
    let remove = clean("remove", &bulk.remove)?;
    if add.is_empty() && remove.is_empty() {
        return Err(DomainError::invalid("add", "give tags to add or remove"));
    }
    if bulk.customer_ids.len() > MAX_IDS {
        return Err(DomainError::invalid(
            "customer_ids",
            format!("at most {MAX_IDS} ids per call"),
        ));
    }
    let mut tx = state.store.tenant_tx(ctx).await?;
    let mut changed = 0;
    for id in &bulk.customer_ids {
        let Some(id) = <crate::ids::CustomerId as crate::ids::PrefixedId>::parse(id) else {
            continue;
        };
        if store::customers::get(&mut tx, ctx, &id).await.is_err() {
            continue;
        }
        if apply(&mut tx, ctx, id.as_str(), &add, &remove).await? {
            store::customers::touch(&mut tx, ctx, &id).await?;
            changed += 1;
        }
    }
    audit::record(
        &mut tx,
        ctx,
        "customers.tagged",
        "tags",
        &add.iter().chain(&remove).cloned().collect::<Vec<_>>().join(","),
    )
    .await?;
    tx.commit().await?;
    Ok(changed)
}

pub async fn counts(state: &AppState, ctx: &TenantCtx) -> Result<Vec<TagCount>> {
    let mut read = state.store.tenant_read(ctx).await?;
    let counts = store::customer_tags::counts(&mut read, ctx).await?;
    read.commit().await?;
    Ok(counts)
}
