//! Tenants: signup, the operator CLI, and the tenant's own settings.

use super::sessions::{self, Tokens};
use super::{audit, validate, DomainError, Result};
use crate::auth::permissions::OWNER;
use crate::ids::{PrefixedId, TenantId, UserId};
use crate::state::AppState;
use crate::store::{self, tenants::TenantRow, users::NewUser, users::UserRow};
use crate::tenancy::{Actor, TenantCtx};

pub struct NewTenant<'a> {
    pub tenant_name: &'a str,
    pub email: &'a str,
    pub password: &'a str,
}

pub struct Created {
    pub tenant: TenantRow,
    pub owner: UserRow,
    pub tokens: Tokens,
}

/// Creates a tenant and its owner in one transaction and logs the owner in.
#[tracing::instrument(skip_all)]
pub async fn create(state: &AppState, input: NewTenant<'_>, request_id: Option<String>) -> Result<Created> {
    let name = validate::name("tenant_name", input.tenant_name, 200);
    let email = validate::email("email", input.email);
    let password = validate::password("password", input.password);
    validate::report([
        validate::errors_of(&name),
        validate::errors_of(&email),
        validate::errors_of(&password),
    ])?;
    let (name, email) = (name?, email?);
    let hash = sessions::hash_new_password("password", input.password).await?;

    let tenant_id = TenantId::generate();
    let user_id = UserId::generate();
    let ctx = TenantCtx::new(tenant_id.clone(), Actor::User(user_id.clone()), request_id);
    let mut tx = state.store.system_tx().await?;
    if store::users::email_taken(&mut tx, &email).await? {
        return Err(DomainError::Conflict {
            field: Some("email".into()),
            message: "an account with this email already exists; log in instead".into(),
        });
    }
    let tenant = store::tenants::insert(&mut tx, &tenant_id, &name).await?;
    let user = NewUser {
        id: &user_id,
        email: &email,
        name: None,
        password_hash: &hash,
        role: OWNER,
    };
    store::users::insert(&mut tx, &tenant_id, user).await?;
    audit::record(&mut tx, &ctx, "tenant.created", "tenant", tenant_id.as_str()).await?;
    let tokens = sessions::issue(state, &mut tx, &tenant_id, &user_id, None).await?;
    let owner = store::users::get(&mut tx, &ctx, &user_id).await?;
    tx.commit().await?;
    tracing::info!(tenant = %tenant_id, "tenant created");
    Ok(Created { tenant, owner, tokens })
}

pub async fn get(state: &AppState, ctx: &TenantCtx) -> Result<TenantRow> {
    let mut tx = state.store.tenant_read(ctx).await?;
    let tenant = store::tenants::get(&mut tx, ctx).await?;
    tx.commit().await?;
    Ok(tenant)
}

pub async fn rename(state: &AppState, ctx: &TenantCtx, name: &str) -> Result<TenantRow> {
    let name = validate::name("name", name, 200)?;
    let mut tx = state.store.tenant_tx(ctx).await?;
    let tenant = store::tenants::rename(&mut tx, ctx, &name).await?;
    audit::record(&mut tx, ctx, "tenant.updated", "tenant", ctx.tenant_id.as_str()).await?;
    tx.commit().await?;
    state.profiles.forget_tenant(&ctx.tenant_id).await;
    Ok(tenant)
}
