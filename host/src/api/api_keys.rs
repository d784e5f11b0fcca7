//! API keys.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use time::OffsetDateTime;

use super::path_id::path_id;
use super::problem::ApiResult;
use super::responses::{at, page, Created};
use super::security::BearerAuth;
use super::text::Text;
use super::Tag;
use crate::auth::permissions::{API_KEYS_READ, API_KEYS_WRITE};
use crate::domain::api_keys;
use crate::state::AppState;
use crate::store::api_keys::ApiKeyRow;

/// A machine credential. Its secret is shown only when it is created.
#[derive(Object)]
pub struct ApiKeyOut {
    /// `key_…`
    pub id: String,
    pub name: String,
    pub role: String,
    /// The start of the secret, to tell keys apart.
    pub prefix: String,
    /// The user or key that created it.
    pub created_by: String,
    pub created_at: OffsetDateTime,
    /// Set once the key is revoked; it stops working at that moment.
    pub revoked_at: Option<OffsetDateTime>,
}

impl From<ApiKeyRow> for ApiKeyOut {
    fn from(k: ApiKeyRow) -> Self {
        Self {
            id: k.id,
            name: k.name,
            role: k.role,
            prefix: k.prefix,
            created_by: k.created_by,
            created_at: at(k.created_at),
            revoked_at: k.revoked_at.map(at),
        }
    }
}

#[derive(Object)]
pub struct ApiKeyCreated {
    #[oai(flatten)]
    pub key: ApiKeyOut,
    /// The secret: send it as `Authorization: Bearer …`. It is never shown again.
    pub secret: String,
}

#[derive(Object)]
pub struct ApiKeyIn {
    pub name: Text,
    /// A built-in or custom role whose permissions you hold.
    pub role: Text,
}

#[derive(Object)]
pub struct ApiKeyList {
    pub data: Vec<ApiKeyOut>,
    pub next_cursor: Option<String>,
}

#[derive(Default)]
pub struct ApiKeysApi;

#[OpenApi(tag = "Tag::ApiKeys")]
impl ApiKeysApi {
    /// Create an API key. The response holds the secret, shown this once.
    #[oai(path = "/v1/api-keys", method = "post", operation_id = "createApiKey")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<ApiKeyIn>,
    ) -> ApiResult<Created<ApiKeyCreated>> {
        let ctx = auth.0.require(&state, API_KEYS_WRITE).await?;
        let created = api_keys::create(&state, &ctx, &body.name, &body.role).await?;
        Ok(Created::Created(Json(ApiKeyCreated {
            key: created.key.into(),
            secret: created.secret,
        })))
    }

    /// List API keys, revoked ones included.
    #[oai(path = "/v1/api-keys", method = "get", operation_id = "listApiKeys")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// Id of the last key of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<ApiKeyList>> {
        let ctx = auth.0.require(&state, API_KEYS_READ).await?;
        let rows = api_keys::list(&state, &ctx, after.0.as_deref(), limit.0).await?;
        let (data, next_cursor) = page(rows, limit.0, |k| &k.id);
        Ok(Json(ApiKeyList { data, next_cursor }))
    }

    /// Revoke an API key. It stops working at once.
    #[oai(path = "/v1/api-keys/:id", method = "delete", operation_id = "revokeApiKey")]
    async fn revoke(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
    ) -> ApiResult<Json<ApiKeyOut>> {
        let ctx = auth.0.require(&state, API_KEYS_WRITE).await?;
        Ok(Json(api_keys::revoke(&state, &ctx, &path_id(&id)?).await?.into()))
    }
}
