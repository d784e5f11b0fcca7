//! Requests arriving on a tenant's tracking domain (by their `Host`): only the tracking and
//! unsubscribe routes are served there, and the handlers see whose domain it is
//! ([`TrackingHost`]) so another tenant's links are not found on it. Requests on the public
//! URL's host, or on hosts nobody registered, pass untouched.

use std::future::Future;
use std::sync::Arc;

use poem::{Endpoint, IntoResponse, Request, Response, Result};

use super::layer::{answer, go_on, pass, slow, Layer};

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

/// Serves tracking domains their routes only, telling the handlers whose domain it is.
#[derive(Clone)]
pub struct HostTenants;

impl Layer for HostTenants {
    fn call<'a, E: Endpoint + 'a>(
        &'a self,
        next: &'a E,
        mut req: Request,
    ) -> impl Future<Output = Result<Response>> + Send + 'a {
        let (state, host) = match (req.data::<Arc<AppState>>(), host_of(&req)) {
            (Some(state), Some(host)) if host.contains('.') => (state, host),
            _ => return go_on(next, req),
        };
        match state.tracking_hosts.known(&host) {
            Some(tenant) => match admit(&mut req, tenant) {
                Some(refused) => answer(Ok(refused)),
                None => go_on(next, req),
            },
            // The state is cloned only here, for the lookup that outlives the borrow of `req`.
            None => slow({
                let state = state.clone();
                async move {
                    let tenant = match state.tracking_hosts.tenant_of(&state.store, &host).await {
                        Ok(t) => t,
                        Err(e) => return Ok(ApiError::from(e).into_response()),
                    };
                    match admit(&mut req, tenant) {
                        Some(refused) => Ok(refused),
                        None => pass(next, req).await,
                    }
                }
            }),
        }
    }
}

/// Marks `req` as arriving on `tenant`'s tracking domain, if it did; the 404 to answer when
/// that domain does not serve its path.
fn admit(req: &mut Request, tenant: Option<TenantId>) -> Option<Response> {
    let tenant = tenant?;
    if !SERVED.iter().any(|p| req.uri().path().starts_with(p)) {
        return Some(ApiError::not_found().into_response());
    }
    req.extensions_mut().insert(TrackingHost(tenant));
    None
}
