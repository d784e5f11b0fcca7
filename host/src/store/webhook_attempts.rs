//! Webhook delivery attempts: what each try sent back, for the delivery log.

use sqlx::FromRow;

use super::sql::Sql;
use super::{Conn, Result};
use crate::ids::{PrefixedId, WebhookAttemptId, WebhookEndpointId};
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct AttemptRow {
    pub id: String,
    pub tenant_id: String,
    pub endpoint_id: String,
    pub delivery_id: String,
    pub attempt: i32,
    pub status: String,
    pub response_code: Option<i32>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub created_at: i64,
}

const COLUMNS: &str = "id, tenant_id, endpoint_id, delivery_id, attempt, status, response_code, response_body, error, \
                       latency_ms, created_at";

/// One finished attempt, as recorded.
pub struct NewAttempt<'a> {
    pub tenant_id: &'a str,
    pub endpoint_id: &'a str,
    pub delivery_id: &'a str,
    pub attempt: i32,
    pub succeeded: bool,
    pub response_code: Option<i32>,
    pub response_body: Option<&'a str>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub created_at: i64,
}

/// Rows per INSERT statement, well under both backends' bound-parameter limits.
const INSERT_CHUNK: usize = 500;

/// Records attempts of any tenants (the dispatcher's batch) in as few statements as possible.
pub async fn insert_many(conn: &mut Conn, attempts: &[NewAttempt<'_>]) -> Result<()> {
    for chunk in attempts.chunks(INSERT_CHUNK) {
        let mut sql = Sql::new(
            "INSERT INTO webhook_attempts (id, tenant_id, endpoint_id, delivery_id, attempt, status, response_code, \
             response_body, error, latency_ms, created_at) VALUES ",
        );
        sql.push_rows(chunk, |sql, a| {
            sql.bind(WebhookAttemptId::generate().as_str()).push(", ");
            sql.bind(a.tenant_id).push(", ");
            sql.bind(a.endpoint_id).push(", ");
            sql.bind(a.delivery_id).push(", ");
            sql.bind(i64::from(a.attempt)).push(", ");
            sql.bind(if a.succeeded { "succeeded" } else { "failed" }).push(", ");
            sql.bind_opt(a.response_code.map(i64::from)).push(", ");
            sql.bind_opt(a.response_body).push(", ");
            sql.bind_opt(a.error.as_deref()).push(", ");
            sql.bind(a.latency_ms).push(", ");
            sql.bind(a.created_at);
        });
        sql.execute(conn).await?;
    }
    Ok(())
}

/// An endpoint's attempts, newest first, optionally of one delivery.
pub async fn list(
    tx: &mut Conn,
    ctx: &TenantCtx,
    endpoint: &WebhookEndpointId,
    delivery_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<AttemptRow>> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM webhook_attempts WHERE tenant_id = "));
    sql.bind(ctx.tenant_id.as_str())
        .push(" AND endpoint_id = ")
        .bind(endpoint.as_str());
    if let Some(delivery) = delivery_id {
        sql.push(" AND delivery_id = ").bind(delivery);
    }
    if let Some(after) = after {
        sql.push(" AND id < ").bind(after);
    }
    sql.push(" ORDER BY id DESC LIMIT ").bind(limit);
    Ok(sql.fetch_all(tx).await?)
}
