//! `x-request-id` on every response: the client's own when it sent a sane one, else a new UUIDv7.

use poem::http::HeaderValue;
use tracing::Instrument;

use poem::{Endpoint, IntoResponse, Request, Response, Result};

pub const HEADER: &str = "x-request-id";

/// The request id, available to handlers and recorded in the audit log.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

fn acceptable(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

pub async fn middleware<E: Endpoint>(next: E, mut req: Request) -> Result<Response> {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path());
    let mut resp = match next.call(req).instrument(span).await {
        Ok(resp) => resp.into_response(),
        Err(err) => err.into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(HEADER, value);
    }
    Ok(resp)
}
