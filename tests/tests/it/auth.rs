use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use switchboard_tests::TestServer;

#[tokio::test]
async fn login_gives_tokens_and_hides_whether_the_email_exists() {
    let server = TestServer::start().await;
    let owner = server.signup("Login").await;
    let anon = server.anonymous();
    let ok = anon
        .post(
            "/v1/auth/login",
            json!({"email": owner.email, "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["token_type"], "Bearer");
    assert!(ok.body["expires_in"].as_i64().unwrap() > 0);
    let me = anon
        .with_token(ok.body["access_token"].as_str().unwrap())
        .get("/v1/me")
        .await;
    assert_eq!(me.body["user"]["id"], owner.user_id.as_str());

    let wrong_pw = anon
        .post(
            "/v1/auth/login",
            json!({"email": owner.email, "password": "wrong password!"}),
        )
        .await;
    let no_user = anon
        .post(
            "/v1/auth/login",
            json!({"email": "nobody@example.com", "password": "wrong password!"}),
        )
        .await;
    wrong_pw.assert_problem(401);
    no_user.assert_problem(401);
    assert_eq!(
        wrong_pw.body, no_user.body,
        "same answer for unknown email and wrong password"
    );
}

#[tokio::test]
async fn login_is_rate_limited_with_retry_after() {
    let server = TestServer::start_with(|c| c.login_attempts_per_minute = 3).await;
    let owner = server.signup("Limited").await;
    let anon = server.anonymous();
    for _ in 0..3 {
        anon.post(
            "/v1/auth/login",
            json!({"email": owner.email, "password": "guess guess guess"}),
        )
        .await
        .assert_problem(401);
    }
    let limited = anon
        .post(
            "/v1/auth/login",
            json!({"email": owner.email, "password": "correct horse battery"}),
        )
        .await;
    limited.assert_problem(429);
    let retry: u64 = limited.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let server = TestServer::start().await;
    let owner = server.signup("Refresh").await;
    let anon = server.anonymous();
    let first = owner.refresh_token.clone();
    let r1 = anon.post("/v1/auth/refresh", json!({"refresh_token": first})).await;
    assert_eq!(r1.status, 200, "{}", r1.body);
    let second = r1.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert_eq!(
        anon.with_token(r1.body["access_token"].as_str().unwrap())
            .get("/v1/me")
            .await
            .status,
        200
    );

    // Replaying the rotated token is theft: it fails and takes the live token with it.
    anon.post("/v1/auth/refresh", json!({"refresh_token": first}))
        .await
        .assert_problem(401);
    anon.post("/v1/auth/refresh", json!({"refresh_token": second}))
        .await
        .assert_problem(401);

    // A separate login is a separate family and still works.
    let again = anon
        .post(
            "/v1/auth/login",
            json!({"email": owner.email, "password": "correct horse battery"}),
        )
        .await;
    let third = again.body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        anon.post("/v1/auth/refresh", json!({"refresh_token": third}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn logout_ends_the_session() {
    let server = TestServer::start().await;
    let owner = server.signup("Logout").await;
    let anon = server.anonymous();
    let out = anon
        .post("/v1/auth/logout", json!({"refresh_token": owner.refresh_token}))
        .await;
    assert_eq!(out.status, 204);
    anon.post("/v1/auth/refresh", json!({"refresh_token": owner.refresh_token}))
        .await
        .assert_problem(401);
    // Unknown tokens are accepted silently: logout reveals nothing.
    assert_eq!(
        anon.post("/v1/auth/logout", json!({"refresh_token": "sb_rt_nothing"}))
            .await
            .status,
        204
    );
}

fn forge(claims: serde_json::Value, key: &[u8]) -> String {
    use jsonwebtoken::{encode, EncodingKey, Header};
    encode(&Header::default(), &claims, &EncodingKey::from_secret(key)).unwrap()
}

#[tokio::test]
async fn bad_tokens_are_401_problems() {
    let server = TestServer::start().await;
    let owner = server.signup("Tokens").await;
    let token = owner.token.clone().unwrap();
    let payload = token.split('.').nth(1).unwrap().to_owned();
    let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&payload).unwrap()).unwrap();
    let now = claims["iat"].as_i64().unwrap();

    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let mut expired = claims.clone();
    expired["exp"] = json!(now - 3600);
    expired["iat"] = json!(now - 7200);
    let cases = [
        ("malformed", "not.a.jwt".to_owned()),
        ("garbage", "!!!!~~~~".to_owned()),
        ("alg none", format!("{none_header}.{payload}.")),
        ("other key", forge(claims.clone(), b"someone-elses-secret-key-0123456")),
        ("expired", forge(expired, b"test-secret-test-secret-test-secret")),
        ("unknown api key", "sb_key_doesnotexist".to_owned()),
    ];
    for (what, bad) in cases {
        let reply = owner.with_token(&bad).get("/v1/me").await;
        assert_eq!(reply.status, 401, "{what}: {}", reply.body);
        reply.assert_problem(401);
    }
    server.anonymous().get("/v1/me").await.assert_problem(401);
}

#[tokio::test]
async fn each_principal_has_its_own_rate_limit() {
    let server = TestServer::start_with(|c| {
        c.rate_limit_per_second = 1;
        c.rate_limit_burst = 3;
    })
    .await;
    let owner = server.signup("Busy").await;
    let key = owner.api_key("viewer").await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(owner.get("/v1/me").await.status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    let limited = owner.get("/v1/me").await;
    limited.assert_problem(429);
    assert!(limited
        .header("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|s| s >= 1));
    // Another principal of the same tenant is not slowed by the first.
    assert_eq!(key.get("/v1/me").await.status, 200);
}
