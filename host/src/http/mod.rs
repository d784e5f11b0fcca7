//! Cross-cutting HTTP middleware.

pub mod body_limit;
pub mod idempotency;
pub mod json_errors;
pub mod problem_errors;
pub mod request_id;
pub mod tracking_host;
