//! Requests arriving on a tenant's tracking domain (by their `Host`): only the tracking and
//! unsubscribe routes are served there, and the handlers see whose domain it is
//! ([`TrackingHost`]) so another tenant's links are not found on it. Requests on the public
//! URL's host, or on hosts nobody registered, pass untouched.

use std::sync::Arc;

use poem::{Endpoint, IntoResponse, Request, Response, Result};

use crate::api::problem::ApiError;
use crate::ids::TenantId;
use crate::state::AppState;

/// The tenant whose tracking domain the request came in on.
#[derive(Clone, Debug)]
pub struct TrackingHost(pub TenantId);

/// Paths a tracking domain serves: clicks and opens (`/t/`), unsubscribe (`/u/`).
const SERVED: [&str; 2] = ["/t/", "/u/"];

/// The tenant of the request's tracking domain, if it came in on one.
pub fn host_tenant(req: &Request) -> Option<&TenantId> {
    req.extensions().get::<TrackingHost>().map(|h| &h.0)
}

fn host_of(req: &Request) -> Option<String> {
    let raw = req
        .headers()
        .get(poem::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().host())?;
    let host = match raw.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => raw,
    };
    Some(host.trim_end_matches('.').to_ascii_lowercase())
}

pub async fn middleware<E: Endpoint>(next: E, mut req: Request) -> Result<Response> {
    let Some(state) = req.data::<Arc<AppState>>().cloned() else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    let host = host_of(&req);
    let tenant = match host {
        Some(h) if h.contains('.') => match state.tracking_hosts.tenant_of(&state.store, &h).await {
            Ok(t) => t,
            Err(e) => return Ok(ApiError::from(e).into_response()),
        },
        _ => None,
    };
    if let Some(tenant) = tenant {
        if !SERVED.iter().any(|p| req.uri().path().starts_with(p)) {
            return Ok(ApiError::not_found().into_response());
        }
        req.extensions_mut().insert(TrackingHost(tenant));
    }
    next.call(req).await.map(IntoResponse::into_response)
}
