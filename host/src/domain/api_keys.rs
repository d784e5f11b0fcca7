//! API keys: created with a role, shown once, revocable.

use super::{audit, page_limit, roles, validate, Result};
use crate::auth::secrets;
use crate::ids::{ApiKeyId, PrefixedId};
use crate::state::AppState;
use crate::store::{self, api_keys::ApiKeyRow, api_keys::NewApiKey};
use crate::tenancy::TenantCtx;

/// A new key and its secret, which is never retrievable again.
pub struct CreatedKey {
    pub key: ApiKeyRow,
    pub secret: String,
}

pub async fn create(state: &AppState, ctx: &TenantCtx, name: &str, role: &str) -> Result<CreatedKey> {
    let name = validate::name("name", name, 200)?;
    let id = ApiKeyId::generate();
    let secret = secrets::generate(secrets::API_KEY_PREFIX);
    let mut tx = state.store.tenant_tx(ctx).await?;
    roles::ensure_grantable(state, &mut tx, ctx, "role", role).await?;
    let new = NewApiKey {
        id: &id,
        name: &name,
        role,
        prefix: &secrets::display_prefix(&secret),
        secret_hash: &secrets::hash(&secret),
    };
    let key = store::api_keys::insert(&mut tx, ctx, new).await?;
    audit::record(&mut tx, ctx, "api_key.created", "api_key", id.as_str()).await?;
    tx.commit().await?;
    state.authz.invalidate(&ctx.tenant_id).await;
    Ok(CreatedKey { key, secret })
}

pub async fn list(
    state: &AppState,
    ctx: &TenantCtx,
    after: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<ApiKeyRow>> {
    let mut tx = state.store.tenant_read(ctx).await?;
    let keys = store::api_keys::list(&mut tx, ctx, after, page_limit(limit)).await?;
    tx.commit().await?;
    Ok(keys)
}

pub async fn revoke(state: &AppState, ctx: &TenantCtx, id: &ApiKeyId) -> Result<ApiKeyRow> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let key = store::api_keys::revoke(&mut tx, ctx, id).await?;
    audit::record(&mut tx, ctx, "api_key.revoked", "api_key", id.as_str()).await?;
    tx.commit().await?;
    state.authz.invalidate(&ctx.tenant_id).await;
    Ok(key)
}
