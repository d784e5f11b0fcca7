//! Turning a bearer credential into a tenant context.

use super::{DomainError, Result};
use crate::auth::permissions::Permission;
use crate::auth::secrets;
use crate::ids::{ApiKeyId, PrefixedId};
use crate::state::AppState;
use crate::store;
use crate::tenancy::{Actor, TenantCtx};

/// An authenticated caller. Only [`authenticate`] makes one.
#[derive(Clone, Debug)]
pub struct Principal {
    pub ctx: TenantCtx,
    /// The key row, when the credential is an API key (read while authenticating).
    pub api_key: Option<store::api_keys::ApiKeyRow>,
}

const BAD_CREDENTIAL: &str = "the credential is missing, malformed, expired or revoked";

/// Accepts an access token (JWT) or an API key, and applies the per-principal rate limit.
#[tracing::instrument(skip_all)]
pub async fn authenticate(state: &AppState, bearer: &str, request_id: Option<String>) -> Result<Principal> {
    let (ctx, api_key) = if bearer.starts_with(secrets::API_KEY_PREFIX) {
        let mut read = state.store.system_read().await?;
        let key = store::api_keys::find_active_by_hash(&mut read, &secrets::hash(bearer)).await?;
        read.commit().await?;
        let key = key.ok_or(DomainError::Unauthenticated(BAD_CREDENTIAL))?;
        let id = ApiKeyId::parse(&key.id).ok_or(DomainError::Unauthenticated(BAD_CREDENTIAL))?;
        let tenant = crate::ids::TenantId::from_raw(key.tenant_id.clone());
        (TenantCtx::new(tenant, Actor::ApiKey(id), request_id), Some(key))
    } else {
        let claims = state
            .jwt
            .verify(bearer)
            .map_err(|_| DomainError::Unauthenticated(BAD_CREDENTIAL))?;
        (
            TenantCtx::new(claims.tenant_id, Actor::User(claims.user_id), request_id),
            None,
        )
    };
    // A user removed after their token was issued holds no role any more.
    if !state.authz.holds_any_role(&ctx).await? {
        return Err(DomainError::Unauthenticated(BAD_CREDENTIAL));
    }
    state
        .api_limiter
        .check(ctx.actor.subject())
        .map_err(DomainError::RateLimited)?;
    Ok(Principal { ctx, api_key })
}

impl Principal {
    /// The one check every endpoint makes: does this caller hold `perm`?
    pub async fn require(&self, state: &AppState, perm: Permission) -> Result<TenantCtx> {
        if state.authz.allows(&self.ctx, perm).await? {
            Ok(self.ctx.clone())
        } else {
            Err(DomainError::Forbidden(format!(
                "this credential lacks the {perm} permission"
            )))
        }
    }
}

/// Whose idempotency keys a request's keys are: the key's hash for an API key, the user for a
/// valid access token (so keys survive token refresh), else the credential's hash.
pub fn idempotency_scope(state: &AppState, bearer: &str) -> String {
    if !bearer.starts_with(secrets::API_KEY_PREFIX) {
        if let Ok(claims) = state.jwt.verify(bearer) {
            return claims.user_id.to_string();
        }
    }
    format!("credential:{}", secrets::hash(bearer))
}

/// Everything `GET /v1/me` shows.
pub struct Described {
    pub user: Option<store::users::UserRow>,
    pub api_key: Option<store::api_keys::ApiKeyRow>,
    pub tenant: store::tenants::TenantRow,
    pub role: String,
    pub permissions: Vec<Permission>,
}

pub async fn describe(state: &AppState, principal: &Principal, ctx: &TenantCtx) -> Result<Described> {
    let user = match &ctx.actor {
        Actor::User(id) => Some(state.profiles.user(&state.store, ctx, id).await?),
        _ => None,
    };
    let tenant = state.profiles.tenant(&state.store, ctx).await?;
    let role = state.authz.role_of(ctx).await?.unwrap_or_default();
    let api_key = principal.api_key.clone();
    Ok(Described {
        user,
        api_key,
        tenant,
        role,
        permissions: state.authz.granted(ctx).await?,
    })
}
