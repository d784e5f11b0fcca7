//! Customers.

use std::collections::BTreeMap;
use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;
use time::OffsetDateTime;

use super::path_id::path_id;
use super::problem::ApiResult;
use super::responses::{at, NoContent};
use super::security::BearerAuth;
use super::text::Text;
use super::Tag;
use crate::auth::permissions::{CUSTOMERS_READ, CUSTOMERS_WRITE};
use crate::domain::crm::customers::{self, Customer, CustomerInput, ListParams, Patch, Upserted};
use crate::state::AppState;

/// Consent on one channel.
#[derive(Object)]
pub struct ConsentOut {
    /// `subscribed`, `unsubscribed` or `never`.
    pub status: String,
    /// Where the consent came from (a form, an import, an SMS keyword…).
    pub source: Option<String>,
    /// For SMS: the keyword the person sent (STOP, START…).
    pub keyword: Option<String>,
    pub updated_at: OffsetDateTime,
}

/// A customer: a person the tenant talks to.
#[derive(Object)]
pub struct CustomerOut {
    /// `cus_…`
    pub id: String,
    /// Lower-cased.
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// BCP 47 language tag.
    pub locale: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// The tenant's own id for this person.
    pub external_id: Option<String>,
    /// Values of the tenant's custom fields, by key.
    pub custom_fields: BTreeMap<String, Value>,
    pub tags: Vec<String>,
    /// Consent by channel (`email`, `sms`, `voice`, `whatsapp`).
    pub consent: BTreeMap<String, ConsentOut>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<Customer> for CustomerOut {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id,
            email: c.email,
            phone: c.phone,
            first_name: c.first_name,
            last_name: c.last_name,
            locale: c.locale,
            timezone: c.timezone,
            external_id: c.external_id,
            custom_fields: c.custom_fields.into_iter().collect(),
            tags: c.tags,
            consent: c
                .consent
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        ConsentOut {
                            status: v.status,
                            source: v.source,
                            keyword: v.keyword,
                            updated_at: at(v.updated_at),
                        },
                    )
                })
                .collect(),
            created_at: at(c.created_at),
            updated_at: at(c.updated_at),
        }
    }
}

/// A new customer. Every field is optional; identifiers are unique per tenant.
#[derive(Object)]
pub struct CustomerIn {
    pub email: Option<Text>,
    /// International form; stored as E.164.
    pub phone: Option<Text>,
    pub first_name: Option<Text>,
    pub last_name: Option<Text>,
    pub locale: Option<Text>,
    pub timezone: Option<Text>,
    pub external_id: Option<Text>,
    /// Values by custom field key; each must match its definition.
    pub custom_fields: Option<BTreeMap<String, Value>>,
    pub tags: Option<Vec<Text>>,
}

fn set(v: Option<Text>) -> Patch<String> {
    v.map(|t| Patch::Set(t.0)).unwrap_or_default()
}

impl From<CustomerIn> for CustomerInput {
    fn from(c: CustomerIn) -> Self {
        Self {
            email: set(c.email),
            phone: set(c.phone),
            first_name: set(c.first_name),
            last_name: set(c.last_name),
            locale: set(c.locale),
            timezone: set(c.timezone),
            external_id: set(c.external_id),
            custom_fields: c.custom_fields.map(|m| m.into_iter().collect()),
            tags: c.tags.map(|t| t.into_iter().map(|t| t.0).collect()),
        }
    }
}

/// Changes to a customer: absent fields stay, `null` clears.
#[derive(Object)]
pub struct CustomerPatch {
    pub email: MaybeUndefined<Text>,
    pub phone: MaybeUndefined<Text>,
    pub first_name: MaybeUndefined<Text>,
    pub last_name: MaybeUndefined<Text>,
    pub locale: MaybeUndefined<Text>,
    pub timezone: MaybeUndefined<Text>,
    pub external_id: MaybeUndefined<Text>,
    /// Merged into the stored values; a `null` value removes that field.
    pub custom_fields: Option<BTreeMap<String, Value>>,
    /// Replaces the customer's tags.
    pub tags: Option<Vec<Text>>,
}

fn patch(v: MaybeUndefined<Text>) -> Patch<String> {
    match v {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(t) => Patch::Set(t.0),
    }
}

impl From<CustomerPatch> for CustomerInput {
    fn from(c: CustomerPatch) -> Self {
        Self {
            email: patch(c.email),
            phone: patch(c.phone),
            first_name: patch(c.first_name),
            last_name: patch(c.last_name),
            locale: patch(c.locale),
            timezone: patch(c.timezone),
            external_id: patch(c.external_id),
            custom_fields: c.custom_fields.map(|m| m.into_iter().collect()),
            tags: c.tags.map(|t| t.into_iter().map(|t| t.0).collect()),
        }
    }
}

#[derive(Object)]
pub struct CustomerList {
    pub data: Vec<CustomerOut>,
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub enum UpsertResponse {
    /// No customer matched: created.
    #[oai(status = 201)]
    Created(Json<CustomerOut>),
    /// Merged into the customer matching the identifiers.
    #[oai(status = 200)]
    Updated(Json<CustomerOut>),
}

#[derive(ApiResponse)]
pub enum CreatedCustomer {
    #[oai(status = 201)]
    Created(Json<CustomerOut>),
}

#[derive(Default)]
pub struct CustomersApi;

#[OpenApi(tag = "Tag::Customers")]
impl CustomersApi {
    /// Create a customer.
    #[oai(path = "/v1/customers", method = "post", operation_id = "createCustomer")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<CustomerIn>,
    ) -> ApiResult<CreatedCustomer> {
        let ctx = auth.0.require(&state, CUSTOMERS_WRITE).await?;
        Ok(CreatedCustomer::Created(Json(
            customers::create(&state, &ctx, body.0.into()).await?.into(),
        )))
    }

    /// Create or merge a customer, matched by email, phone or external id.
    #[oai(path = "/v1/customers:upsert", method = "post", operation_id = "upsertCustomer")]
    async fn upsert(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<CustomerIn>,
    ) -> ApiResult<UpsertResponse> {
        let ctx = auth.0.require(&state, CUSTOMERS_WRITE).await?;
        Ok(match customers::upsert(&state, &ctx, body.0.into()).await? {
            Upserted::Created(c) => UpsertResponse::Created(Json(c.into())),
            Upserted::Updated(c) => UpsertResponse::Updated(Json(c.into())),
        })
    }

    /// List and search customers.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/v1/customers", method = "get", operation_id = "listCustomers")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// The `next_cursor` of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
        /// `created` (default), `updated` or `name`.
        sort: Query<Option<String>>,
        /// `asc` (default) or `desc`.
        order: Query<Option<String>>,
        /// Only customers with this tag.
        tag: Query<Option<String>>,
        /// Words to find in name, email or phone (prefix match).
        q: Query<Option<String>>,
        /// `key:value`: only customers whose custom field `key` is exactly `value`.
        field: Query<Option<String>>,
    ) -> ApiResult<Json<CustomerList>> {
        let ctx = auth.0.require(&state, CUSTOMERS_READ).await?;
        let params = ListParams {
            after: after.0,
            limit: limit.0,
            sort: sort.0,
            order: order.0,
            tag: tag.0,
            q: q.0,
            field: field.0,
            segment: None,
        };
        let page = customers::list(&state, &ctx, params).await?;
        Ok(Json(CustomerList {
            data: page.customers.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        }))
    }

    /// Get a customer.
    #[oai(path = "/v1/customers/:id", method = "get", operation_id = "getCustomer")]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
    ) -> ApiResult<Json<CustomerOut>> {
        let ctx = auth.0.require(&state, CUSTOMERS_READ).await?;
        Ok(Json(customers::get(&state, &ctx, &path_id(&id)?).await?.into()))
    }

    /// Change a customer.
    #[oai(path = "/v1/customers/:id", method = "patch", operation_id = "updateCustomer")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
        body: Json<CustomerPatch>,
    ) -> ApiResult<Json<CustomerOut>> {
        let ctx = auth.0.require(&state, CUSTOMERS_WRITE).await?;
        Ok(Json(
            customers::update(&state, &ctx, &path_id(&id)?, body.0.into())
                .await?
                .into(),
        ))
    }

    /// Delete a customer and everything attached to them.
    #[oai(path = "/v1/customers/:id", method = "delete", operation_id = "deleteCustomer")]
    async fn delete(&self, state: Data<&Arc<AppState>>, auth: BearerAuth, id: Path<String>) -> ApiResult<NoContent> {
        let ctx = auth.0.require(&state, CUSTOMERS_WRITE).await?;
        customers::delete(&state, &ctx, &path_id(&id)?).await?;
        Ok(NoContent::NoContent)
    }
}
