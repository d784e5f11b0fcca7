//! Invitations: an admin invites an email with a role; the invitee accepts with the token.

use super::sessions::{self, Tokens};
use super::{audit, page_limit, roles, validate, DomainError, Result};
use crate::auth::secrets;
use crate::ids::{InvitationId, PrefixedId, TenantId, UserId};
use crate::state::AppState;
use crate::store::{
    self, invitations::InvitationRow, invitations::NewInvitation, now_ms, users::NewUser, users::UserRow,
};
use crate::tenancy::{Actor, TenantCtx};

pub struct CreatedInvitation {
    pub invitation: InvitationRow,
    /// Shown once; the invitee presents it to accept.
    pub token: String,
}

pub async fn create(state: &AppState, ctx: &TenantCtx, email: &str, role: &str) -> Result<CreatedInvitation> {
    let email = validate::email("email", email)?;
    let id = InvitationId::generate();
    let token = secrets::generate(secrets::INVITATION_PREFIX);
    let mut tx = state.store.tenant_tx(ctx).await?;
    roles::ensure_grantable(state, &mut tx, ctx, "role", role).await?;
    let new = NewInvitation {
        id: &id,
        email: &email,
        role,
        token_hash: &secrets::hash(&token),
        expires_at: now_ms() + state.config.invitation_ttl_secs as i64 * 1000,
    };
    let invitation = store::invitations::insert(&mut tx, ctx, new).await?;
    audit::record(&mut tx, ctx, "invitation.created", "invitation", id.as_str()).await?;
    tx.commit().await?;
    Ok(CreatedInvitation { invitation, token })
}

pub async fn list(
    state: &AppState,
    ctx: &TenantCtx,
    after: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<InvitationRow>> {
    let mut tx = state.store.tenant_read(ctx).await?;
    let rows = store::invitations::list(&mut tx, ctx, after, page_limit(limit)).await?;
    tx.commit().await?;
    Ok(rows)
}

pub async fn revoke(state: &AppState, ctx: &TenantCtx, id: &InvitationId) -> Result<InvitationRow> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let row = store::invitations::revoke(&mut tx, ctx, id).await?;
    audit::record(&mut tx, ctx, "invitation.revoked", "invitation", id.as_str()).await?;
    tx.commit().await?;
    Ok(row)
}

pub struct Accepted {
    pub user: UserRow,
    pub tokens: Tokens,
}

const BAD_INVITATION: &str = "the invitation is invalid, expired, revoked or already accepted";

/// Accepts an invitation: creates the user with the invited role and logs them in.
#[tracing::instrument(skip_all)]
pub async fn accept(
    state: &AppState,
    token: &str,
    password: &str,
    name: Option<&str>,
    request_id: Option<String>,
) -> Result<Accepted> {
    let name = name.map(|n| validate::name("name", n, 200)).transpose()?;
    let hash = sessions::hash_new_password("password", password).await?;
    let mut tx = state.store.system_tx().await?;
    let inv = store::invitations::find_by_hash(&mut tx, &secrets::hash(token))
        .await?
        .filter(|i| i.accepted_at.is_none() && i.revoked_at.is_none() && i.expires_at > now_ms())
        .ok_or(DomainError::Unauthenticated(BAD_INVITATION))?;
    if !store::invitations::mark_accepted(&mut tx, &inv.id).await? {
        return Err(DomainError::Unauthenticated(BAD_INVITATION));
    }
    if store::users::email_taken(&mut tx, &inv.email).await? {
        return Err(DomainError::Conflict {
            field: Some("email".into()),
            message: "an account with this email already exists".into(),
        });
    }
    let tenant = TenantId::from_raw(inv.tenant_id.clone());
    let user_id = UserId::generate();
    let user = NewUser {
        id: &user_id,
        email: &inv.email,
        name: name.as_deref(),
        password_hash: &hash,
        role: &inv.role,
    };
    store::users::insert(&mut tx, &tenant, user).await?;
    let ctx = TenantCtx::new(tenant.clone(), Actor::User(user_id.clone()), request_id);
    audit::record(&mut tx, &ctx, "invitation.accepted", "invitation", &inv.id).await?;
    let tokens = sessions::issue(state, &mut tx, &tenant, &user_id, None).await?;
    let user = store::users::get(&mut tx, &ctx, &user_id).await?;
    tx.commit().await?;
    state.authz.invalidate(&tenant).await;
    Ok(Accepted { user, tokens })
}
