use serde_json::json;
use switchboard_tests::TestServer;

#[tokio::test]
async fn signup_creates_tenant_and_owner_who_can_see_themselves() {
    let server = TestServer::start().await;
    let owner = server.signup("Acme").await;
    let me = owner.get("/v1/me").await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["role"], "owner");
    assert_eq!(me.body["tenant"]["id"], owner.tenant_id.as_str());
    assert_eq!(me.body["tenant"]["name"], "Acme");
    assert_eq!(me.body["user"]["email"], owner.email.as_str());
    assert!(me.body["user"].get("password_hash").is_none());
    assert!(me.body["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "tenant:write"));
    assert!(owner.tenant_id.starts_with("ten_") && owner.user_id.starts_with("usr_"));
}

#[tokio::test]
async fn signup_validates_every_field_and_rejects_duplicates() {
    let server = TestServer::start().await;
    let anon = server.anonymous();
    let bad = anon
        .post(
            "/v1/signup",
            json!({"tenant_name": "  ", "email": "not-an-email", "password": "short"}),
        )
        .await;
    bad.assert_problem(422);
    assert_eq!(bad.error_fields(), ["tenant_name", "email", "password"]);

    let ok = anon
        .post(
            "/v1/signup",
            json!({"tenant_name": "One", "email": "dup@example.com", "password": "long enough pw"}),
        )
        .await;
    assert_eq!(ok.status, 201);
    let dup = anon
        .post(
            "/v1/signup",
            json!({"tenant_name": "Two", "email": "DUP@example.com", "password": "long enough pw"}),
        )
        .await;
    dup.assert_problem(409);
    assert_eq!(dup.error_fields(), ["email"]);
}

#[tokio::test]
async fn signup_can_be_switched_off() {
    let server = TestServer::start_with(|c| c.signup_enabled = false).await;
    let reply = server
        .anonymous()
        .post(
            "/v1/signup",
            json!({"tenant_name": "No", "email": "no@example.com", "password": "long enough pw"}),
        )
        .await;
    reply.assert_problem(403);
}

#[tokio::test]
async fn tenant_settings_read_and_rename() {
    let server = TestServer::start().await;
    let owner = server.signup("Before").await;
    assert_eq!(owner.get("/v1/me").await.body["tenant"]["name"], "Before");
    let renamed = owner.patch("/v1/tenant", json!({"name": "After"})).await;
    assert_eq!((renamed.status, renamed.body["name"].as_str()), (200, Some("After")));
    assert_eq!(owner.get("/v1/tenant").await.body["name"], "After");
    assert_eq!(
        owner.get("/v1/me").await.body["tenant"]["name"],
        "After",
        "cached profile invalidated"
    );
    owner.patch("/v1/tenant", json!({"name": ""})).await.assert_problem(422);
}
