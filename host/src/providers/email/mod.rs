//! Sending email: a provider trait with Resend (HTTP), SMTP and the dev outbox behind it.
//!
//! - [`resend`]: Resend's HTTP API, single and batch endpoints, idempotency keys, retries.
//! - [`smtp`]: any SMTP server, through lettre, for self-hosters.
//! - [`outbox`]: records what would have been sent, when nothing is configured.

pub mod outbox;
pub mod resend;
pub mod smtp;

use futures_util::future::BoxFuture;

/// One email to one recipient, rendered and ready to hand over.
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    /// `Name <address>` or a bare address.
    pub from: String,
    pub to: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Extra headers (`List-Unsubscribe`, …).
    pub headers: Vec<(String, String)>,
    /// Our id for this message: the provider's idempotency key when it goes alone, the
    /// `Message-ID` over SMTP, the outbox's dedup key.
    pub key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The provider refused the request; sending it again will not help.
    #[error("the email provider refused the request: {0}")]
    Refused(String),
    /// The provider could not be reached or was overloaded; the same request may be retried
    /// later (with the same idempotency key, so nothing goes twice).
    #[error("the email provider is unavailable: {0}")]
    Unavailable(String),
}

/// Where a tenant's email goes.
pub trait EmailProvider: Send + Sync {
    /// Short name for logs and the API (`resend`, `smtp`, `outbox`).
    fn name(&self) -> &'static str;

    /// How many [`EmailProvider::send`] calls may run side by side: one unless the provider
    /// handles concurrent requests well (a local database write or a mail server's
    /// connection limit does not).
    fn concurrency(&self) -> usize {
        1
    }

    /// Hands `emails` over as one unit, identified by `batch_key` (stable across retries), and
    /// answers the provider's id for each, in order.
    fn send<'a>(&'a self, emails: &'a [Email], batch_key: &'a str) -> BoxFuture<'a, Result<Vec<String>, SendError>>;
}
