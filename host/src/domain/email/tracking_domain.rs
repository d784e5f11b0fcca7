//! A tenant's tracking domain: when set, the links in its emails (clicks, the open pixel,
//! unsubscribe) point at it instead of the platform's public URL, and requests arriving for it
//! are served those routes only, for the tenant's own messages (`http::tracking_host`).
//! The operator points the domain's DNS (a CNAME) at the platform.

use std::time::Duration;

use moka::sync::Cache;

use crate::domain::{audit, DomainError, Result};
use crate::ids::{PrefixedId, TenantId};
use crate::state::AppState;
use crate::store::{self, Store};
use crate::tenancy::TenantCtx;

/// Which tenant a request's host belongs to, cached: every request on a host other than the
/// public URL's asks. Changes through this process apply at once; another host sharing the
/// database sees them within the TTL.
pub struct TrackingHosts {
    tenants: Cache<String, Option<TenantId>>,
    /// The public URL's host, parsed once: every request compares its host with it.
    public: Option<String>,
}

impl TrackingHosts {
    pub fn new(ttl: Duration, public_url: &str) -> Self {
        Self {
            tenants: Cache::builder().max_capacity(10_000).time_to_live(ttl).build(),
            public: public_host(public_url),
        }
    }

    /// The host of the platform's public URL, lower-case.
    pub fn public(&self) -> Option<&str> {
        self.public.as_deref()
    }

    /// What is known of `host` (lower-case, without port) without asking the database: `None`
    /// when it must be looked up ([`Self::tenant_of`]), else its tenant, none for the public
    /// URL's host. Synchronous, so the request's middleware holds no lookup state.
    pub fn known(&self, host: &str) -> Option<Option<TenantId>> {
        if self.public() == Some(host) {
            return Some(None);
        }
        self.tenants.get(host)
    }

    /// The tenant whose tracking domain `host` (lower-case, without port) is; none for the
    /// public URL's host.
    pub async fn tenant_of(&self, store: &Store, host: &str) -> Result<Option<TenantId>> {
        if let Some(known) = self.known(host) {
            return Ok(known);
        }
        let mut read = store.system_read().await?;
        let tenant = store::tracking_domains::tenant_of(&mut read, host)
            .await?
            .map(TenantId::from_raw);
        read.commit().await?;
        self.tenants.insert(host.to_owned(), tenant.clone());
        Ok(tenant)
    }

    fn forget(&self, host: &str) {
        self.tenants.invalidate(host);
    }
}

/// A host name: lower-case letters, digits and hyphens in dot-separated labels, at least two.
fn check(raw: &str) -> Result<String> {
    let domain = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if domain.len() > 253 || !domain.contains('.') || !domain.split('.').all(label_ok) {
        return Err(DomainError::invalid(
            "domain",
            "must be a host name such as links.example.com (no scheme, port or path)",
        ));
    }
    Ok(domain)
}

pub async fn get(state: &AppState, ctx: &TenantCtx) -> Result<String> {
    let mut read = state.store.tenant_read(ctx).await?;
    let domain = store::tracking_domains::get(&mut read, ctx).await?;
    read.commit().await?;
    domain.ok_or(DomainError::NotFound)
}

#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id))]
pub async fn set(state: &AppState, ctx: &TenantCtx, raw: &str) -> Result<String> {
    let domain = check(raw)?;
    if state.tracking_hosts.public() == Some(domain.as_str()) {
        return Err(DomainError::invalid("domain", "is the platform's own host"));
    }
    let mut tx = state.store.tenant_tx(ctx).await?;
    let old = store::tracking_domains::get(&mut tx, ctx).await?;
    store::tracking_domains::put(&mut tx, ctx, &domain).await?;
    audit::record(&mut tx, ctx, "tracking_domain.set", "tenant", ctx.tenant_id.as_str()).await?;
    tx.commit().await?;
    for host in old.iter().chain([&domain]) {
        state.tracking_hosts.forget(host);
    }
    Ok(domain)
}

pub async fn clear(state: &AppState, ctx: &TenantCtx) -> Result<()> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let old = store::tracking_domains::get(&mut tx, ctx)
        .await?
        .ok_or(DomainError::NotFound)?;
    store::tracking_domains::delete(&mut tx, ctx).await?;
    audit::record(
        &mut tx,
        ctx,
        "tracking_domain.cleared",
        "tenant",
        ctx.tenant_id.as_str(),
    )
    .await?;
    tx.commit().await?;
    state.tracking_hosts.forget(&old);
    Ok(())
}

fn public_host(public_url: &str) -> Option<String> {
    reqwest::Url::parse(public_url)
        .ok()?
        .host_str()
        .map(str::to_ascii_lowercase)
}

/// Where the links in this tenant's emails point: `scheme://tracking-domain`, or the public URL.
pub async fn link_base(state: &AppState, ctx: &TenantCtx) -> Result<String> {
    let mut read = state.store.tenant_read(ctx).await?;
    let domain = store::tracking_domains::get(&mut read, ctx).await?;
    read.commit().await?;
    let public = state.config.public_url.trim_end_matches('/');
    Ok(match domain {
        Some(domain) => {
            let scheme = public.split_once("://").map_or("https", |(s, _)| s);
            format!("{scheme}://{domain}")
        }
        None => public.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_host_names_only() {
        assert_eq!(check(" Links.Example.COM. ").unwrap(), "links.example.com");
        for bad in [
            "localhost",
            "https://x.com",
            "x.com:8080",
            "x.com/a",
            "-a.com",
            "a..com",
            "",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
