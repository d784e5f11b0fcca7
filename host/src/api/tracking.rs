//! Open pixels and click redirects (public: the signed token is the authority), and the
//! tenant's tracking domain.

use std::sync::Arc;

use poem::web::Data;
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::problem::ApiResult;
use super::responses::NoContent;
use super::security::BearerAuth;
use super::text::Text;
use super::Tag;
use crate::auth::permissions::{EMAIL_SETTINGS_WRITE, TENANT_READ};
use crate::domain::campaigns::tracking;
use crate::domain::email::tracking_domain;
use crate::http::tracking_host::host_tenant;
use crate::state::AppState;

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

#[derive(ApiResponse)]
pub enum Pixel {
    /// A transparent 1×1 GIF; the open was recorded.
    #[oai(status = 200, content_type = "image/gif")]
    Gif(Binary<Vec<u8>>, #[oai(header = "cache-control")] String),
}

#[derive(ApiResponse)]
pub enum Redirect {
    /// To the link's target; the click was recorded.
    #[oai(status = 302)]
    Found(
        #[oai(header = "location")] String,
        #[oai(header = "cache-control")] String,
    ),
}

/// The tenant's tracking domain.
#[derive(Object)]
pub struct TrackingDomainIn {
    /// A host name such as `links.example.com`, pointed (CNAME) at this platform.
    pub domain: Text,
}

/// The tenant's tracking domain.
#[derive(Object)]
pub struct TrackingDomain {
    pub domain: String,
}

#[derive(Default)]
pub struct TrackingApi;

#[OpenApi(tag = "Tag::Email")]
impl TrackingApi {
    /// An email's open pixel (404 for a forged or altered link).
    #[oai(path = "/t/o/:token", method = "get", operation_id = "trackOpen")]
    async fn open(&self, state: Data<&Arc<AppState>>, req: &Request, token: Path<String>) -> ApiResult<Pixel> {
        tracking::open(&state, &token, host_tenant(req)).await?;
        Ok(Pixel::Gif(Binary(PIXEL.to_vec()), "no-store".into()))
    }

    /// A tracked link: records the click and redirects to the link's target (404 for a forged
    /// or altered link; never a redirect anywhere else).
    #[oai(path = "/t/c/:token", method = "get", operation_id = "trackClick")]
    async fn click(&self, state: Data<&Arc<AppState>>, req: &Request, token: Path<String>) -> ApiResult<Redirect> {
        let url = tracking::click(&state, &token, host_tenant(req)).await?;
        Ok(Redirect::Found(url, "no-store".into()))
    }

    /// The tenant's tracking domain (404 when it has none: links use the public URL).
    #[oai(path = "/v1/tracking-domain", method = "get", operation_id = "getTrackingDomain")]
    async fn get(&self, state: Data<&Arc<AppState>>, auth: BearerAuth) -> ApiResult<Json<TrackingDomain>> {
        let ctx = auth.0.require(&state, TENANT_READ).await?;
        let domain = tracking_domain::get(&state, &ctx).await?;
        Ok(Json(TrackingDomain { domain }))
    }

    /// Set the tenant's tracking domain: links in emails sent from now on point there, and the
    /// tracking and unsubscribe routes answer there (409 when another tenant has it).
    #[oai(path = "/v1/tracking-domain", method = "put", operation_id = "setTrackingDomain")]
    async fn set(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<TrackingDomainIn>,
    ) -> ApiResult<Json<TrackingDomain>> {
        let ctx = auth.0.require(&state, EMAIL_SETTINGS_WRITE).await?;
        let domain = tracking_domain::set(&state, &ctx, &body.0.domain).await?;
        Ok(Json(TrackingDomain { domain }))
    }

    /// Go back to the public URL for links.
    #[oai(
        path = "/v1/tracking-domain",
        method = "delete",
        operation_id = "clearTrackingDomain"
    )]
    async fn clear(&self, state: Data<&Arc<AppState>>, auth: BearerAuth) -> ApiResult<NoContent> {
        let ctx = auth.0.require(&state, EMAIL_SETTINGS_WRITE).await?;
        tracking_domain::clear(&state, &ctx).await?;
        Ok(NoContent::NoContent)
    }
}
