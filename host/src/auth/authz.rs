//! Authorization with casbin: RBAC with domains (domain = tenant).
//!
//! One enforcer per tenant is built from the built-in role policies (code, domain `*`), the
//! tenant's custom roles and the role each user and API key holds, then cached (moka). Any change
//! through this process invalidates the tenant's entry at once; the TTL bounds how long another
//! host sharing the database can lag. Each subject's grants are memoised inside the cached
//! entry, so they are dropped together with it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use casbin::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi};
use moka::future::Cache;

use super::permissions::{self, Permission, BUILTIN_ROLES};
use crate::ids::TenantId;
use crate::store::{self, Store, StoreError};
use crate::tenancy::TenantCtx;

const MODEL: &str = r#"
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && (p.dom == r.dom || p.dom == "*") && r.obj == p.obj && r.act == p.act
"#;

#[derive(Debug, thiserror::Error)]
pub enum AuthzError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("policy engine: {0}")]
    Casbin(#[from] casbin::Error),
    /// A load failure shared by every caller that waited on the same cache entry.
    #[error(transparent)]
    Load(Arc<AuthzError>),
}

struct TenantPolicy {
    enforcer: Enforcer,
    /// Role held by each user and active API key of the tenant.
    holders: HashMap<String, String>,
    /// Every permission casbin grants each subject, computed on the subject's first request.
    grants: moka::sync::Cache<String, Arc<Vec<Permission>>>,
}

impl TenantPolicy {
    fn grants(&self, tenant: &str, subject: &str) -> Result<Arc<Vec<Permission>>, AuthzError> {
        if let Some(grants) = self.grants.get(subject) {
            return Ok(grants);
        }
        let mut granted = Vec::new();
        for (perm, _) in permissions::ALL {
            if self.enforcer.enforce((subject, tenant, perm.object, perm.action))? {
                granted.push(*perm);
            }
        }
        let granted = Arc::new(granted);
        self.grants.insert(subject.to_owned(), granted.clone());
        Ok(granted)
    }
}

#[derive(Clone)]
pub struct Authz {
    store: Store,
    policies: Cache<TenantId, Arc<TenantPolicy>>,
}

impl Authz {
    pub fn new(store: Store, ttl: Duration) -> Self {
        let policies = Cache::builder().max_capacity(10_000).time_to_live(ttl).build();
        Self { store, policies }
    }

    /// Whether the context's actor holds `perm` in its tenant.
    pub async fn allows(&self, ctx: &TenantCtx, perm: Permission) -> Result<bool, AuthzError> {
        Ok(self.granted_set(ctx).await?.contains(&perm))
    }

    async fn granted_set(&self, ctx: &TenantCtx) -> Result<Arc<Vec<Permission>>, AuthzError> {
        self.policy(ctx)
            .await?
            .grants(ctx.tenant_id.as_str(), ctx.actor.subject())
    }

    /// Whether the actor is still a user or active key of the tenant.
    pub async fn holds_any_role(&self, ctx: &TenantCtx) -> Result<bool, AuthzError> {
        Ok(self.role_of(ctx).await?.is_some())
    }

    /// The role the actor holds in its tenant.
    pub async fn role_of(&self, ctx: &TenantCtx) -> Result<Option<String>, AuthzError> {
        Ok(self.policy(ctx).await?.holders.get(ctx.actor.subject()).cloned())
    }

    /// Every permission the context's actor holds.
    pub async fn granted(&self, ctx: &TenantCtx) -> Result<Vec<Permission>, AuthzError> {
        Ok(self.granted_set(ctx).await?.to_vec())
    }

    /// Drops the tenant's cached enforcer after a change to its roles or role holders.
    pub async fn invalidate(&self, tenant: &TenantId) {
        self.policies.invalidate(tenant).await;
    }

    async fn policy(&self, ctx: &TenantCtx) -> Result<Arc<TenantPolicy>, AuthzError> {
        if let Some(policy) = self.policies.get(&ctx.tenant_id).await {
            return Ok(policy);
        }
        self.policies
            .try_get_with(ctx.tenant_id.clone(), self.load(ctx))
            .await
            .map_err(AuthzError::Load)
    }

    async fn load(&self, ctx: &TenantCtx) -> Result<Arc<TenantPolicy>, AuthzError> {
        let (custom, holders) = {
            let mut tx = self.store.tenant_read(ctx).await?;
            let custom = store::roles::permissions(&mut tx, ctx).await?;
            let mut holders = store::users::role_assignments(&mut tx, ctx).await?;
            holders.extend(store::api_keys::role_assignments(&mut tx, ctx).await?);
            tx.commit().await?;
            (custom, holders)
        };
        let tenant = ctx.tenant_id.as_str();
        let mut rules = Vec::new();
        for (role, _) in BUILTIN_ROLES {
            for p in permissions::builtin_permissions(role).unwrap_or_default() {
                rules.push(vec![role.to_string(), "*".into(), p.object.into(), p.action.into()]);
            }
        }
        for (role, perm) in custom {
            if let Some(p) = permissions::parse(&perm) {
                rules.push(vec![role, tenant.into(), p.object.into(), p.action.into()]);
            }
        }
        let model = DefaultModel::from_str(MODEL).await?;
        let mut enforcer = Enforcer::new(model, MemoryAdapter::default()).await?;
        enforcer.add_policies(rules).await?;
        let groupings: Vec<Vec<String>> = holders
            .iter()
            .map(|(subject, role)| vec![subject.clone(), role.clone(), tenant.into()])
            .collect();
        if !groupings.is_empty() {
            enforcer.add_grouping_policies(groupings).await?;
        }
        Ok(Arc::new(TenantPolicy {
            enforcer,
            holders: holders.into_iter().collect(),
            grants: moka::sync::Cache::builder().max_capacity(100_000).build(),
        }))
    }
}
