//! A DNS resolver for reqwest that drops the addresses the policy refuses. reqwest connects
//! only to what the resolver returns, so the address checked is the address connected to: a
//! name that resolves to a public address at validation and to 10.0.0.1 at delivery (DNS
//! rebinding) is refused at delivery.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::policy::Policy;

/// The error a refused name fails the request with.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to no address webhooks may reach (private, loopback, link-local or reserved)")]
pub struct Refused {
    pub host: String,
}

pub struct GuardedResolver {
    pub policy: Arc<Policy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found.filter(|a| policy.permits(a.ip())).collect();
            if allowed.is_empty() {
                tracing::warn!(%host, "webhook host refused by the SSRF guard");
                return Err(Box::new(Refused { host }) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}
