//! Standard Webhooks signing of one request: `webhook-id` (the event id, the same on every
//! attempt, so receivers dedupe on it), `webhook-timestamp` (this attempt's time, so a receiver's
//! tolerance window holds on late retries) and `webhook-signature`, one `v1,` signature per
//! secret still in force: the current one, and during a rotation's grace period the previous.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};

use crate::signatures::standard_webhooks::{sign, Secret};

/// The secrets that sign an endpoint's requests now, newest first.
#[derive(Debug, Clone)]
pub struct Keys(pub Vec<Secret>);

impl Keys {
    /// The current secret, plus the previous one while `now < previous_until`. Unreadable
    /// secrets (never written by us) are skipped.
    pub fn of(current: &str, previous: Option<&str>, previous_until: Option<i64>, now_ms: i64) -> Self {
        let previous = previous.filter(|_| previous_until.is_some_and(|until| now_ms < until));
        Keys(
            std::iter::once(current)
                .chain(previous)
                .filter_map(|s| Secret::parse(s).ok())
                .collect(),
        )
    }

    /// The signature header's value: space-separated `v1,<base64>`.
    pub fn signature(&self, msg_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
        let signatures: Vec<String> = self.0.iter().map(|s| sign(s, msg_id, timestamp_secs, body)).collect();
        signatures.join(" ")
    }

    /// The headers of one attempt, after the endpoint's own (which cannot override these).
    pub fn headers(&self, custom: &HeaderMap, msg_id: &str, timestamp_secs: i64, body: &[u8]) -> HeaderMap {
        let mut headers = custom.clone();
        let mut set = |name: &'static str, value: String| {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), v);
            }
        };
        set("webhook-id", msg_id.to_owned());
        set("webhook-timestamp", timestamp_secs.to_string());
        set("webhook-signature", self.signature(msg_id, timestamp_secs, body));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers
    }
}
