//! The abandoned-cart follow-up: a checkout schedules a check through the host's durable queue;
//! when it comes due and the customer has ordered nothing since the checkout, the checkout is
//! abandoned: a `checkout.abandoned` event is recorded on the customer, who is tagged and
//! emailed when the installation's config says so.
//!
//! An open checkout is a key in the installation's KV store (`checkout:<customer id>:<checkout
//! id>`) from the checkout until the customer orders (which closes all of theirs) or the check
//! comes due, so the store holds only checkouts still open, however many customers order.

use std::time::Duration;

use switchboard_sdk::host::{self, Channel, Message};
use switchboard_sdk::serde_json::{json, Value};
use switchboard_sdk::Result;

use crate::ShopOrder;

/// The follow-up event type the check arrives as.
pub const CHECK: &str = "checkout.check";

/// What to do with an abandoned checkout, besides recording `checkout.abandoned`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Then {
    pub tag: Option<String>,
    /// Subject and text of an email to the customer.
    pub email: Option<(String, String)>,
}

/// How long past its check an open checkout is kept, should the check come late (the server
/// was down): later than that it is taken as not abandoned, rather than mailed about weeks on.
const LATE_CHECK_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);

fn open_prefix(customer_id: &str) -> String {
    format!("checkout:{customer_id}:")
}

fn open_key(customer_id: &str, checkout_id: &str) -> String {
    format!("{}{checkout_id}", open_prefix(customer_id))
}

/// The keys of `customer_id`'s open checkouts. Read apart from [`close`], so a caller can read
/// before it first writes: on SQLite a read in a run that wrote waits in the one writer's turn.
pub fn open_checkouts(customer_id: &str) -> Result<Vec<String>> {
    host::kv::list(&open_prefix(customer_id), None, 1000)
}

/// Closes `open` (from [`open_checkouts`]): the customer ordered, so none of them is abandoned.
pub fn close(open: &[String]) -> Result<()> {
    for key in open {
        host::kv::delete(key)?;
    }
    Ok(())
}

/// Opens `checkout` by `customer_id` and schedules its check `after_ms` from now.
pub fn schedule_check(customer_id: &str, checkout: &ShopOrder, after_ms: u64) -> Result<()> {
    let ttl = (Duration::from_millis(after_ms) + LATE_CHECK_GRACE).min(host::kv::MAX_TTL);
    host::kv::put_expiring(&open_key(customer_id, &checkout.id), b"1", ttl)?;
    let data = json!({
        "customer_id": customer_id,
        "checkout_id": checkout.id,
        "total_minor": checkout.total_minor,
        "currency": checkout.currency,
    });
    host::schedule(after_ms, CHECK, &data)
}

/// The check, when it comes due: `{"abandoned": false}` when the customer ordered since the
/// checkout, else the abandonment is recorded and acted on, and the checkout closed.
pub fn check(data: &Value, then: &Then) -> Result<Value> {
    let customer = data["customer_id"].as_str().unwrap_or_default();
    let open = open_key(customer, data["checkout_id"].as_str().unwrap_or_default());
    if host::kv::get(&open)?.is_none() {
        return Ok(json!({"abandoned": false}));
    }
    let props = json!({
        "checkout_id": data["checkout_id"],
        "total_minor": data["total_minor"],
        "currency": data["currency"],
    });
    host::customers::track(customer, "checkout.abandoned", &props)?;
    if let Some(tag) = &then.tag {
        host::customers::tag(customer, &[tag.as_str()], &[])?;
    }
    let mut emailed = Value::Null;
    if let Some((subject, body)) = &then.email {
        let message = Message {
            channel: Channel::Email,
            customer_id: customer.to_owned(),
            subject: Some(subject.clone()),
            body: body.clone(),
        };
        emailed = match host::send_message(&message) {
            Ok(id) => json!(id),
            Err(e) if e.is_refusal() => {
                host::log::info(&format!("abandoned-cart email to {customer} not sent: {e}"));
                Value::Null
            }
            Err(e) => return Err(e),
        };
    }
    // Closed last, so a check that failed half way finds it open when retried.
    host::kv::delete(&open)?;
    Ok(json!({"abandoned": true, "email": emailed}))
}
