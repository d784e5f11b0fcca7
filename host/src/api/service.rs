//! Liveness and readiness.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::problem::Problem;
use super::Tag;
use crate::state::AppState;

#[derive(Object)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
}

#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// The database answers and every migration is applied.
    #[oai(status = 200)]
    Ready(Json<Health>),
    /// Not ready to serve.
    #[oai(status = 503, content_type = "application/problem+json")]
    NotReady(Json<Problem>),
}

#[derive(Default)]
pub struct ServiceApi;

#[OpenApi(tag = "Tag::Service")]
impl ServiceApi {
    /// The process is up.
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> Json<Health> {
        Json(Health { status: "ok".into() })
    }

    /// The database is reachable and migrations are applied.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: Data<&Arc<AppState>>) -> ReadyResponse {
        match state.store.ready().await {
            Ok(true) => ReadyResponse::Ready(Json(Health { status: "ready".into() })),
            Ok(false) => ReadyResponse::NotReady(Json(Problem::new(503, "migrations are pending"))),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                ReadyResponse::NotReady(Json(Problem::new(503, "the database is unreachable")))
            }
        }
    }
}
