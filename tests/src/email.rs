//! Email helpers: verified senders, and the links inside the emails a test server sent.

use serde_json::{json, Value};

use crate::client::Session;
use crate::fakes::resend::FakeResend;
use crate::server::TestServer;

/// The last email to `to`: from the fake Resend when given, else from the tenant's dev outbox.
/// Answers `(html, text)`.
pub async fn last_email_to(session: &Session, fake: Option<&FakeResend>, to: &str) -> (String, String) {
    let found: Option<Value> = match fake {
        Some(fake) => fake
            .emails()
            .into_iter()
            .rev()
            .map(|(e, _)| e)
            .find(|e| e["to"] == json!([to])),
        None => {
            let outbox = session.get("/v1/outbox?limit=500").await;
            assert_eq!(outbox.status, 200, "{}", outbox.body);
            outbox.body["data"]
                .as_array()
                .expect("outbox entries")
                .iter()
                .rev()
                .find(|e| e["to"] == to)
                .cloned()
        }
    };
    let email = found.unwrap_or_else(|| panic!("no email to {to}"));
    let field = |name: &str| email[name].as_str().unwrap_or_default().to_owned();
    (field("html"), field("text"))
}

/// The first URL in `text` containing `marker`.
pub fn link_in(text: &str, marker: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .find(|w| w.contains(marker))
        .unwrap_or_else(|| panic!("no link with {marker} in {text}"))
        .replace("&amp;", "&")
}

/// Adds `address` as a sender of the session's tenant and follows the verification link mailed
/// to it (found as [`last_email_to`] finds it), on the server the session talks to (which may
/// not listen at its public URL).
pub async fn verified_sender(session: &Session, fake: Option<&FakeResend>, address: &str) {
    let r = session.post("/v1/email-senders", json!({ "email": address })).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "pending");
    let (_, text) = last_email_to(session, fake, address).await;
    let link = link_in(&text, "/verify-sender/");
    let path = &link[link.find("/verify-sender/").expect("a verification path")..];
    let page = session.get(path).await;
    assert_eq!(page.status, 200, "{link}: {}", page.body);
}

/// Creates a customer with `email`, tagged `news`; answers its id.
pub async fn news_reader(session: &Session, email: &str) -> String {
    let r = session
        .post("/v1/customers", json!({"email": email, "tags": ["news"]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().expect("customer id").to_owned()
}

/// A draft from `news@acme.test` to the `news` tag with `html` as its body.
pub fn news_draft(html: &str) -> Value {
    json!({"name": "News", "from_email": "news@acme.test", "subject": "News", "html": html,
           "audience": {"tags": ["news"]}})
}

/// Creates [`news_draft`], sends it and waits until it is sent; answers the campaign.
pub async fn send_news(server: &TestServer, session: &Session, html: &str) -> Value {
    let r = session.post("/v1/email-campaigns", news_draft(html)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().expect("campaign id").to_owned();
    let sent = session.post(&format!("/v1/email-campaigns/{id}/send"), json!({})).await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    server
        .until_jobs(|| async {
            let r = session.get(&format!("/v1/email-campaigns/{id}")).await;
            (r.body["status"] == "sent").then_some(r.body)
        })
        .await
}
