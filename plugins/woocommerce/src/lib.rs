//! WooCommerce webhooks into the CRM: `X-WC-Webhook-Topic` names the topic, the body is signed
//! with `X-WC-Webhook-Signature` (base64 HMAC-SHA256), `X-WC-Webhook-Delivery-ID` dedupes.

use switchboard_commerce::{handle, minor_units, text, Action, ShopCustomer, ShopOrder};
use switchboard_sdk::serde_json::Value;
use switchboard_sdk::{host, plugin, Plugin, Request, Response, Result};

struct WooCommerce;

#[derive(switchboard_sdk::serde::Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Config {
    webhook_secret: String,
}

/// A customer payload, or an order's billing address with its customer id.
fn customer(id: &Value, person: &Value, billing: &Value) -> ShopCustomer {
    let pick = |field: &str| text(&person[field]).or_else(|| text(&billing[field]));
    ShopCustomer {
        external_id: id.as_u64().filter(|i| *i > 0).map(|i| format!("woocommerce:{i}")),
        email: pick("email"),
        phone: text(&billing["phone"]),
        first_name: pick("first_name"),
        last_name: pick("last_name"),
    }
}

fn order(o: &Value) -> ShopOrder {
    ShopOrder {
        id: o["id"].as_u64().map(|i| i.to_string()).unwrap_or_default(),
        customer: customer(&o["customer_id"], &Value::Null, &o["billing"]),
        total_minor: o["total"].as_str().and_then(minor_units).unwrap_or(0),
        currency: text(&o["currency"]).unwrap_or_default(),
    }
}

fn action(topic: &str, p: &Value) -> Action {
    match topic {
        "customer.created" | "customer.updated" => Action::Customer(customer(&p["id"], p, &p["billing"])),
        "order.created" => Action::Order {
            event: "order.created",
            order: order(p),
            buyer: true,
        },
        // WooCommerce has no paid topic: an update to a paid status is the payment.
        "order.updated" if matches!(p["status"].as_str(), Some("processing" | "completed")) => Action::Order {
            event: "order.paid",
            order: order(p),
            buyer: true,
        },
        _ => Action::Ignore,
    }
}

impl Plugin for WooCommerce {
    fn transform(request: Request) -> Result<Response> {
        let config: Config = host::config()?;
        let topic = request.header("x-wc-webhook-topic").unwrap_or_default().to_owned();
        handle(
            &request,
            &config.webhook_secret,
            "x-wc-webhook-signature",
            "x-wc-webhook-delivery-id",
            |payload| action(&topic, payload),
        )
    }
}

plugin!(WooCommerce);
