//! Who is acting, and for which tenant: the first argument of every tenant-scoped store call.

use crate::ids::{ApiKeyId, TenantId, UserId};

/// The principal behind a call, recorded in the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Actor {
    User(UserId),
    ApiKey(ApiKeyId),
    /// The operator CLI or a background job acting on the tenant's behalf.
    System,
}

impl Actor {
    /// `(type, id)` as stored in audit rows and used as the casbin subject.
    pub fn parts(&self) -> (&'static str, &str) {
        match self {
            Actor::User(id) => ("user", id.as_str()),
            Actor::ApiKey(id) => ("api_key", id.as_str()),
            Actor::System => ("system", "system"),
        }
    }

    pub fn subject(&self) -> &str {
        self.parts().1
    }
}

/// A tenant-scoped context. Only the authentication layer, signup and the operator CLI build one,
/// so holding it proves the tenant was resolved from a credential.
#[derive(Clone, Debug)]
pub struct TenantCtx {
    pub tenant_id: TenantId,
    pub actor: Actor,
    pub request_id: Option<String>,
}

impl TenantCtx {
    pub fn new(tenant_id: TenantId, actor: Actor, request_id: Option<String>) -> Self {
        Self {
            tenant_id,
            actor,
            request_id,
        }
    }
}
