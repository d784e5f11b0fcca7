//! Custom roles and their permissions (built-in roles are defined in code, `auth::permissions`).

use sqlx::FromRow;

use super::{conflict_on, now_ms, Conn, Result, StoreError};
use crate::ids::RoleId;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct RoleRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: i64,
}

pub async fn insert(
    tx: &mut Conn,
    ctx: &TenantCtx,
    id: &RoleId,
    name: &str,
    description: Option<&str>,
    permissions: &[String],
) -> Result<RoleRow> {
    sqlx::query("INSERT INTO roles (id, tenant_id, name, description, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id.as_str())
        .bind(ctx.tenant_id.as_str())
        .bind(name)
        .bind(description)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(conflict_on("name"))?;
    for permission in permissions {
        sqlx::query("INSERT INTO role_permissions (tenant_id, role_id, permission) VALUES ($1, $2, $3)")
            .bind(ctx.tenant_id.as_str())
            .bind(id.as_str())
            .bind(permission)
            .execute(&mut *tx)
            .await?;
    }
    get_by_name(tx, ctx, name).await
}

pub async fn get_by_name(tx: &mut Conn, ctx: &TenantCtx, name: &str) -> Result<RoleRow> {
    sqlx::query_as("SELECT id, name, description, created_at FROM roles WHERE tenant_id = $1 AND name = $2")
        .bind(ctx.tenant_id.as_str())
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn list(tx: &mut Conn, ctx: &TenantCtx) -> Result<Vec<RoleRow>> {
    Ok(
        sqlx::query_as("SELECT id, name, description, created_at FROM roles WHERE tenant_id = $1 ORDER BY name")
            .bind(ctx.tenant_id.as_str())
            .fetch_all(&mut *tx)
            .await?,
    )
}

/// `(role name, permission)` for every custom role of the tenant.
pub async fn permissions(tx: &mut Conn, ctx: &TenantCtx) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT r.name, p.permission FROM role_permissions p JOIN roles r ON r.id = p.role_id \
         WHERE p.tenant_id = $1 AND r.tenant_id = $1 ORDER BY r.name, p.permission",
    )
    .bind(ctx.tenant_id.as_str())
    .fetch_all(&mut *tx)
    .await?)
}

pub async fn delete(tx: &mut Conn, ctx: &TenantCtx, name: &str) -> Result<()> {
    let role = get_by_name(tx, ctx, name).await?;
    sqlx::query("DELETE FROM role_permissions WHERE tenant_id = $1 AND role_id = $2")
        .bind(ctx.tenant_id.as_str())
        .bind(&role.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM roles WHERE tenant_id = $1 AND id = $2")
        .bind(ctx.tenant_id.as_str())
        .bind(&role.id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Whether any user or active key still holds the role.
pub async fn in_use(tx: &mut Conn, ctx: &TenantCtx, name: &str) -> Result<bool> {
    let holders: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND role = $2) + \
                (SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1 AND role = $2 AND revoked_at IS NULL) + \
                (SELECT COUNT(*) FROM invitations WHERE tenant_id = $1 AND role = $2 AND accepted_at IS NULL AND revoked_at IS NULL)",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(name)
    .fetch_one(&mut *tx)
    .await?;
    Ok(holders > 0)
}
