//! The HTTP client for tenant-chosen URLs: no redirects, no proxy, bounded time, a bounded read
//! of the reply, and every address checked by the policy (literal hosts here, names in the
//! resolver).

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::Url;

use super::policy::Policy;
use super::resolver::{GuardedResolver, Refused};
use super::target;

/// How much of a reply is read (and kept for the delivery log); the rest is never received.
pub const MAX_REPLY_BYTES: usize = 4096;

/// What the other side answered.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// The first [`MAX_REPLY_BYTES`] of the body, lossily decoded.
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    #[error("refused: {0}")]
    Refused(String),
    #[error("timed out after {0} ms")]
    Timeout(u128),
    #[error("{0}")]
    Failed(String),
}

pub struct Egress {
    client: reqwest::Client,
    policy: Arc<Policy>,
    timeout: Duration,
}

/// A client builder whose every connection is checked by `policy` (names in the resolver; the
/// caller checks IP-literal hosts with [`target::literal_ip`]): no redirects, no proxy, bounded
/// time.
pub fn guarded(policy: &Arc<Policy>, timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { policy: policy.clone() }))
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(60))
}

impl Egress {
    pub fn new(policy: Policy, timeout: Duration) -> Result<Self, reqwest::Error> {
        let policy = Arc::new(policy);
        let client = guarded(&policy, timeout)
            .user_agent(concat!("Switchboard-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            policy,
            timeout,
        })
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The shared policy, for other clients that call tenant-chosen URLs.
    pub fn shared_policy(&self) -> &Arc<Policy> {
        &self.policy
    }

    /// POSTs `body` to `url`. Any answer is a [`Reply`], whatever its status; an error means no
    /// answer arrived (refused, unreachable, timed out).
    pub async fn post(&self, url: &Url, headers: HeaderMap, body: Bytes) -> Result<Reply, EgressError> {
        if let Some(ip) = target::literal_ip(url) {
            if !self.policy.permits(ip) {
                return Err(EgressError::Refused(format!(
                    "{ip} is not an address webhooks may reach"
                )));
            }
        }
        let exchange = async {
            let mut resp = self.client.post(url.clone()).headers(headers).body(body).send().await?;
            let status = resp.status().as_u16();
            let mut kept = Vec::new();
            while kept.len() < MAX_REPLY_BYTES {
                match resp.chunk().await? {
                    Some(chunk) => kept.extend_from_slice(&chunk[..chunk.len().min(MAX_REPLY_BYTES - kept.len())]),
                    None => break,
                }
            }
            // Dropping `resp` here closes a connection whose body was not read to the end.
            Ok::<_, reqwest::Error>(Reply {
                status,
                body: String::from_utf8_lossy(&kept).into_owned(),
            })
        };
        // reqwest's own timeout covers the body too; this one also bounds the resolver.
        match tokio::time::timeout(self.timeout, exchange).await {
            Err(_) => Err(EgressError::Timeout(self.timeout.as_millis())),
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(classify(e, self.timeout)),
        }
    }
}

fn classify(e: reqwest::Error, timeout: Duration) -> EgressError {
    if e.is_timeout() {
        return EgressError::Timeout(timeout.as_millis());
    }
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<Refused>() {
            return EgressError::Refused(refused.to_string());
        }
        source = s.source();
    }
    // The chain names the cause (connection refused, TLS…); the URL is in the delivery already.
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    EgressError::Failed(text)
}
