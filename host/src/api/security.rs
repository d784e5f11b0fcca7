//! The bearer security scheme: an access token (JWT) or an API key.

use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;

use super::problem::ApiError;
use crate::domain::principal::{self, Principal};
use crate::http::request_id::RequestId;
use crate::state::AppState;

/// `Authorization: Bearer <access token or API key>`.
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "JWT access token or sb_key_ API key",
    checker = "check"
)]
pub struct BearerAuth(pub Principal);

async fn check(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let state = req
        .data::<std::sync::Arc<AppState>>()
        .expect("AppState is attached by the app");
    let request_id = req.data::<RequestId>().map(|r| r.0.clone());
    principal::authenticate(state, &bearer.token, request_id)
        .await
        .map_err(|e| ApiError::from(e).into())
}
