//! The glue [`plugin!`](crate::plugin) expands to: converts the generated export types to the
//! SDK's and back. Not for direct use.

pub use crate::bindings::exports::switchboard::plugin::handler::{Guest, PluginMetadata};
pub use crate::bindings::switchboard::plugin::types::{
    Event as RawEvent, HttpRequest as RawRequest, HttpResponse as RawResponse,
};
use crate::{Event, Plugin, Request};

pub fn metadata(name: &str, version: &str) -> PluginMetadata {
    PluginMetadata {
        name: name.to_owned(),
        version: version.to_owned(),
    }
}

pub fn on_event<P: Plugin>(raw: RawEvent) -> Result<String, String> {
    let data = serde_json::from_str(&raw.data).map_err(|e| format!("event data is not JSON: {e}"))?;
    let event = Event {
        id: raw.id,
        event_type: raw.event_type,
        data,
        occurred_at_ms: raw.occurred_at_ms,
    };
    match P::on_event(event) {
        Ok(serde_json::Value::Null) => Ok(String::new()),
        Ok(output) => Ok(output.to_string()),
        Err(e) => Err(e.0),
    }
}

pub fn transform<P: Plugin>(raw: RawRequest) -> Result<RawResponse, String> {
    let request = Request {
        method: raw.method,
        route: raw.route,
        headers: raw.headers,
        body: raw.body,
    };
    P::transform(request)
        .map(|r| RawResponse {
            status: r.status,
            headers: r.headers,
            body: r.body,
        })
        .map_err(|e| e.0)
}
