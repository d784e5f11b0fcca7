//! Login, refresh-token rotation with reuse detection, and logout.

use super::{validate, DomainError, Result};
use crate::auth::{password, secrets};
use crate::ids::{PrefixedId, RefreshTokenId, TenantId, UserId};
use crate::state::AppState;
use crate::store::{self, now_ms, refresh_tokens::NewRefreshToken, Tx};

/// What a successful login or refresh returns.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: String,
}

const BAD_LOGIN: &str = "the email or password is incorrect";
const BAD_REFRESH: &str = "the refresh token is invalid, expired or already used";

/// Issues an access token and starts or continues a refresh-token family.
pub async fn issue(
    state: &AppState,
    tx: &mut Tx,
    tenant: &TenantId,
    user: &UserId,
    family: Option<&str>,
) -> Result<Tokens> {
    let id = RefreshTokenId::generate();
    let refresh_token = secrets::generate(secrets::REFRESH_TOKEN_PREFIX);
    let ttl_ms = state.config.refresh_token_ttl_secs as i64 * 1000;
    store::refresh_tokens::insert(
        tx,
        NewRefreshToken {
            id: &id,
            tenant_id: tenant,
            user_id: user,
            family_id: family.unwrap_or(id.as_str()),
            token_hash: &secrets::hash(&refresh_token),
            expires_at: now_ms() + ttl_ms,
        },
    )
    .await?;
    Ok(Tokens {
        access_token: state.jwt.issue(user, tenant)?,
        expires_in: state.jwt.ttl_secs(),
        refresh_token,
    })
}

/// Checks an email and password. Limited per email and per client address; the answer is the
/// same whether or not the email exists, and takes as long.
#[tracing::instrument(skip_all)]
pub async fn login(state: &AppState, email: &str, password_in: &str, client: &str) -> Result<Tokens> {
    let email = email.trim().to_lowercase();
    for key in [format!("login:email:{email}"), format!("login:addr:{client}")] {
        state.login_limiter.check(&key).map_err(DomainError::RateLimited)?;
    }
    let mut tx = state.store.system_tx().await?;
    let user = store::users::find_by_email(&mut tx, &email).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let candidate = password_in.to_owned();
    let ok = tokio::task::spawn_blocking(move || password::verify(&candidate, stored.as_deref()))
        .await
        .unwrap_or(false);
    let user = match (ok, user) {
        (true, Some(user)) => user,
        _ => return Err(DomainError::Unauthenticated(BAD_LOGIN)),
    };
    let tokens = issue(
        state,
        &mut tx,
        &TenantId::from_raw(user.tenant_id),
        &UserId::from_raw(user.id),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(tokens)
}

/// Rotates a refresh token. Presenting a token that was already rotated means it leaked:
/// the whole family is revoked and the caller must log in again.
#[tracing::instrument(skip_all)]
pub async fn refresh(state: &AppState, refresh_token: &str) -> Result<Tokens> {
    let mut tx = state.store.system_tx().await?;
    let Some(row) = store::refresh_tokens::find_by_hash(&mut tx, &secrets::hash(refresh_token)).await? else {
        return Err(DomainError::Unauthenticated(BAD_REFRESH));
    };
    if row.revoked_at.is_some() || row.expires_at <= now_ms() {
        return Err(DomainError::Unauthenticated(BAD_REFRESH));
    }
    if row.used_at.is_some() || !store::refresh_tokens::mark_used(&mut tx, &row.id).await? {
        tracing::warn!(family = %row.family_id, "refresh token reuse: revoking the family");
        store::refresh_tokens::revoke_family(&mut tx, &row.family_id).await?;
        tx.commit().await?;
        return Err(DomainError::Unauthenticated(BAD_REFRESH));
    }
    let tenant = TenantId::from_raw(row.tenant_id);
    let user = UserId::from_raw(row.user_id);
    let tokens = issue(state, &mut tx, &tenant, &user, Some(&row.family_id)).await?;
    tx.commit().await?;
    Ok(tokens)
}

/// Ends the session the refresh token belongs to. Unknown tokens are ignored, so logout
/// reveals nothing.
pub async fn logout(state: &AppState, refresh_token: &str) -> Result<()> {
    let mut tx = state.store.system_tx().await?;
    if let Some(row) = store::refresh_tokens::find_by_hash(&mut tx, &secrets::hash(refresh_token)).await? {
        store::refresh_tokens::revoke_family(&mut tx, &row.family_id).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Validates and hashes a new password off the async runtime.
pub async fn hash_new_password(field: &str, password_in: &str) -> Result<String> {
    validate::password(field, password_in)?;
    let candidate = password_in.to_owned();
    tokio::task::spawn_blocking(move || password::hash(&candidate))
        .await
        .map_err(|_| DomainError::Disabled("password hashing"))?
        .map_err(DomainError::from)
}
