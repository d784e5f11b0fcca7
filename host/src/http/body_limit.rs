//! Refuses request bodies over the configured size with 413, whether or not the client declared
//! a Content-Length, before any handler buffers them.

use poem::http::header::CONTENT_LENGTH;
use poem::http::StatusCode;
use poem::{Body, Endpoint, Error, Request, Response, Result};

pub async fn middleware<E: Endpoint>(next: E, mut req: Request, max: usize) -> Result<Response> {
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
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(len) if len > max => return Err(too_large()),
        Some(_) => {}
        None => {
            let bytes = req.take_body().into_bytes_limit(max).await.map_err(|_| too_large())?;
            req.set_body(Body::from(bytes));
        }
    }
    next.call(req).await.map(poem::IntoResponse::into_response)
}
