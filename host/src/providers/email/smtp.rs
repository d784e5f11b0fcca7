//! Any SMTP server, through lettre (tokio + rustls), for self-hosters: `smtp://host:port`
//! (plain, or `?tls=required` for STARTTLS), `smtps://host` (implicit TLS), with
//! `user:password@` when the server wants it. SMTP has no idempotency keys: each message
//! carries our key as its `Message-ID`, so a rare duplicate after a crash is recognisable.

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Email, EmailProvider, SendError};

pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl Smtp {
    pub fn from_url(url: &str) -> Result<Self, SendError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| SendError::Refused(format!("SMTP url: {e}")))?
            .build();
        Ok(Self { transport })
    }

    async fn send_all(&self, emails: &[Email]) -> Result<Vec<String>, SendError> {
        let mut ids = Vec::with_capacity(emails.len());
        for email in emails {
            let id = format!("<{}@switchboard>", email.key);
            self.transport.send(message(email, &id)?).await.map_err(|e| {
                if e.is_permanent() {
                    SendError::Refused(e.to_string())
                } else {
                    SendError::Unavailable(e.to_string())
                }
            })?;
            ids.push(id);
        }
        Ok(ids)
    }
}

fn message(email: &Email, id: &str) -> Result<Message, SendError> {
    let refused = |what: &str, e: &dyn std::fmt::Display| SendError::Refused(format!("{what}: {e}"));
    let mailbox = |what: &str, raw: &str| raw.parse::<Mailbox>().map_err(|e| refused(what, &e));
    let mut builder = Message::builder()
        .from(mailbox("from", &email.from)?)
        .to(mailbox("to", &email.to)?)
        .subject(&email.subject)
        .message_id(Some(id.to_owned()));
    if let Some(reply_to) = &email.reply_to {
        builder = builder.reply_to(mailbox("reply_to", reply_to)?);
    }
    for (name, value) in &email.headers {
        let name = HeaderName::new_from_ascii(name.clone()).map_err(|e| refused("header", &e))?;
        builder = builder.raw_header(HeaderValue::new(name, value.clone()));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|e| refused("message", &e))
}

impl EmailProvider for Smtp {
    fn name(&self) -> &'static str {
        "smtp"
    }

    fn send<'a>(&'a self, emails: &'a [Email], _batch_key: &'a str) -> BoxFuture<'a, Result<Vec<String>, SendError>> {
        self.send_all(emails).boxed()
    }
}
