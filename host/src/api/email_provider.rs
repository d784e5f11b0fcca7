//! The tenant's email provider (its own Resend account or the platform's) and the dev outbox.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use time::OffsetDateTime;

use super::problem::ApiResult;
use super::responses::{at, page, NoContent};
use super::security::BearerAuth;
use super::text::Text;
use super::Tag;
use crate::auth::permissions::{EMAIL_SETTINGS_WRITE, OUTBOX_READ, TENANT_READ};
use crate::domain::email::provider::ResendAccount;
use crate::domain::email::{provider, OutboxEmail, ProviderSettings};
use crate::state::AppState;

/// How the tenant's email is sent. The API key is never shown.
#[derive(Object)]
pub struct EmailProviderOut {
    /// `resend`, `smtp` or `outbox` (recorded, not sent: `GET /v1/outbox`).
    pub provider: String,
    /// True when the tenant uses its own account rather than the platform's.
    pub own_account: bool,
    pub base_url: Option<String>,
    /// The last characters of the tenant's key, to tell keys apart.
    pub api_key_hint: Option<String>,
    /// Whether Resend's webhooks for this account can be verified: the tenant's
    /// `webhook_secret` (then Resend posts to `/v1/webhooks/resend/{tenant_id}`) or the
    /// platform's (`/v1/webhooks/resend`).
    pub webhook_secret_set: bool,
}

impl From<ProviderSettings> for EmailProviderOut {
    fn from(s: ProviderSettings) -> Self {
        Self {
            provider: s.provider,
            own_account: s.own_account,
            base_url: s.base_url,
            api_key_hint: s.api_key_hint,
            webhook_secret_set: s.webhook_secret_set,
        }
    }
}

/// The tenant's own Resend account.
#[derive(Object)]
pub struct EmailProviderIn {
    /// `resend`.
    pub provider: Text,
    /// The Resend API key (`re_…`); stored, never returned.
    pub api_key: Text,
    /// Resend's API base URL, when not the platform's.
    pub base_url: Option<Text>,
    /// The signing secret (`whsec_…`) of the webhook this Resend account posts to
    /// `/v1/webhooks/resend/{tenant_id}`; stored, never returned.
    pub webhook_secret: Option<Text>,
}

/// A message recorded by the dev outbox instead of being sent: an email, or an SMS (no SMS
/// provider exists yet; `to` is the phone number, `text` the message, the rest empty).
#[derive(Object)]
pub struct OutboxEmailOut {
    /// `obx_…`
    pub id: String,
    /// `email` or `sms`.
    pub channel: String,
    /// The message's idempotency key.
    pub key: String,
    pub from: String,
    pub to: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub headers: serde_json::Value,
    pub created_at: OffsetDateTime,
}

impl From<OutboxEmail> for OutboxEmailOut {
    fn from(r: OutboxEmail) -> Self {
        Self {
            id: r.id,
            channel: r.channel,
            key: r.message_key,
            from: r.from_addr,
            to: r.to_addr,
            reply_to: r.reply_to,
            subject: r.subject,
            html: r.html,
            text: r.text_body,
            headers: serde_json::from_str(&r.headers).unwrap_or_default(),
            created_at: at(r.created_at),
        }
    }
}

#[derive(Object)]
pub struct OutboxList {
    pub data: Vec<OutboxEmailOut>,
    pub next_cursor: Option<String>,
}

#[derive(Default)]
pub struct EmailProviderApi;

#[OpenApi(tag = "Tag::Email")]
impl EmailProviderApi {
    /// How the tenant's email is sent.
    #[oai(path = "/v1/email-provider", method = "get", operation_id = "getEmailProvider")]
    async fn get(&self, state: Data<&Arc<AppState>>, auth: BearerAuth) -> ApiResult<Json<EmailProviderOut>> {
        let ctx = auth.0.require(&state, TENANT_READ).await?;
        Ok(Json(provider::settings(&state, &ctx).await?.into()))
    }

    /// Send the tenant's email through its own Resend account.
    #[oai(path = "/v1/email-provider", method = "put", operation_id = "setEmailProvider")]
    async fn set(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        body: Json<EmailProviderIn>,
    ) -> ApiResult<Json<EmailProviderOut>> {
        let ctx = auth.0.require(&state, EMAIL_SETTINGS_WRITE).await?;
        if body.0.provider.0 != "resend" {
            return Err(crate::domain::DomainError::invalid("provider", "must be resend").into());
        }
        let account = ResendAccount {
            api_key: body.0.api_key.0.clone().into(),
            base_url: body.0.base_url.as_ref().map(|u| u.0.as_str()),
            webhook_secret: body.0.webhook_secret.as_ref().map(|s| s.0.clone().into()),
        };
        let set = provider::set_resend(&state, &ctx, account).await?;
        Ok(Json(set.into()))
    }

    /// Go back to the platform's provider.
    #[oai(path = "/v1/email-provider", method = "delete", operation_id = "clearEmailProvider")]
    async fn clear(&self, state: Data<&Arc<AppState>>, auth: BearerAuth) -> ApiResult<NoContent> {
        let ctx = auth.0.require(&state, EMAIL_SETTINGS_WRITE).await?;
        provider::clear(&state, &ctx).await?;
        Ok(NoContent::NoContent)
    }

    /// Emails recorded instead of sent (no provider configured), oldest first.
    #[oai(path = "/v1/outbox", method = "get", operation_id = "listOutbox")]
    async fn outbox(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// The `next_cursor` of the previous page.
        after: Query<Option<String>>,
        /// 1 to 500, default 50.
        limit: Query<Option<u32>>,
    ) -> ApiResult<Json<OutboxList>> {
        let ctx = auth.0.require(&state, OUTBOX_READ).await?;
        let rows = provider::outbox(&state, &ctx, after.0.as_deref(), limit.0).await?;
        let (data, next_cursor) = page(rows, limit.0, |r: &OutboxEmail| &r.id);
        Ok(Json(OutboxList { data, next_cursor }))
    }
}
