use serde_json::json;
use switchboard::store::Backend;
use switchboard_tests::TestServer;

#[tokio::test]
async fn no_read_or_write_crosses_tenants() {
    let server = TestServer::start().await;
    let a = server.signup("Tenant A").await;
    let b = server.signup("Tenant B").await;
    let b_user = b.invite_user("agent").await;
    let b_key = b.api_key("viewer").await;
    let b_inv = b
        .post(
            "/v1/invitations",
            json!({"email": "pending@b.example", "role": "viewer"}),
        )
        .await;
    let b_inv_id = b_inv.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        b.post("/v1/roles", json!({"name": "b-only", "permissions": ["profile:read"]}))
            .await
            .status,
        201
    );

    let user_path = format!("/v1/users/{}", b_user.user_id);
    a.get(&user_path).await.assert_problem(404);
    a.patch(&user_path, json!({"role": "viewer"})).await.assert_problem(404);
    a.delete(&user_path).await.assert_problem(404);
    a.delete(&format!("/v1/users/{}", b.user_id)).await.assert_problem(404);
    a.delete(&format!("/v1/api-keys/{}", b_key.user_id))
        .await
        .assert_problem(404);
    a.delete(&format!("/v1/invitations/{b_inv_id}"))
        .await
        .assert_problem(404);
    a.delete("/v1/roles/b-only").await.assert_problem(404);
    // A cannot grant B's custom role either: it does not exist in A.
    a.post("/v1/api-keys", json!({"name": "x", "role": "b-only"}))
        .await
        .assert_problem(422);

    for list in [
        "/v1/users",
        "/v1/api-keys",
        "/v1/invitations",
        "/v1/roles",
        "/v1/audit-logs",
    ] {
        let text = a.get(list).await.body.to_string();
        for b_id in [&b.user_id, &b_user.user_id, &b_key.user_id, &b_inv_id, &b.tenant_id] {
            assert!(!text.contains(b_id.as_str()), "{list} leaks {b_id}");
        }
        assert!(!text.contains("b-only"), "{list} leaks B's role");
    }
    let a_tenant = a.get("/v1/tenant").await;
    assert_eq!(a_tenant.body["id"], a.tenant_id.as_str());

    // B is untouched.
    assert_eq!(b_key.get("/v1/me").await.status, 200);
    assert_eq!(b_user.get("/v1/me").await.body["role"], "agent");
    assert_eq!(b.get("/v1/invitations").await.body["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn row_level_security_is_the_second_wall_on_postgres() {
    let server = TestServer::start().await;
    let a = server.signup("RLS A").await;
    let b = server.signup("RLS B").await;
    let store = &server.state.store;
    let ctx = a.ctx();
    let mut tx = store.tenant_tx(&ctx).await.unwrap();
    // A query that forgets its tenant filter.
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM users ORDER BY id")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    match store.backend() {
        Backend::Postgres => assert_eq!(ids, std::slice::from_ref(&a.user_id), "RLS hides tenant B"),
        // SQLite has no row-level security: the store's own scoping is the only wall there.
        Backend::Sqlite => assert_eq!(ids.len(), 2, "{ids:?} / {}", b.user_id),
    }
}
