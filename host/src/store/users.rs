//! Users of a tenant.

use sqlx::FromRow;

use super::{conflict_on, now_ms, Result, StoreError, Tx};
use crate::ids::{TenantId, UserId};
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: String,
    pub tenant_id: String,
    pub email: String,
    pub name: Option<String>,
    pub password_hash: String,
    pub role: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, tenant_id, email, name, password_hash, role, created_at, updated_at";

pub struct NewUser<'a> {
    pub id: &'a UserId,
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub password_hash: &'a str,
    pub role: &'a str,
}

/// Inserts a user into `tenant`. Takes the tenant id explicitly because it runs while the
/// tenant itself is being created (signup) or joined (invitation), before any `TenantCtx` exists.
pub async fn insert(tx: &mut Tx, tenant: &TenantId, user: NewUser<'_>) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO users (id, tenant_id, email, name, password_hash, role, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(user.id.as_str())
    .bind(tenant.as_str())
    .bind(user.email)
    .bind(user.name)
    .bind(user.password_hash)
    .bind(user.role)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(conflict_on("email"))?;
    Ok(())
}

/// Login lookup: emails are unique across tenants, so this precedes knowing the tenant.
pub async fn find_by_email(tx: &mut Tx, email: &str) -> Result<Option<UserRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
        .bind(email)
        .fetch_optional(&mut **tx)
        .await?)
}

pub async fn email_taken(tx: &mut Tx, email: &str) -> Result<bool> {
    Ok(find_by_email(tx, email).await?.is_some())
}

pub async fn get(tx: &mut Tx, ctx: &TenantCtx, id: &UserId) -> Result<UserRow> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2"))
        .bind(ctx.tenant_id.as_str())
        .bind(id.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn list(tx: &mut Tx, ctx: &TenantCtx, after: Option<&str>, limit: i64) -> Result<Vec<UserRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(ctx.tenant_id.as_str())
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn set_role(tx: &mut Tx, ctx: &TenantCtx, id: &UserId, role: &str) -> Result<UserRow> {
    let done = sqlx::query("UPDATE users SET role = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
        .bind(ctx.tenant_id.as_str())
        .bind(id.as_str())
        .bind(role)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get(tx, ctx, id).await
}

pub async fn delete(tx: &mut Tx, ctx: &TenantCtx, id: &UserId) -> Result<()> {
    let done = sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND id = $2")
        .bind(ctx.tenant_id.as_str())
        .bind(id.as_str())
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// How many users of the tenant hold `role`: the last owner cannot be demoted or removed.
pub async fn count_with_role(tx: &mut Tx, ctx: &TenantCtx, role: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND role = $2")
            .bind(ctx.tenant_id.as_str())
            .bind(role)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// Subjects holding each role, for the authorization policy.
pub async fn role_assignments(tx: &mut Tx, ctx: &TenantCtx) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as("SELECT id, role FROM users WHERE tenant_id = $1")
        .bind(ctx.tenant_id.as_str())
        .fetch_all(&mut **tx)
        .await?)
}
