//! The host API: everything a plugin can reach. Each call is scoped to the installing tenant;
//! calls outside the granted capabilities fail with a `denied` [`Error`](crate::Error).

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::bindings::switchboard::plugin::host as raw;
pub use crate::bindings::switchboard::plugin::types::{
    Channel, Customer, CustomerInput, HttpResponse, Message, OutgoingRequest,
};
use crate::Result;

/// Milliseconds since the Unix epoch: the only clock a plugin has.
pub fn now_ms() -> i64 {
    raw::now_ms()
}

/// The installation's configuration (secrets included), parsed into `T`.
pub fn config<T: DeserializeOwned>() -> Result<T> {
    Ok(serde_json::from_str(&raw::config())?)
}

/// Delivers an event of `event_type` with `data` to this installation's `on_event` after
/// `delay_ms`, through the durable job queue (retried like any event). It is queued when the
/// handler returns successfully, and dropped when the handler fails. The follow-up's
/// [`Event::id`](crate::Event::id) is the same on every attempt.
pub fn schedule(delay_ms: u64, event_type: &str, data: &Value) -> Result<()> {
    Ok(raw::schedule(delay_ms, event_type, &data.to_string())?)
}

/// The installation's log (`GET /v1/installations/{id}/logs`).
pub mod log {
    use crate::bindings::switchboard::plugin::host as raw;
    use crate::bindings::switchboard::plugin::types::Level;

    pub fn debug(message: &str) {
        raw::log(Level::Debug, message)
    }
    pub fn info(message: &str) {
        raw::log(Level::Info, message)
    }
    pub fn warn(message: &str) {
        raw::log(Level::Warn, message)
    }
    pub fn error(message: &str) {
        raw::log(Level::Error, message)
    }
}

/// Capability `kv`: the installation's own key-value store, within a size quota.
pub mod kv {
    use std::time::Duration;

    use crate::bindings::switchboard::plugin::host as raw;
    use crate::Result;

    pub fn get(key: &str) -> Result<Option<Vec<u8>>> {
        Ok(raw::kv_get(key)?)
    }
    pub fn put(key: &str, value: &[u8]) -> Result<()> {
        Ok(raw::kv_put(key, value)?)
    }
    /// The longest [`put_expiring`] keeps an entry.
    pub const MAX_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

    /// Like [`put`], but the entry is gone `ttl` from now (at most [`MAX_TTL`]): for things
    /// worth remembering only for a while, such as webhook delivery ids seen within a retry
    /// window. Expired entries count nothing against the quota.
    pub fn put_expiring(key: &str, value: &[u8], ttl: Duration) -> Result<()> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        Ok(raw::kv_put_expiring(key, value, ttl_ms)?)
    }
    pub fn delete(key: &str) -> Result<()> {
        Ok(raw::kv_delete(key)?)
    }
    /// Keys starting with `prefix`, in order, after `after`, at most `limit` (≤ 1000).
    pub fn list(prefix: &str, after: Option<&str>, limit: u32) -> Result<Vec<String>> {
        Ok(raw::kv_list(prefix, after, limit)?)
    }
}

/// Capabilities `customers:read` (get, search) and `customers:write` (upsert, tag, track).
pub mod customers {
    use serde_json::Value;

    use super::{Customer, CustomerInput};
    use crate::bindings::switchboard::plugin::host as raw;
    use crate::Result;

    pub fn get(id: &str) -> Result<Option<Customer>> {
        Ok(raw::customer_get(id)?)
    }
    /// Word-prefix search over name, email and phone; at most `limit` (≤ 100).
    pub fn search(query: &str, limit: u32) -> Result<Vec<Customer>> {
        Ok(raw::customer_search(query, limit)?)
    }
    /// Merges into the customer matched by email, phone or external id, or creates one.
    pub fn upsert(input: &CustomerInput) -> Result<Customer> {
        Ok(raw::customer_upsert(input)?)
    }
    pub fn tag(customer_id: &str, add: &[&str], remove: &[&str]) -> Result<()> {
        let own = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Ok(raw::tag(customer_id, &own(add), &own(remove))?)
    }
    /// Records a tracked event with JSON-object `properties` on the customer's timeline.
    pub fn track(customer_id: &str, event_type: &str, properties: &Value) -> Result<()> {
        Ok(raw::track_event(customer_id, event_type, &properties.to_string())?)
    }
}

/// Capability `messages:send`: an email (subject required) or SMS to a customer, through the
/// tenant's email provider (SMS: the dev outbox, until an SMS provider exists). Consent is
/// checked first: a customer who unsubscribed from the channel, or whose address is suppressed,
/// is refused with a `denied` error ([`Error::is_refusal`](crate::Error::is_refusal)). Sends
/// are keyed by the event being handled, so a retried event does not send twice. Returns the
/// message id.
pub fn send_message(message: &Message) -> Result<String> {
    Ok(raw::send_message(message)?)
}

/// Capability `http`: outbound HTTP to the hosts the manifest allow-lists, through the host's
/// client (timeout and response size caps apply).
pub fn http_fetch(request: &OutgoingRequest) -> Result<HttpResponse> {
    Ok(raw::http_fetch(request)?)
}
