//! Consent and the suppression list.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use time::OffsetDateTime;

use super::customers::CustomerOut;
use super::path_id::path_id;
use super::problem::ApiResult;
use super::responses::{at, Created, NoContent};
use super::security::BearerAuth;
use super::text::Text;
use super::Tag;
use crate::auth::permissions::{CUSTOMERS_READ, CUSTOMERS_WRITE, SUPPRESSIONS_WRITE};
use crate::domain::crm::{consent, customers};
use crate::state::AppState;
use crate::store::consents::SuppressionRow;

#[derive(Object)]
pub struct ConsentIn {
    /// `subscribed`, `unsubscribed` or `never`.
    pub status: Text,
    /// Where it came from: a form, an import, a keyword…
    pub source: Option<Text>,
    /// For SMS: the keyword the person sent.
    pub keyword: Option<Text>,
}

#[derive(Object)]
pub struct SuppressionOut {
    pub channel: String,
    pub address: String,
    pub reason: String,
    pub created_at: OffsetDateTime,
}

impl From<SuppressionRow> for SuppressionOut {
    fn from(r: SuppressionRow) -> Self {
        Self {
            channel: r.channel,
            address: r.address,
            reason: r.reason,
            created_at: at(r.created_at),
        }
    }
}

#[derive(Object)]
pub struct SuppressionIn {
    /// `email`, `sms`, `voice` or `whatsapp`.
    pub channel: Text,
    /// An email address or an international phone number.
    pub address: Text,
    pub reason: Text,
}

#[derive(Object)]
pub struct SuppressionList {
    pub data: Vec<SuppressionOut>,
    pub next_cursor: Option<String>,
}

#[derive(Default)]
pub struct ConsentApi;

#[OpenApi(tag = "Tag::Customers")]
impl ConsentApi {
    /// Set a customer's consent on one channel.
    #[oai(
        path = "/v1/customers/:id/consent/:channel",
        method = "put",
        operation_id = "setConsent"
    )]
    async fn set(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        channel: Path<String>,
        body: Json<ConsentIn>,
    ) -> ApiResult<Json<CustomerOut>> {
        let ctx = auth.0.require(&state, CUSTOMERS_WRITE).await?;
        let id = path_id(&id)?;
        let change = consent::Change {
            channel: &channel,
            status: &body.status,
            source: body.source.as_deref(),
            keyword: body.keyword.as_deref(),
        };
        consent::set(&state, &ctx, &id, change).await?;
        Ok(Json(customers::get(&state, &ctx, &id).await?.into()))
    }

    /// List suppressed addresses.
    #[oai(path = "/v1/suppressions", method = "get", operation_id = "listSuppressions")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// The `next_cursor` of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<SuppressionList>> {
        let ctx = auth.0.require(&state, CUSTOMERS_READ).await?;
        let rows = consent::suppressions(&state, &ctx, after.0.as_deref(), limit.0).await?;
        let full = rows.len() as i64 == crate::domain::page_limit(limit.0);
        let next_cursor = full
            .then(|| rows.last().map(|r| format!("{}:{}", r.channel, r.address)))
            .flatten();
        Ok(Json(SuppressionList {
            data: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// Suppress an address: no channel sends to it.
    #[oai(path = "/v1/suppressions", method = "post", operation_id = "createSuppression")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<SuppressionIn>,
    ) -> ApiResult<Created<SuppressionOut>> {
        let ctx = auth.0.require(&state, SUPPRESSIONS_WRITE).await?;
        let row = consent::suppress(&state, &ctx, &body.channel, &body.address, &body.reason).await?;
        Ok(Created::Created(Json(row.into())))
    }

    /// Lift a suppression.
    #[oai(
        path = "/v1/suppressions/:channel/:address",
        method = "delete",
        operation_id = "deleteSuppression"
    )]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        channel: Path<String>,
        address: Path<String>,
    ) -> ApiResult<NoContent> {
        let ctx = auth.0.require(&state, SUPPRESSIONS_WRITE).await?;
        consent::unsuppress(&state, &ctx, &channel, &address).await?;
        Ok(NoContent::NoContent)
    }
}
