//! One message to one customer on one channel, for automations (plugins' `send-message`).
//! Consent comes first: `consent::may_contact` refuses unsubscribed and suppressed recipients
//! before anything is handed over. Email goes through the tenant's email provider (the dev
//! outbox when none is configured); SMS has no provider yet and is always recorded in the dev
//! outbox with channel `sms`. The caller's key makes a retried send a no-op: it is the
//! provider's idempotency key and the outbox's dedup key.

use crate::domain::crm::consent;
use crate::domain::crm::customers;
use crate::domain::{email, DomainError};
use crate::ids::CustomerId;
use crate::providers::email::{Email, SendError as ProviderError};
use crate::state::AppState;
use crate::store;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => consent::EMAIL,
            Channel::Sms => "sms",
        }
    }
}

pub struct Message<'a> {
    pub channel: Channel,
    pub customer: &'a CustomerId,
    /// Required for email.
    pub subject: Option<&'a str>,
    /// Plain text; an email's HTML is this text, escaped.
    pub body: &'a str,
    /// Stable across retries of the same send.
    pub key: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the customer has no {0} address")]
    NoAddress(&'static str),
    #[error("the customer may not be contacted by {0}: unsubscribed, or the address is suppressed")]
    NoConsent(&'static str),
    #[error("an email needs a subject")]
    NoSubject,
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

impl From<store::StoreError> for SendError {
    fn from(e: store::StoreError) -> Self {
        SendError::Domain(e.into())
    }
}

/// Sends `message` if the customer may be contacted on its channel; answers the message id
/// (the provider's, or the outbox's).
#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id, channel = message.channel.as_str()))]
pub async fn send(state: &AppState, ctx: &TenantCtx, message: Message<'_>) -> Result<String, SendError> {
    let channel = message.channel.as_str();
    let customer = customers::get(state, ctx, message.customer).await?;
    let address = match message.channel {
        Channel::Email => customer.email,
        Channel::Sms => customer.phone,
    }
    .ok_or(SendError::NoAddress(channel))?;
    let mut read = state.store.tenant_read(ctx).await?;
    let allowed = consent::may_contact(&mut read, ctx, channel, &address, Some(message.customer)).await?;
    read.commit().await?;
    if !allowed {
        return Err(SendError::NoConsent(channel));
    }
    match message.channel {
        Channel::Email => {
            let subject = message
                .subject
                .filter(|s| !s.trim().is_empty())
                .ok_or(SendError::NoSubject)?;
            let email = Email {
                from: state.config.plugin_email_from.clone(),
                to: address,
                reply_to: None,
                subject: subject.to_owned(),
                html: html_of(message.body),
                text: message.body.to_owned(),
                headers: Vec::new(),
                key: message.key.to_owned(),
            };
            let provider = email::for_tenant(state, ctx).await?;
            let ids = provider.send(std::slice::from_ref(&email), message.key).await?;
            Ok(ids.into_iter().next().unwrap_or_default())
        }
        Channel::Sms => {
            let mut tx = state.store.tenant_tx(ctx).await?;
            let id = store::email_outbox::record_sms(&mut tx, ctx, &address, message.body, message.key).await?;
            tx.commit().await.map_err(store::StoreError::from)?;
            Ok(id)
        }
    }
}

/// Plain text as HTML: escaped, line breaks kept.
fn html_of(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\n' => html.push_str("<br>\n"),
            c => html.push(c),
        }
    }
    html
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_becomes_escaped_html() {
        assert_eq!(
            super::html_of("Hi <b>Ann</b> & co\nbye"),
            "Hi &lt;b&gt;Ann&lt;/b&gt; &amp; co<br>\nbye"
        );
    }
}
