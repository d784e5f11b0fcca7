use serde_json::json;
use switchboard::domain::crm::bulk::create_many_in;
use switchboard::domain::crm::custom_fields::definitions;
use switchboard::domain::crm::customers::{CustomerInput, Patch};
use switchboard::domain::DomainError;
use switchboard::ids::{CustomerId, PrefixedId};
use switchboard::store::bulk::insert_tags;
use switchboard::store::customers::set_field_value;
use switchboard::store::Backend;
use switchboard::tenancy::TenantCtx;
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
    // Found only by its phone or its external id: no row below shares its email.
    let held = json!({"email": "held@example.com", "phone": "+14155550100", "external_id": "ext-1"});
    owner.post("/v1/customers", held).await;

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
        (
            7,
            CustomerInput {
                phone: Patch::Set("+1 415 555 0100".into()),
                ..row("seven@example.com", json!(7), &[])
            },
        ),
        (
            8,
            CustomerInput {
                external_id: Patch::Set("ext-1".into()),
                ..row("eight@example.com", json!(8), &[])
            },
        ),
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
            (6, "created"),
            (7, "conflict"),
            (8, "conflict")
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
        4,
        "taken@, held@ and the two bulk rows"
    );
}

/// Values and tags must name an existing customer (on PostgreSQL one of their own tenant: the
/// check compares the customer's tenant with the row's), and deleting a customer takes them along.
#[tokio::test]
async fn values_and_tags_name_a_customer_and_go_with_it() {
    let server = TestServer::start().await;
    let owner = server.signup("Children").await;
    let other = server.signup("Neighbour").await;
    owner
        .post("/v1/custom-fields", json!({"key": "score", "type": "number"}))
        .await;
    let kept = owner
        .post(
            "/v1/customers",
            json!({"email": "kept@example.com", "tags": ["a"], "custom_fields": {"score": 1}}),
        )
        .await;
    let kept = CustomerId::from_raw(kept.body["id"].as_str().unwrap().to_owned());
    let theirs = other
        .post("/v1/customers", json!({"email": "theirs@example.com"}))
        .await;
    let theirs = theirs.body["id"].as_str().unwrap().to_owned();
    let ctx = owner.ctx();

    let mut missing = vec!["cus_missing".to_owned()];
    if server.state.store.backend() == Backend::Postgres {
        missing.push(theirs);
    }
    for customer in missing {
        // Each refusal in a transaction of its own, dropped (rolled back) before the next.
        let mut tx = server.state.store.tenant_tx(&ctx).await.unwrap();
        let rows = [(kept.to_string(), "b".to_owned()), (customer.clone(), "b".to_owned())];
        assert!(insert_tags(&mut tx, &ctx, &rows).await.is_err(), "a tag for {customer}");
        drop(tx);
        let mut tx = server.state.store.tenant_tx(&ctx).await.unwrap();
        let id = CustomerId::from_raw(customer.clone());
        let refused = set_field_value(&mut tx, &ctx, &id, "score", None, Some(2.0)).await;
        assert!(refused.is_err(), "a value for {customer}");
    }
    let shown = owner.get(&format!("/v1/customers/{kept}")).await;
    assert_eq!(shown.body["tags"], json!(["a"]), "the refused statement left nothing");

    let mut tx = server.state.store.tenant_tx(&ctx).await.unwrap();
    set_field_value(&mut tx, &ctx, &kept, "score", None, Some(3.0))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(children(&server, &ctx, &kept).await, (1, 1));
    assert_eq!(owner.delete(&format!("/v1/customers/{kept}")).await.status, 204);
    assert_eq!(children(&server, &ctx, &kept).await, (0, 0));
}

/// `(values, tags)` stored for a customer.
async fn children(server: &TestServer, ctx: &TenantCtx, id: &CustomerId) -> (i64, i64) {
    let mut tx = server.state.store.tenant_tx(ctx).await.unwrap();
    let mut counts = (0, 0);
    for (table, count) in [
        ("customer_field_values", &mut counts.0),
        ("customer_tags", &mut counts.1),
    ] {
        *count = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE customer_id = $1"))
            .bind(id.as_str())
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    counts
}
