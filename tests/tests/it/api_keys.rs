use serde_json::json;
use switchboard_tests::TestServer;

#[tokio::test]
async fn api_key_secret_is_shown_once_works_and_revocation_is_immediate() {
    let server = TestServer::start().await;
    let owner = server.signup("Keys").await;
    let created = owner
        .post("/v1/api-keys", json!({"name": "CI deploy", "role": "admin"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sb_key_"));
    assert!(secret.starts_with(created.body["prefix"].as_str().unwrap()));

    let listed = owner.get("/v1/api-keys").await;
    let text = listed.body.to_string();
    assert!(
        text.contains(&id) && !text.contains(&secret),
        "secret never listed again"
    );

    let key = owner.with_token(&secret);
    let me = key.get("/v1/me").await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["api_key"]["id"], id.as_str());
    assert_eq!(me.body["role"], "admin");
    assert!(me.body["user"].is_null());

    let revoked = owner.delete(&format!("/v1/api-keys/{id}")).await;
    assert_eq!(revoked.status, 200);
    assert!(revoked.body["revoked_at"].is_string());
    key.get("/v1/me").await.assert_problem(401);
}

#[tokio::test]
async fn nobody_grants_more_than_they_hold() {
    let server = TestServer::start().await;
    let owner = server.signup("Escalation").await;
    let admin = owner.api_key("admin").await;
    admin
        .post("/v1/api-keys", json!({"name": "x", "role": "owner"}))
        .await
        .assert_problem(403);
    admin
        .post("/v1/invitations", json!({"email": "x@example.com", "role": "owner"}))
        .await
        .assert_problem(403);
    assert_eq!(
        admin
            .post("/v1/api-keys", json!({"name": "ok", "role": "viewer"}))
            .await
            .status,
        201
    );
    let unknown = admin.post("/v1/api-keys", json!({"name": "x", "role": "wizard"})).await;
    unknown.assert_problem(422);
    assert_eq!(unknown.error_fields(), ["role"]);
}
