//! The caller's tenant.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use time::OffsetDateTime;

use super::problem::ApiResult;
use super::responses::at;
use super::security::BearerAuth;
use super::text::Text;
use super::Tag;
use crate::auth::permissions::{TENANT_READ, TENANT_WRITE};
use crate::domain::tenants;
use crate::state::AppState;
use crate::store::tenants::TenantRow;

/// A tenant: a business using Switchboard.
#[derive(Object)]
pub struct TenantOut {
    /// `ten_…`
    pub id: String,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<TenantRow> for TenantOut {
    fn from(t: TenantRow) -> Self {
        Self {
            id: t.id,
            name: t.name,
            created_at: at(t.created_at),
            updated_at: at(t.updated_at),
        }
    }
}

#[derive(Object)]
pub struct TenantPatch {
    /// 1 to 200 characters.
    pub name: Text,
}

#[derive(Default)]
pub struct TenantApi;

#[OpenApi(tag = "Tag::Tenant")]
impl TenantApi {
    /// Get the caller's tenant.
    #[oai(path = "/v1/tenant", method = "get", operation_id = "getTenant")]
    async fn get(&self, state: Data<&Arc<AppState>>, auth: BearerAuth) -> ApiResult<Json<TenantOut>> {
        let ctx = auth.0.require(&state, TENANT_READ).await?;
        Ok(Json(tenants::get(&state, &ctx).await?.into()))
    }

    /// Rename the caller's tenant.
    #[oai(path = "/v1/tenant", method = "patch", operation_id = "updateTenant")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<TenantPatch>,
    ) -> ApiResult<Json<TenantOut>> {
        let ctx = auth.0.require(&state, TENANT_WRITE).await?;
        Ok(Json(tenants::rename(&state, &ctx, &body.name).await?.into()))
    }
}
