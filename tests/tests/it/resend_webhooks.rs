//! Resend's webhooks, signed as Resend signs them (Standard Webhooks, `svix-*` headers, with the
//! independent `standardwebhooks` crate): verified, idempotent, out-of-order safe; hard bounces
//! and complaints suppress the address and unsubscribe the customer.

use serde_json::{json, Value};
use switchboard_tests::email::{news_reader, send_news, verified_sender};
use switchboard_tests::fakes::resend::FakeResend;
use switchboard_tests::{Reply, TestServer};

const PLATFORM_SECRET: &str = "whsec_cGxhdGZvcm0tc2VjcmV0LTAxMjM0NTY3ODk=";
const TENANT_SECRET: &str = "whsec_dGVuYW50LXNlY3JldC0wMTIzNDU2Nzg5YWI=";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Posts `event` to `path` signed with `secret` at `timestamp`, as delivery `svix_id`.
async fn post(server: &TestServer, path: &str, secret: &str, svix_id: &str, timestamp: i64, event: &Value) -> Reply {
    let body = event.to_string();
    let signature = standardwebhooks::Webhook::new(secret)
        .unwrap()
        .sign(svix_id, timestamp, body.as_bytes())
        .unwrap();
    let req = server
        .http
        .post(server.url(path))
        .header("content-type", "application/json")
        .header("svix-id", svix_id)
        .header("svix-timestamp", timestamp.to_string())
        .header("svix-signature", signature)
        .body(body);
    server.anonymous().send(req).await
}

/// What Resend's events say of a sent email: its id and its tags (`{"message_id": "msg_…"}`).
type Sent = (String, Value);

fn sent(fake: &FakeResend, to: &str) -> Sent {
    (fake.id_of(to), fake.tags_of(to))
}

fn event(kind: &str, (email_id, tags): &Sent, extra: Value) -> Value {
    let mut data = json!({
        "email_id": email_id,
        "tags": tags,
        "created_at": "2026-11-28T10:00:00.000Z",
        "from": "news@acme.test",
        "to": ["someone@x.test"],
        "subject": "Sale",
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        data[k] = v;
    }
    json!({"type": kind, "created_at": "2026-11-28T10:00:01.000Z", "data": data})
}

#[tokio::test]
async fn signed_events_move_messages_forward_once_and_opt_out_bounces_and_complaints() {
    let fake = FakeResend::start().await;
    let (url, key) = (fake.base_url.clone(), fake.api_key.clone());
    let server = TestServer::start_with(move |c| {
        c.resend_base_url = url;
        c.resend_api_key = Some(key.into());
        c.resend_webhook_secret = Some(PLATFORM_SECRET.to_owned().into());
        c.webhooks_allow_http = true;
        c.webhooks_allow_nets = "127.0.0.1/32".parse().unwrap();
    })
    .await;
    let owner = server.signup("Webhooks").await;
    verified_sender(&owner, Some(&fake), "news@acme.test").await;
    let ann = news_reader(&owner, "ann@x.test").await;
    let bob = news_reader(&owner, "bob@x.test").await;
    let cat = news_reader(&owner, "cat@x.test").await;
    let campaign = send_news(&server, &owner, "<p>News</p>").await;
    let id = campaign["id"].as_str().unwrap();
    let (ann_id, bob_id, cat_id) = (
        sent(&fake, "ann@x.test"),
        sent(&fake, "bob@x.test"),
        sent(&fake, "cat@x.test"),
    );
    assert!(
        bob_id.1["message_id"].as_str().is_some_and(|m| m.starts_with("msg_")),
        "each email carries our message id as a tag: {}",
        bob_id.1
    );
    let platform = "/v1/webhooks/resend";
    let ok = |r: &Reply, outcome: &str| {
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["outcome"], outcome, "{}", r.body);
    };

    let bounce = json!({"bounce": {"type": "Permanent", "subType": "General", "message": "no such user"}});
    let click = json!({"click": {"link": "https://shop.example/", "ipAddress": "1.2.3.4",
                                 "timestamp": "2026-11-28T10:00:00Z", "userAgent": "x"}});
    let delivered = event("email.delivered", &bob_id, json!({}));
    let not_ours = (
        "4ef9a417-02e9-4d39-ad75-9611e0fcc33c".to_owned(),
        json!({"category": "x"}),
    );
    // Bob's email as an event of one sent before messages were tagged: no way to find it.
    let untagged = (bob_id.0.clone(), Value::Null);
    let steps = [
        // Out of order: Ann's bounce arrives before her (late) delivery, which changes nothing.
        ("msg_a1", event("email.bounced", &ann_id, bounce), "applied"),
        ("msg_a2", event("email.delivered", &ann_id, json!({})), "applied"),
        // Bob: delivered, then Resend retries the delivery (same svix-id); opened, clicked.
        ("msg_b1", delivered.clone(), "applied"),
        ("msg_b1", delivered.clone(), "duplicate"),
        ("msg_b2", event("email.opened", &bob_id, json!({})), "applied"),
        ("msg_b3", event("email.clicked", &bob_id, click), "applied"),
        // Cat: delivery delayed, then delivered, then a complaint.
        ("msg_c1", event("email.delivery_delayed", &cat_id, json!({})), "applied"),
        ("msg_c2", event("email.delivered", &cat_id, json!({})), "applied"),
        ("msg_c3", event("email.complained", &cat_id, json!({})), "applied"),
        // Not ours, or not tracked: acknowledged, ignored.
        ("msg_x1", event("email.delivered", &not_ours, json!({})), "ignored"),
        ("msg_x3", event("email.opened", &untagged, json!({})), "ignored"),
        ("msg_x2", event("contact.created", &bob_id, json!({})), "ignored"),
    ];
    for (svix_id, body, outcome) in steps {
        ok(
            &post(&server, platform, PLATFORM_SECRET, svix_id, now(), &body).await,
            outcome,
        );
    }
    // Forged, stale, unsigned.
    let r = post(&server, platform, TENANT_SECRET, "msg_f1", now(), &delivered).await;
    r.assert_problem(401);
    post(&server, platform, PLATFORM_SECRET, "msg_f2", now() - 600, &delivered)
        .await
        .assert_problem(401);
    let unsigned = server.anonymous().post(platform, delivered.clone()).await;
    unsigned.assert_problem(422);

    let stats = owner.get(&format!("/v1/email-campaigns/{id}/stats")).await;
    let s = &stats.body;
    assert_eq!(
        (&s["sent"], &s["delivered"], &s["bounced"], &s["complained"]),
        (&json!(3), &json!(2), &json!(1), &json!(1)),
        "{s}"
    );
    assert_eq!(s["opened"], json!({"total": 1, "unique": 1}), "{s}");
    assert_eq!(s["clicked"], json!({"total": 1, "unique": 1}), "{s}");
    assert_eq!(s["rates"]["bounce"], json!(1.0 / 3.0), "{s}");
    assert_eq!(s["rates"]["open"], 0.5, "{s}");

    // Domain events: Bob's delivery once (the retry changed nothing), Ann's bounce as hard,
    // and no delivery for Ann.
    let events = owner.get("/v1/domain-events?type=message.delivered").await.body["data"].clone();
    let delivered_to: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["customer_id"].as_str().unwrap())
        .collect();
    assert_eq!(delivered_to, [bob.as_str(), cat.as_str()], "{events}");
    let bounced = owner.get("/v1/domain-events?type=message.bounced").await.body["data"].clone();
    assert_eq!(bounced[0]["data"]["bounce_type"], "hard", "{bounced}");
    assert_eq!(bounced[0]["data"]["customer_id"], json!(ann));

    // Ann (hard bounce) and Cat (complaint) are suppressed and unsubscribed.
    let suppressed = owner.get("/v1/suppressions").await.body["data"].clone();
    let mut reasons: Vec<(String, String)> = suppressed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["address"].as_str().unwrap().to_owned(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            ("ann@x.test".to_owned(), "hard bounce".to_owned()),
            ("cat@x.test".to_owned(), "complaint".to_owned())
        ]
    );
    for (who, source) in [(&ann, "hard bounce"), (&cat, "complaint")] {
        let c = owner.get(&format!("/v1/customers/{who}")).await;
        assert_eq!(c.body["consent"]["email"]["status"], "unsubscribed", "{}", c.body);
        assert_eq!(c.body["consent"]["email"]["source"], source);
    }
    let timeline = owner.get(&format!("/v1/customers/{ann}/timeline")).await;
    assert_eq!(
        timeline.body["data"][0]["message"]["delivery"], "bounced",
        "{}",
        timeline.body
    );

    // The next campaign goes to Bob only.
    let next = send_news(&server, &owner, "<p>News</p>").await;
    assert_eq!(next["recipients"], 1, "{next}");

    // A tenant's own account: its route answers 404 until it has a secret, then takes only
    // events signed with it.
    let own = format!("/v1/webhooks/resend/{}", owner.tenant_id);
    post(
        &server,
        &own,
        TENANT_SECRET,
        "msg_t0",
        now(),
        &event("email.opened", &bob_id, json!({})),
    )
    .await
    .assert_problem(404);
    let put = owner
        .call(
            reqwest::Method::PUT,
            "/v1/email-provider",
            Some(json!({"provider": "resend", "api_key": fake.api_key, "base_url": fake.base_url, "webhook_secret": TENANT_SECRET})),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["webhook_secret_set"], true);
    assert!(!put.body.to_string().contains(TENANT_SECRET));
    let opened = event("email.opened", &bob_id, json!({}));
    post(&server, &own, PLATFORM_SECRET, "msg_t1", now(), &opened)
        .await
        .assert_problem(401);
    ok(
        &post(&server, &own, TENANT_SECRET, "msg_t1", now(), &opened).await,
        "applied",
    );
    // Another tenant's route does not reach this tenant's messages: 404 without a secret, and
    // with its own account, an event naming this tenant's message (a forged tag) finds nothing.
    let other = server.signup("Other").await;
    let theirs = format!("/v1/webhooks/resend/{}", other.tenant_id);
    post(&server, &theirs, TENANT_SECRET, "msg_t2", now(), &opened)
        .await
        .assert_problem(404);
    let put = other
        .call(
            reqwest::Method::PUT,
            "/v1/email-provider",
            Some(json!({"provider": "resend", "api_key": "re_other", "webhook_secret": PLATFORM_SECRET})),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    ok(
        &post(&server, &theirs, PLATFORM_SECRET, "msg_t3", now(), &opened).await,
        "ignored",
    );
    let s = owner.get(&format!("/v1/email-campaigns/{id}/stats")).await.body;
    assert_eq!(s["opened"], json!({"total": 2, "unique": 1}), "{s}");
}
