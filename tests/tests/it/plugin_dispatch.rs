//! Plugins as consumers of domain events and of their own scheduled follow-ups, through the
//! durable job queue: delivery to subscribed installations of the event's tenant only, retries
//! ending dead-lettered, follow-ups queued only by runs that succeed, and upgrading and rolling
//! back an installation's version.

use serde_json::{json, Value};
use switchboard_tests::plugins::{hostile_next, installed, invoke, upload};
use switchboard_tests::{Session, TestServer};

const ALL_CAPS: [&str; 3] = ["kv", "customers:read", "customers:write"];

async fn new_customer(owner: &Session, email: &str) -> String {
    let c = owner.post("/v1/customers", json!({"email": email})).await;
    assert_eq!(c.status, 201, "{}", c.body);
    c.body["id"].as_str().unwrap().to_owned()
}

async fn tags(owner: &Session, customer: &str) -> Vec<String> {
    let c = owner.get(&format!("/v1/customers/{customer}")).await;
    serde_json::from_value(c.body["tags"].clone()).unwrap()
}

/// The installation's runs, newest first.
async fn runs(owner: &Session, ins: &str) -> Vec<Value> {
    let reply = owner.get(&format!("/v1/installations/{ins}/runs")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["data"].as_array().unwrap().clone()
}

/// Waits for background jobs until `customer` carries `tag`.
async fn until_tagged(server: &TestServer, owner: &Session, customer: &str, tag: &str) {
    server
        .until_jobs(|| async { tags(owner, customer).await.iter().any(|t| t == tag).then_some(()) })
        .await;
}

#[tokio::test]
async fn domain_events_reach_subscribed_installations_of_their_tenant_only() {
    let server = TestServer::start().await;
    let a = server.signup("A").await;
    let b = server.signup("B").await;
    let a_ins = installed(&a, &ALL_CAPS).await;
    let b_ins = installed(&b, &ALL_CAPS).await;

    // Creating a customer through the API runs A's subscribed plugin, which tags them.
    let ann = new_customer(&a, "ann@a.example").await;
    until_tagged(&server, &a, &ann, "seen-by-0.1.0").await;
    let a_runs = runs(&a, &a_ins).await;
    assert_eq!(a_runs.len(), 1, "{a_runs:?}");
    assert_eq!(
        (a_runs[0]["trigger"].as_str(), a_runs[0]["outcome"].as_str()),
        (Some("event"), Some("ok"))
    );

    // B's plugin runs for B's own customer, and never ran for A's.
    let bob = new_customer(&b, "bob@b.example").await;
    until_tagged(&server, &b, &bob, "seen-by-0.1.0").await;
    assert_eq!(runs(&b, &b_ins).await.len(), 1);
    assert_eq!(runs(&a, &a_ins).await.len(), 1);
    assert_eq!(tags(&a, &ann).await, ["seen-by-0.1.0"]);

    // A disabled installation receives nothing.
    let disabled = a
        .patch(&format!("/v1/installations/{a_ins}"), json!({"enabled": false}))
        .await;
    assert_eq!(disabled.body["enabled"], false, "{}", disabled.body);
    let cid = new_customer(&a, "cid@a.example").await;
    let dan = new_customer(&b, "dan@b.example").await;
    until_tagged(&server, &b, &dan, "seen-by-0.1.0").await;
    assert!(tags(&a, &cid).await.is_empty());
    assert_eq!(runs(&a, &a_ins).await.len(), 1);
}

#[tokio::test]
async fn failing_event_runs_are_retried_then_dead_lettered() {
    let server = TestServer::start_with(|c| c.job_max_attempts = 3).await;
    let owner = server.signup("Flaky").await;
    // Without customers:write the plugin's tag is denied, so every attempt fails.
    let ins = installed(&owner, &["kv"]).await;
    new_customer(&owner, "eve@example.com").await;
    let dead = server
        .until_jobs(|| async {
            let jobs = owner.get("/v1/jobs?status=dead").await;
            jobs.body["data"].as_array().filter(|d| !d.is_empty()).cloned()
        })
        .await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(
        (dead[0]["kind"].as_str(), dead[0]["attempts"].as_i64()),
        (Some("plugin.event"), Some(3))
    );
    assert!(dead[0]["last_error"].as_str().unwrap().contains("denied"), "{dead:?}");

    let runs = runs(&owner, &ins).await;
    let seen: Vec<(&str, &str)> = runs
        .iter()
        .map(|r| (r["trigger"].as_str().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [("event", "denied"); 3]);
    let logs = owner.get(&format!("/v1/installations/{ins}/logs?limit=1")).await;
    let last = logs.body["data"][0]["message"].as_str().unwrap().to_owned();
    assert!(last.contains("gave up") && last.contains("dead-lettered"), "{last}");
}

#[tokio::test]
async fn plugins_schedule_follow_ups_that_successful_runs_queue() {
    let server = TestServer::start().await;
    let owner = server.signup("Later").await;
    let ins = installed(&owner, &ALL_CAPS).await;
    let failing = new_customer(&owner, "fail@example.com").await;
    let later = new_customer(&owner, "later@example.com").await;
    until_tagged(&server, &owner, &later, "seen-by-0.1.0").await;

    // A run that fails after scheduling queues nothing, and its log says so.
    let failed = invoke(
        &owner,
        &ins,
        "schedule-then-fail",
        json!({"id": failing, "delay_ms": 0}),
    )
    .await;
    assert_eq!(failed["outcome"], "error", "{failed}");
    let logs = owner.get(&format!("/v1/installations/{ins}/logs?limit=1")).await;
    assert!(
        logs.body["data"][0]["message"]
            .as_str()
            .unwrap()
            .contains("1 scheduled follow-ups dropped"),
        "{}",
        logs.body
    );

    let scheduled = invoke(&owner, &ins, "schedule", json!({"id": later, "delay_ms": 200})).await;
    assert_eq!(scheduled["outcome"], "ok", "{scheduled}");
    until_tagged(&server, &owner, &later, "followed-up").await;
    let follow_up = runs(&owner, &ins)
        .await
        .into_iter()
        .find(|r| r["trigger"] == "schedule")
        .unwrap();
    assert_eq!(follow_up["outcome"], "ok", "{follow_up}");
    let output: Value = serde_json::from_str(follow_up["output"].as_str().unwrap()).unwrap();
    assert!(output["event_id"].as_str().unwrap().starts_with("job_"), "{output}");

    // Exactly one follow-up job was ever queued: the failed run's was not.
    let jobs = owner.get("/v1/jobs").await;
    let plugin_jobs = jobs.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "plugin.event")
        .count();
    // Two customer.created deliveries and the one follow-up.
    assert_eq!(plugin_jobs, 3, "{}", jobs.body);
    assert!(!tags(&owner, &failing).await.contains(&"followed-up".to_owned()));

    // Follow-ups are checked: a delay over a year is refused inside the plugin.
    let refused = invoke(&owner, &ins, "schedule", json!({"id": later, "delay_ms": 1u64 << 40})).await;
    assert_eq!(refused["outcome"], "error", "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("delay-ms"), "{refused}");
}

#[tokio::test]
async fn an_installation_upgrades_and_rolls_back_by_version() {
    let server = TestServer::start().await;
    let owner = server.signup("Versions").await;
    let ins = installed(&owner, &ALL_CAPS).await;
    let (wasm, manifest) = hostile_next();
    let next = upload(&owner, wasm, &manifest).await;
    assert_eq!(next.status, 201, "{}", next.body);
    assert_eq!(next.body["version"], "0.2.0");
    let path = format!("/v1/installations/{ins}");
    assert_eq!(
        owner.get(&path).await.body["plugin"],
        next.body["id"],
        "one plugin, two versions"
    );

    let version_run = |expected: &'static str| {
        let owner = owner.clone();
        let ins = ins.clone();
        async move {
            let run = invoke(&owner, &ins, "version", json!({})).await;
            assert_eq!(run["output"], expected, "{run}");
        }
    };
    version_run("0.1.0").await;

    // Upgrade: the new code answers, and domain events reach it.
    let up = owner.patch(&path, json!({"version": "0.2.0"})).await;
    assert_eq!(
        (up.status, up.body["version"].as_str()),
        (200, Some("0.2.0")),
        "{}",
        up.body
    );
    version_run("0.2.0").await;
    let upgraded = new_customer(&owner, "up@example.com").await;
    until_tagged(&server, &owner, &upgraded, "seen-by-0.2.0").await;

    // Roll back: the old code answers again.
    let back = owner.patch(&path, json!({"version": "0.1.0"})).await;
    assert_eq!(back.body["version"], "0.1.0", "{}", back.body);
    version_run("0.1.0").await;
    let rolled_back = new_customer(&owner, "back@example.com").await;
    until_tagged(&server, &owner, &rolled_back, "seen-by-0.1.0").await;
    assert_eq!(tags(&owner, &rolled_back).await, ["seen-by-0.1.0"]);

    // A version that does not exist changes nothing.
    let missing = owner.patch(&path, json!({"version": "9.9.9"})).await;
    missing.assert_problem(422);
    assert_eq!(missing.error_fields(), ["version"]);
    assert_eq!(owner.get(&path).await.body["version"], "0.1.0");
}

/// The installation's runs of `trigger`.
async fn runs_of(owner: &Session, ins: &str, trigger: &str) -> Vec<Value> {
    runs(owner, ins)
        .await
        .into_iter()
        .filter(|r| r["trigger"] == trigger)
        .collect()
}

/// The tenant's queued jobs of `kind` (a running tick has queued its successor already, so a
/// chain is always one queued job).
async fn pending(owner: &Session, kind: &str) -> usize {
    let jobs = owner.get("/v1/jobs?status=queued&limit=500").await;
    jobs.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == kind)
        .count()
}

#[tokio::test]
async fn manifest_schedules_tick_until_the_installation_goes() {
    let server = TestServer::start_with(|c| c.plugin_tick_min_secs = 1).await;
    let owner = server.signup("Ticks").await;
    let ins = installed(&owner, &ALL_CAPS).await;
    // One chain per schedule: changing the installation does not start a second one.
    let patched = owner
        .patch(
            &format!("/v1/installations/{ins}"),
            json!({"config": {"greeting": "tick"}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(pending(&owner, "plugin.tick").await, 1);

    let ticks = server
        .until_jobs(|| async {
            let ticks = runs_of(&owner, &ins, "tick").await;
            (ticks.len() >= 2).then_some(ticks)
        })
        .await;
    assert!(ticks.iter().all(|t| t["outcome"] == "ok"), "{ticks:?}");
    assert_eq!(pending(&owner, "plugin.tick").await, 1, "the chain goes on, once");

    // Deleted, its chain ends at the next tick.
    assert_eq!(owner.delete(&format!("/v1/installations/{ins}")).await.status, 204);
    server
        .until_jobs(|| async { (pending(&owner, "plugin.tick").await == 0).then_some(()) })
        .await;
}
