//! Self-service signup.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::auth::TokenOut;
use super::problem::ApiResult;
use super::responses::Created;
use super::tenant::TenantOut;
use super::text::Text;
use super::users::UserOut;
use super::Tag;
use crate::domain::{tenants, DomainError};
use crate::http::request_id::RequestId;
use crate::state::AppState;

#[derive(Object)]
pub struct SignupIn {
    pub tenant_name: Text,
    pub email: Text,
    /// 10 to 256 characters.
    #[oai(validator(max_length = 1024))]
    pub password: Text,
}

#[derive(Object)]
pub struct SignupOut {
    pub tenant: TenantOut,
    pub user: UserOut,
    pub tokens: TokenOut,
}

#[derive(Default)]
pub struct SignupApi;

#[OpenApi(tag = "Tag::Signup")]
impl SignupApi {
    /// Create a tenant and its owner, and log the owner in.
    #[oai(path = "/v1/signup", method = "post", operation_id = "signup")]
    async fn signup(
        &self,
        state: Data<&Arc<AppState>>,
        rid: Data<&RequestId>,
        body: Json<SignupIn>,
    ) -> ApiResult<Created<SignupOut>> {
        if !state.config.signup_enabled {
            return Err(DomainError::Disabled("signup").into());
        }
        let input = tenants::NewTenant {
            tenant_name: &body.tenant_name,
            email: &body.email,
            password: &body.password,
        };
        let created = tenants::create(&state, input, Some(rid.0 .0.clone())).await?;
        Ok(Created::Created(Json(SignupOut {
            tenant: created.tenant.into(),
            user: created.owner.into(),
            tokens: created.tokens.into(),
        })))
    }
}
