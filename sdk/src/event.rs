//! A domain event as a plugin sees it.

use serde_json::Value;

/// `customer.created`, `customer.updated`, `customer.tagged`, `event.tracked`, … or a type the
/// plugin scheduled itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub event_type: String,
    /// The event's payload (for customer events, the customer).
    pub data: Value,
    pub occurred_at_ms: i64,
}
