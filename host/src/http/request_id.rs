//! `x-request-id` on every response: the client's own when it sent a sane one, else a new UUIDv7.

use std::future::Future;

use futures_util::FutureExt;
use poem::http::HeaderValue;
use poem::{Endpoint, Request, Response, Result};
use tracing::Instrument;

use super::layer::{respond, Layer};

pub const HEADER: &str = "x-request-id";

/// The request id, available to handlers and recorded in the audit log.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

fn acceptable(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// Tags every request and its response with the request id, and runs the request in a span
/// that carries it.
#[derive(Clone)]
pub struct RequestIds;

impl Layer for RequestIds {
    fn call<'a, E: Endpoint + 'a>(
        &'a self,
        next: &'a E,
        mut req: Request,
    ) -> impl Future<Output = Result<Response>> + Send + 'a {
        let id = req
            .headers()
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| acceptable(v))
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        req.extensions_mut().insert(RequestId(id.clone()));
        let span = tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path());
        // A combinator, not an `async move` block: the block would hold the next future twice
        // (captured, and again where it is awaited).
        next.call(req).instrument(span).map(move |answered| {
            let mut resp = respond(answered);
            if let Ok(value) = HeaderValue::from_str(&id) {
                resp.headers_mut().insert(HEADER, value);
            }
            Ok(resp)
        })
    }
}
