//! Verified senders: the addresses a tenant's campaigns may send from. Adding one mails a
//! signed link to the address (through the tenant's provider, so the dev outbox when nothing is
//! configured); following it proves the tenant reads that mailbox. Sending from any other
//! address is refused with a 422 naming `from_email`.

use crate::domain::email::links;
use crate::domain::{audit, page_limit, validate, DomainError, Result};
use crate::ids::{EmailSenderId, PrefixedId, TenantId};
use crate::providers::email::Email;
use crate::state::AppState;
use crate::store::{self, email_senders::SenderRow, Conn};
use crate::tenancy::{Actor, TenantCtx};

const PURPOSE: &str = "sender";

/// Refuses `from_email` unless the tenant verified it.
pub async fn require_verified(conn: &mut Conn, ctx: &TenantCtx, from_email: &str) -> Result<()> {
    if store::email_senders::is_verified(conn, ctx, from_email).await? {
        return Ok(());
    }
    Err(DomainError::invalid(
        "from_email",
        format!(
            "{from_email} is not a verified sender: add it with POST /v1/email-senders and follow the link mailed to it"
        ),
    ))
}

/// Adds a pending sender and mails it its verification link.
#[tracing::instrument(skip_all, fields(tenant = %ctx.tenant_id))]
pub async fn create(state: &AppState, ctx: &TenantCtx, raw_email: &str) -> Result<SenderRow> {
    let email = validate::email("email", raw_email)?;
    if !validate::sendable_email(&email) {
        return Err(DomainError::invalid(
            "email",
            "must be an address a provider can send from",
        ));
    }
    let id = EmailSenderId::generate();
    let mut tx = state.store.tenant_tx(ctx).await?;
    let row = store::email_senders::insert(&mut tx, ctx, &id, &email).await?;
    audit::record(&mut tx, ctx, "email_sender.created", "email_sender", id.as_str()).await?;
    tx.commit().await?;
    mail_link(state, ctx, &row).await?;
    Ok(row)
}

/// Mails the verification link of a pending sender again.
pub async fn resend_link(state: &AppState, ctx: &TenantCtx, id: &EmailSenderId) -> Result<SenderRow> {
    let mut read = state.store.tenant_read(ctx).await?;
    let row = store::email_senders::get(&mut read, ctx, id.as_str()).await?;
    read.commit().await?;
    if row.status != "pending" {
        return Err(DomainError::Conflict {
            field: Some("status".into()),
            message: "the sender is verified already".into(),
        });
    }
    mail_link(state, ctx, &row).await?;
    Ok(row)
}

async fn mail_link(state: &AppState, ctx: &TenantCtx, row: &SenderRow) -> Result<()> {
    let url = format!(
        "{}/verify-sender/{}",
        state.config.public_url.trim_end_matches('/'),
        links::sign(&state.link_key, PURPOSE, &row.id)
    );
    let key = format!("sender/{}/{}", row.id, uuid::Uuid::now_v7().simple());
    let email = Email {
        from: state.config.system_email_from.clone(),
        to: row.email.clone(),
        reply_to: None,
        subject: "Confirm your sender address".into(),
        html: format!(
            "<p>Someone asked to send email from {} through Switchboard.</p>\
             <p><a href=\"{url}\">Confirm this address</a></p><p>Not you? Ignore this email.</p>",
            row.email
        ),
        text: format!(
            "Someone asked to send email from {} through Switchboard.\n\nConfirm this address: {url}\n\nNot you? Ignore this email.\n",
            row.email
        ),
        headers: Vec::new(),
        key: key.clone(),
    };
    let provider = super::for_tenant(state, ctx).await?;
    provider
        .send(std::slice::from_ref(&email), &key)
        .await
        .map_err(|e| DomainError::Io(std::io::Error::other(e)))?;
    Ok(())
}

/// Follows a verification link; `NotFound` for a forged token or a sender since removed.
#[tracing::instrument(skip_all)]
pub async fn verify(state: &AppState, token: &str) -> Result<SenderRow> {
    let id = links::verify(&state.link_key, PURPOSE, token).ok_or(DomainError::NotFound)?;
    let mut read = state.store.system_read().await?;
    let tenant = store::email_senders::tenant_of(&mut read, id).await?;
    read.commit().await?;
    let ctx = TenantCtx::new(
        TenantId::from_raw(tenant.ok_or(DomainError::NotFound)?),
        Actor::System,
        None,
    );
    let mut tx = state.store.tenant_tx(&ctx).await?;
    if store::email_senders::verify(&mut tx, &ctx, id).await? {
        audit::record(&mut tx, &ctx, "email_sender.verified", "email_sender", id).await?;
    }
    let row = store::email_senders::get(&mut tx, &ctx, id).await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn list(
    state: &AppState,
    ctx: &TenantCtx,
    after: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<SenderRow>> {
    let mut read = state.store.tenant_read(ctx).await?;
    let rows = store::email_senders::page(&mut read, ctx, after, page_limit(limit)).await?;
    read.commit().await?;
    Ok(rows)
}

pub async fn delete(state: &AppState, ctx: &TenantCtx, id: &EmailSenderId) -> Result<()> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    if !store::email_senders::delete(&mut tx, ctx, id.as_str()).await? {
        return Err(DomainError::NotFound);
    }
    audit::record(&mut tx, ctx, "email_sender.deleted", "email_sender", id.as_str()).await?;
    tx.commit().await?;
    Ok(())
}
