//! Any JSON webhook into the CRM by a configured mapping of JSON pointers: customer fields
//! (upserted by email, phone or external id), tags and a tracked event.

use switchboard_sdk::host::{self, CustomerInput};
use switchboard_sdk::serde_json::{json, Map, Value};
use switchboard_sdk::{plugin, Plugin, Request, Response, Result};

struct WebhookTransform;

/// A pointer (starting with `/`) into the body, or a literal.
fn resolve<'a>(body: &'a Value, spec: &'a str) -> Option<&'a Value> {
    if spec.starts_with('/') {
        body.pointer(spec)
    } else {
        None
    }
}

fn string_at(body: &Value, pointer: Option<&Value>) -> Option<String> {
    let value = body.pointer(pointer?.as_str()?)?;
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn tags(body: &Value, specs: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for spec in specs.iter().filter_map(Value::as_str) {
        match resolve(body, spec) {
            Some(Value::String(s)) => out.push(s.clone()),
            Some(Value::Array(items)) => out.extend(items.iter().filter_map(Value::as_str).map(str::to_owned)),
            Some(_) => {}
            None if !spec.starts_with('/') => out.push(spec.to_owned()),
            None => {}
        }
    }
    out
}

fn token_ok(config: &Value, request: &Request) -> bool {
    match config["token"].as_str() {
        None => true,
        Some(token) => {
            let given = request.header("x-webhook-token").unwrap_or_default().as_bytes();
            // Length and every byte compared, whatever the first difference.
            given.len() == token.len() && given.iter().zip(token.as_bytes()).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
        }
    }
}

impl Plugin for WebhookTransform {
    fn transform(request: Request) -> Result<Response> {
        let config: Value = host::config()?;
        if !token_ok(&config, &request) {
            return Ok(Response::json(401, &json!({"error": "invalid token"})));
        }
        let Ok(body) = request.json() else {
            return Ok(Response::json(400, &json!({"error": "the body must be JSON"})));
        };
        let fields = &config["customer"];
        let input = CustomerInput {
            email: string_at(&body, fields.get("email")),
            phone: string_at(&body, fields.get("phone")),
            first_name: string_at(&body, fields.get("first_name")),
            last_name: string_at(&body, fields.get("last_name")),
            external_id: string_at(&body, fields.get("external_id")),
            custom_fields: None,
            tags: tags(&body, config["tags"].as_array().map(Vec::as_slice).unwrap_or_default()),
        };
        if input.email.is_none() && input.phone.is_none() && input.external_id.is_none() {
            return Ok(Response::json(422, &json!({"error": "no email, phone or external id at the mapped paths"})));
        }
        let customer = host::customers::upsert(&input)?;
        let event = &config["event"];
        let tracked = match event["type"].as_str() {
            Some(spec) => {
                let kind = match resolve(&body, spec) {
                    Some(v) => v.as_str().unwrap_or_default().to_owned(),
                    None => spec.to_owned(),
                };
                let mut props = Map::new();
                for (name, pointer) in event["properties"].as_object().into_iter().flatten() {
                    if let Some(v) = pointer.as_str().and_then(|p| body.pointer(p)) {
                        props.insert(name.clone(), v.clone());
                    }
                }
                host::customers::track(&customer.id, &kind, &Value::Object(props))?;
                Some(kind)
            }
            None => None,
        };
        Ok(Response::json(200, &json!({"customer": customer.id, "event": tracked})))
    }
}

plugin!(WebhookTransform);
