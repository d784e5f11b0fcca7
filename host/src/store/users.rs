//! Users of a tenant.

use sqlx::FromRow;

use super::scoped::{self, Table};
use super::tenants::TenantRow;
use super::{conflict_on, now_ms, Conn, Result, StoreError};
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
const TABLE: Table = Table {
    name: "users",
    columns: COLUMNS,
};

pub struct NewUser<'a> {
    pub id: &'a UserId,
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub password_hash: &'a str,
    pub role: &'a str,
}

/// Inserts a user into `tenant`. Takes the tenant id explicitly because it runs while the
/// tenant itself is being created (signup) or joined (invitation), before any `TenantCtx` exists.
pub async fn insert(tx: &mut Conn, tenant: &TenantId, user: NewUser<'_>) -> Result<()> {
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
    .execute(&mut *tx)
    .await
    .map_err(conflict_on("email"))?;
    Ok(())
}

/// Login lookup: emails are unique across tenants, so this precedes knowing the tenant.
pub async fn find_by_email(tx: &mut Conn, email: &str) -> Result<Option<UserRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
        .bind(email)
        .fetch_optional(&mut *tx)
        .await?)
}

pub async fn email_taken(tx: &mut Conn, email: &str) -> Result<bool> {
    Ok(find_by_email(tx, email).await?.is_some())
}

pub async fn get(tx: &mut Conn, ctx: &TenantCtx, id: &UserId) -> Result<UserRow> {
    scoped::get(tx, ctx, &TABLE, id.as_str()).await
}

pub async fn list(tx: &mut Conn, ctx: &TenantCtx, after: Option<&str>, limit: i64) -> Result<Vec<UserRow>> {
    scoped::page(tx, ctx, &TABLE, after, limit).await
}

pub async fn set_role(tx: &mut Conn, ctx: &TenantCtx, id: &UserId, role: &str) -> Result<UserRow> {
    let done = sqlx::query("UPDATE users SET role = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
        .bind(ctx.tenant_id.as_str())
        .bind(id.as_str())
        .bind(role)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get(tx, ctx, id).await
}

pub async fn delete(tx: &mut Conn, ctx: &TenantCtx, id: &UserId) -> Result<()> {
    let done = sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND id = $2")
        .bind(ctx.tenant_id.as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// How many users of the tenant hold `role`: the last owner cannot be demoted or removed.
pub async fn count_with_role(tx: &mut Conn, ctx: &TenantCtx, role: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND role = $2")
            .bind(ctx.tenant_id.as_str())
            .bind(role)
            .fetch_one(&mut *tx)
            .await?,
    )
}

/// Subjects holding each role, for the authorization policy.
pub async fn role_assignments(tx: &mut Conn, ctx: &TenantCtx) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as("SELECT id, role FROM users WHERE tenant_id = $1")
        .bind(ctx.tenant_id.as_str())
        .fetch_all(&mut *tx)
        .await?)
}

/// The user and their tenant in one round trip (the hot path of `GET /v1/me`).
pub async fn get_with_tenant(tx: &mut Conn, ctx: &TenantCtx, id: &UserId) -> Result<(UserRow, TenantRow)> {
    #[derive(FromRow)]
    struct Joined {
        #[sqlx(flatten)]
        user: UserRow,
        tenant_name: String,
        tenant_created_at: i64,
        tenant_updated_at: i64,
    }
    let row: Joined = sqlx::query_as(
        "SELECT u.id, u.tenant_id, u.email, u.name, u.password_hash, u.role, u.created_at, u.updated_at, \
                t.name AS tenant_name, t.created_at AS tenant_created_at, t.updated_at AS tenant_updated_at \
         FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.tenant_id = $1 AND u.id = $2",
    )
    .bind(ctx.tenant_id.as_str())
    .bind(id.as_str())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    let tenant = TenantRow {
        id: row.user.tenant_id.clone(),
        name: row.tenant_name,
        created_at: row.tenant_created_at,
        updated_at: row.tenant_updated_at,
    };
    Ok((row.user, tenant))
}
