//! Background jobs: the tenant's view of its own, dead letters included.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use time::OffsetDateTime;

use super::path_id::path_id;
use super::problem::ApiResult;
use super::responses::{at, page};
use super::security::BearerAuth;
use super::Tag;
use crate::auth::permissions::{IMPORTS_WRITE, JOBS_WRITE};
use crate::jobs::queue;
use crate::state::AppState;
use crate::store::jobs::JobRow;

/// A unit of background work.
#[derive(Object)]
pub struct JobOut {
    /// `job_…`
    pub id: String,
    /// What the job does (`customers.import`).
    pub kind: String,
    /// `queued`, `running`, `done` or `dead` (failed its last attempt).
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    /// When it runs (next).
    pub run_at: OffsetDateTime,
    /// The error of the latest failed attempt.
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<JobRow> for JobOut {
    fn from(r: JobRow) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            status: r.status,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            run_at: at(r.run_at),
            last_error: r.last_error,
            created_at: at(r.created_at),
            updated_at: at(r.updated_at),
        }
    }
}

#[derive(Object)]
pub struct JobList {
    pub data: Vec<JobOut>,
    pub next_cursor: Option<String>,
}

#[derive(Default)]
pub struct JobsApi;

#[OpenApi(tag = "Tag::Jobs")]
impl JobsApi {
    /// List the tenant's background jobs; `status=dead` shows the dead letters.
    #[oai(path = "/v1/jobs", method = "get", operation_id = "listJobs")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// `queued`, `running`, `done` or `dead`.
        status: Query<Option<String>>,
        /// The `next_cursor` of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<JobList>> {
        let ctx = auth.0.require(&state, IMPORTS_WRITE).await?;
        let rows = queue::list(&state.store, &ctx, status.as_deref(), after.as_deref(), limit.0).await?;
        let (data, next_cursor) = page(rows, limit.0, |r: &JobRow| &r.id);
        Ok(Json(JobList { data, next_cursor }))
    }

    /// Get one of the tenant's background jobs.
    #[oai(path = "/v1/jobs/:id", method = "get", operation_id = "getJob")]
    async fn get(&self, state: Data<&Arc<AppState>>, auth: BearerAuth, id: Path<String>) -> ApiResult<Json<JobOut>> {
        let ctx = auth.0.require(&state, IMPORTS_WRITE).await?;
        Ok(Json(queue::get_for(&state.store, &ctx, &path_id(&id)?).await?.into()))
    }

    /// Run a dead-lettered job again, with a fresh set of attempts (409 unless it is dead).
    #[oai(path = "/v1/jobs/:id/retry", method = "post", operation_id = "retryJob")]
    async fn retry(&self, state: Data<&Arc<AppState>>, auth: BearerAuth, id: Path<String>) -> ApiResult<Json<JobOut>> {
        let ctx = auth.0.require(&state, JOBS_WRITE).await?;
        Ok(Json(queue::retry(&state, &ctx, &path_id(&id)?).await?.into()))
    }
}
