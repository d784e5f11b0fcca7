//! One-click unsubscribe (RFC 8058): every campaign email carries `List-Unsubscribe` with a link
//! to a hosted page and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`. The link's token is
//! the message id signed with the link key, so a forged or altered token finds nothing (404).

use crate::domain::crm::consent::{self, Change};
use crate::domain::email::links;
use crate::domain::email::message_events::{self, Happened};
use crate::domain::{DomainError, Result};
use crate::ids::{CustomerId, PrefixedId, TenantId};
use crate::state::AppState;
use crate::store::email_messages::MessageRef;
use crate::store::{self, now_ms};
use crate::tenancy::{Actor, TenantCtx};

const PURPOSE: &str = "unsubscribe";

/// The headers that go with a message; `base` is where the tenant's links point.
pub fn headers(base: &str, key: &[u8], message_id: &str) -> Vec<(String, String)> {
    let url = format!("{base}/u/{}", links::sign(key, PURPOSE, message_id));
    vec![
        ("List-Unsubscribe".into(), format!("<{url}>")),
        ("List-Unsubscribe-Post".into(), "List-Unsubscribe=One-Click".into()),
    ]
}

/// Checks a token; `NotFound` for a forged one, a message that no longer exists, or one of
/// another tenant than the one whose tracking domain the request came in on.
pub async fn recipient(state: &AppState, token: &str, host_tenant: Option<&TenantId>) -> Result<MessageRef> {
    let id = links::verify(&state.link_key, PURPOSE, token).ok_or(DomainError::NotFound)?;
    let mut read = state.store.system_read().await?;
    let found = store::email_messages::by_id_any_tenant(&mut read, id).await?;
    read.commit().await?;
    let m = found.ok_or(DomainError::NotFound)?;
    match host_tenant {
        Some(t) if t.as_str() != m.tenant_id => Err(DomainError::NotFound),
        _ => Ok(m),
    }
}

/// Unsubscribes the recipient of the token's message from email.
#[tracing::instrument(skip_all)]
pub async fn unsubscribe(state: &AppState, token: &str, host_tenant: Option<&TenantId>) -> Result<()> {
    let m = recipient(state, token, host_tenant).await?;
    let ctx = TenantCtx::new(TenantId::from_raw(m.tenant_id.clone()), Actor::System, None);
    let change = Change {
        channel: consent::EMAIL,
        status: "unsubscribed",
        source: Some("unsubscribe link"),
        keyword: None,
    };
    let mut tx = state.store.tenant_tx(&ctx).await?;
    consent::set_in(&mut tx, &ctx, &CustomerId::from_raw(m.customer_id.clone()), change).await?;
    message_events::record(&mut tx, &ctx, &m, Happened::Unsubscribed, now_ms()).await?;
    tx.commit().await?;
    Ok(())
}
