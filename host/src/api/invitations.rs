//! Invitations.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use time::OffsetDateTime;

use super::auth::TokenOut;
use super::problem::{ApiError, ApiResult};
use super::responses::{at, page, Created};
use super::security::BearerAuth;
use super::text::Text;
use super::users::UserOut;
use super::Tag;
use crate::auth::permissions::{INVITATIONS_READ, INVITATIONS_WRITE};
use crate::domain::invitations;
use crate::http::request_id::RequestId;
use crate::ids::{InvitationId, PrefixedId};
use crate::state::AppState;
use crate::store::invitations::InvitationRow;

#[derive(Object)]
pub struct InvitationOut {
    /// `inv_…`
    pub id: String,
    pub email: String,
    pub role: String,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub status: String,
    pub invited_by: String,
    pub expires_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

impl From<InvitationRow> for InvitationOut {
    fn from(i: InvitationRow) -> Self {
        let status = if i.accepted_at.is_some() {
            "accepted"
        } else if i.revoked_at.is_some() {
            "revoked"
        } else if i.expires_at <= crate::store::now_ms() {
            "expired"
        } else {
            "pending"
        };
        Self {
            id: i.id,
            email: i.email,
            role: i.role,
            status: status.into(),
            invited_by: i.invited_by,
            expires_at: at(i.expires_at),
            created_at: at(i.created_at),
        }
    }
}

#[derive(Object)]
pub struct InvitationIn {
    pub email: Text,
    /// A built-in or custom role whose permissions you hold.
    pub role: Text,
}

#[derive(Object)]
pub struct InvitationCreated {
    #[oai(flatten)]
    pub invitation: InvitationOut,
    /// Give this to the invitee; it is shown only once.
    pub token: String,
}

#[derive(Object)]
pub struct InvitationList {
    pub data: Vec<InvitationOut>,
    pub next_cursor: Option<String>,
}

#[derive(Object)]
pub struct AcceptIn {
    #[oai(validator(max_length = 1024))]
    pub token: Text,
    /// 10 to 256 characters.
    #[oai(validator(max_length = 1024))]
    pub password: Text,
    pub name: Option<Text>,
}

#[derive(Object)]
pub struct AcceptOut {
    pub user: UserOut,
    pub tokens: TokenOut,
}

#[derive(Default)]
pub struct InvitationsApi;

#[OpenApi(tag = "Tag::Invitations")]
impl InvitationsApi {
    /// Invite someone to the tenant with a role.
    #[oai(path = "/v1/invitations", method = "post", operation_id = "createInvitation")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<InvitationIn>,
    ) -> ApiResult<Created<InvitationCreated>> {
        let ctx = auth.0.require(&state, INVITATIONS_WRITE).await?;
        let created = invitations::create(&state, &ctx, &body.email, &body.role).await?;
        Ok(Created::Created(Json(InvitationCreated {
            invitation: created.invitation.into(),
            token: created.token,
        })))
    }

    /// List invitations.
    #[oai(path = "/v1/invitations", method = "get", operation_id = "listInvitations")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// Id of the last invitation of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<InvitationList>> {
        let ctx = auth.0.require(&state, INVITATIONS_READ).await?;
        let rows = invitations::list(&state, &ctx, after.0.as_deref(), limit.0).await?;
        let (data, next_cursor) = page(rows, limit.0, |i| &i.id);
        Ok(Json(InvitationList { data, next_cursor }))
    }

    /// Revoke a pending invitation.
    #[oai(path = "/v1/invitations/:id", method = "delete", operation_id = "revokeInvitation")]
    async fn revoke(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        id: Path<String>,
    ) -> ApiResult<Json<InvitationOut>> {
        let ctx = auth.0.require(&state, INVITATIONS_WRITE).await?;
        let id = InvitationId::parse(&id).ok_or_else(ApiError::not_found)?;
        Ok(Json(invitations::revoke(&state, &ctx, &id).await?.into()))
    }

    /// Accept an invitation: set a password, join the tenant and log in.
    #[oai(path = "/v1/invitations/accept", method = "post", operation_id = "acceptInvitation")]
    async fn accept(
        &self,
        state: Data<&Arc<AppState>>,
        rid: Data<&RequestId>,
        body: Json<AcceptIn>,
    ) -> ApiResult<Created<AcceptOut>> {
        let accepted = invitations::accept(
            &state,
            &body.token,
            &body.password,
            body.name.as_deref(),
            Some(rid.0 .0.clone()),
        )
        .await?;
        Ok(Created::Created(Json(AcceptOut {
            user: accepted.user.into(),
            tokens: accepted.tokens.into(),
        })))
    }
}
