use serde_json::json;
use switchboard_tests::TestServer;

#[tokio::test]
async fn mutations_are_audited_with_actor_target_and_request_id() {
    let server = TestServer::start().await;
    let owner = server.signup("Audited").await;
    let reply = owner
        .send(
            owner
                .request(reqwest::Method::POST, "/v1/api-keys")
                .header("x-request-id", "req-audit-1")
                .json(&json!({"name": "k", "role": "viewer"})),
        )
        .await;
    let key_id = reply.body["id"].as_str().unwrap().to_owned();
    owner.delete(&format!("/v1/api-keys/{key_id}")).await;

    let log = owner.get("/v1/audit-logs").await;
    assert_eq!(log.status, 200);
    let actions: Vec<&str> = log.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["api_key.revoked", "api_key.created", "tenant.created"]);
    let created = &log.body["data"][1];
    assert_eq!(created["actor_type"], "user");
    assert_eq!(created["actor_id"], owner.user_id.as_str());
    assert_eq!(created["target_id"], key_id.as_str());
    assert_eq!(created["request_id"], "req-audit-1");

    let filtered = owner.get("/v1/audit-logs?action=api_key.created").await;
    assert_eq!(filtered.body["data"].as_array().unwrap().len(), 1);
    let by_target = owner.get(&format!("/v1/audit-logs?target_id={key_id}")).await;
    assert_eq!(by_target.body["data"].as_array().unwrap().len(), 2);
    let future = owner.get("/v1/audit-logs?since=2999-01-01T00:00:00Z").await;
    assert_eq!(future.body["data"].as_array().unwrap().len(), 0);

    // Reads are not audited.
    owner.get("/v1/users").await;
    assert_eq!(
        owner.get("/v1/audit-logs").await.body["data"].as_array().unwrap().len(),
        3
    );
}

#[tokio::test]
async fn audit_log_pages_with_a_cursor() {
    let server = TestServer::start().await;
    let owner = server.signup("Pages").await;
    for i in 0..5 {
        owner
            .post("/v1/api-keys", json!({"name": format!("k{i}"), "role": "viewer"}))
            .await;
    }
    let mut seen = Vec::new();
    let mut path = "/v1/audit-logs?limit=2".to_owned();
    loop {
        let page = owner.get(&path).await;
        assert_eq!(page.status, 200);
        seen.extend(
            page.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/audit-logs?limit=2&after={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "5 keys + tenant creation, each once");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(seen, sorted, "newest first, no repeats");
    assert_eq!(
        owner.get("/v1/audit-logs?limit=0").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(owner.get("/v1/audit-logs?limit=100000").await.status, 200);
}
