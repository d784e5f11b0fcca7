//! Refuses request bodies over the configured size with 413, whether or not the client declared
//! a Content-Length, before any handler buffers them.
//!
//! Uploads (`POST /v1/imports`) have their own, larger limit and are not buffered here: the
//! handler streams them to disk and enforces the limit as it copies.

use std::future::Future;

use poem::http::header::CONTENT_LENGTH;
use poem::http::StatusCode;
use poem::{Body, Endpoint, Error, Request, Response, Result};

use super::layer::{answer, go_on, pass, slow, Layer};

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

/// Enforces [`Limits`].
#[derive(Clone)]
pub struct BodyLimit(pub Limits);

impl Layer for BodyLimit {
    fn call<'a, E: Endpoint + 'a>(
        &'a self,
        next: &'a E,
        mut req: Request,
    ) -> impl Future<Output = Result<Response>> + Send + 'a {
        let upload = UPLOAD_PATHS.contains(&req.uri().path());
        let max = match req.uri().path() {
            _ if upload => self.0.upload,
            PLUGIN_PATH => self.0.plugin,
            _ => self.0.body,
        };
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        match declared {
            Some(len) if len > max => answer(Err(too_large(max))),
            None if !upload => {
                let body = req.take_body();
                if body.is_empty() {
                    req.set_body(body);
                    go_on(next, req)
                } else {
                    slow(buffered(next, req, body, max))
                }
            }
            _ => go_on(next, req),
        }
    }
}

/// Reads a body of undeclared length into memory, refusing it past `max` bytes, then goes on.
async fn buffered<E: Endpoint>(next: &E, mut req: Request, body: Body, max: u64) -> Result<Response> {
    let bytes = body.into_bytes_limit(max as usize).await.map_err(|_| too_large(max))?;
    req.set_body(Body::from(bytes));
    pass(next, req).await
}

fn too_large(max: u64) -> Error {
    Error::from_string(
        format!("the request body exceeds {max} bytes"),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
}
