//! The hosted unsubscribe page behind every campaign email's `List-Unsubscribe` link: `GET`
//! shows a confirmation button, `POST` (the button, or a mail client's RFC 8058 one-click
//! request) unsubscribes. No credential: the link's HMAC token is the authority.

use std::sync::Arc;

use poem::web::Data;
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Html;
use poem_openapi::OpenApi;

use super::problem::ApiResult;
use super::Tag;
use crate::domain::campaigns::unsubscribe;
use crate::http::tracking_host::host_tenant;
use crate::state::AppState;

fn page(body: &str) -> Html<String> {
    super::html::page("Unsubscribe", body)
}

#[derive(Default)]
pub struct UnsubscribeApi;

#[OpenApi(tag = "Tag::Email")]
impl UnsubscribeApi {
    /// The unsubscribe page of an email's link (404 for a forged or altered link).
    #[oai(path = "/u/:token", method = "get", operation_id = "showUnsubscribe")]
    async fn show(&self, state: Data<&Arc<AppState>>, req: &Request, token: Path<String>) -> ApiResult<Html<String>> {
        unsubscribe::recipient(&state, &token, host_tenant(req)).await?;
        Ok(page(
            "<h1>Unsubscribe</h1><p>Stop receiving these emails?</p>\
             <form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>",
        ))
    }

    /// Unsubscribe (the page's button, or RFC 8058 one-click `List-Unsubscribe=One-Click`).
    #[oai(path = "/u/:token", method = "post", operation_id = "unsubscribe")]
    async fn unsubscribe(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        token: Path<String>,
    ) -> ApiResult<Html<String>> {
        unsubscribe::unsubscribe(&state, &token, host_tenant(req)).await?;
        Ok(page(
            "<h1>Unsubscribed</h1><p>You will not receive these emails any more.</p>",
        ))
    }
}
