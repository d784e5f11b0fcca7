//! What the Shopify and WooCommerce plugins share: the base64 HMAC-SHA256 signature both
//! shops put on their webhooks, replay protection by delivery id in the installation's KV
//! store (remembered for 72 hours), and writing shop customers and orders into the CRM.
//!
//! The signature is checked inside the plugin, with `hmac`/`sha2` compiled to wasm, rather than
//! by a host function: the secret is the installation's own config, the check is a few
//! microseconds of fuel, and the host interface stays free of shop-specific calls.

pub mod abandoned;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use switchboard_sdk::host::{self, Customer, CustomerInput};
use switchboard_sdk::serde_json::{json, Value};
use switchboard_sdk::{Request, Response, Result};

/// How long a webhook delivery id is remembered: past the longest retry window of the stores
/// (Shopify retries for 48 hours, WooCommerce for less).
const DELIVERY_MEMORY: Duration = Duration::from_secs(72 * 3600);

/// Whether `signature` (base64) is the HMAC-SHA256 of `body` under `secret`, in constant time.
pub fn signed(secret: &str, body: &[u8], signature: Option<&str>) -> bool {
    let Some(expected) = signature.and_then(|s| STANDARD.decode(s.trim()).ok()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The tag buyers get.
pub const BUYER_TAG: &str = "buyer";

/// A shop customer, as far as the CRM cares.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ShopCustomer {
    /// `shopify:123`, `woocommerce:45`.
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// An order or checkout.
#[derive(Debug, Clone, PartialEq)]
pub struct ShopOrder {
    pub id: String,
    pub customer: ShopCustomer,
    /// Minor units (cents).
    pub total_minor: i64,
    pub currency: String,
}

/// What a webhook means for the CRM.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Customer(ShopCustomer),
    /// Records `event` (`order.created`, `order.paid`, `checkout.created`) on the buyer;
    /// `buyer` also tags them [`BUYER_TAG`].
    Order { event: &'static str, order: ShopOrder, buyer: bool },
    /// Records `checkout.created` on the buyer and schedules the abandoned-cart check
    /// ([`abandoned`]) `check_after_ms` later.
    Checkout { checkout: ShopOrder, check_after_ms: u64 },
    /// A topic the plugin does not handle: acknowledged, nothing written.
    Ignore,
}

/// `"12.34"` → 1234. Shops send decimal strings with at most two decimals.
pub fn minor_units(amount: &str) -> Option<i64> {
    let (whole, frac) = amount.trim().split_once('.').unwrap_or((amount.trim(), ""));
    if frac.len() > 2 || whole.is_empty() {
        return None;
    }
    let frac = format!("{frac:0<2}");
    Some(whole.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?)
}

/// A non-empty string field.
pub fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn upsert(c: &ShopCustomer) -> Result<Customer> {
    let input = CustomerInput {
        email: c.email.clone(),
        phone: c.phone.clone(),
        first_name: c.first_name.clone(),
        last_name: c.last_name.clone(),
        external_id: c.external_id.clone(),
        custom_fields: None,
        tags: Vec::new(),
    };
    match host::customers::upsert(&input) {
        Ok(c) => Ok(c),
        // Shops accept phone numbers the CRM does not: keep the customer, drop the number.
        Err(_) if input.phone.is_some() => {
            host::log::warn("phone number refused by the CRM; customer saved without it");
            let input = CustomerInput { phone: None, ..input };
            Ok(host::customers::upsert(&input)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// An order's or checkout's properties on the customer's events.
fn props(order: &ShopOrder) -> Value {
    json!({"order_id": order.id, "total_minor": order.total_minor, "currency": order.currency})
}

/// A returning buyer is upserted unchanged, which writes nothing; the order is then the run's
/// first write. What it reads (open checkouts, the buyer's tags) it reads before that write, and
/// a tag the buyer has already is not written again: the host serialises a run's writes from its
/// first one to its end (on SQLite), so a run that reads and writes little after it first
/// writes lets the next webhook's writes start sooner.
fn apply(action: &Action) -> Result<Value> {
    match action {
        Action::Customer(c) => Ok(json!({"customer": upsert(c)?.id})),
        Action::Order { event, order, buyer } => {
            let customer = upsert(&order.customer)?;
            let id = &customer.id;
            let open = if *buyer { abandoned::open_checkouts(id)? } else { Vec::new() };
            host::customers::track(id, event, &props(order))?;
            if *buyer {
                if !customer.tags.iter().any(|t| t == BUYER_TAG) {
                    host::customers::tag(id, &[BUYER_TAG], &[])?;
                }
                abandoned::close(&open)?;
            }
            Ok(json!({"customer": id, "event": event}))
        }
        Action::Checkout {
            checkout,
            check_after_ms,
        } => {
            let id = upsert(&checkout.customer)?.id;
            host::customers::track(&id, "checkout.created", &props(checkout))?;
            abandoned::schedule_check(&id, checkout, *check_after_ms)?;
            Ok(json!({"customer": id, "event": "checkout.created"}))
        }
        Action::Ignore => Ok(json!({"ignored": true})),
    }
}

/// The whole webhook flow: 401 unless signed with `secret` (nothing written), 200 without
/// effect for a delivery id seen before, else the action's effects.
pub fn handle(
    request: &Request,
    secret: &str,
    signature_header: &str,
    delivery_header: &str,
    action: impl FnOnce(&Value) -> Action,
) -> Result<Response> {
    if !signed(secret, &request.body, request.header(signature_header)) {
        host::log::warn("webhook refused: bad signature");
        return Ok(Response::json(401, &json!({"error": "invalid signature"})));
    }
    let delivery = request.header(delivery_header).map(|d| format!("delivery:{d}"));
    if let Some(key) = &delivery {
        if host::kv::get(key)?.is_some() {
            return Ok(Response::json(200, &json!({"duplicate": true})));
        }
    }
    let payload = request.json()?;
    let done = apply(&action(&payload))?;
    if let Some(key) = &delivery {
        // Forgotten after the retry window, so seen ids do not pile up in the KV quota. When
        // it cannot be remembered (the quota is full), the delivery still succeeds: it was
        // applied, and an error would make the shop send it again and apply it twice for sure.
        if let Err(error) = host::kv::put_expiring(key, b"1", DELIVERY_MEMORY) {
            host::log::warn(&format!("{key} applied but not remembered: {error}"));
        }
    }
    Ok(Response::json(200, &done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_become_minor_units() {
        assert_eq!(minor_units("12.34"), Some(1234));
        assert_eq!(minor_units("12.3"), Some(1230));
        assert_eq!(minor_units("12"), Some(1200));
        assert_eq!(minor_units("1.234"), None);
        assert_eq!(minor_units("abc"), None);
    }

    #[test]
    fn signatures_are_base64_hmac_sha256() {
        // Computed with: printf 'body' | openssl dgst -sha256 -hmac secret -binary | base64
        let good = "3EaYNVf+oSe0OvchRn65s/3iM4/j4U9RlSqoR4wT01U=";
        assert!(signed("secret", b"body", Some(good)));
        assert!(!signed("other", b"body", Some(good)));
        assert!(!signed("secret", b"body", Some("AAAA")));
        assert!(!signed("secret", b"body", None));
    }
}
