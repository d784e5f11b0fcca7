//! The tenant's users: listing, role changes and removal.

use super::{audit, page_limit, roles, DomainError, Result};
use crate::auth::permissions::OWNER;
use crate::ids::UserId;
use crate::state::AppState;
use crate::store::{self, users::UserRow};
use crate::tenancy::TenantCtx;

pub async fn get(state: &AppState, ctx: &TenantCtx, id: &UserId) -> Result<UserRow> {
    let mut tx = state.store.tenant_read(ctx).await?;
    let user = store::users::get(&mut tx, ctx, id).await?;
    tx.commit().await?;
    Ok(user)
}

pub async fn list(state: &AppState, ctx: &TenantCtx, after: Option<&str>, limit: Option<u32>) -> Result<Vec<UserRow>> {
    let mut tx = state.store.tenant_read(ctx).await?;
    let users = store::users::list(&mut tx, ctx, after, page_limit(limit)).await?;
    tx.commit().await?;
    Ok(users)
}

pub async fn set_role(state: &AppState, ctx: &TenantCtx, id: &UserId, role: &str) -> Result<UserRow> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let current = store::users::get(&mut tx, ctx, id).await?;
    roles::ensure_grantable(state, &mut tx, ctx, "role", role).await?;
    if current.role != role {
        // Demoting an owner is granting less than owner; only an owner may do it.
        roles::ensure_grantable(state, &mut tx, ctx, "role", &current.role).await?;
        if current.role == OWNER && store::users::count_with_role(&mut tx, ctx, OWNER).await? <= 1 {
            return Err(DomainError::Conflict {
                field: Some("role".into()),
                message: "the last owner cannot be demoted".into(),
            });
        }
    }
    let user = store::users::set_role(&mut tx, ctx, id, role).await?;
    audit::record(&mut tx, ctx, "user.role_changed", "user", id.as_str()).await?;
    tx.commit().await?;
    state.authz.invalidate(&ctx.tenant_id).await;
    state.profiles.forget_user(id).await;
    Ok(user)
}

pub async fn remove(state: &AppState, ctx: &TenantCtx, id: &UserId) -> Result<()> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let user = store::users::get(&mut tx, ctx, id).await?;
    roles::ensure_grantable(state, &mut tx, ctx, "role", &user.role).await?;
    if user.role == OWNER && store::users::count_with_role(&mut tx, ctx, OWNER).await? <= 1 {
        return Err(DomainError::Conflict {
            field: None,
            message: "the last owner cannot be removed".into(),
        });
    }
    store::users::delete(&mut tx, ctx, id).await?;
    audit::record(&mut tx, ctx, "user.removed", "user", id.as_str()).await?;
    tx.commit().await?;
    state.authz.invalidate(&ctx.tenant_id).await;
    state.profiles.forget_user(id).await;
    Ok(())
}
