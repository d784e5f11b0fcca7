//! Email providers: the real Resend client against a fake Resend server, SMTP against a fake
//! SMTP server, the dev outbox, and the tenant's own provider account.

use std::time::Duration;

use serde_json::json;
use switchboard::domain::email::for_tenant;
use switchboard::ids::{PrefixedId, TenantId};
use switchboard::providers::email::resend::Resend;
use switchboard::providers::email::smtp::Smtp;
use switchboard::providers::email::{Email, EmailProvider, SendError};
use switchboard::tenancy::{Actor, TenantCtx};
use switchboard_tests::fakes::resend::{FakeResend, Fault};
use switchboard_tests::fakes::smtp::FakeSmtp;
use switchboard_tests::TestServer;

fn email(to: &str, key: &str) -> Email {
    Email {
        from: "Acme <news@acme.test>".into(),
        to: to.into(),
        reply_to: Some("help@acme.test".into()),
        subject: "Hello".into(),
        html: "<p>Hi</p>".into(),
        text: "Hi".into(),
        headers: vec![("List-Unsubscribe".into(), "<https://x.test/u/1>".into())],
        key: key.into(),
    }
}

fn client(fake: &FakeResend, timeout_ms: u64) -> Resend {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(timeout_ms))
        .build()
        .unwrap();
    Resend::new(http, &fake.base_url, fake.api_key.clone().into()).with_retries(4, 5)
}

#[tokio::test]
async fn one_email_goes_to_the_single_endpoint_with_its_key_and_headers() {
    let fake = FakeResend::start().await;
    let ids = client(&fake, 5_000)
        .send(&[email("ann@x.test", "msg_1")], "batch_1")
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    let sent = fake.emails();
    assert_eq!(sent.len(), 1);
    let (wire, key) = &sent[0];
    assert_eq!(key.as_deref(), Some("msg_1"));
    assert_eq!(wire["to"], json!(["ann@x.test"]));
    assert_eq!(wire["from"], "Acme <news@acme.test>");
    assert_eq!(wire["reply_to"], "help@acme.test");
    assert_eq!(wire["headers"]["List-Unsubscribe"], "<https://x.test/u/1>");
    assert_eq!(
        (wire["html"].as_str(), wire["text"].as_str()),
        (Some("<p>Hi</p>"), Some("Hi"))
    );
}

#[tokio::test]
async fn several_emails_go_as_one_batch_request() {
    let fake = FakeResend::start().await;
    let emails: Vec<Email> = (0..3)
        .map(|i| email(&format!("p{i}@x.test"), &format!("m{i}")))
        .collect();
    let ids = client(&fake, 5_000).send(&emails, "batch_7").await.unwrap();
    assert_eq!(ids.len(), 3);
    assert_eq!(fake.requests(), 1);
    assert!(fake.emails().iter().all(|(_, key)| key.as_deref() == Some("batch_7")));
    assert_eq!(fake.deliveries().len(), 3);
}

#[tokio::test]
async fn overload_and_server_errors_are_retried_and_nothing_goes_twice() {
    let fake = FakeResend::start().await;
    fake.fail_next([Fault::Status(429), Fault::Status(500), Fault::Status(503)]);
    let emails = [email("a@x.test", "m1"), email("b@x.test", "m2")];
    client(&fake, 5_000).send(&emails, "b1").await.unwrap();
    assert_eq!(fake.requests(), 4);
    assert_eq!(fake.deliveries().values().copied().collect::<Vec<_>>(), [1, 1]);
}

#[tokio::test]
async fn a_timeout_after_the_provider_sent_is_retried_with_the_same_key_and_not_sent_again() {
    let fake = FakeResend::start().await;
    fake.fail_next([Fault::HangAfterSending, Fault::Hang]);
    let emails = [email("a@x.test", "m1"), email("b@x.test", "m2")];
    let ids = client(&fake, 300).send(&emails, "b1").await.unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(fake.requests(), 3);
    let deliveries = fake.deliveries();
    assert_eq!((deliveries["a@x.test"], deliveries["b@x.test"]), (1, 1));
}

#[tokio::test]
async fn persistent_failures_are_unavailable_and_refusals_are_final() {
    let fake = FakeResend::start().await;
    fake.fail_next([Fault::Status(500); 4]);
    let err = client(&fake, 5_000)
        .send(&[email("a@x.test", "m1")], "b")
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Unavailable(_)), "{err}");
    assert!(fake.deliveries().is_empty());

    let err = client(&fake, 5_000)
        .send(&[email("not-an-address", "m2")], "b")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SendError::Refused(m) if m.contains("validation_error")),
        "{err}"
    );

    let wrong_key = Resend::new(reqwest::Client::new(), &fake.base_url, "re_wrong".to_owned().into());
    let err = wrong_key.send(&[email("a@x.test", "m3")], "b").await.unwrap_err();
    assert!(matches!(&err, SendError::Refused(m) if m.contains("403")), "{err}");
    // The same key with another body is refused by Resend, and is not retried.
    client(&fake, 5_000).send(&[email("c@x.test", "k")], "b").await.unwrap();
    let err = client(&fake, 5_000)
        .send(&[email("d@x.test", "k")], "b")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SendError::Refused(m) if m.contains("invalid_idempotent_request")),
        "{err}"
    );
}

#[tokio::test]
async fn smtp_delivers_each_email_with_its_headers_and_message_id() {
    let fake = FakeSmtp::start().await;
    let smtp = Smtp::from_url(&fake.url).unwrap();
    let ids = smtp
        .send(&[email("ann@x.test", "msg_a"), email("bob@x.test", "msg_b")], "b")
        .await
        .unwrap();
    assert_eq!(ids, ["<msg_a@switchboard>", "<msg_b@switchboard>"]);
    let got = fake.received();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].from.as_str(), got[0].to.as_slice()),
        ("news@acme.test", &["ann@x.test".to_owned()][..])
    );
    let data = &got[1].data;
    for needle in [
        "Subject: Hello",
        "Message-ID: <msg_b@switchboard>",
        "List-Unsubscribe: <https://x.test/u/1>",
        "Reply-To: help@acme.test",
        "text/html",
    ] {
        assert!(data.contains(needle), "{needle} missing from {data}");
    }
}

#[tokio::test]
async fn without_a_provider_email_lands_in_the_tenants_outbox_once() {
    let server = TestServer::start().await;
    let owner = server.signup("Outbox").await;
    let other = server.signup("Other").await;
    let ctx = TenantCtx::new(TenantId::parse(&owner.tenant_id).unwrap(), Actor::System, None);
    let provider = for_tenant(&server.state, &ctx).await.unwrap();
    assert_eq!(provider.name(), "outbox");
    let batch = [email("ann@x.test", "m1"), email("bob@x.test", "m2")];
    let first = provider.send(&batch, "b").await.unwrap();
    // A retried batch records nothing new and answers the same ids.
    assert_eq!(provider.send(&batch, "b").await.unwrap(), first);
    let listed = owner.get("/v1/outbox").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let data = listed.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["to"], "ann@x.test");
    assert_eq!(data[0]["headers"]["List-Unsubscribe"], "<https://x.test/u/1>");
    assert_eq!(other.get("/v1/outbox").await.body["data"], json!([]));
}

#[tokio::test]
async fn a_tenant_sends_through_its_own_resend_account_whose_key_is_never_shown() {
    let fake = FakeResend::start().await;
    // The fake is on loopback, which the SSRF guard refuses unless the operator allows it.
    let server = TestServer::start_with(|c| {
        c.webhooks_allow_http = true;
        c.webhooks_allow_nets = "127.0.0.1/32".parse().unwrap();
    })
    .await;
    let owner = server.signup("Own account").await;
    let other = server.signup("Platform").await;
    assert_eq!(owner.get("/v1/email-provider").await.body["provider"], "outbox");
    let put = |body| owner.call(reqwest::Method::PUT, "/v1/email-provider", Some(body));
    let set = put(json!({"provider": "resend", "api_key": fake.api_key, "base_url": fake.base_url})).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert!(!set.body.to_string().contains(&fake.api_key), "{}", set.body);
    assert_eq!(set.body["own_account"], true);
    assert_eq!(
        set.body["api_key_hint"],
        format!("…{}", &fake.api_key[fake.api_key.len() - 4..])
    );
    let shown = owner.get("/v1/email-provider").await;
    assert!(!shown.body.to_string().contains(&fake.api_key));
    assert_eq!(other.get("/v1/email-provider").await.body["own_account"], false);

    let ctx = TenantCtx::new(TenantId::parse(&owner.tenant_id).unwrap(), Actor::System, None);
    let provider = for_tenant(&server.state, &ctx).await.unwrap();
    assert_eq!(provider.name(), "resend");
    provider.send(&[email("ann@x.test", "m1")], "b").await.unwrap();
    assert_eq!(fake.deliveries()["ann@x.test"], 1);

    put(json!({"provider": "mailgun", "api_key": "k"}))
        .await
        .assert_problem(422);
    put(json!({"provider": "resend", "api_key": "k", "base_url": "ftp://x"}))
        .await
        .assert_problem(422);
    other.delete("/v1/email-provider").await.assert_problem(404);
    assert_eq!(owner.delete("/v1/email-provider").await.status, 204);
    assert_eq!(owner.get("/v1/email-provider").await.body["provider"], "outbox");
}

#[tokio::test]
async fn a_tenants_resend_base_url_goes_through_the_ssrf_guard() {
    let fake = FakeResend::start().await;
    let server = TestServer::start_with(|c| c.webhooks_allow_http = true).await;
    let owner = server.signup("Guarded").await;
    let put = |base_url: String| {
        let body = json!({"provider": "resend", "api_key": fake.api_key, "base_url": base_url});
        owner.call(reqwest::Method::PUT, "/v1/email-provider", Some(body))
    };
    for private in [
        fake.base_url.clone(),
        "http://169.254.169.254/latest".to_owned(),
        "http://[::1]:9".to_owned(),
        "http://10.0.0.1".to_owned(),
    ] {
        let r = put(private.clone()).await;
        r.assert_problem(422);
        assert_eq!(r.error_fields(), ["base_url"], "{private}");
    }
    // A name is checked where it resolves: `localhost` is saved, and refused at connection time.
    let port = fake.base_url.rsplit(':').next().unwrap();
    let set = put(format!("http://localhost:{port}")).await;
    assert_eq!(set.status, 200, "{}", set.body);
    let ctx = TenantCtx::new(TenantId::parse(&owner.tenant_id).unwrap(), Actor::System, None);
    let provider = for_tenant(&server.state, &ctx).await.unwrap();
    let sent = provider.send(&[email("ann@x.test", "m1")], "b").await;
    assert!(matches!(sent, Err(SendError::Unavailable(_))), "{sent:?}");
    assert_eq!(fake.requests(), 0, "nothing reached the loopback server");
}
