//! Resend over its HTTP API: `POST /emails` for one email, `POST /emails/batch` for up to 100,
//! `Authorization: Bearer`, and an `Idempotency-Key` that makes a retried request a no-op at
//! Resend (it answers the first response again for 24 hours). Overload (429), server errors
//! (5xx), timeouts and a concurrent request with the same key are retried here with backoff;
//! if they persist the caller gets [`SendError::Unavailable`] and retries later with the same key.

use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Email, EmailProvider, SendError};
use crate::jobs::backoff;

/// Resend takes at most this many emails per batch request.
pub const MAX_BATCH: usize = 100;
/// Requests in flight at once, to hide the round trip; an account's rate limit answers 429,
/// which is retried with backoff like any.
const CONCURRENCY: usize = 8;

pub struct Resend {
    http: reqwest::Client,
    base_url: String,
    api_key: SecretString,
    /// Attempts per request before giving up for now.
    attempts: u32,
    backoff_base_ms: u64,
}

impl Resend {
    pub fn new(http: reqwest::Client, base_url: &str, api_key: SecretString) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            attempts: 4,
            backoff_base_ms: 200,
        }
    }

    /// Changes the retry policy (tests use short delays).
    pub fn with_retries(mut self, attempts: u32, backoff_base_ms: u64) -> Self {
        self.attempts = attempts.max(1);
        self.backoff_base_ms = backoff_base_ms;
        self
    }

    async fn post(&self, path: &str, body: &Value, key: &str) -> Result<Value, SendError> {
        let url = format!("{}{path}", self.base_url);
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            if attempt > 1 {
                tokio::time::sleep(Duration::from_millis(backoff::delay_ms(
                    self.backoff_base_ms,
                    attempt - 1,
                )))
                .await;
            }
            let sent = self
                .http
                .post(&url)
                .bearer_auth(self.api_key.expose_secret())
                .header("Idempotency-Key", key)
                .json(body)
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    last = format!("{path}: {e}");
                    tracing::warn!(attempt, error = %e, "resend request failed");
                    continue;
                }
            };
            let status = response.status();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                return Ok(answer);
            }
            let name = answer["name"].as_str().unwrap_or_default();
            let message = answer["message"].as_str().unwrap_or_default();
            last = format!("{path}: {status} {name}: {message}");
            let transient = status == StatusCode::TOO_MANY_REQUESTS
                || status.is_server_error()
                || name == "concurrent_idempotent_requests";
            if !transient {
                return Err(SendError::Refused(last));
            }
            tracing::warn!(attempt, %status, name, "resend asked us to retry");
        }
        Err(SendError::Unavailable(last))
    }

    async fn send_all(&self, emails: &[Email], batch_key: &str) -> Result<Vec<String>, SendError> {
        match emails {
            [] => Ok(Vec::new()),
            [one] => {
                let answer = self
                    .post(
                        "/emails",
                        &serde_json::to_value(Wire::from(one)).unwrap_or_default(),
                        &one.key,
                    )
                    .await?;
                let sent: SentOne =
                    serde_json::from_value(answer).map_err(|e| SendError::Unavailable(e.to_string()))?;
                Ok(vec![sent.id])
            }
            many => {
                let mut ids = Vec::with_capacity(many.len());
                for (n, chunk) in many.chunks(MAX_BATCH).enumerate() {
                    let wire: Vec<Wire> = chunk.iter().map(Wire::from).collect();
                    let key = if many.len() > MAX_BATCH {
                        format!("{batch_key}/{n}")
                    } else {
                        batch_key.to_owned()
                    };
                    let answer = self
                        .post("/emails/batch", &serde_json::to_value(wire).unwrap_or_default(), &key)
                        .await?;
                    let sent: SentBatch =
                        serde_json::from_value(answer).map_err(|e| SendError::Unavailable(e.to_string()))?;
                    if sent.data.len() != chunk.len() {
                        return Err(SendError::Refused(format!(
                            "resend answered {} ids for {} emails",
                            sent.data.len(),
                            chunk.len()
                        )));
                    }
                    ids.extend(sent.data.into_iter().map(|s| s.id));
                }
                Ok(ids)
            }
        }
    }
}

impl EmailProvider for Resend {
    fn name(&self) -> &'static str {
        "resend"
    }

    fn concurrency(&self) -> usize {
        CONCURRENCY
    }

    fn send<'a>(&'a self, emails: &'a [Email], batch_key: &'a str) -> BoxFuture<'a, Result<Vec<String>, SendError>> {
        self.send_all(emails, batch_key).boxed()
    }
}

/// One email as Resend's API takes it.
#[derive(Serialize)]
struct Wire<'a> {
    from: &'a str,
    to: [&'a str; 1],
    subject: &'a str,
    html: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<&'a str>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    headers: serde_json::Map<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<Tag<'a>>,
}

/// Resend's tag: a name and a value of ASCII letters, digits, `_` and `-`, at most 256 each.
#[derive(Serialize)]
struct Tag<'a> {
    name: &'static str,
    value: &'a str,
}

/// The tag naming our message: Resend's webhook events carry the email's tags, so an event
/// finds its message by primary key instead of through an index of Resend's random ids (one
/// random index write per email, which halved a 1,000,000-recipient send on SQLite).
pub const MESSAGE_TAG: &str = "message_id";

/// Our message's id as a tag, when the key is one Resend accepts as a tag value (a test send's
/// key is not: it has no message to find).
fn message_tag(key: &str) -> Option<Tag<'_>> {
    let valid =
        !key.is_empty() && key.len() <= 256 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    valid.then_some(Tag {
        name: MESSAGE_TAG,
        value: key,
    })
}

impl<'a> From<&'a Email> for Wire<'a> {
    fn from(e: &'a Email) -> Self {
        Self {
            from: &e.from,
            to: [&e.to],
            subject: &e.subject,
            html: &e.html,
            text: &e.text,
            reply_to: e.reply_to.as_deref(),
            headers: e
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
            tags: message_tag(&e.key).into_iter().collect(),
        }
    }
}

#[derive(Deserialize)]
struct SentOne {
    id: String,
}

#[derive(Deserialize)]
struct SentBatch {
    data: Vec<SentOne>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_id_is_a_tag_and_a_test_send_key_is_not() {
        assert_eq!(
            message_tag("msg_0193c1d2e3f4a5b6c7d8e9f0a1b2c3d4").map(|t| t.value),
            Some("msg_0193c1d2e3f4a5b6c7d8e9f0a1b2c3d4")
        );
        assert!(message_tag("test/ecm_1/0193c1d2").is_none());
        assert!(message_tag("").is_none());
        assert!(message_tag(&"a".repeat(257)).is_none());
    }
}
