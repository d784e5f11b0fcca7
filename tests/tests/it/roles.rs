use serde_json::json;
use switchboard_tests::TestServer;

#[tokio::test]
async fn custom_roles_grant_exactly_their_permissions() {
    let server = TestServer::start().await;
    let owner = server.signup("Custom").await;
    let perms = owner.get("/v1/permissions").await;
    assert!(perms.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "audit_logs:read"));

    let bad = owner
        .post(
            "/v1/roles",
            json!({"name": "auditor", "permissions": ["profile:read", "audit_logs:delete"]}),
        )
        .await;
    bad.assert_problem(422);
    assert_eq!(bad.error_fields(), ["permissions[1]"]);
    owner
        .post("/v1/roles", json!({"name": "admin", "permissions": []}))
        .await
        .assert_problem(409);
    owner
        .post("/v1/roles", json!({"name": "Bad Name!", "permissions": []}))
        .await
        .assert_problem(422);

    let created = owner.post("/v1/roles", json!({"name": "auditor", "description": "Reads the audit log", "permissions": ["profile:read", "audit_logs:read"]})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["builtin"], false);
    owner
        .post("/v1/roles", json!({"name": "auditor", "permissions": []}))
        .await
        .assert_problem(409);

    let auditor = owner.api_key("auditor").await;
    assert_eq!(auditor.get("/v1/audit-logs").await.status, 200);
    auditor.get("/v1/users").await.assert_problem(403);
    assert_eq!(auditor.get("/v1/me").await.body["role"], "auditor");

    let roles = owner.get("/v1/roles").await;
    let names: Vec<&str> = roles.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["owner", "admin", "marketer", "agent", "viewer", "auditor"]);

    owner.delete("/v1/roles/auditor").await.assert_problem(409);
    owner.delete(&format!("/v1/api-keys/{}", auditor.user_id)).await;
    assert_eq!(owner.delete("/v1/roles/auditor").await.status, 204);
    owner.delete("/v1/roles/owner").await.assert_problem(409);
    owner.delete("/v1/roles/auditor").await.assert_problem(404);
}

#[tokio::test]
async fn role_changes_apply_at_once_and_the_last_owner_stays() {
    let server = TestServer::start().await;
    let owner = server.signup("Roles").await;
    let viewer = owner.invite_user("viewer").await;
    viewer.get("/v1/api-keys").await.assert_problem(403);
    let promoted = owner
        .patch(&format!("/v1/users/{}", viewer.user_id), json!({"role": "admin"}))
        .await;
    assert_eq!((promoted.status, promoted.body["role"].as_str()), (200, Some("admin")));
    assert_eq!(
        viewer.get("/v1/api-keys").await.status,
        200,
        "new role applies to the live token"
    );

    // An admin cannot demote or remove the owner; the owner cannot demote the last owner.
    let owner_path = format!("/v1/users/{}", owner.user_id);
    viewer
        .patch(&owner_path, json!({"role": "viewer"}))
        .await
        .assert_problem(403);
    viewer.delete(&owner_path).await.assert_problem(403);
    owner
        .patch(&owner_path, json!({"role": "admin"}))
        .await
        .assert_problem(409);

    let removed = owner.delete(&format!("/v1/users/{}", viewer.user_id)).await;
    assert_eq!(removed.status, 204);
    viewer.get("/v1/me").await.assert_problem(401);
}
