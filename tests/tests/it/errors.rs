use reqwest::Method;
use serde_json::json;
use switchboard_tests::TestServer;

#[tokio::test]
async fn framework_errors_are_problem_json() {
    let server = TestServer::start().await;
    let anon = server.anonymous();
    anon.get("/v1/no-such-route").await.assert_problem(404);
    anon.call(Method::PUT, "/healthz", None).await.assert_problem(405);

    let not_json = anon
        .send(
            anon.request(Method::POST, "/v1/signup")
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    not_json.assert_problem(400);
    assert!(
        not_json.body["detail"].as_str().unwrap().contains("not valid JSON"),
        "{}",
        not_json.body
    );

    let wrong_type = anon
        .post(
            "/v1/signup",
            json!({"tenant_name": 7, "email": "a@b.io", "password": "long enough pw"}),
        )
        .await;
    wrong_type.assert_problem(400);
    assert!(
        wrong_type.body["detail"].as_str().unwrap().contains("tenant_name"),
        "{}",
        wrong_type.body
    );

    let missing = anon
        .post("/v1/signup", json!({"tenant_name": "x", "email": "a@b.io"}))
        .await;
    missing.assert_problem(400);
    assert!(
        missing.body["detail"].as_str().unwrap().contains("password"),
        "{}",
        missing.body
    );

    let wrong_media = anon
        .send(
            anon.request(Method::POST, "/v1/signup")
                .header("content-type", "text/plain")
                .body("hi"),
        )
        .await;
    assert!(
        wrong_media.status == 415 || wrong_media.status == 400,
        "{}",
        wrong_media.status
    );
    wrong_media.assert_problem(wrong_media.status);
}

#[tokio::test]
async fn oversized_bodies_get_413_declared_or_chunked() {
    let server = TestServer::start_with(|c| c.max_body_bytes = 1024).await;
    let anon = server.anonymous();
    let big = json!({"tenant_name": "x".repeat(4096), "email": "a@b.io", "password": "long enough pw"});
    anon.post("/v1/signup", big).await.assert_problem(413);

    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..8).map(|_| Ok(vec![b' '; 512])).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let chunked = anon
        .send(
            anon.request(Method::POST, "/v1/signup")
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
    chunked.assert_problem(413);
    // Nothing was created.
    let owner = server.signup("After").await;
    let users = owner.get("/v1/users").await;
    assert_eq!(users.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn hostile_strings_are_data_not_sql_and_unicode_survives() {
    let server = TestServer::start().await;
    let anon = server.anonymous();
    let name = "Robert'); DROP TABLE tenants;-- Zoë 🚀 ﷽";
    let reply = anon
        .post(
            "/v1/signup",
            json!({"tenant_name": name, "email": "bobby@tables.io", "password": "' OR '1'='1' --"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["tenant"]["name"], name);
    let login = anon
        .post(
            "/v1/auth/login",
            json!({"email": "bobby@tables.io", "password": "' OR 1=1 --"}),
        )
        .await;
    login.assert_problem(401);
    let login = anon
        .post(
            "/v1/auth/login",
            json!({"email": "' OR 1=1 --", "password": "' OR '1'='1' --"}),
        )
        .await;
    login.assert_problem(401);
    let ok = anon
        .post(
            "/v1/auth/login",
            json!({"email": "BOBBY@tables.io", "password": "' OR '1'='1' --"}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    let owner = anon.with_token(ok.body["access_token"].as_str().unwrap());
    for path in [
        "/v1/users/usr_' OR 1=1 --",
        "/v1/users/%27%20OR%201%3D1",
        "/v1/api-keys/key_%00",
    ] {
        let r = owner.get(path).await;
        assert!(r.status == 404 || r.status == 405, "{path}: {}", r.status);
        r.assert_problem(r.status);
    }
    let listed = owner.get("/v1/audit-logs?action=%27%20OR%201%3D1%20--").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 0);
}
