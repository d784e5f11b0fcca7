//! The body of every webhook request: the domain event's envelope
//! `{id, type, tenant_id, occurred_at, data}`, serialised once when the delivery is created so
//! every attempt sends (and signs) the same bytes.

use serde_json::{json, Value};

use crate::store::outbox::DomainEventRow;

/// RFC 3339 for database milliseconds.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The envelope of an event with its data already as JSON text.
pub fn of_row(row: &DomainEventRow) -> String {
    let data: Value = serde_json::from_str(&row.data).unwrap_or(Value::Null);
    build(&row.id, &row.event_type, &row.tenant_id, row.occurred_at, data)
}

pub fn build(id: &str, event_type: &str, tenant_id: &str, occurred_at: i64, data: Value) -> String {
    json!({
        "id": id,
        "type": event_type,
        "tenant_id": tenant_id,
        "occurred_at": rfc3339(occurred_at),
        "data": data,
    })
    .to_string()
}
