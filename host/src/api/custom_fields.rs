//! Custom field definitions.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use time::OffsetDateTime;

use super::problem::ApiResult;
use super::responses::{at, Created, NoContent};
use super::security::BearerAuth;
use super::text::Text;
use super::Tag;
use crate::auth::permissions::{CUSTOMERS_READ, CUSTOM_FIELDS_WRITE};
use crate::domain::crm::custom_fields;
use crate::state::AppState;
use crate::store::custom_fields::CustomFieldRow;

/// A typed field the tenant adds to its customers.
#[derive(Object)]
pub struct CustomFieldOut {
    /// `cfd_…`
    pub id: String,
    /// The name used in `custom_fields` objects and segment rules (`custom_fields.<key>`).
    pub key: String,
    pub label: String,
    /// `text`, `number`, `boolean`, `date`, `datetime` or `enum`.
    #[oai(rename = "type")]
    pub field_type: String,
    /// Allowed values of an enum.
    pub options: Vec<String>,
    pub created_at: OffsetDateTime,
}

impl From<CustomFieldRow> for CustomFieldOut {
    fn from(r: CustomFieldRow) -> Self {
        Self {
            options: r
                .options
                .as_deref()
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or_default(),
            id: r.id,
            key: r.key,
            label: r.label,
            field_type: r.field_type,
            created_at: at(r.created_at),
        }
    }
}

#[derive(Object)]
pub struct CustomFieldIn {
    /// 1 to 64 of a-z, 0-9 and `_`, starting with a letter.
    pub key: Text,
    /// Defaults to the key.
    pub label: Option<Text>,
    /// `text`, `number`, `boolean`, `date`, `datetime` or `enum`.
    #[oai(rename = "type")]
    pub field_type: Text,
    /// Required for enums, refused otherwise.
    #[oai(default)]
    pub options: Vec<Text>,
}

#[derive(Object)]
pub struct CustomFieldPatch {
    pub label: Option<Text>,
    /// Replaces an enum's options.
    pub options: Option<Vec<Text>>,
}

#[derive(Object)]
pub struct CustomFieldList {
    pub data: Vec<CustomFieldOut>,
}

fn texts(v: &[Text]) -> Vec<String> {
    v.iter().map(|t| t.0.clone()).collect()
}

#[derive(Default)]
pub struct CustomFieldsApi;

#[OpenApi(tag = "Tag::Customers")]
impl CustomFieldsApi {
    /// Define a custom field.
    #[oai(path = "/v1/custom-fields", method = "post", operation_id = "createCustomField")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<CustomFieldIn>,
    ) -> ApiResult<Created<CustomFieldOut>> {
        let ctx = auth.0.require(&state, CUSTOM_FIELDS_WRITE).await?;
        let row = custom_fields::create(
            &state,
            &ctx,
            &body.key,
            body.label.as_deref(),
            &body.field_type,
            &texts(&body.options),
        )
        .await?;
        Ok(Created::Created(Json(row.into())))
    }

    /// List custom field definitions.
    #[oai(path = "/v1/custom-fields", method = "get", operation_id = "listCustomFields")]
    async fn list(&self, state: Data<&Arc<AppState>>, auth: BearerAuth) -> ApiResult<Json<CustomFieldList>> {
        let ctx = auth.0.require(&state, CUSTOMERS_READ).await?;
        Ok(Json(CustomFieldList {
            data: custom_fields::list(&state, &ctx)
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        }))
    }

    /// Change a custom field's label or an enum's options.
    #[oai(
        path = "/v1/custom-fields/:key",
        method = "patch",
        operation_id = "updateCustomField"
    )]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        key: Path<String>,
        body: Json<CustomFieldPatch>,
    ) -> ApiResult<Json<CustomFieldOut>> {
        let ctx = auth.0.require(&state, CUSTOM_FIELDS_WRITE).await?;
        let options = body.options.as_deref().map(texts);
        Ok(Json(
            custom_fields::update(&state, &ctx, &key, body.label.as_deref(), options.as_deref())
                .await?
                .into(),
        ))
    }

    /// Delete a custom field and every value stored in it.
    #[oai(
        path = "/v1/custom-fields/:key",
        method = "delete",
        operation_id = "deleteCustomField"
    )]
    async fn delete(&self, state: Data<&Arc<AppState>>, auth: BearerAuth, key: Path<String>) -> ApiResult<NoContent> {
        let ctx = auth.0.require(&state, CUSTOM_FIELDS_WRITE).await?;
        custom_fields::delete(&state, &ctx, &key).await?;
        Ok(NoContent::NoContent)
    }
}
