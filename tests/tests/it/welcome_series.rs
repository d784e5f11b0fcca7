//! The first-party welcome-series plugin inside the real host: customers created with the
//! configured tag get the templated email at once and the SMS after the configured delay,
//! through the dev outbox; nobody else gets anything, and consent is honoured at each send.

use serde_json::{json, Value};
use switchboard_tests::{Session, TestServer};

/// Installs the welcome series for tag `vip`, texting `sms_delay_secs` after the email.
async fn install(owner: &Session, sms_delay_secs: f64) -> String {
    let config = json!({
        "tag": "vip",
        "email_subject": "Welcome, {{ first_name }}",
        "email_body": "Hi {{first_name}}, glad you are here.",
        "sms_body": "{{first_name}}: 10% off today",
        "sms_delay_secs": sms_delay_secs,
    });
    let ins = owner
        .post(
            "/v1/installations",
            json!({"plugin": "welcome-series", "config": config, "capabilities": ["customers:read", "messages:send"]}),
        )
        .await;
    assert_eq!(ins.status, 201, "{}", ins.body);
    ins.body["id"].as_str().unwrap().to_owned()
}

async fn customer(owner: &Session, name: &str, phone: &str, tags: &[&str]) -> String {
    let email = format!("{}@example.com", name.to_lowercase());
    let c = owner
        .post(
            "/v1/customers",
            json!({"email": email, "phone": phone, "first_name": name, "tags": tags}),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.body);
    c.body["id"].as_str().unwrap().to_owned()
}

/// The dev outbox as (channel, to, subject, text).
async fn outbox(owner: &Session) -> Vec<(String, String, String, String)> {
    let reply = owner.get("/v1/outbox").await;
    let field = |m: &Value, k: &str| m[k].as_str().unwrap_or_default().to_owned();
    reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                field(m, "channel"),
                field(m, "to"),
                field(m, "subject"),
                field(m, "text"),
            )
        })
        .collect()
}

/// Waits for background jobs until the installation has `n` runs with `trigger`.
async fn until_runs(server: &TestServer, owner: &Session, ins: &str, trigger: &str, n: usize) -> Vec<Value> {
    let path = format!("/v1/installations/{ins}/runs");
    server
        .until_jobs(|| async {
            let reply = owner.get(&path).await;
            let runs: Vec<Value> = reply.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["trigger"] == trigger)
                .cloned()
                .collect();
            (runs.len() >= n).then_some(runs)
        })
        .await
}

fn email(to: &str, subject: &str, text: &str) -> (String, String, String, String) {
    ("email".into(), to.into(), subject.into(), text.into())
}

fn sms(to: &str, text: &str) -> (String, String, String, String) {
    ("sms".into(), to.into(), String::new(), text.into())
}

#[tokio::test]
async fn tagged_customers_get_the_email_then_the_sms() {
    let server = TestServer::start().await;
    let owner = server.signup("Welcome").await;
    let ins = install(&owner, 0.3).await;
    customer(&owner, "Ann", "+14155550101", &["vip"]).await;
    customer(&owner, "Bob", "+14155550102", &[]).await;

    let runs = until_runs(&server, &owner, &ins, "event", 2).await;
    assert!(runs.iter().all(|r| r["outcome"] == "ok"), "{runs:?}");
    let schedule = until_runs(&server, &owner, &ins, "schedule", 1).await;
    assert_eq!(schedule[0]["outcome"], "ok", "{schedule:?}");
    assert_eq!(
        outbox(&owner).await,
        [
            email("ann@example.com", "Welcome, Ann", "Hi Ann, glad you are here."),
            sms("+14155550101", "Ann: 10% off today"),
        ]
    );
}

#[tokio::test]
async fn unsubscribed_and_suppressed_customers_are_skipped() {
    let server = TestServer::start().await;
    let owner = server.signup("Consent").await;
    let ins = install(&owner, 2.0).await;
    // Dave's address is suppressed before he arrives: no email, but his SMS still goes.
    let suppressed = owner
        .post(
            "/v1/suppressions",
            json!({"channel": "email", "address": "dave@example.com", "reason": "bounced"}),
        )
        .await;
    assert_eq!(suppressed.status, 201, "{}", suppressed.body);
    let carol = customer(&owner, "Carol", "+14155550103", &["vip"]).await;
    customer(&owner, "Dave", "+14155550104", &["vip"]).await;

    // Carol unsubscribes from SMS after her email went, before her SMS is due.
    let welcomed = until_runs(&server, &owner, &ins, "event", 2).await;
    assert!(welcomed.iter().all(|r| r["outcome"] == "ok"), "{welcomed:?}");
    assert_eq!(
        outbox(&owner).await,
        [email(
            "carol@example.com",
            "Welcome, Carol",
            "Hi Carol, glad you are here."
        )]
    );
    let stop = owner
        .call(
            reqwest::Method::PUT,
            &format!("/v1/customers/{carol}/consent/sms"),
            Some(json!({"status": "unsubscribed", "keyword": "STOP"})),
        )
        .await;
    assert_eq!(stop.status, 200, "{}", stop.body);

    let follow_ups = until_runs(&server, &owner, &ins, "schedule", 2).await;
    assert!(follow_ups.iter().all(|r| r["outcome"] == "ok"), "{follow_ups:?}");
    assert_eq!(
        outbox(&owner).await,
        [
            email("carol@example.com", "Welcome, Carol", "Hi Carol, glad you are here."),
            sms("+14155550104", "Dave: 10% off today"),
        ]
    );
    let logs = owner.get(&format!("/v1/installations/{ins}/logs")).await;
    let lines: Vec<&str> = logs.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    let refused = |channel: &str| {
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{channel} to ")) && l.contains("not sent") && l.contains("unsubscribed"))
    };
    assert!(refused("sms") && refused("email"), "{lines:?}");
}
