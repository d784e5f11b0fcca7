//! Tags in bulk, and tag counts.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::problem::ApiResult;
use super::security::BearerAuth;
use super::text::Text;
use super::Tag;
use crate::auth::permissions::{CUSTOMERS_READ, CUSTOMERS_WRITE, SEGMENTS_READ};
use crate::domain::crm::tags;
use crate::state::AppState;

#[derive(Object)]
pub struct BulkTagIn {
    /// Tags to add.
    #[oai(default)]
    pub add: Vec<Text>,
    /// Tags to remove.
    #[oai(default)]
    pub remove: Vec<Text>,
    /// Customers to change (at most 1000); unknown ids are skipped.
    #[oai(default)]
    pub customer_ids: Vec<Text>,
    /// Instead of ids: every customer the segment matches now (`seg_…`), however many.
    pub segment_id: Option<Text>,
}

#[derive(Object)]
pub struct BulkTagOut {
    /// How many customers changed.
    pub changed: u64,
}

#[derive(Object)]
pub struct TagCountOut {
    pub tag: String,
    pub customers: i64,
}

#[derive(Object)]
pub struct TagList {
    pub data: Vec<TagCountOut>,
}

#[derive(Default)]
pub struct TagsApi;

#[OpenApi(tag = "Tag::Customers")]
impl TagsApi {
    /// Add or remove tags on many customers at once.
    #[oai(path = "/v1/customers/tags", method = "post", operation_id = "bulkTagCustomers")]
    async fn bulk(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<BulkTagIn>,
    ) -> ApiResult<Json<BulkTagOut>> {
        let ctx = auth.0.require(&state, CUSTOMERS_WRITE).await?;
        if body.segment_id.is_some() {
            auth.0.require(&state, SEGMENTS_READ).await?;
        }
        let strings = |v: &[Text]| v.iter().map(|t| t.0.clone()).collect();
        let bulk = tags::Bulk {
            add: strings(&body.add),
            remove: strings(&body.remove),
            customer_ids: strings(&body.customer_ids),
            segment_id: body.segment_id.as_ref().map(|t| t.0.clone()),
        };
        Ok(Json(BulkTagOut {
            changed: tags::bulk(&state, &ctx, bulk).await?,
        }))
    }

    /// Every tag in use, with how many customers carry it.
    #[oai(path = "/v1/tags", method = "get", operation_id = "listTags")]
    async fn list(&self, state: Data<&Arc<AppState>>, auth: BearerAuth) -> ApiResult<Json<TagList>> {
        let ctx = auth.0.require(&state, CUSTOMERS_READ).await?;
        let data = tags::counts(&state, &ctx)
            .await?
            .into_iter()
            .map(|c| TagCountOut {
                tag: c.tag,
                customers: c.customers,
            })
            .collect();
        Ok(Json(TagList { data }))
    }
}
