//! The abandoned-cart follow-up: a checkout schedules a check through the host's durable queue;
//! when it comes due and the customer has ordered nothing since the checkout, the checkout is
//! abandoned: a `checkout.abandoned` event is recorded on the customer, who is tagged and
//! emailed when the installation's config says so.
//!
//! Orders are noted per customer in the installation's KV store (`ordered:<customer id>` = the
//! time of the latest order), which is what the check compares with the checkout's time.

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

fn ordered_key(customer_id: &str) -> String {
    format!("ordered:{customer_id}")
}

/// Notes that `customer_id` ordered now.
pub fn ordered(customer_id: &str) -> Result<()> {
    host::kv::put(&ordered_key(customer_id), host::now_ms().to_string().as_bytes())
}

/// Schedules the check of `checkout` by `customer_id`, `after_ms` from now.
pub fn schedule_check(customer_id: &str, checkout: &ShopOrder, after_ms: u64) -> Result<()> {
    let data = json!({
        "customer_id": customer_id,
        "checkout_id": checkout.id,
        "total_minor": checkout.total_minor,
        "currency": checkout.currency,
        "created_ms": host::now_ms(),
    });
    host::schedule(after_ms, CHECK, &data)
}

/// The check, when it comes due: `{"abandoned": false}` when the customer ordered since the
/// checkout, else the abandonment is recorded and acted on.
pub fn check(data: &Value, then: &Then) -> Result<Value> {
    let customer = data["customer_id"].as_str().unwrap_or_default();
    let created = data["created_ms"].as_i64().unwrap_or(0);
    let last_order = host::kv::get(&ordered_key(customer))?
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|v| v.parse::<i64>().ok());
    if last_order.is_some_and(|t| t >= created) {
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
    Ok(json!({"abandoned": true, "email": emailed}))
}
