//! Cross-cutting HTTP middleware, each a [`layer::Layer`].

pub mod body_limit;
pub mod idempotency;
pub mod json_errors;
pub mod layer;
pub mod problem_errors;
pub mod request_id;
pub mod state_data;
pub mod tracking_host;
