//! The audit log.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use time::OffsetDateTime;

use super::problem::ApiResult;
use super::responses::{at, page};
use super::security::BearerAuth;
use super::Tag;
use crate::auth::permissions::AUDIT_LOGS_READ;
use crate::domain::audit;
use crate::state::AppState;
use crate::store::audit::AuditRow;

/// One change: who did what to which resource, when, in which request.
#[derive(Object)]
pub struct AuditLogOut {
    /// `aud_…`
    pub id: String,
    /// `user`, `api_key` or `system`.
    pub actor_type: String,
    pub actor_id: String,
    /// `resource.verb`, e.g. `api_key.created`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub request_id: Option<String>,
    pub created_at: OffsetDateTime,
}

impl From<AuditRow> for AuditLogOut {
    fn from(a: AuditRow) -> Self {
        Self {
            id: a.id,
            actor_type: a.actor_type,
            actor_id: a.actor_id,
            action: a.action,
            target_type: a.target_type,
            target_id: a.target_id,
            request_id: a.request_id,
            created_at: at(a.created_at),
        }
    }
}

#[derive(Object)]
pub struct AuditLogList {
    /// Newest first.
    pub data: Vec<AuditLogOut>,
    pub next_cursor: Option<String>,
}

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

#[derive(Default)]
pub struct AuditLogsApi;

#[OpenApi(tag = "Tag::AuditLogs")]
impl AuditLogsApi {
    /// List audit log entries, newest first.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/v1/audit-logs", method = "get", operation_id = "listAuditLogs")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// Id of the last entry of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
        /// Only this action, e.g. `api_key.created`.
        action: Query<Option<String>>,
        /// Only changes by this user or key.
        actor_id: Query<Option<String>>,
        /// Only changes to this resource.
        target_id: Query<Option<String>>,
        /// Only entries at or after this time.
        since: Query<Option<OffsetDateTime>>,
        /// Only entries before this time.
        until: Query<Option<OffsetDateTime>>,
    ) -> ApiResult<Json<AuditLogList>> {
        let ctx = auth.0.require(&state, AUDIT_LOGS_READ).await?;
        let query = audit::Query {
            after: after.0,
            limit: limit.0,
            action: action.0,
            actor_id: actor_id.0,
            target_id: target_id.0,
            since_ms: since.0.map(ms),
            until_ms: until.0.map(ms),
        };
        let rows = audit::list(&state, &ctx, query).await?;
        let (data, next_cursor) = page(rows, limit.0, |a| &a.id);
        Ok(Json(AuditLogList { data, next_cursor }))
    }
}
