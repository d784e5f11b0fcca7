use serde_json::json;
use switchboard::domain::crm::bulk::create_many_in;
use switchboard::domain::crm::custom_fields::definitions;
use switchboard::domain::crm::customers::{CustomerInput, Patch};
use switchboard::domain::DomainError;
use switchboard_tests::TestServer;

fn row(email: &str, score: serde_json::Value, tags: &[&str]) -> CustomerInput {
    CustomerInput {
        email: Patch::Set(email.to_owned()),
        custom_fields: Some(serde_json::Map::from_iter([("score".to_owned(), score)])),
        tags: Some(tags.iter().map(|t| t.to_string()).collect()),
        ..CustomerInput::default()
    }
}

#[tokio::test]
async fn bulk_create_writes_valid_rows_and_reports_the_rest() {
    let server = TestServer::start().await;
    let owner = server.signup("Bulk").await;
    owner
        .post("/v1/custom-fields", json!({"key": "score", "type": "number"}))
        .await;
    owner.post("/v1/customers", json!({"email": "taken@example.com"})).await;

    let ctx = owner.ctx();
    let mut tx = server.state.store.tenant_tx(&ctx).await.unwrap();
    let defs = definitions(&mut tx, &ctx).await.unwrap();
    let rows = vec![
        (1, row("one@example.com", json!(1), &["a", "b"])),
        (2, row("not-an-email", json!(2), &[])),
        (3, row("ONE@example.com", json!(3), &[])),
        (4, row("taken@example.com", json!(4), &[])),
        (5, row("five@example.com", json!("five"), &[])),
        (6, row("six@example.com", json!(6.5), &["a"])),
    ];
    let results = create_many_in(&mut tx, &ctx, &defs, rows).await.unwrap();
    tx.commit().await.unwrap();

    let outcome: Vec<(usize, &str)> = results
        .iter()
        .map(|(n, r)| {
            let what = match r {
                Ok(_) => "created",
                Err(DomainError::Invalid(_)) => "invalid",
                Err(DomainError::Conflict { .. }) => "conflict",
                Err(_) => "other",
            };
            (*n, what)
        })
        .collect();
    assert_eq!(
        outcome,
        [
            (1, "created"),
            (2, "invalid"),
            (3, "conflict"),
            (4, "conflict"),
            (5, "invalid"),
            (6, "created")
        ]
    );

    let listed = owner.get("/v1/customers?tag=a").await;
    let emails: Vec<&str> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["email"].as_str())
        .collect();
    assert_eq!(emails, ["one@example.com", "six@example.com"]);
    assert_eq!(listed.body["data"][0]["custom_fields"]["score"], 1);
    assert_eq!(listed.body["data"][0]["tags"], json!(["a", "b"]));
    assert_eq!(
        owner.get("/v1/customers?q=six").await.body["data"][0]["custom_fields"]["score"],
        6.5
    );
    let created = owner.get("/v1/domain-events?type=customer.created").await;
    assert_eq!(
        created.body["data"].as_array().unwrap().len(),
        3,
        "taken@ plus the two bulk rows"
    );
}
