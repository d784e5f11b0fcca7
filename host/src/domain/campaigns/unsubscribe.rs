//! One-click unsubscribe (RFC 8058): every campaign email carries `List-Unsubscribe` with a link
//! to a hosted page and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`. The link's token is
//! the message id with an HMAC over it, so a forged or altered token finds nothing (404).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::crm::consent::{self, Change};
use crate::domain::{DomainError, Result};
use crate::ids::{CustomerId, EmailMessageId, PrefixedId, TenantId};
use crate::state::AppState;
use crate::store;
use crate::tenancy::{Actor, TenantCtx};

fn mac(key: &[u8], message_id: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"unsubscribe:");
    mac.update(message_id.as_bytes());
    mac
}

/// The token of `message_id`'s unsubscribe link.
pub fn token(key: &[u8], message_id: &str) -> String {
    let tag = mac(key, message_id).finalize().into_bytes();
    format!("{message_id}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// The message a token was made for; `None` when it was not made with `key`.
pub fn verify(key: &[u8], token: &str) -> Option<EmailMessageId> {
    let (id, tag) = token.split_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    mac(key, id).verify_slice(&tag).ok()?;
    EmailMessageId::parse(id)
}

/// The headers that go with a message.
pub fn headers(state: &AppState, message_id: &str) -> Vec<(String, String)> {
    let url = format!(
        "{}/u/{}",
        state.config.public_url.trim_end_matches('/'),
        token(&state.link_key, message_id)
    );
    vec![
        ("List-Unsubscribe".into(), format!("<{url}>")),
        ("List-Unsubscribe-Post".into(), "List-Unsubscribe=One-Click".into()),
    ]
}

/// Checks a token; `NotFound` for a forged one or a message that no longer exists.
pub async fn recipient(state: &AppState, token: &str) -> Result<(TenantCtx, CustomerId)> {
    let id = verify(&state.link_key, token).ok_or(DomainError::NotFound)?;
    let mut read = state.store.system_read().await?;
    let found = store::email_messages::recipient_of(&mut read, id.as_str()).await?;
    read.commit().await?;
    let (tenant, customer) = found.ok_or(DomainError::NotFound)?;
    let ctx = TenantCtx::new(TenantId::from_raw(tenant), Actor::System, None);
    Ok((ctx, CustomerId::from_raw(customer)))
}

/// Unsubscribes the recipient of the token's message from email.
#[tracing::instrument(skip_all)]
pub async fn unsubscribe(state: &AppState, token: &str) -> Result<()> {
    let (ctx, customer) = recipient(state, token).await?;
    let change = Change {
        channel: consent::EMAIL,
        status: "unsubscribed",
        source: Some("unsubscribe link"),
        keyword: None,
    };
    consent::set(state, &ctx, &customer, change).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_unaltered_and_with_their_key() {
        let id = EmailMessageId::generate();
        let t = token(b"key", id.as_str());
        assert_eq!(verify(b"key", &t), Some(id.clone()));
        assert_eq!(verify(b"other key", &t), None);
        let other = EmailMessageId::generate();
        let swapped = format!("{}{}", other.as_str(), &t[id.as_str().len()..]);
        assert_eq!(verify(b"key", &swapped), None);
        assert_eq!(verify(b"key", "garbage"), None);
    }
}
