//! Turns every error response that is not already problem+json (the framework's own: unknown
//! route, wrong method, unparseable JSON, missing credential) into one, and a handler's panic
//! into a 500 problem.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::future::{ready, Either};
use futures_util::FutureExt;
use poem::http::header::CONTENT_TYPE;
use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Request, Response, Result};

use super::layer::{respond, Layer};
use crate::api::problem::Problem;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Answers every error as problem+json.
#[derive(Clone)]
pub struct Problems;

impl Layer for Problems {
    fn call<'a, E: Endpoint + 'a>(
        &'a self,
        next: &'a E,
        req: Request,
    ) -> impl Future<Output = Result<Response>> + Send + 'a {
        // Combinators, not an `async move` block: the block would hold the next future twice
        // (captured, and again where it is awaited).
        AssertUnwindSafe(next.call(req)).catch_unwind().then(|answered| {
            let resp = match answered {
                Ok(answered) => respond(answered),
                Err(_) => {
                    tracing::error!("a handler panicked");
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }
            };
            match is_problem_or_fine(&resp) {
                true => Either::Left(ready(Ok(resp))),
                // Boxed: only error answers carry the state of reading their body.
                false => Either::Right(problem(resp).map(Ok).boxed()),
            }
        })
    }
}

fn is_problem_or_fine(resp: &Response) -> bool {
    let status = resp.status();
    let is_problem = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    !(status.is_client_error() || status.is_server_error()) || is_problem
}

/// `resp`, an error that is not problem+json yet, as one.
async fn problem(resp: Response) -> Response {
    let status = resp.status();
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
    out
}

fn kind_default(status: u16) -> String {
    crate::api::problem::kind_and_title(status).1.to_owned()
}

fn problem_json(p: &Problem) -> serde_json::Value {
    use poem_openapi::types::ToJSON;
    p.to_json().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use poem::endpoint::make_sync;
    use poem::EndpointExt;

    use super::*;
    use crate::http::layer::Layered;

    async fn answer(ep: impl Endpoint<Output = Response>) -> (StatusCode, String, serde_json::Value) {
        let resp = ep.call(Request::default()).await.expect("an answer");
        let status = resp.status();
        let kind = resp.content_type().unwrap_or_default().to_owned();
        let body = resp.into_body().into_json().await.expect("a JSON body");
        (status, kind, body)
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_a_500_problem() {
        let ep = make_sync(|_| -> &'static str { panic!("a handler bug") }).with(Layered(Problems));
        let (status, kind, body) = answer(ep).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(kind, PROBLEM_JSON);
        assert_eq!(body["status"], 500);
        assert_eq!(
            body["detail"], "an internal error occurred",
            "no panic text leaks: {body}"
        );
    }

    #[tokio::test]
    async fn plain_errors_become_problems_that_keep_their_text() {
        let ep = make_sync(|_| (StatusCode::CONFLICT, "already there")).with(Layered(Problems));
        let (status, kind, body) = answer(ep).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(kind, PROBLEM_JSON);
        assert_eq!(body["detail"], "already there");
    }
}
