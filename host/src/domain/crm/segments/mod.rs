//! Segments: saved rule trees over customers, counted and previewed on demand.
//!
//! Rules are stored as the JSON the client sent and parsed again at every evaluation, against
//! the custom fields of that moment: a segment whose custom field was deleted since answers 422
//! naming the condition, rather than silently matching nobody.

pub mod rules;

use serde_json::Value;

use super::custom_fields;
use super::customers::{self, ListParams, Page, Patch};
use crate::domain::{audit, page_limit, validate, DomainError, Result};
use crate::ids::{PrefixedId, SegmentId};
use crate::state::AppState;
use crate::store::{self, now_ms, segment_sql, segments::Fields, segments::SegmentRow, sql::Sql, Conn};
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone)]
pub struct Segment {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub rules: Value,
    pub created_at: i64,
    pub updated_at: i64,
}

impl TryFrom<SegmentRow> for Segment {
    type Error = DomainError;
    fn try_from(r: SegmentRow) -> Result<Self> {
        Ok(Self {
            rules: stored_rules(&r.rules)?,
            id: r.id,
            name: r.name,
            description: r.description,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Rules as we stored them; unreadable JSON is our fault, so it is an internal error.
fn stored_rules(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)).into())
}

pub struct SegmentInput {
    pub name: String,
    pub description: Option<String>,
    pub rules: Value,
}

/// Changes to a segment: `None`/`Keep` leave a field as it is.
pub struct SegmentPatch {
    pub name: Option<String>,
    pub description: Patch<String>,
    pub rules: Option<Value>,
}

fn description(raw: &str) -> Result<String> {
    validate::name("description", raw, 1000)
}

/// The compiled predicate for `rules` in this tenant, checked against its custom fields.
pub async fn predicate(tx: &mut Conn, ctx: &TenantCtx, rules: &Value) -> Result<Sql> {
    let defs = custom_fields::definitions(tx, ctx).await?;
    let rule = rules::parse(rules, &defs)?;
    Ok(segment_sql::compile(ctx, &rule, now_ms()))
}

/// The compiled predicate of a saved segment.
pub async fn predicate_of(tx: &mut Conn, ctx: &TenantCtx, id: &SegmentId) -> Result<Sql> {
    let row = store::segments::get(tx, ctx, id).await?;
    predicate(tx, ctx, &stored_rules(&row.rules)?).await
}

/// The compiled predicate of a saved segment, read in its own unit of work.
pub async fn predicate_for(state: &AppState, ctx: &TenantCtx, id: &SegmentId) -> Result<Sql> {
    let mut read = state.store.tenant_read(ctx).await?;
    let sql = predicate_of(&mut read, ctx, id).await?;
    read.commit().await?;
    Ok(sql)
}

#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id))]
pub async fn create(state: &AppState, ctx: &TenantCtx, input: SegmentInput) -> Result<Segment> {
    let name = validate::name("name", &input.name, 200)?;
    let description = input.description.as_deref().map(description).transpose()?;
    let mut tx = state.store.tenant_tx(ctx).await?;
    predicate(&mut tx, ctx, &input.rules).await?;
    let fields = Fields {
        name: &name,
        description: description.as_deref(),
        rules: &input.rules.to_string(),
    };
    let id = SegmentId::generate();
    let row = store::segments::insert(&mut tx, ctx, &id, &fields).await?;
    audit::record(&mut tx, ctx, "segment.created", "segment", id.as_str()).await?;
    tx.commit().await?;
    row.try_into()
}

pub async fn get(state: &AppState, ctx: &TenantCtx, id: &SegmentId) -> Result<Segment> {
    let mut read = state.store.tenant_read(ctx).await?;
    let row = store::segments::get(&mut read, ctx, id).await?;
    read.commit().await?;
    row.try_into()
}

pub async fn list(state: &AppState, ctx: &TenantCtx, after: Option<&str>, limit: Option<u32>) -> Result<Vec<Segment>> {
    let mut read = state.store.tenant_read(ctx).await?;
    let rows = store::segments::page(&mut read, ctx, after, page_limit(limit)).await?;
    read.commit().await?;
    rows.into_iter().map(Segment::try_from).collect()
}

#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id))]
pub async fn update(state: &AppState, ctx: &TenantCtx, id: &SegmentId, patch: SegmentPatch) -> Result<Segment> {
    let name = patch.name.map(|n| validate::name("name", &n, 200)).transpose()?;
    let new_description = match patch.description {
        Patch::Set(d) => Patch::Set(description(&d)?),
        other => other,
    };
    let mut tx = state.store.tenant_tx(ctx).await?;
    let current = store::segments::get(&mut tx, ctx, id).await?;
    if let Some(rules) = &patch.rules {
        predicate(&mut tx, ctx, rules).await?;
    }
    let rules = patch.rules.map(|r| r.to_string()).unwrap_or(current.rules);
    let description = new_description.apply(current.description);
    let fields = Fields {
        name: name.as_deref().unwrap_or(&current.name),
        description: description.as_deref(),
        rules: &rules,
    };
    let row = store::segments::update(&mut tx, ctx, id, &fields).await?;
    audit::record(&mut tx, ctx, "segment.updated", "segment", id.as_str()).await?;
    tx.commit().await?;
    row.try_into()
}

pub async fn delete(state: &AppState, ctx: &TenantCtx, id: &SegmentId) -> Result<()> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    store::segments::delete(&mut tx, ctx, id).await?;
    audit::record(&mut tx, ctx, "segment.deleted", "segment", id.as_str()).await?;
    tx.commit().await?;
    Ok(())
}

/// How many customers a saved segment matches now.
pub async fn count(state: &AppState, ctx: &TenantCtx, id: &SegmentId) -> Result<i64> {
    let mut read = state.store.tenant_read(ctx).await?;
    let predicate = predicate_of(&mut read, ctx, id).await?;
    let n = store::customers::count_matching(&mut read, ctx, &predicate).await?;
    read.commit().await?;
    Ok(n)
}

/// How many customers an unsaved rule tree matches.
pub async fn count_rules(state: &AppState, ctx: &TenantCtx, rules: &Value) -> Result<i64> {
    let mut read = state.store.tenant_read(ctx).await?;
    let predicate = predicate(&mut read, ctx, rules).await?;
    let n = store::customers::count_matching(&mut read, ctx, &predicate).await?;
    read.commit().await?;
    Ok(n)
}

/// A page of the segment's customers, shaped like the customer list.
pub async fn preview(
    state: &AppState,
    ctx: &TenantCtx,
    id: &SegmentId,
    after: Option<String>,
    limit: Option<u32>,
) -> Result<Page> {
    let mut read = state.store.tenant_read(ctx).await?;
    let predicate = predicate_of(&mut read, ctx, id).await?;
    read.commit().await?;
    let params = ListParams {
        after,
        limit,
        segment: Some(predicate),
        ..ListParams::default()
    };
    customers::list(state, ctx, params).await
}
