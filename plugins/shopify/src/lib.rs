//! Shopify webhooks into the CRM. One route for every topic (`X-Shopify-Topic`), verified with
//! `X-Shopify-Hmac-Sha256` over the raw body, deduplicated by `X-Shopify-Webhook-Id`. A
//! checkout schedules the abandoned-cart check (`abandoned_after_secs` later); unless the
//! customer ordered meanwhile it records `checkout.abandoned` and tags and emails as configured.

use switchboard_commerce::abandoned::{self, Then};
use switchboard_commerce::{handle, minor_units, text, Action, ShopCustomer, ShopOrder};
use switchboard_sdk::serde_json::Value;
use switchboard_sdk::{host, plugin, Event, Plugin, Request, Response, Result};

struct Shopify;

#[derive(switchboard_sdk::serde::Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Config {
    webhook_secret: String,
    abandoned_after_secs: Option<f64>,
    abandoned_tag: Option<String>,
    abandoned_email_subject: Option<String>,
    abandoned_email_body: Option<String>,
}

/// An hour, Shopify's own default for abandoned-checkout emails.
const DEFAULT_ABANDONED_AFTER_SECS: f64 = 3600.0;

impl Config {
    fn check_after_ms(&self) -> u64 {
        (self.abandoned_after_secs.unwrap_or(DEFAULT_ABANDONED_AFTER_SECS).max(0.0) * 1000.0) as u64
    }

    fn then(&self) -> Then {
        Then {
            tag: self.abandoned_tag.clone(),
            email: self.abandoned_email_subject.clone().zip(self.abandoned_email_body.clone()),
        }
    }
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

fn action(config: &Config, topic: &str, payload: &Value) -> Action {
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
        "checkouts/create" => Action::Checkout {
            checkout: order(payload),
            check_after_ms: config.check_after_ms(),
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
            |payload| action(&config, &topic, payload),
        )
    }

    fn on_event(event: Event) -> Result<Value> {
        match event.event_type.as_str() {
            abandoned::CHECK => abandoned::check(&event.data, &host::config::<Config>()?.then()),
            _ => Ok(Value::Null),
        }
    }
}

plugin!(Shopify);
