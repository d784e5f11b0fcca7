//! Segments: saved rule trees over customers, their counts and previews.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{Object, OpenApi};
use serde_json::Value;
use time::OffsetDateTime;

use super::customers::CustomerList;
use super::path_id::path_id;
use super::problem::ApiResult;
use super::responses::{at, page, Created, NoContent};
use super::security::BearerAuth;
use super::text::Text;
use super::Tag;
use crate::auth::permissions::{CUSTOMERS_READ, SEGMENTS_READ, SEGMENTS_WRITE};
use crate::domain::crm::customers::Patch;
use crate::domain::crm::segments::{self, Segment, SegmentInput, SegmentPatch};
use crate::state::AppState;

/// A saved rule tree over customers.
#[derive(Object)]
pub struct SegmentOut {
    /// `seg_…`
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// The rule tree, as given.
    pub rules: Value,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<Segment> for SegmentOut {
    fn from(s: Segment) -> Self {
        Self {
            id: s.id,
            name: s.name,
            description: s.description,
            rules: s.rules,
            created_at: at(s.created_at),
            updated_at: at(s.updated_at),
        }
    }
}

/// A new segment.
#[derive(Object)]
pub struct SegmentIn {
    pub name: Text,
    pub description: Option<Text>,
    /// `{"and": [..]}`, `{"or": [..]}`, `{"not": rule}` or a condition
    /// `{"field": .., "op": .., "value": ..}`; at most 10 levels and 200 conditions. Fields:
    /// `email`, `phone`, `first_name`, `last_name`, `locale`, `timezone`, `external_id`,
    /// `created_at`, `updated_at`, `tags`, `custom_fields.<key>`, `consent.<channel>`,
    /// `activity.<event type>`. `neq` also matches customers without the value; a customer
    /// without a consent row counts as `never`.
    pub rules: Value,
}

/// Changes to a segment: absent fields stay, a `null` description clears it.
#[derive(Object)]
pub struct SegmentPatchIn {
    pub name: Option<Text>,
    pub description: MaybeUndefined<Text>,
    pub rules: Option<Value>,
}

/// An unsaved rule tree, to count before saving.
#[derive(Object)]
pub struct RulesIn {
    pub rules: Value,
}

#[derive(Object)]
pub struct SegmentList {
    pub data: Vec<SegmentOut>,
    pub next_cursor: Option<String>,
}

#[derive(Object)]
pub struct SegmentCount {
    /// Customers matching now.
    pub count: i64,
}

#[derive(Default)]
pub struct SegmentsApi;

#[OpenApi(tag = "Tag::Segments")]
impl SegmentsApi {
    /// Save a segment.
    #[oai(path = "/v1/segments", method = "post", operation_id = "createSegment")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<SegmentIn>,
    ) -> ApiResult<Created<SegmentOut>> {
        let ctx = auth.0.require(&state, SEGMENTS_WRITE).await?;
        let input = SegmentInput {
            name: body.0.name.0,
            description: body.0.description.map(|d| d.0),
            rules: body.0.rules,
        };
        Ok(Created::Created(Json(
            segments::create(&state, &ctx, input).await?.into(),
        )))
    }

    /// List segments, oldest first.
    #[oai(path = "/v1/segments", method = "get", operation_id = "listSegments")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// The `next_cursor` of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<SegmentList>> {
        let ctx = auth.0.require(&state, SEGMENTS_READ).await?;
        let rows = segments::list(&state, &ctx, after.0.as_deref(), limit.0).await?;
        let (data, next_cursor) = page(rows, limit.0, |s| &s.id);
        Ok(Json(SegmentList { data, next_cursor }))
    }

    /// Count the customers an unsaved rule tree matches.
    #[oai(path = "/v1/segments/count", method = "post", operation_id = "countSegmentRules")]
    async fn count_rules(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<RulesIn>,
    ) -> ApiResult<Json<SegmentCount>> {
        let ctx = auth.0.require(&state, SEGMENTS_READ).await?;
        let count = segments::count_rules(&state, &ctx, &body.0.rules).await?;
        Ok(Json(SegmentCount { count }))
    }

    /// Get a segment.
    #[oai(path = "/v1/segments/:id", method = "get", operation_id = "getSegment")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
    ) -> ApiResult<Json<SegmentOut>> {
        let ctx = auth.0.require(&state, SEGMENTS_READ).await?;
        Ok(Json(segments::get(&state, &ctx, &path_id(&id)?).await?.into()))
    }

    /// Change a segment's name, description or rules.
    #[oai(path = "/v1/segments/:id", method = "patch", operation_id = "updateSegment")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        body: Json<SegmentPatchIn>,
    ) -> ApiResult<Json<SegmentOut>> {
        let ctx = auth.0.require(&state, SEGMENTS_WRITE).await?;
        let patch = SegmentPatch {
            name: body.0.name.map(|n| n.0),
            description: match body.0.description {
                MaybeUndefined::Undefined => Patch::Keep,
                MaybeUndefined::Null => Patch::Clear,
                MaybeUndefined::Value(d) => Patch::Set(d.0),
            },
            rules: body.0.rules,
        };
        Ok(Json(
            segments::update(&state, &ctx, &path_id(&id)?, patch).await?.into(),
        ))
    }

    /// Delete a segment.
    #[oai(path = "/v1/segments/:id", method = "delete", operation_id = "deleteSegment")]
    async fn delete(&self, state: Data<&Arc<AppState>>, auth: BearerAuth, id: Path<String>) -> ApiResult<NoContent> {
        let ctx = auth.0.require(&state, SEGMENTS_WRITE).await?;
        segments::delete(&state, &ctx, &path_id(&id)?).await?;
        Ok(NoContent::NoContent)
    }

    /// Count the customers a segment matches now.
    #[oai(path = "/v1/segments/:id/count", method = "get", operation_id = "countSegment")]
    async fn count(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
    ) -> ApiResult<Json<SegmentCount>> {
        let ctx = auth.0.require(&state, SEGMENTS_READ).await?;
        let count = segments::count(&state, &ctx, &path_id(&id)?).await?;
        Ok(Json(SegmentCount { count }))
    }

    /// The customers a segment matches now, a page at a time, in creation order.
    #[oai(path = "/v1/segments/:id/preview", method = "get", operation_id = "previewSegment")]
    async fn preview(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        /// The `next_cursor` of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<CustomerList>> {
        auth.0.require(&state, SEGMENTS_READ).await?;
        let ctx = auth.0.require(&state, CUSTOMERS_READ).await?;
        let page = segments::preview(&state, &ctx, &path_id(&id)?, after.0, limit.0).await?;
        Ok(Json(CustomerList {
            data: page.customers.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        }))
    }
}
