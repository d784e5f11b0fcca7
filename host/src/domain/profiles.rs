//! A read-through cache of users and tenants for the authenticated hot path (`GET /v1/me`).
//!
//! Writes through this process invalidate the entry at once; the TTL (the authorization cache's)
//! bounds how stale another host sharing the database can be, exactly as for roles.

use std::time::Duration;

use moka::future::Cache;

use super::Result;
use crate::ids::{TenantId, UserId};
use crate::store::{self, tenants::TenantRow, users::UserRow, Store};
use crate::tenancy::TenantCtx;

pub struct Profiles {
    users: Cache<UserId, UserRow>,
    tenants: Cache<TenantId, TenantRow>,
}

impl Profiles {
    pub fn new(ttl: Duration) -> Self {
        Self {
            users: Cache::builder().max_capacity(100_000).time_to_live(ttl).build(),
            tenants: Cache::builder().max_capacity(100_000).time_to_live(ttl).build(),
        }
    }

    pub async fn user(&self, store: &Store, ctx: &TenantCtx, id: &UserId) -> Result<UserRow> {
        if let Some(user) = self.users.get(id).await {
            return Ok(user);
        }
        let mut read = store.tenant_read(ctx).await?;
        let (user, tenant) = store::users::get_with_tenant(&mut read, ctx, id).await?;
        read.commit().await?;
        self.tenants.insert(ctx.tenant_id.clone(), tenant).await;
        self.users.insert(id.clone(), user.clone()).await;
        Ok(user)
    }

    pub async fn tenant(&self, store: &Store, ctx: &TenantCtx) -> Result<TenantRow> {
        if let Some(tenant) = self.tenants.get(&ctx.tenant_id).await {
            return Ok(tenant);
        }
        let mut read = store.tenant_read(ctx).await?;
        let tenant = store::tenants::get(&mut read, ctx).await?;
        read.commit().await?;
        self.tenants.insert(ctx.tenant_id.clone(), tenant.clone()).await;
        Ok(tenant)
    }

    pub async fn forget_user(&self, id: &UserId) {
        self.users.invalidate(id).await;
    }

    pub async fn forget_tenant(&self, id: &TenantId) {
        self.tenants.invalidate(id).await;
    }
}
