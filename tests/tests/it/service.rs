use switchboard_tests::TestServer;

#[tokio::test]
async fn health_readiness_spec_and_docs_are_served() {
    let server = TestServer::start().await;
    let anon = server.anonymous();
    let health = anon.get("/healthz").await;
    assert_eq!((health.status, health.body["status"].as_str()), (200, Some("ok")));
    let ready = anon.get("/readyz").await;
    assert_eq!((ready.status, ready.body["status"].as_str()), (200, Some("ready")));
    let spec = anon.get("/openapi.json").await;
    assert_eq!(spec.status, 200);
    assert_eq!(spec.body["info"]["title"], "Switchboard");
    let docs = server.http.get(server.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().to_lowercase().contains("swagger"));
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_echoes_the_clients() {
    let server = TestServer::start().await;
    let anon = server.anonymous();
    let generated = anon.get("/healthz").await;
    let id = generated.header("x-request-id").expect("request id");
    assert!(!id.is_empty());
    let again = anon.get("/healthz").await;
    assert_ne!(again.header("x-request-id"), Some(id), "ids are unique");

    let echoed = anon
        .send(
            anon.request(reqwest::Method::GET, "/nowhere")
                .header("x-request-id", "client-id-42"),
        )
        .await;
    assert_eq!(echoed.header("x-request-id"), Some("client-id-42"));
    echoed.assert_problem(404);

    let junk = "x".repeat(500);
    let replaced = anon
        .send(
            anon.request(reqwest::Method::GET, "/healthz")
                .header("x-request-id", junk.as_str()),
        )
        .await;
    assert_ne!(
        replaced.header("x-request-id"),
        Some(junk.as_str()),
        "oversized ids are replaced"
    );
}

#[tokio::test]
async fn graceful_stop_finishes_and_readiness_reflects_the_database() {
    let server = TestServer::start().await;
    let owner = server.signup("Stopper").await;
    // A request in flight when shutdown begins still completes.
    let inflight = tokio::spawn({
        let owner = owner.clone();
        async move { owner.get("/v1/me").await.status }
    });
    assert_eq!(inflight.await.unwrap(), 200);
    let base = server.base_url.clone();
    server.stop().await;
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "server stopped listening"
    );
}
