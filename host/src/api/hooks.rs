//! `POST /v1/hooks/{tenant_id}/{installation_id}/{route}`: inbound webhooks for plugins. No
//! bearer token (the plugin verifies the sender), a raw body in and the plugin's raw response
//! out, so it is a plain poem handler outside the OpenAPI service.

use std::sync::Arc;

use poem::http::{HeaderName, HeaderValue, StatusCode};
use poem::web::{Data, Path};
use poem::{handler, Body, IntoResponse, Request, Response};

use super::problem::{ApiError, Problem};
use crate::domain::plugins::hooks::{self, HookReply};
use crate::plugins::bindings::HttpRequest;
use crate::state::AppState;

/// Response headers a plugin may not set: the server owns framing and connection handling.
const RESERVED: &[&str] = &[
    "connection",
    "content-length",
    "transfer-encoding",
    "keep-alive",
    "upgrade",
];

#[handler]
pub async fn endpoint(
    state: Data<&Arc<AppState>>,
    Path((tenant, installation, route)): Path<(String, String, String)>,
    req: &Request,
    body: Body,
) -> Response {
    let body = match body.into_vec().await {
        Ok(b) => b,
        Err(_) => return problem(StatusCode::BAD_REQUEST, "the request body could not be read"),
    };
    let request = HttpRequest {
        method: req.method().as_str().to_owned(),
        route,
        headers: req
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        body,
    };
    match hooks::deliver(&state, &tenant, &installation, request).await {
        Ok(HookReply::Response(r)) => {
            let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut response = Response::builder().status(status).body(r.body);
            for (name, value) in r.headers {
                let parsed = (
                    HeaderName::try_from(name.as_str()),
                    HeaderValue::try_from(value.as_str()),
                );
                if let (Ok(name), Ok(value)) = parsed {
                    if !RESERVED.contains(&name.as_str()) {
                        response.headers_mut().append(name, value);
                    }
                }
            }
            response
        }
        Ok(HookReply::Failed(outcome)) => problem(
            StatusCode::BAD_GATEWAY,
            &format!("the plugin failed ({}); its log says why", outcome.as_str()),
        ),
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn problem(status: StatusCode, detail: &str) -> Response {
    let p = Problem::new(status.as_u16(), detail);
    Response::builder()
        .status(status)
        .content_type("application/problem+json")
        .body(serde_json::json!({"type": p.kind, "title": p.title, "status": p.status, "detail": p.detail}).to_string())
}
