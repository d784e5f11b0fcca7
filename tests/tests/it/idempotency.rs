use serde_json::json;
use switchboard_tests::TestServer;

#[tokio::test]
async fn idempotency_key_replays_the_first_response() {
    let server = TestServer::start().await;
    let owner = server.signup("Idem").await;
    let send = |key: &str, name: &str| {
        owner
            .request(reqwest::Method::POST, "/v1/api-keys")
            .header("Idempotency-Key", key)
            .json(&json!({"name": name, "role": "viewer"}))
    };
    let first = owner.send(send("abc", "one")).await;
    assert_eq!(first.status, 201);
    let retry = owner.send(send("abc", "one")).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.body, first.body, "same key, same response, same secret");
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));

    let listed = owner.get("/v1/api-keys").await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1, "created once");

    owner.send(send("abc", "two")).await.assert_problem(422);
    assert_eq!(owner.send(send("def", "two")).await.status, 201);

    // Keys belong to the principal: another tenant's identical key is independent.
    let other = server.signup("Other").await;
    let theirs = other
        .send(
            other
                .request(reqwest::Method::POST, "/v1/api-keys")
                .header("Idempotency-Key", "abc")
                .json(&json!({"name": "one", "role": "viewer"})),
        )
        .await;
    assert_eq!(theirs.status, 201);
    assert_ne!(theirs.body["id"], first.body["id"]);
}

#[tokio::test]
async fn concurrent_retries_create_once() {
    let server = TestServer::start().await;
    let owner = server.signup("Race").await;
    let attempts = (0..8).map(|_| {
        let owner = owner.clone();
        tokio::spawn(async move {
            owner
                .send(
                    owner
                        .request(reqwest::Method::POST, "/v1/api-keys")
                        .header("Idempotency-Key", "race")
                        .json(&json!({"name": "r", "role": "viewer"})),
                )
                .await
                .status
        })
    });
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    assert!(statuses.contains(&201));
    assert_eq!(
        owner.get("/v1/api-keys").await.body["data"].as_array().unwrap().len(),
        1
    );
}
