//! A welcome series: a customer created with the configured tag gets a templated email at once
//! and, when `sms_body` is set, an SMS `sms_delay_secs` later (a follow-up scheduled through the
//! host's durable queue). The host refuses either send when the customer unsubscribed from that
//! channel or the address is suppressed: the series skips it and says so in its log.

use switchboard_sdk::host::{self, Channel, Customer, Message};
use switchboard_sdk::serde_json::{json, Value};
use switchboard_sdk::{plugin, Event, Plugin, Result};

/// The follow-up this plugin schedules for itself.
const SMS_DUE: &str = "welcome.sms";
const DEFAULT_DELAY_SECS: f64 = 86_400.0;

#[derive(switchboard_sdk::serde::Deserialize)]
#[serde(crate = "switchboard_sdk::serde")]
struct Config {
    tag: String,
    email_subject: String,
    email_body: String,
    sms_body: Option<String>,
    sms_delay_secs: Option<f64>,
}

/// Replaces `{{ name }}` placeholders with the customer's fields (empty when unset or unknown).
fn render(template: &str, c: &Customer) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else { break };
        out.push_str(&rest[..start]);
        let field = match rest[start + 2..start + len].trim() {
            "first_name" => c.first_name.as_deref(),
            "last_name" => c.last_name.as_deref(),
            "email" => c.email.as_deref(),
            "phone" => c.phone.as_deref(),
            _ => None,
        };
        out.push_str(field.unwrap_or_default());
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// Sends, or logs why the host refused (consent, suppression, no address): a refusal is an
/// answer, not a failure to retry.
fn send(message: Message) -> Result<Value> {
    let channel = match message.channel {
        Channel::Email => "email",
        Channel::Sms => "sms",
    };
    match host::send_message(&message) {
        Ok(id) => Ok(json!({channel: id})),
        Err(e) if e.is_refusal() => {
            host::log::info(&format!("{channel} to {} not sent: {e}", message.customer_id));
            Ok(json!({channel: null, "skipped": e.to_string()}))
        }
        Err(e) => Err(e),
    }
}

fn welcome(config: &Config, customer: &Customer) -> Result<Value> {
    let email = send(Message {
        channel: Channel::Email,
        customer_id: customer.id.clone(),
        subject: Some(render(&config.email_subject, customer)),
        body: render(&config.email_body, customer),
    })?;
    if config.sms_body.is_some() {
        let secs = config.sms_delay_secs.unwrap_or(DEFAULT_DELAY_SECS).max(0.0);
        host::schedule((secs * 1000.0) as u64, SMS_DUE, &json!({"customer_id": customer.id}))?;
    }
    Ok(email)
}

struct WelcomeSeries;

impl Plugin for WelcomeSeries {
    fn on_event(event: Event) -> Result<Value> {
        let config: Config = host::config()?;
        let id = event.data["id"]
            .as_str()
            .or_else(|| event.data["customer_id"].as_str())
            .unwrap_or_default();
        // Read now rather than trusting the event: a customer deleted meanwhile gets nothing.
        let Some(customer) = host::customers::get(id)? else {
            return Ok(json!({"skipped": "no such customer"}));
        };
        match event.event_type.as_str() {
            "customer.created" if customer.tags.contains(&config.tag) => welcome(&config, &customer),
            SMS_DUE => match &config.sms_body {
                Some(body) => send(Message {
                    channel: Channel::Sms,
                    customer_id: customer.id.clone(),
                    subject: None,
                    body: render(body, &customer),
                }),
                None => Ok(Value::Null),
            },
            _ => Ok(Value::Null),
        }
    }
}

plugin!(WelcomeSeries);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_take_the_customers_fields() {
        let c = Customer {
            id: "cus_1".into(),
            email: Some("ann@example.com".into()),
            phone: None,
            first_name: Some("Ann".into()),
            last_name: None,
            external_id: None,
            tags: Vec::new(),
            custom_fields: "{}".into(),
        };
        assert_eq!(render("Hi {{ first_name }}{{last_name}}, {{email}}!", &c), "Hi Ann, ann@example.com!");
        assert_eq!(render("{{nope}} {{phone}} {{ unclosed", &c), "  {{ unclosed");
    }
}
