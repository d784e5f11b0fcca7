use serde_json::Value;
use switchboard_tests::TestServer;

fn generated() -> Value {
    let spec = switchboard::api::service("http://127.0.0.1:8080").spec();
    serde_json::from_str(&spec).unwrap()
}

#[test]
fn checked_in_spec_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    let checked_in: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("openapi/openapi.json")).unwrap();
    assert!(
        checked_in == generated(),
        "openapi/openapi.json is stale: run `cargo run -q -p switchboard-host -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn every_operation_is_documented_for_client_generators() {
    let spec = generated();
    assert!(spec["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer");
    let mut ids = std::collections::HashSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: operationId"));
            assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
            assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{id}: tag");
            assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{id}: summary");
            let responses = op["responses"].as_object().unwrap();
            if path.starts_with("/v1/") {
                for status in ["400", "401", "403", "404", "409", "413", "422", "429", "500"] {
                    let content = &responses[status]["content"]["application/problem+json"];
                    assert!(content.is_object(), "{id}: {status} problem+json documented");
                }
            }
        }
    }
    assert!(ids.len() >= 20, "{ids:?}");
}

#[tokio::test]
async fn served_spec_matches_the_generated_one() {
    let server = TestServer::start().await;
    let served = server.anonymous().get("/openapi.json").await.body;
    assert_eq!(served["paths"], generated()["paths"]);
}
