//! The caller's own identity.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::api_keys::ApiKeyOut;
use super::problem::ApiResult;
use super::security::BearerAuth;
use super::tenant::TenantOut;
use super::users::UserOut;
use super::Tag;
use crate::auth::permissions::PROFILE_READ;
use crate::domain::principal;
use crate::state::AppState;

#[derive(Object)]
pub struct MeOut {
    /// The user, when the credential is an access token.
    pub user: Option<UserOut>,
    /// The key, when the credential is an API key.
    pub api_key: Option<ApiKeyOut>,
    pub tenant: TenantOut,
    pub role: String,
    /// Every permission the credential holds (`object:action`).
    pub permissions: Vec<String>,
}

#[derive(Default)]
pub struct MeApi;

#[OpenApi(tag = "Tag::Me")]
impl MeApi {
    /// Who am I: the user or API key, its tenant, role and permissions.
    #[oai(path = "/v1/me", method = "get", operation_id = "getMe")]
    async fn me(&self, state: Data<&Arc<AppState>>, auth: BearerAuth) -> ApiResult<Json<MeOut>> {
        let ctx = auth.0.require(&state, PROFILE_READ).await?;
        let me = principal::describe(&state, &auth.0, &ctx).await?;
        Ok(Json(MeOut {
            user: me.user.map(Into::into),
            api_key: me.api_key.map(Into::into),
            tenant: me.tenant.into(),
            role: me.role,
            permissions: me.permissions.iter().map(ToString::to_string).collect(),
        }))
    }
}
