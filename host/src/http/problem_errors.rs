//! Turns every error response that is not already problem+json (the framework's own: unknown
//! route, wrong method, unparseable JSON, missing credential) into one.

use poem::http::header::CONTENT_TYPE;
use poem::{Endpoint, IntoResponse, Request, Response, Result};

use crate::api::problem::Problem;

pub const PROBLEM_JSON: &str = "application/problem+json";

pub async fn middleware<E: Endpoint>(next: E, req: Request) -> Result<Response> {
    let resp = match next.call(req).await {
        Ok(resp) => resp.into_response(),
        Err(err) => err.into_response(),
    };
    let status = resp.status();
    let is_problem = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return Ok(resp);
    }
    let (parts, body) = resp.into_parts();
    let detail = if status.is_server_error() {
        tracing::error!(status = status.as_u16(), "unhandled server error");
        "an internal error occurred".to_owned()
    } else {
        let text = body.into_string().await.unwrap_or_default();
        let text: String = text.chars().take(500).collect();
        if text.is_empty() {
            kind_default(status.as_u16())
        } else {
            text
        }
    };
    let problem = Problem::new(status.as_u16(), detail);
    let mut out = Response::builder()
        .status(status)
        .content_type(PROBLEM_JSON)
        .body(serde_json::to_vec(&problem_json(&problem)).unwrap_or_default());
    for (name, value) in parts.headers.iter() {
        if name != CONTENT_TYPE && name != poem::http::header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(out)
}

fn kind_default(status: u16) -> String {
    crate::api::problem::kind_and_title(status).1.to_owned()
}

fn problem_json(p: &Problem) -> serde_json::Value {
    use poem_openapi::types::ToJSON;
    p.to_json().unwrap_or_default()
}
