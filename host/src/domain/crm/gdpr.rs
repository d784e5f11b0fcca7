//! Data-subject rights: export everything stored about a person, and erase it.

use serde_json::json;

use super::customers::{self, Customer};
use super::events::Event;
use crate::domain::{audit, outbox, Result};
use crate::ids::CustomerId;
use crate::state::AppState;
use crate::store::email_messages::TimelineMessage;
use crate::store::{self, audit::AuditRow};
use crate::tenancy::TenantCtx;

pub struct DataExport {
    pub customer: Customer,
    pub events: Vec<Event>,
    /// Domain events that carried the person's data.
    pub domain_events: Vec<store::outbox::DomainEventRow>,
    /// Changes made to the person's record, and by whom.
    pub audit: Vec<AuditRow>,
    /// Emails sent to the person, newest first.
    pub messages: Vec<TimelineMessage>,
}

pub async fn export(state: &AppState, ctx: &TenantCtx, id: &CustomerId) -> Result<DataExport> {
    let mut read = state.store.tenant_read(ctx).await?;
    let customer = customers::load(&mut read, ctx, id).await?;
    let events = store::customer_events::all_of_customer(&mut read, ctx, id.as_str()).await?;
    let domain_events = store::outbox::mentioning(&mut read, ctx, id.as_str()).await?;
    let audit = store::audit::about(&mut read, ctx, id.as_str()).await?;
    let messages = store::email_messages::of_customer(&mut read, ctx, id.as_str(), None, i64::MAX).await?;
    read.commit().await?;
    Ok(DataExport {
        customer,
        events: events.into_iter().map(Event::from).collect(),
        domain_events,
        audit,
        messages,
    })
}

/// Erases the person: their record, field values, tags, consent and events are deleted, and
/// outbox payloads that carried their data are replaced by `{id, erased}`. Audit entries stay
/// (they hold ids, not personal data), as does any suppression of their address, which exists
/// to honour their opt-out. Email messages stay for their campaigns' stats with the address
/// replaced, and unsent ones are skipped.
pub async fn erase(state: &AppState, ctx: &TenantCtx, id: &CustomerId) -> Result<()> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    store::customers::get(&mut tx, ctx, id).await?;
    let mentions: Vec<String> = store::outbox::mentioning(&mut tx, ctx, id.as_str())
        .await?
        .into_iter()
        .map(|e| e.id)
        .collect();
    let redacted = json!({"id": id, "erased": true}).to_string();
    store::outbox::redact(&mut tx, ctx, &mentions, &redacted).await?;
    store::email_messages::anonymise_customer(&mut tx, ctx, id.as_str()).await?;
    store::customers::delete(&mut tx, ctx, id).await?;
    outbox::emit(
        &mut tx,
        ctx,
        outbox::CUSTOMER_DELETED,
        &json!({"id": id, "erased": true}),
    )
    .await?;
    audit::record(&mut tx, ctx, "customer.erased", "customer", id.as_str()).await?;
    tx.commit().await?;
    Ok(())
}
