//! Login, token refresh and logout.

use std::sync::Arc;

use poem::web::Data;
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::problem::ApiResult;
use super::responses::NoContent;
use super::text::Text;
use super::Tag;
use crate::domain::sessions::{self, Tokens};
use crate::state::AppState;

/// Credentials issued at login, signup, invitation acceptance and refresh.
#[derive(Object)]
pub struct TokenOut {
    /// A short-lived JWT; send it as `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Exchange at `/v1/auth/refresh` for new tokens; each refresh token works once.
    pub refresh_token: String,
}

impl From<Tokens> for TokenOut {
    fn from(t: Tokens) -> Self {
        Self {
            access_token: t.access_token,
            token_type: "Bearer".into(),
            expires_in: t.expires_in,
            refresh_token: t.refresh_token,
        }
    }
}

#[derive(Object)]
pub struct LoginIn {
    pub email: Text,
    #[oai(validator(max_length = 1024))]
    pub password: Text,
}

#[derive(Object)]
pub struct RefreshIn {
    #[oai(validator(max_length = 1024))]
    pub refresh_token: Text,
}

#[derive(Default)]
pub struct AuthApi;

#[OpenApi(tag = "Tag::Auth")]
impl AuthApi {
    /// Log in with email and password.
    ///
    /// Wrong email and wrong password get the same answer. Attempts are limited per email and
    /// per client address.
    #[oai(path = "/v1/auth/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        body: Json<LoginIn>,
    ) -> ApiResult<Json<TokenOut>> {
        let client = req
            .remote_addr()
            .as_socket_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        Ok(Json(
            sessions::login(&state, &body.email, &body.password, &client)
                .await?
                .into(),
        ))
    }

    /// Exchange a refresh token for new tokens.
    ///
    /// Presenting a refresh token that was already exchanged revokes every token of that login.
    #[oai(path = "/v1/auth/refresh", method = "post", operation_id = "refreshToken")]
    async fn refresh(&self, state: Data<&Arc<AppState>>, body: Json<RefreshIn>) -> ApiResult<Json<TokenOut>> {
        Ok(Json(sessions::refresh(&state, &body.refresh_token).await?.into()))
    }

    /// End the session a refresh token belongs to.
    #[oai(path = "/v1/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(&self, state: Data<&Arc<AppState>>, body: Json<RefreshIn>) -> ApiResult<NoContent> {
        sessions::logout(&state, &body.refresh_token).await?;
        Ok(NoContent::NoContent)
    }
}
