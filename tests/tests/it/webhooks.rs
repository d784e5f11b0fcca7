//! Outgoing webhooks end to end: a real receiver on 127.0.0.1 (allowed explicitly), the real
//! dispatcher, signatures checked with the independent `standardwebhooks` crate.

use serde_json::{json, Value};
use switchboard::config::Config;
use switchboard_tests::fakes::receiver::{Answer, Receiver};
use switchboard_tests::{Session, TestServer};

/// Loopback allowed, plain http allowed, a short retry schedule, a short timeout.
fn webhook_config(c: &mut Config) {
    c.webhooks_allow_nets = "127.0.0.1/32".parse().unwrap();
    c.webhooks_allow_http = true;
    c.webhooks_retry_schedule = "0s,20ms,20ms".parse().unwrap();
    c.webhooks_timeout_ms = 1_000;
    c.webhooks_poll_ms = 10;
}

async fn server() -> TestServer {
    TestServer::start_with(webhook_config).await
}

async fn endpoint(owner: &Session, body: Value) -> Value {
    let reply = owner.post("/v1/webhook-endpoints", body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body
}

async fn create_customer(owner: &Session, email: &str) -> Value {
    let reply = owner.post("/v1/customers", json!({"email": email})).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body
}

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("an id")
}

/// The endpoint's deliveries once `done` holds for them (newest first).
async fn deliveries_when(
    server: &TestServer,
    owner: &Session,
    endpoint: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    server
        .until_webhooks(|| async {
            let reply = owner.get(&format!("/v1/webhook-endpoints/{endpoint}/deliveries")).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            let data = reply.body["data"].as_array().cloned().unwrap_or_default();
            done(&data).then_some(data)
        })
        .await
}

fn all_settled(n: usize) -> impl Fn(&[Value]) -> bool {
    move |d: &[Value]| d.len() == n && d.iter().all(|d| d["status"] != "pending")
}

fn verify(secret: &str, request: &switchboard_tests::fakes::receiver::Received) -> bool {
    let hook = standardwebhooks::Webhook::new(secret).expect("a whsec secret");
    hook.verify(&request.body, &request.headers).is_ok()
}

#[tokio::test]
async fn events_are_delivered_signed_and_logged() {
    let server = server().await;
    let receiver = Receiver::start().await;
    let owner = server.signup("Hooks").await;
    let ep = endpoint(
        &owner,
        json!({"url": receiver.url("/in"), "event_types": ["customer.*"], "description": "CRM sync",
               "headers": {"x-team": "crm"}}),
    )
    .await;
    let secret = ep["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{ep}");
    assert_eq!(ep["enabled"], true);
    assert_eq!(ep["event_types"], json!(["customer.*"]));

    let customer = create_customer(&owner, "ann@example.com").await;
    let got = receiver.wait_for(1).await;
    let request = &got[0];
    assert_eq!(request.path, "/in");
    assert!(verify(secret, request), "our signature must verify independently");
    assert!(
        !verify(&format!("whsec_{}", "A".repeat(32)), request),
        "another key must not verify"
    );
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.header("x-team"), "crm");
    let body = request.json();
    assert_eq!(body["type"], "customer.created");
    assert_eq!(body["data"]["id"], customer["id"]);
    assert_eq!(body["tenant_id"], owner.tenant_id.as_str());
    assert_eq!(
        request.header("webhook-id"),
        body["id"].as_str().unwrap(),
        "receivers dedupe on the event id"
    );
    let outbox = owner.get("/v1/domain-events?type=customer.created").await;
    assert_eq!(outbox.body["data"][0]["id"], body["id"]);

    let log = deliveries_when(&server, &owner, id(&ep), all_settled(1)).await;
    assert_eq!(log[0]["status"], "succeeded", "{}", log[0]);
    assert_eq!(log[0]["last_status_code"], 200);
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(log[0]["event_id"], body["id"]);
    assert_eq!(log[0]["payload"], body);
    let attempts = owner.get(&format!("/v1/webhook-endpoints/{}/attempts", id(&ep))).await;
    let attempt = &attempts.body["data"][0];
    assert_eq!(attempt["status"], "succeeded", "{}", attempts.body);
    assert_eq!(attempt["response_code"], 200);
    assert_eq!(attempt["response_body"], "answered 200");
    assert!(attempt["latency_ms"].as_i64().unwrap() >= 0);
    assert_eq!(attempt["delivery_id"], log[0]["id"]);
}

#[tokio::test]
async fn filters_pick_event_types_and_the_test_event_ignores_them() {
    let server = server().await;
    let receiver = Receiver::start().await;
    let owner = server.signup("Filters").await;
    let consent_only = endpoint(
        &owner,
        json!({"url": receiver.url("/consent"), "event_types": ["consent.changed"]}),
    )
    .await;
    let everything = endpoint(&owner, json!({"url": receiver.url("/all")})).await;
    assert_eq!(everything["event_types"], json!([]));
    let customer = create_customer(&owner, "bo@example.com").await;
    let set = owner
        .call(
            reqwest::Method::PUT,
            &format!("/v1/customers/{}/consent/email", id(&customer)),
            Some(json!({"status": "subscribed"})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    let got = receiver.wait_for(3).await;
    let to = |path: &str| -> Vec<String> {
        got.iter()
            .filter(|r| r.path == path)
            .map(|r| r.json()["type"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(to("/consent"), ["consent.changed"]);
    let mut all = to("/all");
    all.sort();
    assert_eq!(all, ["consent.changed", "customer.created"]);

    let test = owner
        .post(&format!("/v1/webhook-endpoints/{}/test", id(&consent_only)), json!({}))
        .await;
    assert_eq!(test.status, 202, "{}", test.body);
    assert_eq!(test.body["event_type"], "webhook.test");
    let got = receiver.wait_for(4).await;
    let sample = got
        .iter()
        .find(|r| r.json()["type"] == "webhook.test")
        .expect("the test event");
    assert_eq!(sample.path, "/consent");
    assert!(verify(consent_only["secret"].as_str().unwrap(), sample));

    let only = owner
        .get(&format!(
            "/v1/webhook-endpoints/{}/deliveries?event_type=consent.changed",
            id(&everything)
        ))
        .await;
    assert_eq!(only.body["data"].as_array().unwrap().len(), 1, "{}", only.body);
    let bad = owner
        .post(
            "/v1/webhook-endpoints",
            json!({"url": receiver.url("/x"), "event_types": ["customer.*", "custmer.created"]}),
        )
        .await;
    bad.assert_problem(422);
    assert_eq!(bad.error_fields(), ["event_types[1]"]);
}

#[tokio::test]
async fn failures_retry_on_the_schedule_then_fail_and_can_be_replayed() {
    let server = server().await;
    let receiver = Receiver::start().await;
    receiver.answer(Answer::Status(500));
    let owner = server.signup("Retries").await;
    let ep = endpoint(&owner, json!({"url": receiver.url("/flaky")})).await;
    let before = time::OffsetDateTime::now_utc() - time::Duration::seconds(5);
    create_customer(&owner, "cy@example.com").await;

    let log = deliveries_when(&server, &owner, id(&ep), all_settled(1)).await;
    let delivery = &log[0];
    assert_eq!(delivery["status"], "failed", "{delivery}");
    assert_eq!(delivery["attempts"], 3, "three attempts on a three-step schedule");
    assert_eq!(delivery["last_status_code"], 500);
    assert_eq!(delivery["last_error"], "HTTP 500");
    assert!(delivery["next_attempt_at"].is_null());
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|r| r.header("webhook-id") == got[0].header("webhook-id")),
        "one id across retries"
    );
    let attempts = owner
        .get(&format!(
            "/v1/webhook-endpoints/{}/attempts?delivery_id={}",
            id(&ep),
            id(delivery)
        ))
        .await;
    let numbers: Vec<i64> = attempts.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["attempt"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 2, 1]);
    assert!(attempts.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["response_body"] == "answered 500"));
    let failed = owner
        .get(&format!("/v1/webhook-endpoints/{}/deliveries?status=failed", id(&ep)))
        .await;
    assert_eq!(failed.body["data"].as_array().unwrap().len(), 1);
    let bad_status = owner
        .get(&format!("/v1/webhook-endpoints/{}/deliveries?status=lost", id(&ep)))
        .await;
    bad_status.assert_problem(422);

    // The receiver is fixed: replay every failure since a time.
    receiver.answer(Answer::Status(204));
    let replay = owner
        .post(
            &format!("/v1/webhook-endpoints/{}/replay", id(&ep)),
            json!({"since": before.format(&time::format_description::well_known::Rfc3339).unwrap()}),
        )
        .await;
    assert_eq!(replay.status, 200, "{}", replay.body);
    assert_eq!(replay.body["queued"], 1);
    let log = deliveries_when(&server, &owner, id(&ep), |d| {
        d.len() == 1 && d[0]["status"] == "succeeded"
    })
    .await;
    assert_eq!(log[0]["attempts"], 4);
    assert_eq!(log[0]["last_status_code"], 204);
    assert!(log[0]["last_error"].is_null());

    // One delivery by hand; a pending one cannot be.
    let path = format!("/v1/webhook-endpoints/{}/deliveries/{}/retry", id(&ep), id(delivery));
    let retried = owner.post(&path, json!({})).await;
    assert_eq!(retried.status, 202, "{}", retried.body);
    assert_eq!(retried.body["status"], "pending");
    let log = deliveries_when(&server, &owner, id(&ep), |d| {
        d[0]["attempts"] == 5 && d[0]["status"] != "pending"
    })
    .await;
    assert_eq!(log[0]["status"], "succeeded");
    assert_eq!(receiver.received().len(), 5);
}

#[tokio::test]
async fn redirects_huge_bodies_and_hanging_receivers_are_bounded() {
    let server = server().await;
    let owner = server.signup("Bad receivers").await;
    let healthy = Receiver::start().await;
    let good = endpoint(&owner, json!({"url": healthy.url("/ok")})).await;
    let mut bad = Vec::new();
    for answer in [
        Answer::Redirect(healthy.url("/stolen")),
        Answer::Huge(10 * 1024 * 1024),
        Answer::Hang,
        Answer::Dribble,
    ] {
        let receiver = Receiver::start().await;
        receiver.answer(answer.clone());
        let ep = endpoint(&owner, json!({"url": receiver.url("/bad")})).await;
        bad.push((answer, receiver, ep));
    }
    create_customer(&owner, "dee@example.com").await;
    // The healthy endpoint is served while the others hang.
    healthy.wait_for(1).await;
    deliveries_when(&server, &owner, id(&good), |d| {
        d.len() == 1 && d[0]["status"] == "succeeded"
    })
    .await;

    for (answer, _receiver, ep) in &bad {
        let log = deliveries_when(&server, &owner, id(ep), all_settled(1)).await;
        let attempts = owner.get(&format!("/v1/webhook-endpoints/{}/attempts", id(ep))).await;
        let first = &attempts.body["data"][0];
        match answer {
            Answer::Redirect(_) => {
                assert_eq!(log[0]["status"], "failed");
                assert_eq!(log[0]["last_status_code"], 302);
            }
            Answer::Huge(_) => {
                assert_eq!(log[0]["status"], "succeeded", "a 2xx is a success, however long");
                assert_eq!(
                    first["response_body"].as_str().unwrap().len(),
                    4096,
                    "only 4 KB are kept"
                );
            }
            _ => {
                assert_eq!(log[0]["status"], "failed", "{answer:?}: {}", log[0]);
                let error = first["error"].as_str().unwrap();
                assert!(error.contains("timed out"), "{answer:?}: {error}");
            }
        }
    }
    assert!(
        healthy.received().iter().all(|r| r.path == "/ok"),
        "a redirect is never followed"
    );
}

#[tokio::test]
async fn rotated_secrets_sign_alongside_the_new_one_during_the_grace_period() {
    let server = server().await;
    let receiver = Receiver::start().await;
    let owner = server.signup("Rotation").await;
    let ep = endpoint(&owner, json!({"url": receiver.url("/r")})).await;
    let old = ep["secret"].as_str().unwrap().to_owned();
    let rotated = owner
        .post(&format!("/v1/webhook-endpoints/{}/rotate-secret", id(&ep)), json!({}))
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    assert!(rotated.body["previous_secret_expires_at"].is_string());

    create_customer(&owner, "eve@example.com").await;
    let got = receiver.wait_for(1).await;
    let signatures = got[0].header("webhook-signature");
    assert_eq!(
        signatures.split(' ').filter(|s| s.starts_with("v1,")).count(),
        2,
        "{signatures}"
    );
    assert!(verify(&new, &got[0]), "the new secret verifies");
    assert!(verify(&old, &got[0]), "the old secret still verifies");
}

#[tokio::test]
async fn urls_are_checked_and_name_the_field() {
    let strict = TestServer::start().await;
    let owner = strict.signup("Urls").await;
    for url in [
        "http://hooks.example.com/in",
        "https://user:pass@hooks.example.com/in",
        "ftp://hooks.example.com/in",
        "file:///etc/passwd",
        "https://127.0.0.1/in",
        "https://10.1.2.3/in",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/in",
        "https://[::ffff:192.168.0.1]/in",
        "not a url",
    ] {
        let reply = owner.post("/v1/webhook-endpoints", json!({"url": url})).await;
        reply.assert_problem(422);
        assert_eq!(reply.error_fields(), ["url"], "{url}: {}", reply.body);
    }
    let ok = owner
        .post("/v1/webhook-endpoints", json!({"url": "https://hooks.example.com/in"}))
        .await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    let reserved = owner
        .post(
            "/v1/webhook-endpoints",
            json!({"url": "https://hooks.example.com/in", "headers": {"webhook-id": "x"}}),
        )
        .await;
    assert_eq!(reserved.error_fields(), ["headers.webhook-id"]);
    let rate = owner
        .post(
            "/v1/webhook-endpoints",
            json!({"url": "https://hooks.example.com/in", "rate_limit": 0}),
        )
        .await;
    assert_eq!(rate.error_fields(), ["rate_limit"]);
    let wrong_type = owner.post("/v1/webhook-endpoints", json!({"url": 7})).await;
    assert_eq!(wrong_type.status, 400, "{}", wrong_type.body);
}

#[tokio::test]
async fn loopback_is_refused_at_connect_time_unless_allowed() {
    // No allowed networks: a name resolving to loopback is refused by the resolver, which is
    // what also stops DNS rebinding (the address checked is the address connected to).
    let server = TestServer::start_with(|c| {
        webhook_config(c);
        c.webhooks_allow_nets = Default::default();
    })
    .await;
    let receiver = Receiver::start().await;
    let owner = server.signup("Guarded").await;
    let literal = owner
        .post("/v1/webhook-endpoints", json!({"url": receiver.url("/in")}))
        .await;
    assert_eq!(literal.error_fields(), ["url"], "a loopback literal is refused at once");
    let ep = endpoint(
        &owner,
        json!({"url": format!("http://localhost:{}/in", receiver.port())}),
    )
    .await;
    create_customer(&owner, "fay@example.com").await;
    let log = deliveries_when(&server, &owner, id(&ep), all_settled(1)).await;
    assert_eq!(log[0]["status"], "failed");
    assert!(log[0]["last_status_code"].is_null());
    let error = log[0]["last_error"].as_str().unwrap();
    assert!(error.starts_with("refused"), "{error}");
    assert!(receiver.received().is_empty(), "nothing reached the loopback receiver");
}

#[tokio::test]
async fn an_endpoint_failing_continuously_is_disabled_and_the_tenant_told() {
    let server = TestServer::start_with(|c| {
        webhook_config(c);
        c.webhooks_disable_after_secs = 0;
    })
    .await;
    let receiver = Receiver::start().await;
    receiver.answer(Answer::Status(503));
    let owner = server.signup("Disable").await;
    let ep = endpoint(
        &owner,
        json!({"url": receiver.url("/down"), "event_types": ["customer.created"]}),
    )
    .await;
    create_customer(&owner, "gus@example.com").await;
    let disabled = server
        .until_webhooks(|| async {
            let e = owner.get(&format!("/v1/webhook-endpoints/{}", id(&ep))).await.body;
            (e["enabled"] == false).then_some(e)
        })
        .await;
    assert_eq!(disabled["disabled_reason"], "failing continuously");
    let events = owner.get("/v1/domain-events?type=webhook_endpoint.disabled").await;
    assert_eq!(
        events.body["data"][0]["data"]["endpoint_id"], ep["id"],
        "{}",
        events.body
    );
    let audit = owner.get("/v1/audit-logs?action=webhook_endpoint.disabled").await;
    assert_eq!(audit.body["data"][0]["target_id"], ep["id"], "{}", audit.body);

    // Disabled: new events are not delivered to it; re-enabling starts over.
    let sent = receiver.received().len();
    create_customer(&owner, "hal@example.com").await;
    let log = deliveries_when(&server, &owner, id(&ep), all_settled(1)).await;
    assert_eq!(log.len(), 1, "no delivery for an event after disabling");
    assert_eq!(receiver.received().len(), sent);
    let enabled = owner
        .patch(&format!("/v1/webhook-endpoints/{}", id(&ep)), json!({"enabled": true}))
        .await;
    assert_eq!(enabled.body["enabled"], true, "{}", enabled.body);
    assert!(enabled.body["disabled_reason"].is_null());
    assert!(enabled.body["failing_since"].is_null());
}

#[tokio::test]
async fn endpoints_change_list_and_delete() {
    let server = server().await;
    let owner = server.signup("Crud").await;
    let ep = endpoint(&owner, json!({"url": "https://hooks.example.com/a", "rate_limit": 5})).await;
    assert_eq!(ep["rate_limit"], 5);
    let path = format!("/v1/webhook-endpoints/{}", id(&ep));
    let changed = owner
        .patch(
            &path,
            json!({"url": "https://hooks.example.com/b", "description": "B", "rate_limit": null, "enabled": false}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["url"], "https://hooks.example.com/b");
    assert_eq!(changed.body["description"], "B");
    assert!(changed.body["rate_limit"].is_null());
    assert_eq!(changed.body["enabled"], false);
    assert_eq!(changed.body["disabled_reason"], "disabled by a user");
    assert_eq!(changed.body["secret"], ep["secret"], "changing fields keeps the secret");
    let list = owner.get("/v1/webhook-endpoints").await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(owner.delete(&path).await.status, 204);
    assert_eq!(owner.get(&path).await.status, 404);
    let audit = owner.get(&format!("/v1/audit-logs?target_id={}", id(&ep))).await;
    let actions: Vec<&str> = audit.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for action in [
        "webhook_endpoint.created",
        "webhook_endpoint.updated",
        "webhook_endpoint.deleted",
    ] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
}

#[tokio::test]
async fn another_tenant_sees_nothing() {
    let server = server().await;
    let receiver = Receiver::start().await;
    let owner = server.signup("Mine").await;
    let other = server.signup("Theirs").await;
    let ep = endpoint(&owner, json!({"url": receiver.url("/mine")})).await;
    create_customer(&owner, "ida@example.com").await;
    let log = deliveries_when(&server, &owner, id(&ep), all_settled(1)).await;
    let base = format!("/v1/webhook-endpoints/{}", id(&ep));
    let delivery = format!("{base}/deliveries/{}", id(&log[0]));
    for reply in [
        other.get(&base).await,
        other.patch(&base, json!({"description": "mine now"})).await,
        other.post(&format!("{base}/rotate-secret"), json!({})).await,
        other.post(&format!("{base}/test"), json!({})).await,
        other.get(&format!("{base}/deliveries")).await,
        other.get(&delivery).await,
        other.post(&format!("{delivery}/retry"), json!({})).await,
        other.get(&format!("{base}/attempts")).await,
        other
            .post(&format!("{base}/replay"), json!({"since": "2020-01-01T00:00:00Z"}))
            .await,
        other.delete(&base).await,
    ] {
        reply.assert_problem(404);
    }
    let theirs = other.get("/v1/webhook-endpoints").await;
    assert_eq!(theirs.body["data"], json!([]));
    // Their events never reach my endpoint.
    create_customer(&other, "jo@example.com").await;
    let mine = owner.get(&format!("{base}/deliveries")).await;
    assert_eq!(mine.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(owner.get(&base).await.status, 200, "still there");
}

#[tokio::test]
async fn the_event_catalog_lists_every_type_with_a_schema() {
    let server = server().await;
    let owner = server.signup("Catalog").await;
    let catalog = owner.get("/v1/event-types").await;
    assert_eq!(catalog.status, 200, "{}", catalog.body);
    let types: Vec<&str> = catalog.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    for t in [
        "customer.created",
        "consent.changed",
        "webhook_endpoint.disabled",
        "webhook.test",
    ] {
        assert!(types.contains(&t), "{t} missing from {types:?}");
    }
    let created = catalog.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "customer.created")
        .unwrap();
    let root = created["schema"]["$ref"]
        .as_str()
        .unwrap()
        .trim_start_matches("#/$defs/");
    let envelope = &created["schema"]["$defs"][root];
    assert!(envelope["properties"]["data"].is_object(), "{envelope}");
    let legacy = owner.get("/v1/domain-event-types").await;
    assert_eq!(legacy.status, 200);
    let spec = owner.get("/openapi.json").await;
    assert!(spec.body["webhooks"]["customer.created"]["post"]["requestBody"].is_object());
}

#[tokio::test]
async fn a_dispatcher_dying_mid_attempt_costs_a_retry_never_the_delivery() {
    let receiver = Receiver::start().await;
    receiver.answer(Answer::Hang);
    let slow = |c: &mut Config| {
        webhook_config(c);
        c.webhooks_timeout_ms = 2_000;
    };
    let first = TestServer::start_with(slow).await;
    let database_url = first.state.config.database_url.clone();
    let owner = first.signup("Crash").await;
    let ep = endpoint(&owner, json!({"url": receiver.url("/in")})).await;
    create_customer(&owner, "kim@example.com").await;
    receiver.wait_for(1).await;
    // The host stops while its attempt is in flight: nothing records the attempt's end.
    first.stop().await;

    receiver.answer(Answer::Status(200));
    let second = TestServer::start_with(|c| {
        slow(c);
        c.database_url = database_url;
    })
    .await;
    let owner = owner.at_url(&second.base_url);
    let log = deliveries_when(&second, &owner, id(&ep), |d| {
        d.len() == 1 && d[0]["status"] == "succeeded"
    })
    .await;
    assert_eq!(
        log[0]["attempts"], 2,
        "the lost attempt counts, and one retry delivered it"
    );
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].header("webhook-id"),
        got[1].header("webhook-id"),
        "the receiver can dedupe"
    );
}

/// The event ids an endpoint has deliveries for, with repeats.
async fn delivered_events(server: &TestServer, endpoint: &str) -> Vec<String> {
    let mut sql = switchboard::store::sql::Sql::new("SELECT event_id FROM webhook_deliveries WHERE endpoint_id = ");
    sql.bind(endpoint);
    let mut conn = server.state.store.connection().await.unwrap();
    sql.fetch_scalars(&mut conn).await.unwrap()
}

#[tokio::test]
async fn the_relay_hands_on_more_than_a_batch_each_event_once_to_its_own_tenant() {
    use switchboard::ids::{DomainEventId, PrefixedId};
    use switchboard::store::bulk;

    let server = server().await;
    let receiver = Receiver::start().await;
    let (a, b) = (server.signup("Many").await, server.signup("Few").await);
    let types = json!({"url": receiver.url("/in"), "event_types": ["customer.updated"]});
    let (ep_a, ep_b) = (endpoint(&a, types.clone()).await, endpoint(&b, types).await);
    // More than two of the relay's batches (500) for one tenant, a few for the other.
    let mut written = Vec::new();
    for (session, n) in [(&a, 1_203), (&b, 7)] {
        let rows: Vec<(String, &str, String)> = (0..n)
            .map(|_| {
                (
                    DomainEventId::generate().to_string(),
                    "customer.updated",
                    "{}".to_owned(),
                )
            })
            .collect();
        let mut ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        ids.sort();
        written.push(ids);
        let mut tx = server.state.store.tenant_tx(&session.ctx()).await.unwrap();
        bulk::insert_domain_events(&mut tx, &session.ctx(), &rows)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    let delivered = server
        .until_webhooks(|| async {
            let (a, b) = (
                delivered_events(&server, id(&ep_a)).await,
                delivered_events(&server, id(&ep_b)).await,
            );
            (a.len() >= 1_203 && b.len() >= 7).then_some((a, b))
        })
        .await;
    for (mut got, want) in [delivered.0, delivered.1].into_iter().zip(written) {
        got.sort();
        assert_eq!(got, want, "each event of the tenant once, and only the tenant's");
    }
}

#[tokio::test]
async fn the_relay_hands_on_an_event_whose_transaction_commits_after_a_later_one() {
    use switchboard::ids::{DomainEventId, PrefixedId};
    use switchboard::store::{bulk, Backend};

    let server = server().await;
    let receiver = Receiver::start().await;
    let owner = server.signup("Late").await;
    let ep = endpoint(
        &owner,
        json!({"url": receiver.url("/in"), "event_types": ["customer.updated"]}),
    )
    .await;
    let ctx = owner.ctx();
    let (early, late) = (
        DomainEventId::generate().to_string(),
        DomainEventId::generate().to_string(),
    );
    let write = |event: &str| vec![(event.to_owned(), "customer.updated", "{}".to_owned())];
    let commit_late = async || {
        let mut tx = server.state.store.tenant_tx(&ctx).await.unwrap();
        bulk::insert_domain_events(&mut tx, &ctx, &write(&late)).await.unwrap();
        tx.commit().await.unwrap();
    };

    let mut held = server.state.store.tenant_tx(&ctx).await.unwrap();
    bulk::insert_domain_events(&mut held, &ctx, &write(&early))
        .await
        .unwrap();
    if server.state.store.backend() == Backend::Postgres {
        // The later transaction commits first, and the relay hands its event on while the
        // earlier one is still open: its place moves past a transaction that commits after.
        commit_late().await;
        let first = server
            .until_webhooks(|| async {
                let got = delivered_events(&server, id(&ep)).await;
                (!got.is_empty()).then_some(got)
            })
            .await;
        assert_eq!(
            first,
            std::slice::from_ref(&late),
            "the committed event, not the one still open"
        );
        held.commit().await.unwrap();
    } else {
        // SQLite's writers take turns: the open transaction commits before another writes.
        held.commit().await.unwrap();
        commit_late().await;
    }

    let mut got = server
        .until_webhooks(|| async {
            let got = delivered_events(&server, id(&ep)).await;
            (got.len() >= 2).then_some(got)
        })
        .await;
    got.sort();
    let mut want = vec![early, late];
    want.sort();
    assert_eq!(got, want, "each event once, the late committer's too");
}
