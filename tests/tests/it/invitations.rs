use serde_json::json;
use switchboard_tests::TestServer;

#[tokio::test]
async fn invitee_accepts_sets_a_password_and_holds_the_role() {
    let server = TestServer::start().await;
    let owner = server.signup("Invites").await;
    let invited = owner
        .post(
            "/v1/invitations",
            json!({"email": "Agent@Example.com", "role": "agent"}),
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.body);
    assert_eq!(invited.body["status"], "pending");
    assert_eq!(invited.body["email"], "agent@example.com");
    let token = invited.body["token"].as_str().unwrap().to_owned();

    let anon = server.anonymous();
    let weak = anon
        .post("/v1/invitations/accept", json!({"token": token, "password": "short"}))
        .await;
    weak.assert_problem(422);
    assert_eq!(weak.error_fields(), ["password"]);

    let accepted = anon
        .post(
            "/v1/invitations/accept",
            json!({"token": token, "password": "agent password 1", "name": "Ann Agent"}),
        )
        .await;
    assert_eq!(accepted.status, 201, "{}", accepted.body);
    assert_eq!(accepted.body["user"]["role"], "agent");
    assert_eq!(accepted.body["user"]["tenant_id"], owner.tenant_id.as_str());

    let again = anon
        .post(
            "/v1/invitations/accept",
            json!({"token": token, "password": "agent password 1"}),
        )
        .await;
    again.assert_problem(401);

    let login = anon
        .post(
            "/v1/auth/login",
            json!({"email": "agent@example.com", "password": "agent password 1"}),
        )
        .await;
    assert_eq!(login.status, 200);
    let agent = anon.with_token(login.body["access_token"].as_str().unwrap());
    let me = agent.get("/v1/me").await;
    assert_eq!(
        (me.body["role"].as_str(), me.body["tenant"]["id"].as_str()),
        (Some("agent"), Some(owner.tenant_id.as_str()))
    );
    agent.get("/v1/api-keys").await.assert_problem(403);

    let listed = owner.get("/v1/invitations").await;
    assert_eq!(listed.body["data"][0]["status"], "accepted");
}

#[tokio::test]
async fn revoked_invitations_cannot_be_accepted() {
    let server = TestServer::start().await;
    let owner = server.signup("Revokes").await;
    let invited = owner
        .post(
            "/v1/invitations",
            json!({"email": "late@example.com", "role": "viewer"}),
        )
        .await;
    let id = invited.body["id"].as_str().unwrap();
    let revoked = owner.delete(&format!("/v1/invitations/{id}")).await;
    assert_eq!(
        (revoked.status, revoked.body["status"].as_str()),
        (200, Some("revoked"))
    );
    let anon = server.anonymous();
    anon.post(
        "/v1/invitations/accept",
        json!({"token": invited.body["token"], "password": "a fine password"}),
    )
    .await
    .assert_problem(401);
    anon.post(
        "/v1/invitations/accept",
        json!({"token": "sb_inv_made_up", "password": "a fine password"}),
    )
    .await
    .assert_problem(401);
}
