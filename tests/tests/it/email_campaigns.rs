//! Email campaigns end to end: drafts and templates, audiences, sending through the real
//! Resend client to a fake Resend, batches, consent, schedules and controls.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use switchboard::domain::campaigns::send::STATISTICS_FROM;
use switchboard::domain::crm::bulk::create_many_in;
use switchboard::domain::crm::custom_fields::definitions;
use switchboard::domain::crm::customers::{CustomerInput, Patch};
use switchboard_tests::database::postgres_base_url;
use switchboard_tests::email::verified_sender;
use switchboard_tests::fakes::resend::{FakeResend, Fault};
use switchboard_tests::{Session, TestServer};

async fn server_with(fake: &FakeResend, batch_size: usize) -> TestServer {
    let (url, key) = (fake.base_url.clone(), fake.api_key.clone());
    TestServer::start_with(move |c| {
        c.resend_base_url = url;
        c.resend_api_key = Some(key.into());
        c.email_batch_size = batch_size;
    })
    .await
}

async fn customer(owner: &Session, body: Value) -> String {
    let r = owner.post("/v1/customers", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

fn draft(audience: Value) -> Value {
    json!({
        "name": "November news",
        "from_name": "Acme",
        "from_email": "news@acme.test",
        "reply_to": "help@acme.test",
        "subject": "Hi {{ first_name | default('there') }}",
        "html": "<p>Hello {{ first_name | default('there') }}, your plan: {{ custom_fields.plan | default('none') }}</p>",
        "audience": audience,
    })
}

async fn create(owner: &Session, body: Value) -> String {
    let r = owner.post("/v1/email-campaigns", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "draft");
    r.body["id"].as_str().unwrap().to_owned()
}

async fn finished(server: &TestServer, owner: &Session, id: &str) -> Value {
    server
        .until_jobs(|| async {
            let r = owner.get(&format!("/v1/email-campaigns/{id}")).await;
            assert_eq!(r.status, 200, "{}", r.body);
            (r.body["status"] == "sent").then_some(r.body)
        })
        .await
}

#[tokio::test]
async fn a_campaign_reaches_its_audience_once_in_batches_minus_exclusions_and_opt_outs() {
    let fake = FakeResend::start().await;
    let server = server_with(&fake, 3).await;
    let owner = server.signup("Campaigns").await;
    verified_sender(&owner, Some(&fake), "news@acme.test").await;
    let r = owner
        .post(
            "/v1/custom-fields",
            json!({"key": "plan", "type": "text", "options": []}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    for i in 0..7 {
        let mut body = json!({"email": format!("p{i}@x.test"), "tags": ["news"]});
        if i % 2 == 0 {
            body["first_name"] = json!(format!("<b>P{i}</b>"));
            body["custom_fields"] = json!({"plan": "pro"});
        }
        customer(&owner, body).await;
    }
    // Reached through a segment rather than the tag.
    customer(&owner, json!({"email": "vip@x.test", "first_name": "Vip"})).await;
    let vip = owner
        .post(
            "/v1/segments",
            json!({"name": "vip", "rules": {"field": "first_name", "op": "eq", "value": "Vip"}}),
        )
        .await;
    let excluded = owner
        .post(
            "/v1/segments",
            json!({"name": "p1", "rules": {"field": "email", "op": "eq", "value": "p1@x.test"}}),
        )
        .await;
    let unsubscribed = customer(&owner, json!({"email": "gone@x.test", "tags": ["news"]})).await;
    let r = owner
        .call(
            Method::PUT,
            &format!("/v1/customers/{unsubscribed}/consent/email"),
            Some(json!({"status": "unsubscribed"})),
        )
        .await;
    assert!(r.status < 300, "{}", r.body);
    customer(&owner, json!({"email": "bounced@x.test", "tags": ["news"]})).await;
    let r = owner
        .post(
            "/v1/suppressions",
            json!({"channel": "email", "address": "bounced@x.test", "reason": "hard bounce"}),
        )
        .await;
    assert!(r.status < 300, "{}", r.body);
    customer(&owner, json!({"email": "other@x.test", "tags": ["other"]})).await;

    let id = create(
        &owner,
        draft(json!({"segment_ids": [vip.body["id"]], "tags": ["news"], "exclude_segment_ids": [excluded.body["id"]]})),
    )
    .await;
    // One recipient fails twice on its way: retried by the client, still sent once.
    fake.fail_next([Fault::Status(500), Fault::Status(429)]);
    let sent = owner.post(&format!("/v1/email-campaigns/{id}/send"), json!({})).await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    assert_eq!(sent.body["status"], "sending");
    let done = finished(&server, &owner, &id).await;

    let mut expected: HashMap<String, usize> = ["p0", "p2", "p3", "p4", "p5", "p6", "vip"]
        .iter()
        .map(|p| (format!("{p}@x.test"), 1))
        .collect();
    expected.insert("news@acme.test".into(), 1); // the sender's verification link
    assert_eq!(fake.deliveries(), expected);
    assert_eq!(
        (&done["recipients"], &done["sent"], &done["skipped"]),
        (&json!(7), &json!(7), &json!(0)),
        "{done}"
    );
    assert!(done["finished_at"].is_string());
    // The verification email, then 7 recipients in batches of 3: three batch requests, plus
    // the two refused attempts.
    assert_eq!(fake.requests(), 6);
    let emails = fake.emails();
    let p0 = &emails.iter().find(|(e, _)| e["to"] == json!(["p0@x.test"])).unwrap().0;
    assert_eq!(p0["subject"], "Hi <b>P0</b>");
    assert_eq!(p0["from"], "Acme <news@acme.test>");
    assert_eq!(p0["reply_to"], "help@acme.test");
    assert!(
        p0["html"]
            .as_str()
            .unwrap()
            .contains("Hello &lt;b&gt;P0&lt;&#x2f;b&gt;, your plan: pro"),
        "{p0}"
    );
    assert!(
        p0["text"].as_str().unwrap().contains("Hello <b>P0</b>, your plan: pro"),
        "{p0}"
    );
    let p3 = &emails.iter().find(|(e, _)| e["to"] == json!(["p3@x.test"])).unwrap().0;
    assert_eq!(p3["subject"], "Hi there");
    assert!(p3["html"].as_str().unwrap().contains("your plan: none"));

    // Sent is final.
    owner
        .post(&format!("/v1/email-campaigns/{id}/send"), json!({}))
        .await
        .assert_problem(409);
    owner
        .post(&format!("/v1/email-campaigns/{id}/pause"), json!({}))
        .await
        .assert_problem(409);
    owner
        .delete(&format!("/v1/email-campaigns/{id}"))
        .await
        .assert_problem(409);
}

/// Over a thousand recipients go out in several windows of batches (on PostgreSQL the next
/// window is frozen while the last one is handed over): each recipient gets one email, each
/// batch is one request, and the counts add up.
#[tokio::test]
async fn a_campaign_of_several_windows_reaches_each_recipient_once() {
    // Enough that preparing it refreshes the planner's statistics.
    const RECIPIENTS: usize = STATISTICS_FROM as usize + 50;
    let fake = FakeResend::start().await;
    let server = server_with(&fake, 100).await;
    let owner = server.signup("Windows").await;
    verified_sender(&owner, Some(&fake), "news@acme.test").await;
    let ctx = owner.ctx();
    let rows = (0..RECIPIENTS)
        .map(|i| {
            let input = CustomerInput {
                email: Patch::Set(format!("w{i}@x.test")),
                tags: Some(vec!["news".to_owned()]),
                ..CustomerInput::default()
            };
            (i + 1, input)
        })
        .collect();
    let mut tx = server.state.store.tenant_tx(&ctx).await.unwrap();
    let defs = definitions(&mut tx, &ctx).await.unwrap();
    let created = create_many_in(&mut tx, &ctx, &defs, rows).await.unwrap();
    tx.commit().await.unwrap();
    assert!(created.iter().all(|(_, r)| r.is_ok()));

    let id = create(&owner, draft(json!({"tags": ["news"]}))).await;
    let sent = owner.post(&format!("/v1/email-campaigns/{id}/send"), json!({})).await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    let done = finished(&server, &owner, &id).await;

    let mut expected: HashMap<String, usize> = (0..RECIPIENTS).map(|i| (format!("w{i}@x.test"), 1)).collect();
    expected.insert("news@acme.test".into(), 1); // the sender's verification link
    assert_eq!(fake.deliveries(), expected);
    assert_eq!(
        (&done["recipients"], &done["sent"], &done["skipped"]),
        (&json!(RECIPIENTS), &json!(RECIPIENTS), &json!(0)),
        "{done}"
    );
    // The verification email, then batches of at most 100.
    assert_eq!(fake.requests(), 1 + RECIPIENTS.div_ceil(100));
    if postgres_base_url().is_some() {
        // PostgreSQL's row estimate counts the messages written before sending (autovacuum,
        // off on the test machine, would not have).
        let mut db = PgConnection::connect(&server.state.config.database_url).await.unwrap();
        let estimate: f32 = sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE relname = 'email_messages'")
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert!(estimate >= RECIPIENTS as f32, "{estimate}");
    }
}

#[tokio::test]
async fn drafts_are_checked_previewed_changed_and_private_to_their_tenant() {
    let server = TestServer::start().await;
    let owner = server.signup("Drafts").await;
    let other = server.signup("Other").await;
    let ann = customer(
        &owner,
        json!({"email": "ann@x.test", "first_name": "Ann", "tags": ["news"]}),
    )
    .await;

    let mut bad = draft(json!({"tags": ["news"]}));
    bad["html"] = json!("<p>fine</p>\n<p>{{ first_name </p>");
    let r = owner.post("/v1/email-campaigns", bad).await;
    r.assert_problem(422);
    assert_eq!(r.error_fields(), ["html"]);
    assert!(r.body.to_string().contains("line 2, column"), "{}", r.body);
    let mut bad = draft(json!({"segment_ids": ["seg_00000000000070008000000000000000"]}));
    let r = owner.post("/v1/email-campaigns", bad.clone()).await;
    assert_eq!(r.error_fields(), ["audience.segment_ids"], "{}", r.body);
    bad["audience"] = json!({"tags": ["news"]});
    bad["from_email"] = json!("not an address");
    assert_eq!(
        owner.post("/v1/email-campaigns", bad).await.error_fields(),
        ["from_email"]
    );

    let id = create(&owner, draft(json!({"tags": ["news"]}))).await;
    let path = format!("/v1/email-campaigns/{id}");
    let preview = owner
        .post(&format!("{path}/preview"), json!({"customer_id": ann}))
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.body["subject"], "Hi Ann");
    assert!(preview.body["text"]
        .as_str()
        .unwrap()
        .contains("Hello Ann, your plan: none"));

    let changed = owner
        .patch(&path, json!({"subject": "News for {{ first_name }}"}))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["subject"], "News for {{ first_name }}");
    assert_eq!(changed.body["name"], "November news");
    let list = owner.get("/v1/email-campaigns").await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);

    other.get(&path).await.assert_problem(404);
    other.patch(&path, json!({"name": "x"})).await.assert_problem(404);
    other
        .post(&format!("{path}/preview"), json!({"customer_id": ann}))
        .await
        .assert_problem(404);
    other.post(&format!("{path}/send"), json!({})).await.assert_problem(404);
    other
        .post(&format!("{path}/cancel"), json!({}))
        .await
        .assert_problem(404);
    other.delete(&path).await.assert_problem(404);
    assert_eq!(other.get("/v1/email-campaigns").await.body["data"], json!([]));
    // Another tenant's customer cannot be previewed either.
    let theirs = customer(&other, json!({"email": "z@x.test"})).await;
    owner
        .post(&format!("{path}/preview"), json!({"customer_id": theirs}))
        .await
        .assert_problem(404);

    // Only from a verified sender.
    let r = owner
        .post(&format!("{path}/test-send"), json!({"to": ["me@acme.test"]}))
        .await;
    r.assert_problem(422);
    assert_eq!(r.error_fields(), ["from_email"]);
    assert!(r.body.to_string().contains("not a verified sender"), "{}", r.body);
    verified_sender(&owner, None, "news@acme.test").await;
    // Test send: without a provider it lands in the dev outbox.
    let test = owner
        .post(
            &format!("{path}/test-send"),
            json!({"to": ["me@acme.test"], "customer_id": ann}),
        )
        .await;
    assert_eq!(test.status, 200, "{}", test.body);
    assert_eq!(test.body["sent_to"], json!(["me@acme.test"]));
    let outbox = owner.get("/v1/outbox").await;
    assert_eq!(outbox.body["data"][1]["subject"], "[Test] News for Ann");
    owner
        .post(&format!("{path}/test-send"), json!({"to": []}))
        .await
        .assert_problem(422);

    assert_eq!(owner.delete(&path).await.status, 204);
    owner.get(&path).await.assert_problem(404);
}

#[tokio::test]
async fn an_audience_nobody_can_receive_is_refused() {
    let server = TestServer::start().await;
    let owner = server.signup("Empty").await;
    verified_sender(&owner, None, "news@acme.test").await;
    // Valid enough to store, not an address a provider sends to.
    customer(&owner, json!({"email": "root@localhost", "tags": ["news"]})).await;
    let gone = customer(&owner, json!({"email": "gone@x.test", "tags": ["news"]})).await;
    owner
        .call(
            Method::PUT,
            &format!("/v1/customers/{gone}/consent/email"),
            Some(json!({"status": "unsubscribed"})),
        )
        .await;
    customer(&owner, json!({"phone": "+14155550100", "tags": ["news"]})).await;
    let id = create(&owner, draft(json!({"tags": ["news"]}))).await;
    let r = owner.post(&format!("/v1/email-campaigns/{id}/send"), json!({})).await;
    r.assert_problem(422);
    assert_eq!(r.error_fields(), ["audience"]);
    assert!(r.body.to_string().contains("valid address"), "{}", r.body);
    assert_eq!(
        owner.get(&format!("/v1/email-campaigns/{id}")).await.body["status"],
        "draft"
    );
}

#[tokio::test]
async fn a_scheduled_campaign_waits_and_can_be_paused_resumed_and_cancelled() {
    let server = TestServer::start().await;
    let owner = server.signup("Schedule").await;
    verified_sender(&owner, None, "news@acme.test").await;
    customer(&owner, json!({"email": "ann@x.test", "tags": ["news"]})).await;
    let mut body = draft(json!({"tags": ["news"]}));
    body["send_at"] = json!("2099-01-01T09:00:00Z");
    body["timezone"] = json!("Europe/Paris");
    let id = create(&owner, body).await;
    let path = format!("/v1/email-campaigns/{id}");
    let r = owner.post(&format!("{path}/send"), json!({})).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (202, Some("scheduled")),
        "{}",
        r.body
    );
    assert_eq!(r.body["timezone"], "Europe/Paris");
    let jobs = owner.get("/v1/jobs?status=queued").await;
    let job = &jobs.body["data"][0];
    assert_eq!(job["kind"], "email.campaign.send");
    assert!(
        job["run_at"].as_str().unwrap().starts_with("2099-01-01T09:00:00"),
        "{job}"
    );

    let paused = owner.post(&format!("{path}/pause"), json!({})).await;
    assert_eq!(paused.body["status"], "paused", "{}", paused.body);
    owner
        .post(&format!("{path}/pause"), json!({}))
        .await
        .assert_problem(409);
    // Resuming sends at once: the outbox gets the email.
    let resumed = owner.post(&format!("{path}/resume"), json!({})).await;
    assert_eq!(resumed.body["status"], "sending", "{}", resumed.body);
    finished(&server, &owner, &id).await;
    assert_eq!(owner.get("/v1/outbox").await.body["data"][1]["to"], "ann@x.test");

    let second = create(&owner, draft(json!({"tags": ["news"]}))).await;
    let cancelled = owner
        .post(&format!("/v1/email-campaigns/{second}/cancel"), json!({}))
        .await;
    assert_eq!(cancelled.body["status"], "cancelled", "{}", cancelled.body);
    owner
        .post(&format!("/v1/email-campaigns/{second}/send"), json!({}))
        .await
        .assert_problem(409);
    owner
        .post(&format!("/v1/email-campaigns/{second}/cancel"), json!({}))
        .await
        .assert_problem(409);
}

#[tokio::test]
async fn every_email_carries_a_one_click_unsubscribe_link_that_cannot_be_forged() {
    let fake = FakeResend::start().await;
    let server = server_with(&fake, 50).await;
    let owner = server.signup("Unsubscribe").await;
    verified_sender(&owner, Some(&fake), "news@acme.test").await;
    let ann = customer(&owner, json!({"email": "ann@x.test", "tags": ["news"]})).await;
    customer(&owner, json!({"email": "bob@x.test", "tags": ["news"]})).await;
    let id = create(&owner, draft(json!({"tags": ["news"]}))).await;
    owner.post(&format!("/v1/email-campaigns/{id}/send"), json!({})).await;
    finished(&server, &owner, &id).await;

    let emails = fake.emails();
    let to_ann = &emails.iter().find(|(e, _)| e["to"] == json!(["ann@x.test"])).unwrap().0;
    assert_eq!(to_ann["headers"]["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
    let link = to_ann["headers"]["List-Unsubscribe"].as_str().unwrap();
    let url = link.trim_start_matches('<').trim_end_matches('>').to_owned();
    assert!(url.starts_with(&server.url("/u/msg_")), "{url}");

    let http = reqwest::Client::new();
    let page = http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<form method=\"post\">"));
    // Altered tokens: another message's id with this signature, or a changed signature.
    let (_, token) = url.rsplit_once("/u/").unwrap();
    let (msg, tag) = token.split_once('.').unwrap();
    let other_msg = format!("msg_{}", "0".repeat(32));
    let flipped = if tag.ends_with('A') { "B" } else { "A" };
    for forged in [
        format!("{other_msg}.{tag}"),
        format!("{msg}.{}{flipped}", &tag[..tag.len() - 1]),
        msg.to_owned(),
    ] {
        let r = http.post(server.url(&format!("/u/{forged}"))).send().await.unwrap();
        assert_eq!(r.status(), 404, "{forged}");
    }
    // RFC 8058: the mail client POSTs the one-click body.
    let r = http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let c = owner.get(&format!("/v1/customers/{ann}")).await;
    assert_eq!(c.body["consent"]["email"]["status"], "unsubscribed", "{}", c.body);
    assert_eq!(c.body["consent"]["email"]["source"], "unsubscribe link");

    // The next campaign skips her.
    let next = create(&owner, draft(json!({"tags": ["news"]}))).await;
    owner.post(&format!("/v1/email-campaigns/{next}/send"), json!({})).await;
    let done = finished(&server, &owner, &next).await;
    assert_eq!(done["recipients"], 1, "{done}");
    assert_eq!(fake.deliveries()["ann@x.test"], 1);
    assert_eq!(fake.deliveries()["bob@x.test"], 2);
}
