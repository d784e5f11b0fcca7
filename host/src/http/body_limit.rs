//! Refuses request bodies over the configured size with 413, whether or not the client declared
//! a Content-Length, before any handler buffers them.
//!
//! Uploads (`POST /v1/imports`) have their own, larger limit and are not buffered here: the
//! handler streams them to disk and enforces the limit as it copies.

use poem::http::header::CONTENT_LENGTH;
use poem::http::StatusCode;
use poem::{Body, Endpoint, Error, Request, Response, Result};

/// The routes whose bodies are streamed uploads.
const UPLOAD_PATHS: &[&str] = &["/v1/imports"];
const PLUGIN_PATH: &str = "/v1/plugins";

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Any other request body.
    pub body: u64,
    /// An upload.
    pub upload: u64,
    /// A plugin upload (`POST /v1/plugins`), buffered like any body but with its own limit.
    pub plugin: u64,
}

pub async fn middleware<E: Endpoint>(next: E, mut req: Request, limits: Limits) -> Result<Response> {
    let upload = UPLOAD_PATHS.contains(&req.uri().path());
    let max = match req.uri().path() {
        _ if upload => limits.upload,
        PLUGIN_PATH => limits.plugin,
        _ => limits.body,
    };
    let too_large = || {
        Error::from_string(
            format!("the request body exceeds {max} bytes"),
            StatusCode::PAYLOAD_TOO_LARGE,
        )
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(len) if len > max => return Err(too_large()),
        None if !upload => {
            let bytes = req
                .take_body()
                .into_bytes_limit(max as usize)
                .await
                .map_err(|_| too_large())?;
            req.set_body(Body::from(bytes));
        }
        _ => {}
    }
    next.call(req).await.map(poem::IntoResponse::into_response)
}
