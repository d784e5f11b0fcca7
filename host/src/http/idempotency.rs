//! `Idempotency-Key` on POSTs: the first response (unless it was a server error) is stored and
//! replayed for every retry with the same key from the same principal; a retry with a
//! different body is refused, and a retry while the first is still running gets 409.

use std::future::Future;

use poem::http::header::CONTENT_TYPE;
use poem::http::{HeaderValue, Method, StatusCode};
use poem::{Body, Endpoint, Error, Request, Response, Result};
use sha2::{Digest, Sha256};
use std::sync::Arc;

use super::layer::{answer, go_on, respond, slow, Layer};
use crate::domain::principal;
use crate::state::AppState;
use crate::store::{self, StoreError};

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";

fn internal(e: StoreError) -> Error {
    tracing::error!(error = %e, "idempotency store failed");
    Error::from_status(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Stores and replays the answers to keyed POSTs.
#[derive(Clone)]
pub struct Idempotency;

impl Layer for Idempotency {
    fn call<'a, E: Endpoint + 'a>(
        &'a self,
        next: &'a E,
        req: Request,
    ) -> impl Future<Output = Result<Response>> + Send + 'a {
        match key_of(&req) {
            Ok(None) => go_on(next, req),
            Ok(Some(key)) => slow(keyed(next, req, key)),
            Err(e) => answer(Err(e)),
        }
    }
}

/// The request's `Idempotency-Key`, when it is a POST that has one.
fn key_of(req: &Request) -> Result<Option<String>> {
    let key = match req.headers().get(HEADER).map(|v| v.to_str().map(str::to_owned)) {
        Some(Ok(key)) if req.method() == Method::POST => key,
        Some(_) if req.method() == Method::POST => {
            return Err(Error::from_string(
                "Idempotency-Key must be visible ASCII",
                StatusCode::BAD_REQUEST,
            ))
        }
        _ => return Ok(None),
    };
    if !(1..=255).contains(&key.len()) {
        return Err(Error::from_string(
            "Idempotency-Key must be 1 to 255 characters",
            StatusCode::BAD_REQUEST,
        ));
    }
    Ok(Some(key))
}

async fn keyed<E: Endpoint>(next: &E, mut req: Request, key: String) -> Result<Response> {
    let state = req
        .data::<Arc<AppState>>()
        .cloned()
        .expect("AppState is attached by the app");
    let scope = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|token| principal::idempotency_scope(&state, token))
        .unwrap_or_else(|| "anonymous".to_owned());
    // JSON bodies are small and hashed whole, so a key reused with another payload is caught.
    // Uploads (CSV, multipart) stream to disk and are never buffered here: their fingerprint is
    // the path, type and declared length.
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let mut hasher = Sha256::new();
    hasher.update(req.uri().path().as_bytes());
    hasher.update([0]);
    let body = if is_json {
        let bytes = req.take_body().into_bytes().await?;
        hasher.update(&bytes);
        Some(bytes)
    } else {
        for name in [CONTENT_TYPE, poem::http::header::CONTENT_LENGTH] {
            hasher.update(req.headers().get(name).map(|v| v.as_bytes()).unwrap_or_default());
            hasher.update([0]);
        }
        None
    };
    let request_hash = hex::encode(hasher.finalize());

    let mut tx = state.store.system_tx().await.map_err(internal)?;
    let existing = store::idempotency::claim(&mut tx, &scope, &key, &request_hash)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(|e| internal(e.into()))?;
    if let Some(row) = existing {
        if row.request_hash != request_hash {
            return Err(Error::from_string(
                "this Idempotency-Key was already used with a different request",
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
        let Some(status) = row.status else {
            return Err(Error::from_string(
                "a request with this Idempotency-Key is in progress",
                StatusCode::CONFLICT,
            ));
        };
        let mut resp = Response::builder()
            .status(StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK))
            .header(REPLAYED, "true")
            .body(row.body.unwrap_or_default());
        if let Some(ct) = row.content_type.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
            resp.headers_mut().insert(CONTENT_TYPE, ct);
        }
        return Ok(resp);
    }

    if let Some(body) = body {
        req.set_body(Body::from(body));
    }
    let resp = respond(next.call(req).await);
    let status = resp.status();
    let mut tx = state.store.system_tx().await.map_err(internal)?;
    if status.is_server_error() {
        store::idempotency::release(&mut tx, &scope, &key)
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(|e| internal(e.into()))?;
        return Ok(resp);
    }
    let (parts, body) = resp.into_parts();
    let bytes = body.into_bytes().await?;
    let content_type = parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let text = String::from_utf8_lossy(&bytes);
    store::idempotency::complete(&mut tx, &scope, &key, status.as_u16(), content_type, &text)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(|e| internal(e.into()))?;
    Ok(Response::from_parts(parts, Body::from(bytes)))
}
