//! Data-subject rights and CSV export.

use std::sync::Arc;

use poem::web::Data;
use poem::Body;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::audit_logs::AuditLogOut;
use super::customers::CustomerOut;
use super::events::{DomainEvent, EventOut, TimelineMessageOut};
use super::path_id::path_id;
use super::problem::{ApiError, ApiResult};
use super::responses::NoContent;
use super::security::BearerAuth;
use super::Tag;
use crate::auth::permissions::{CUSTOMERS_ERASE, CUSTOMERS_EXPORT};
use crate::domain::crm::customers::ListParams;
use crate::domain::crm::{export, gdpr, segments};
use crate::ids::{PrefixedId, SegmentId};
use crate::state::AppState;

/// Everything stored about one person.
#[derive(Object)]
pub struct DataExportOut {
    pub customer: CustomerOut,
    pub events: Vec<EventOut>,
    /// Domain events that carried the person's data.
    pub domain_events: Vec<DomainEvent>,
    /// Changes made to the person's record.
    pub audit: Vec<AuditLogOut>,
    /// Emails sent to the person, newest first.
    pub messages: Vec<TimelineMessageOut>,
}

#[derive(ApiResponse)]
pub enum CsvResponse {
    /// CSV, streamed: a header row, then one row per customer.
    #[oai(status = 200, content_type = "text/csv")]
    Csv(Binary<Body>, #[oai(header = "Content-Disposition")] String),
}

#[derive(Default)]
pub struct GdprApi;

#[OpenApi(tag = "Tag::Customers")]
impl GdprApi {
    /// Everything stored about a customer, as JSON (GDPR access request).
    #[oai(
        path = "/v1/customers/:id/data-export",
        method = "get",
        operation_id = "exportCustomerData"
    )]
    async fn data_export(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
    ) -> ApiResult<Json<DataExportOut>> {
        let ctx = auth.0.require(&state, CUSTOMERS_EXPORT).await?;
        let data = gdpr::export(&state, &ctx, &path_id(&id)?).await?;
        Ok(Json(DataExportOut {
            customer: data.customer.into(),
            events: data.events.into_iter().map(Into::into).collect(),
            domain_events: data.domain_events.into_iter().map(Into::into).collect(),
            audit: data.audit.into_iter().map(Into::into).collect(),
            messages: data.messages.into_iter().map(Into::into).collect(),
        }))
    }

    /// Erase a customer everywhere (GDPR erasure); recorded in the audit log.
    #[oai(path = "/v1/customers/:id/erase", method = "post", operation_id = "eraseCustomer")]
    async fn erase(&self, state: Data<&Arc<AppState>>, auth: BearerAuth, id: Path<String>) -> ApiResult<NoContent> {
        let ctx = auth.0.require(&state, CUSTOMERS_ERASE).await?;
        gdpr::erase(&state, &ctx, &path_id(&id)?).await?;
        Ok(NoContent::NoContent)
    }

    /// Export customers as CSV, streamed with constant memory.
    #[oai(path = "/v1/customers/export", method = "get", operation_id = "exportCustomers")]
    async fn export(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// Only customers with this tag.
        tag: Query<Option<String>>,
        /// Words to find in name, email or phone.
        q: Query<Option<String>>,
        /// `key:value` on a custom field.
        field: Query<Option<String>>,
        /// Only customers in this segment (`seg_…`).
        segment: Query<Option<String>>,
    ) -> ApiResult<CsvResponse> {
        let ctx = auth.0.require(&state, CUSTOMERS_EXPORT).await?;
        let segment = match segment.0 {
            Some(raw) => {
                let id = SegmentId::parse(&raw).ok_or_else(ApiError::not_found)?;
                Some(segments::predicate_for(&state, &ctx, &id).await?)
            }
            None => None,
        };
        let params = ListParams {
            tag: tag.0,
            q: q.0,
            field: field.0,
            segment,
            ..ListParams::default()
        };
        let rx = export::start(state.0.clone(), ctx, params).await?;
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
        });
        let disposition = "attachment; filename=\"customers.csv\"".to_owned();
        Ok(CsvResponse::Csv(Binary(Body::from_bytes_stream(stream)), disposition))
    }
}
