//! `POST /v1/webhooks/resend` (the platform's Resend account) and
//! `POST /v1/webhooks/resend/{tenant_id}` (a tenant's own): Resend's email events. No bearer
//! token (the Standard Webhooks signature is the authority) and the raw body is what is signed,
//! so these are plain poem handlers outside the OpenAPI service.

use std::sync::Arc;

use poem::web::{Data, Json, Path};
use poem::{handler, Body, IntoResponse, Request, Response};
use serde_json::json;

use super::problem::ApiError;
use crate::domain::email::resend_events::{self, Account, Outcome};
use crate::domain::DomainError;
use crate::ids::{PrefixedId, TenantId};
use crate::signatures::standard_webhooks::Headers;
use crate::state::AppState;

async fn receive(state: &AppState, account: Account, req: &Request, body: Body) -> Response {
    let headers = match Headers::from_lookup(|name| req.headers().get(name).and_then(|v| v.to_str().ok())) {
        Ok(h) => h,
        Err(e) => return ApiError::from(DomainError::invalid("headers", e.to_string())).into_response(),
    };
    let Ok(body) = body.into_vec().await else {
        return ApiError::from(DomainError::invalid("body", "could not be read")).into_response();
    };
    match resend_events::receive(state, account, &headers, &body).await {
        Ok(outcome) => {
            let outcome = match outcome {
                Outcome::Applied => "applied",
                Outcome::Duplicate => "duplicate",
                Outcome::Ignored => "ignored",
            };
            Json(json!({ "outcome": outcome })).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[handler]
pub async fn platform(state: Data<&Arc<AppState>>, req: &Request, body: Body) -> Response {
    receive(&state, Account::Platform, req, body).await
}

#[handler]
pub async fn tenant(state: Data<&Arc<AppState>>, Path(tenant): Path<String>, req: &Request, body: Body) -> Response {
    let Some(tenant) = TenantId::parse(&tenant) else {
        return ApiError::not_found().into_response();
    };
    receive(&state, Account::Tenant(tenant), req, body).await
}
