//! RFC 9457 problem+json: the one error shape of the API, and the one mapping from domain
//! errors to HTTP.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

use crate::domain::{DomainError, FieldError};

/// An error, as RFC 9457 describes it.
#[derive(Object, Debug, Clone)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[oai(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    #[oai(skip_serializing_if_is_none)]
    pub detail: Option<String>,
    /// The fields that failed validation.
    #[oai(skip_serializing_if_is_empty)]
    pub errors: Vec<ProblemField>,
}

/// One invalid field.
#[derive(Object, Debug, Clone)]
pub struct ProblemField {
    /// The field's name, dotted for nested fields (`permissions[2]`).
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(status: u16, detail: impl Into<String>) -> Self {
        let (kind, title) = kind_and_title(status);
        Self {
            kind: format!("/problems/{kind}"),
            title: title.into(),
            status,
            detail: Some(detail.into()),
            errors: vec![],
        }
    }
}

/// `type` slug and title for each status the API answers with.
pub fn kind_and_title(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => ("bad-request", "Bad request"),
        401 => ("unauthorized", "Authentication required"),
        403 => ("forbidden", "Permission denied"),
        404 => ("not-found", "Not found"),
        405 => ("method-not-allowed", "Method not allowed"),
        409 => ("conflict", "Conflict"),
        413 => ("payload-too-large", "Request body too large"),
        415 => ("unsupported-media-type", "Unsupported media type"),
        422 => ("validation", "Validation failed"),
        429 => ("rate-limited", "Too many requests"),
        503 => ("unavailable", "Service unavailable"),
        s if s >= 500 => ("internal", "Internal error"),
        _ => ("client-error", "Request failed"),
    }
}

/// Every error an operation can answer with. Each operation's spec lists all of them.
#[derive(ApiResponse, Debug)]
pub enum ApiError {
    /// The request could not be parsed.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// No valid credential was sent.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// The credential lacks the permission this operation needs.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such resource in this tenant.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The request conflicts with the current state (a duplicate, a reused idempotency key).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// The request body is larger than the server accepts.
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Problem>),
    /// A field failed validation; `errors` names it.
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(Json<Problem>),
    /// Too many requests; retry after the given number of seconds.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>, #[oai(header = "Retry-After")] u64),
    /// Something failed on our side; details are in the server log under the request id.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn not_found() -> Self {
        ApiError::NotFound(Json(Problem::new(404, "no such resource")))
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound => ApiError::not_found(),
            DomainError::Invalid(fields) => {
                let mut p = Problem::new(422, describe(&fields));
                p.errors = fields
                    .into_iter()
                    .map(|f| ProblemField {
                        field: f.field,
                        message: f.message,
                    })
                    .collect();
                ApiError::Unprocessable(Json(p))
            }
            DomainError::Conflict { field, message } => {
                let mut p = Problem::new(409, message.clone());
                p.errors = field
                    .into_iter()
                    .map(|field| ProblemField {
                        field,
                        message: message.clone(),
                    })
                    .collect();
                ApiError::Conflict(Json(p))
            }
            DomainError::Unauthenticated(msg) => ApiError::Unauthorized(Json(Problem::new(401, msg))),
            DomainError::Forbidden(msg) => ApiError::Forbidden(Json(Problem::new(403, msg))),
            DomainError::RateLimited(wait) => {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                ApiError::TooManyRequests(Json(Problem::new(429, format!("retry in {secs} s"))), secs.max(1))
            }
            DomainError::TooLarge(max) => {
                ApiError::PayloadTooLarge(Json(Problem::new(413, format!("the upload exceeds {max} bytes"))))
            }
            DomainError::Disabled(what) => ApiError::Forbidden(Json(Problem::new(403, format!("{what} is disabled")))),
            internal => {
                tracing::error!(error = %internal, "internal error");
                ApiError::Internal(Json(Problem::new(500, "an internal error occurred")))
            }
        }
    }
}

fn describe(fields: &[FieldError]) -> String {
    let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    format!("invalid {}", names.join(", "))
}
