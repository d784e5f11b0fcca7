//! Choosing the provider: the tenant's own Resend account, else the platform's Resend key,
//! else the platform's SMTP server, else the dev outbox.

use secrecy::{ExposeSecret, SecretString};

use crate::domain::{audit, page_limit, DomainError, Result};
use crate::egress::target;
use crate::providers::email::outbox::Outbox;
use crate::providers::email::resend::Resend;
use crate::providers::email::smtp::Smtp;
use crate::providers::email::EmailProvider;
use crate::signatures::standard_webhooks::Secret;
use crate::state::AppState;
use crate::store::{self, email_outbox::OutboxRow};
use crate::tenancy::TenantCtx;

/// The provider for this tenant's email now.
pub async fn for_tenant(state: &AppState, ctx: &TenantCtx) -> Result<Box<dyn EmailProvider>> {
    let mut read = state.store.tenant_read(ctx).await?;
    let own = store::email_settings::get(&mut read, ctx).await?;
    read.commit().await?;
    let config = &state.config;
    Ok(match (own, &config.resend_api_key, &config.smtp_url) {
        (Some(own), _, _) => match own.base_url.as_deref() {
            // A URL the tenant chose: checked again (the operator's networks may have changed)
            // and called through the SSRF guard.
            Some(url) => {
                let url = base_url(state, url)?;
                Box::new(Resend::new(state.tenant_http.clone(), &url, own.api_key.into()))
            }
            None => Box::new(Resend::new(
                state.http.clone(),
                &config.resend_base_url,
                own.api_key.into(),
            )),
        },
        (None, Some(key), _) => Box::new(Resend::new(state.http.clone(), &config.resend_base_url, key.clone())),
        (None, None, Some(url)) => {
            Box::new(Smtp::from_url(url.expose_secret()).map_err(|e| DomainError::Io(std::io::Error::other(e)))?)
        }
        (None, None, None) => Box::new(Outbox::new(state.store.clone(), ctx.clone())),
    })
}

/// Checks a tenant's Resend base URL like a webhook endpoint's: `https` (unless the operator
/// allows `http`), no credentials, no private address written as an IP.
fn base_url(state: &AppState, raw: &str) -> Result<String> {
    let policy = state.webhooks.egress.policy();
    target::check(raw, state.config.webhooks_allow_http, policy)
        .map(|u| u.as_str().trim_end_matches('/').to_owned())
        .map_err(|e| DomainError::invalid("base_url", e.to_string()))
}

/// What the API shows of a tenant's provider: never the key itself.
pub struct ProviderSettings {
    /// `resend` (the tenant's own account), or the platform's choice: `resend`, `smtp`, `outbox`.
    pub provider: String,
    /// True when the tenant set its own account.
    pub own_account: bool,
    pub base_url: Option<String>,
    /// The key's last four characters, to tell keys apart.
    pub api_key_hint: Option<String>,
    /// Whether the tenant's account signs webhooks with a secret set here.
    pub webhook_secret_set: bool,
}

pub async fn settings(state: &AppState, ctx: &TenantCtx) -> Result<ProviderSettings> {
    let mut read = state.store.tenant_read(ctx).await?;
    let own = store::email_settings::get(&mut read, ctx).await?;
    read.commit().await?;
    Ok(match own {
        Some(own) => ProviderSettings {
            provider: own.provider,
            own_account: true,
            base_url: own.base_url,
            api_key_hint: Some(hint(&own.api_key)),
            webhook_secret_set: own.webhook_secret.is_some(),
        },
        None => {
            let config = &state.config;
            let provider = match (&config.resend_api_key, &config.smtp_url) {
                (Some(_), _) => "resend",
                (None, Some(_)) => "smtp",
                (None, None) => "outbox",
            };
            ProviderSettings {
                provider: provider.into(),
                own_account: false,
                base_url: None,
                api_key_hint: None,
                webhook_secret_set: state.config.resend_webhook_secret.is_some() && provider == "resend",
            }
        }
    })
}

fn hint(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

/// A tenant's own Resend account as the client writes it.
pub struct ResendAccount<'a> {
    pub api_key: SecretString,
    pub base_url: Option<&'a str>,
    /// `whsec_…`: what the account signs its webhooks to `POST /v1/webhooks/resend/{tenant_id}`
    /// with.
    pub webhook_secret: Option<SecretString>,
}

/// Sets the tenant's own Resend account.
#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id))]
pub async fn set_resend(state: &AppState, ctx: &TenantCtx, account: ResendAccount<'_>) -> Result<ProviderSettings> {
    let key = account.api_key.expose_secret().trim();
    if key.is_empty() || key.len() > 500 {
        return Err(DomainError::invalid("api_key", "must be 1 to 500 characters"));
    }
    let base_url = account.base_url.map(|u| base_url(state, u)).transpose()?;
    let webhook_secret = account.webhook_secret.as_ref().map(|s| s.expose_secret().trim());
    if webhook_secret.is_some_and(|s| Secret::parse(s).is_err()) {
        return Err(DomainError::invalid(
            "webhook_secret",
            "must be a whsec_ secret as Resend shows it",
        ));
    }
    let mut tx = state.store.tenant_tx(ctx).await?;
    let row = store::email_settings::Account {
        provider: "resend",
        api_key: key,
        base_url: base_url.as_deref(),
        webhook_secret,
    };
    store::email_settings::put(&mut tx, ctx, &row).await?;
    audit::record(&mut tx, ctx, "email_provider.updated", "tenant", ctx.tenant_id.as_str()).await?;
    tx.commit().await?;
    settings(state, ctx).await
}

/// Goes back to the platform's provider.
pub async fn clear(state: &AppState, ctx: &TenantCtx) -> Result<()> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    if !store::email_settings::delete(&mut tx, ctx).await? {
        return Err(DomainError::NotFound);
    }
    audit::record(&mut tx, ctx, "email_provider.cleared", "tenant", ctx.tenant_id.as_str()).await?;
    tx.commit().await?;
    Ok(())
}

pub type OutboxEmail = OutboxRow;

/// The dev outbox, oldest first.
pub async fn outbox(
    state: &AppState,
    ctx: &TenantCtx,
    after: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<OutboxRow>> {
    let mut read = state.store.tenant_read(ctx).await?;
    let rows = store::email_outbox::page(&mut read, ctx, after, page_limit(limit)).await?;
    read.commit().await?;
    Ok(rows)
}
