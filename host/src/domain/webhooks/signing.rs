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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signatures::standard_webhooks::{verify, Headers};

    #[test]
    fn the_previous_secret_signs_only_within_its_grace_period() {
        let (new, old) = (Secret::generate(), Secret::generate());
        let (new_s, old_s) = (new.to_whsec(), old.to_whsec());
        let during = Keys::of(&new_s, Some(&old_s), Some(2_000), 1_000);
        let after = Keys::of(&new_s, Some(&old_s), Some(2_000), 2_000);
        assert_eq!(during.0.len(), 2);
        assert_eq!(after.0.len(), 1);

        let body = br#"{"type":"customer.created"}"#;
        let headers = during.headers(&HeaderMap::new(), "dev_1", 1_700_000_000, body);
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let signed = Headers::from_lookup(get).unwrap();
        assert_eq!(signed.id, "dev_1");
        assert_eq!(get("content-type"), Some("application/json"));
        assert!(
            verify(std::slice::from_ref(&old), &signed, body, 1_700_000_000).is_ok(),
            "the old key verifies"
        );
        assert!(
            verify(std::slice::from_ref(&new), &signed, body, 1_700_000_000).is_ok(),
            "the new key verifies"
        );
        assert!(
            verify(&[new], &signed, b"{}", 1_700_000_000).is_err(),
            "another body does not"
        );
    }

    #[test]
    fn custom_headers_cannot_replace_the_signature() {
        let keys = Keys::of(&Secret::generate().to_whsec(), None, None, 0);
        let mut custom = HeaderMap::new();
        custom.insert("webhook-signature", HeaderValue::from_static("v1,forged"));
        custom.insert("x-team", HeaderValue::from_static("crm"));
        let headers = keys.headers(&custom, "dev_1", 1, b"{}");
        assert_ne!(headers["webhook-signature"], "v1,forged");
        assert_eq!(headers["x-team"], "crm");
    }
}
