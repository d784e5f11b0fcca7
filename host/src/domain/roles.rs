//! Roles: the built-in ones and a tenant's custom roles, and the rule that nobody can grant
//! more than they hold.

use super::{audit, DomainError, Result};
use crate::auth::permissions::{self, Permission, BUILTIN_ROLES};
use crate::ids::{PrefixedId, RoleId};
use crate::state::AppState;
use crate::store::{self, Tx};
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone)]
pub struct Role {
    pub name: String,
    pub description: Option<String>,
    pub builtin: bool,
    pub permissions: Vec<String>,
}

/// The permissions of `role` in the tenant; `None` when no such role exists.
pub async fn permissions_of(tx: &mut Tx, ctx: &TenantCtx, role: &str) -> Result<Option<Vec<Permission>>> {
    if let Some(perms) = permissions::builtin_permissions(role) {
        return Ok(Some(perms));
    }
    let custom = store::roles::permissions(tx, ctx).await?;
    let exists = match store::roles::get_by_name(tx, ctx, role).await {
        Ok(_) => true,
        Err(store::StoreError::NotFound) => false,
        Err(e) => return Err(e.into()),
    };
    Ok(exists.then(|| {
        custom
            .iter()
            .filter(|(r, _)| r == role)
            .filter_map(|(_, p)| permissions::parse(p))
            .collect()
    }))
}

/// Checks that `role` exists and that the caller holds every permission it grants.
pub async fn ensure_grantable(state: &AppState, tx: &mut Tx, ctx: &TenantCtx, field: &str, role: &str) -> Result<()> {
    let Some(wanted) = permissions_of(tx, ctx, role).await? else {
        return Err(DomainError::invalid(field, format!("no role named {role:?}")));
    };
    let held = state.authz.granted(ctx).await?;
    match wanted.iter().find(|p| !held.contains(p)) {
        Some(missing) => Err(DomainError::Forbidden(format!(
            "cannot grant role {role:?}: it includes {missing}, which you do not hold"
        ))),
        None => Ok(()),
    }
}

pub async fn list(state: &AppState, ctx: &TenantCtx) -> Result<Vec<Role>> {
    let mut roles: Vec<Role> = BUILTIN_ROLES
        .iter()
        .map(|(name, description)| Role {
            name: name.to_string(),
            description: Some(description.to_string()),
            builtin: true,
            permissions: permissions::builtin_permissions(name)
                .unwrap_or_default()
                .iter()
                .map(Permission::to_string)
                .collect(),
        })
        .collect();
    let mut tx = state.store.tenant_read(ctx).await?;
    let custom = store::roles::list(&mut tx, ctx).await?;
    let perms = store::roles::permissions(&mut tx, ctx).await?;
    tx.commit().await?;
    roles.extend(custom.into_iter().map(|r| {
        Role {
            permissions: perms
                .iter()
                .filter(|(n, _)| *n == r.name)
                .map(|(_, p)| p.clone())
                .collect(),
            name: r.name,
            description: r.description,
            builtin: false,
        }
    }));
    Ok(roles)
}

fn validate_name(name: &str) -> Result<()> {
    let ok = (1..=50).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !ok {
        return Err(DomainError::invalid("name", "must be 1 to 50 of a-z, 0-9, _ and -"));
    }
    if permissions::is_builtin(name) {
        return Err(DomainError::Conflict {
            field: Some("name".into()),
            message: "that is a built-in role".into(),
        });
    }
    Ok(())
}

pub async fn create(
    state: &AppState,
    ctx: &TenantCtx,
    name: &str,
    description: Option<&str>,
    requested: &[String],
) -> Result<Role> {
    validate_name(name)?;
    let mut perms = Vec::new();
    for (i, raw) in requested.iter().enumerate() {
        let p = permissions::parse(raw)
            .ok_or_else(|| DomainError::invalid(&format!("permissions[{i}]"), format!("unknown permission {raw:?}")))?;
        if !perms.contains(&p.to_string()) {
            perms.push(p.to_string());
        }
    }
    let held = state.authz.granted(ctx).await?;
    if let Some(missing) = perms.iter().find(|p| !held.iter().any(|h| h.to_string() == **p)) {
        return Err(DomainError::Forbidden(format!(
            "cannot create a role with {missing}, which you do not hold"
        )));
    }
    let id = RoleId::generate();
    let mut tx = state.store.tenant_tx(ctx).await?;
    let row = store::roles::insert(&mut tx, ctx, &id, name, description, &perms).await?;
    audit::record(&mut tx, ctx, "role.created", "role", name).await?;
    tx.commit().await?;
    state.authz.invalidate(&ctx.tenant_id).await;
    Ok(Role {
        name: row.name,
        description: row.description,
        builtin: false,
        permissions: perms,
    })
}

pub async fn delete(state: &AppState, ctx: &TenantCtx, name: &str) -> Result<()> {
    if permissions::is_builtin(name) {
        return Err(DomainError::Conflict {
            field: None,
            message: "built-in roles cannot be deleted".into(),
        });
    }
    let mut tx = state.store.tenant_tx(ctx).await?;
    store::roles::get_by_name(&mut tx, ctx, name).await?;
    if store::roles::in_use(&mut tx, ctx, name).await? {
        return Err(DomainError::Conflict {
            field: None,
            message: "the role is still held by a user, API key or invitation".into(),
        });
    }
    store::roles::delete(&mut tx, ctx, name).await?;
    audit::record(&mut tx, ctx, "role.deleted", "role", name).await?;
    tx.commit().await?;
    state.authz.invalidate(&ctx.tenant_id).await;
    Ok(())
}
