//! Verified senders: the addresses campaigns may send from, and the public verification link.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Html, Json};
use poem_openapi::{Object, OpenApi};
use time::OffsetDateTime;

use super::html;
use super::path_id::path_id;
use super::problem::ApiResult;
use super::responses::{at, page, Created, NoContent};
use super::security::BearerAuth;
use super::text::Text;
use super::Tag;
use crate::auth::permissions::{CAMPAIGNS_READ, CAMPAIGNS_WRITE};
use crate::domain::email::senders;
use crate::state::AppState;
use crate::store::email_senders::SenderRow;

/// A sender address of the tenant.
#[derive(Object)]
pub struct SenderOut {
    /// `snd_…`
    pub id: String,
    pub email: String,
    /// `pending` (the link mailed to the address was not followed yet) or `verified`.
    pub status: String,
    pub created_at: OffsetDateTime,
    pub verified_at: Option<OffsetDateTime>,
}

impl From<SenderRow> for SenderOut {
    fn from(r: SenderRow) -> Self {
        Self {
            id: r.id,
            email: r.email,
            status: r.status,
            created_at: at(r.created_at),
            verified_at: r.verified_at.map(at),
        }
    }
}

#[derive(Object)]
pub struct SenderIn {
    /// The address campaigns will send from; a verification link is mailed to it.
    pub email: Text,
}

#[derive(Object)]
pub struct SenderList {
    pub data: Vec<SenderOut>,
    pub next_cursor: Option<String>,
}

#[derive(Default)]
pub struct EmailSendersApi;

#[OpenApi(tag = "Tag::Email")]
impl EmailSendersApi {
    /// Add a sender address; a verification link is mailed to it (409 when it exists).
    #[oai(path = "/v1/email-senders", method = "post", operation_id = "createEmailSender")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<SenderIn>,
    ) -> ApiResult<Created<SenderOut>> {
        let ctx = auth.0.require(&state, CAMPAIGNS_WRITE).await?;
        Ok(Created::Created(Json(
            senders::create(&state, &ctx, &body.0.email).await?.into(),
        )))
    }

    /// List sender addresses, oldest first.
    #[oai(path = "/v1/email-senders", method = "get", operation_id = "listEmailSenders")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// The `next_cursor` of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<SenderList>> {
        let ctx = auth.0.require(&state, CAMPAIGNS_READ).await?;
        let rows = senders::list(&state, &ctx, after.0.as_deref(), limit.0).await?;
        let (data, next_cursor) = page(rows, limit.0, |r: &SenderRow| &r.id);
        Ok(Json(SenderList { data, next_cursor }))
    }

    /// Mail the verification link of a pending sender again (409 once verified).
    #[oai(
        path = "/v1/email-senders/:id/resend-verification",
        method = "post",
        operation_id = "resendEmailSenderVerification"
    )]
    async fn resend(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
    ) -> ApiResult<Json<SenderOut>> {
        let ctx = auth.0.require(&state, CAMPAIGNS_WRITE).await?;
        Ok(Json(senders::resend_link(&state, &ctx, &path_id(&id)?).await?.into()))
    }

    /// Remove a sender address; campaigns can no longer send from it.
    #[oai(
        path = "/v1/email-senders/:id",
        method = "delete",
        operation_id = "deleteEmailSender"
    )]
    async fn delete(&self, state: Data<&Arc<AppState>>, auth: BearerAuth, id: Path<String>) -> ApiResult<NoContent> {
        let ctx = auth.0.require(&state, CAMPAIGNS_WRITE).await?;
        senders::delete(&state, &ctx, &path_id(&id)?).await?;
        Ok(NoContent::NoContent)
    }

    /// The link mailed to a sender address: verifies it (404 for a forged or altered link).
    #[oai(path = "/verify-sender/:token", method = "get", operation_id = "verifyEmailSender")]
    async fn verify(&self, state: Data<&Arc<AppState>>, token: Path<String>) -> ApiResult<Html<String>> {
        let row = senders::verify(&state, &token).await?;
        Ok(html::page(
            "Sender address",
            &format!(
                "<h1>Address confirmed</h1><p>Campaigns can now be sent from {}.</p>",
                html::escape(&row.email)
            ),
        ))
    }
}
