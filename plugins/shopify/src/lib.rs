//! Shopify webhooks into the CRM. One route for every topic (`X-Shopify-Topic`), verified with
//! `X-Shopify-Hmac-Sha256` over the raw body, deduplicated by `X-Shopify-Webhook-Id`.

use switchboard_commerce::{handle, minor_units, text, Action, ShopCustomer, ShopOrder};
use switchboard_sdk::serde_json::Value;
use switchboard_sdk::{host, plugin, Plugin, Request, Response, Result};

struct Shopify;

#[derive(switchboard_sdk::serde::Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Config {
    webhook_secret: String,
}

fn customer(c: &Value) -> ShopCustomer {
    ShopCustomer {
        external_id: c["id"].as_u64().map(|id| format!("shopify:{id}")),
        email: text(&c["email"]),
        phone: text(&c["phone"]),
        first_name: text(&c["first_name"]),
        last_name: text(&c["last_name"]),
    }
}

fn order(o: &Value) -> ShopOrder {
    let mut buyer = customer(&o["customer"]);
    if buyer.email.is_none() {
        buyer.email = text(&o["email"]);
    }
    ShopOrder {
        id: o["id"].as_u64().map(|i| i.to_string()).unwrap_or_default(),
        customer: buyer,
        total_minor: o["total_price"].as_str().and_then(minor_units).unwrap_or(0),
        currency: text(&o["currency"]).unwrap_or_default(),
    }
}

fn action(topic: &str, payload: &Value) -> Action {
    match topic {
        "customers/create" | "customers/update" => Action::Customer(customer(payload)),
        "orders/create" => Action::Order {
            event: "order.created",
            order: order(payload),
            buyer: true,
        },
        "orders/paid" => Action::Order {
            event: "order.paid",
            order: order(payload),
            buyer: true,
        },
        "checkouts/create" => Action::Order {
            event: "checkout.created",
            order: order(payload),
            buyer: false,
        },
        _ => Action::Ignore,
    }
}

impl Plugin for Shopify {
    fn transform(request: Request) -> Result<Response> {
        let config: Config = host::config()?;
        let topic = request.header("x-shopify-topic").unwrap_or_default().to_owned();
        handle(
            &request,
            &config.webhook_secret,
            "x-shopify-hmac-sha256",
            "x-shopify-webhook-id",
            |payload| action(&topic, payload),
        )
    }
}

plugin!(Shopify);
