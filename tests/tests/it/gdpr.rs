use serde_json::json;
use sqlx::{Connection, Executor, PgConnection};
use switchboard::domain::crm::customers::{self, ListParams};
use switchboard::store::customer_export::{self, Children};
use switchboard::tenancy::TenantCtx;
use switchboard_tests::database::postgres_base_url;
use switchboard_tests::email::{news_reader, send_news, verified_sender};
use switchboard_tests::{Session, TestServer};

#[tokio::test]
async fn data_export_holds_everything_and_erase_removes_it() {
    let server = TestServer::start().await;
    let owner = server.signup("GDPR").await;
    let c = owner
        .post(
            "/v1/customers",
            json!({"email": "person@example.com", "first_name": "Pia", "tags": ["x"]}),
        )
        .await;
    let id = c.body["id"].as_str().unwrap().to_owned();
    owner
        .post(
            &format!("/v1/customers/{id}/events"),
            json!({"type": "order.placed", "properties": {"sku": "A1"}}),
        )
        .await;
    let keep = owner.post("/v1/customers", json!({"email": "keep@example.com"})).await;

    let export = owner.get(&format!("/v1/customers/{id}/data-export")).await;
    assert_eq!(export.status, 200, "{}", export.body);
    assert_eq!(export.body["customer"]["email"], "person@example.com");
    assert_eq!(export.body["events"][0]["properties"]["sku"], "A1");
    let types: Vec<&str> = export.body["domain_events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(types, ["customer.created", "event.tracked"]);
    assert_eq!(export.body["audit"][0]["action"], "customer.created");

    assert_eq!(
        owner.post(&format!("/v1/customers/{id}/erase"), json!({})).await.status,
        204
    );
    owner.get(&format!("/v1/customers/{id}")).await.assert_problem(404);
    owner
        .get(&format!("/v1/customers/{id}/data-export"))
        .await
        .assert_problem(404);
    let outbox = owner.get("/v1/domain-events?limit=500").await.body.to_string();
    assert!(
        !outbox.contains("person@example.com") && !outbox.contains("Pia") && !outbox.contains("A1"),
        "{outbox}"
    );
    assert!(outbox.contains("keep@example.com"), "others are untouched");
    let audit = owner.get(&format!("/v1/audit-logs?target_id={id}")).await;
    assert_eq!(audit.body["data"][0]["action"], "customer.erased");
    assert_eq!(
        owner
            .get(&format!("/v1/customers/{}", keep.body["id"].as_str().unwrap()))
            .await
            .status,
        200
    );
    owner
        .post(&format!("/v1/customers/{id}/erase"), json!({}))
        .await
        .assert_problem(404);
}

#[tokio::test]
async fn export_streams_csv_with_filters() {
    let server = TestServer::start().await;
    let owner = server.signup("Export").await;
    owner
        .post("/v1/custom-fields", json!({"key": "plan", "type": "text"}))
        .await;
    owner.post("/v1/customers", json!({"email": "a@example.com", "first_name": "Smith, \"Jo\"", "custom_fields": {"plan": "pro"}, "tags": ["vip", "b"]})).await;
    let b = owner
        .post(
            "/v1/customers",
            json!({"email": "b@example.com", "custom_fields": {"plan": "Line\nBreak"}}),
        )
        .await;
    assert_eq!(b.status, 201, "{}", b.body);
    owner
        .post("/v1/customers", json!({"email": "c@example.com", "tags": ["vip"]}))
        .await;

    let resp = owner
        .request(reqwest::Method::GET, "/v1/customers/export")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv");
    assert_eq!(resp.headers()["transfer-encoding"], "chunked");
    let text = resp.text().await.unwrap();
    let mut reader = csv_rows(&text);
    let header = reader.remove(0);
    assert_eq!(header[..4], ["id", "email", "phone", "first_name"]);
    assert!(header.contains(&"custom_fields.plan".to_owned()) && header.contains(&"tags".to_owned()));
    assert_eq!(reader.len(), 3);
    assert_eq!(reader[0][3], "Smith, \"Jo\"");
    let plan = header.iter().position(|h| h == "custom_fields.plan").unwrap();
    assert_eq!(reader[0][plan], "pro");
    assert_eq!(reader[1][plan], "Line\nBreak");

    let vip = export_csv(&owner, "/v1/customers/export?tag=vip").await;
    assert_eq!(csv_rows(&vip).len(), 3, "header + 2 vip customers: {vip}");
    owner
        .get("/v1/customers/export?field=nocolon")
        .await
        .assert_problem(422);
    let seg = owner
        .post(
            "/v1/segments",
            json!({"name": "pro", "rules": {"field": "custom_fields.plan", "op": "eq", "value": "pro"}}),
        )
        .await;
    assert_eq!(seg.status, 201, "{}", seg.body);
    let path = format!("/v1/customers/export?segment={}", seg.body["id"].as_str().unwrap());
    let pro = export_csv(&owner, &path).await;
    let pro = csv_rows(&pro);
    assert_eq!((pro.len(), pro[1][1].as_str()), (2, "a@example.com"), "{pro:?}");
    owner
        .get("/v1/customers/export?segment=seg_00000000000070008000000000000000")
        .await
        .assert_problem(404);

    let other = server.signup("Other").await;
    let theirs = export_csv(&other, "/v1/customers/export").await;
    assert_eq!(csv_rows(&theirs).len(), 1, "another tenant exports only its own (none)");
}

#[tokio::test]
async fn export_writes_every_field_type_as_the_api_shows_it() {
    let server = TestServer::start().await;
    let owner = server.signup("Export types").await;
    for field in [
        json!({"key": "score", "type": "number"}),
        json!({"key": "vip", "type": "boolean"}),
        json!({"key": "since", "type": "date"}),
        json!({"key": "seen", "type": "datetime"}),
        json!({"key": "tier", "type": "enum", "options": ["gold", "silver"]}),
    ] {
        let r = owner.post("/v1/custom-fields", field).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let full = owner
        .post(
            "/v1/customers",
            json!({"email": "t@example.com", "phone": "+14155550100", "last_name": "Tee", "tags": ["zeta", "alpha", "mid"],
                "custom_fields": {"score": 1.5, "vip": true, "since": "2024-02-29", "seen": "2024-03-01T10:00:00+02:00", "tier": "gold"}}),
        )
        .await;
    assert_eq!(full.status, 201, "{}", full.body);
    let sparse = owner
        .post(
            "/v1/customers",
            json!({"external_id": "x-1", "custom_fields": {"score": 3, "vip": false}}),
        )
        .await;
    assert_eq!(sparse.status, 201, "{}", sparse.body);
    // Every digit of a number survives, and text with escapes comes out as it went in.
    let exact = owner
        .post(
            "/v1/customers",
            json!({"first_name": "Zoë \\ \"Z\"", "custom_fields": {"score": 0.30000000000000004}}),
        )
        .await;
    assert_eq!(exact.status, 201, "{}", exact.body);

    let text = export_csv(&owner, "/v1/customers/export").await;
    let rows = csv_rows(&text);
    let header = "id,email,phone,first_name,last_name,locale,timezone,external_id,tags,custom_fields.score,\
                  custom_fields.seen,custom_fields.since,custom_fields.tier,custom_fields.vip,created_at,updated_at";
    assert_eq!(rows[0].join(","), header);
    let cell = |c: &serde_json::Value, key: &str| c[key].as_str().unwrap().to_owned();
    let (f, s) = (&full.body, &sparse.body);
    assert_eq!(
        rows[1..],
        [
            [
                cell(f, "id"),
                "t@example.com".into(),
                "+14155550100".into(),
                "".into(),
                "Tee".into(),
                "".into(),
                "".into(),
                "".into(),
                "alpha,mid,zeta".into(),
                "1.5".into(),
                "2024-03-01T08:00:00Z".into(),
                "2024-02-29".into(),
                "gold".into(),
                "true".into(),
                cell(f, "created_at"),
                cell(f, "updated_at"),
            ],
            [
                cell(s, "id"),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "x-1".into(),
                "".into(),
                "3".into(),
                "".into(),
                "".into(),
                "".into(),
                "false".into(),
                cell(s, "created_at"),
                cell(s, "updated_at"),
            ],
            [
                cell(&exact.body, "id"),
                "".into(),
                "".into(),
                "Zoë \\ \"Z\"".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "0.30000000000000004".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                cell(&exact.body, "created_at"),
                cell(&exact.body, "updated_at"),
            ],
        ]
    );
}

#[tokio::test]
async fn export_reads_only_the_tenants_tags_and_values_however_it_reads_them() {
    let server = TestServer::start().await;
    let (most, few) = (server.signup("Most").await, server.signup("Few").await);
    for session in [&most, &few] {
        session
            .post("/v1/custom-fields", json!({"key": "plan", "type": "text"}))
            .await;
    }
    // Created in turns, so each tenant's ids have the other's between them.
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    for i in 0..6 {
        let email = format!("m{i}@example.com");
        let body =
            json!({"email": email, "tags": [format!("m{i}"), "shared"], "custom_fields": {"plan": format!("pm{i}")}});
        assert_eq!(most.post("/v1/customers", body).await.status, 201);
        mine.push(vec![email, format!("m{i},shared"), format!("pm{i}")]);
        if i % 3 == 0 {
            let email = format!("f{i}@example.com");
            let body = json!({"email": email, "tags": ["f", "shared"], "custom_fields": {"plan": format!("pf{i}")}});
            assert_eq!(few.post("/v1/customers", body).await.status, 201);
            theirs.push(vec![email, "f,shared".to_owned(), format!("pf{i}")]);
        }
    }
    let children = async |session: &Session, tag: Option<&str>| {
        let ctx = session.ctx();
        let params = ListParams {
            tag: tag.map(str::to_owned),
            ..ListParams::default()
        };
        let query = customers::parse_list(params).unwrap();
        let mut read = server.state.store.tenant_read(&ctx).await.unwrap();
        let children = customer_export::children(&mut read, &ctx, server.state.store.backend(), &query)
            .await
            .unwrap();
        read.commit().await.unwrap();
        children
    };
    let exported = async |session: &Session, path: &str| {
        let rows = csv_rows(&export_csv(session, path).await);
        let at = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
        let (email, tags, plan) = (at("email"), at("tags"), at("custom_fields.plan"));
        let rows = rows[1..].iter();
        rows.map(|r| vec![r[email].clone(), r[tags].clone(), r[plan].clone()])
            .collect::<Vec<_>>()
    };
    let all = "/v1/customers/export";
    assert_eq!(exported(&most, all).await, mine);
    assert_eq!(exported(&few, all).await, theirs);
    // A filtered export is read per customer: its pages' ranges would hold whom it leaves out.
    assert_eq!(children(&most, Some("shared")).await, Children::PerCustomer);
    assert_eq!(exported(&most, "/v1/customers/export?tag=m1").await, mine[1..2]);
    if postgres_base_url().is_none() {
        assert_eq!(children(&most, None).await, Children::PerCustomer);
        return;
    }
    // Before PostgreSQL has counted the table, the ranges it read above held the other
    // tenant's rows; once it has, the tenant with a quarter of the customers is read per
    // customer instead, and exports the same.
    assert_eq!(children(&few, None).await, Children::Ranges);
    let mut db = PgConnection::connect(&server.state.config.database_url).await.unwrap();
    db.execute("ANALYZE customers").await.unwrap();
    assert_eq!(children(&most, None).await, Children::Ranges);
    assert_eq!(children(&few, None).await, Children::PerCustomer);
    assert_eq!(exported(&few, all).await, theirs);
    assert_eq!(exported(&most, all).await, mine);
}

/// The body of an export request.
async fn export_csv(session: &Session, path: &str) -> String {
    let resp = session.request(reqwest::Method::GET, path).send().await.unwrap();
    resp.text().await.unwrap()
}

/// A minimal RFC 4180 reader for assertions: quoted fields, doubled quotes, embedded newlines.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match (ch, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    rows
}

#[tokio::test]
async fn email_messages_are_exported_and_erasure_replaces_their_address() {
    let server = TestServer::start().await;
    let owner = server.signup("GDPR mail").await;
    verified_sender(&owner, None, "news@acme.test").await;
    let ann = news_reader(&owner, "ann@example.com").await;
    let bob = news_reader(&owner, "bob@example.com").await;
    let campaign = send_news(&server, &owner, "<p>Hello</p>").await;

    let export = owner.get(&format!("/v1/customers/{ann}/data-export")).await;
    assert_eq!(export.status, 200, "{}", export.body);
    let messages = export.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{}", export.body);
    assert_eq!(messages[0]["to"], "ann@example.com");
    assert_eq!(messages[0]["campaign_id"], campaign["id"]);

    assert_eq!(
        owner
            .post(&format!("/v1/customers/{ann}/erase"), json!({}))
            .await
            .status,
        204
    );
    let ctx = owner.ctx();
    let erased = addresses(&server, &ctx, &ann).await;
    assert_eq!(erased.len(), 1, "the message stays for the campaign's stats");
    assert!(
        erased[0].starts_with("erased-") && erased[0].ends_with("@erased.invalid"),
        "{erased:?}"
    );
    assert_eq!(
        addresses(&server, &ctx, &bob).await,
        ["bob@example.com"],
        "others are untouched"
    );
    let stats = owner
        .get(&format!(
            "/v1/email-campaigns/{}/stats",
            campaign["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    assert_eq!(stats.body["sent"], 2, "{}", stats.body);
}

/// The addresses of a customer's email messages, read from the database.
async fn addresses(server: &TestServer, ctx: &TenantCtx, customer: &str) -> Vec<String> {
    let mut tx = server.state.store.tenant_tx(ctx).await.unwrap();
    let found = sqlx::query_scalar("SELECT email FROM email_messages WHERE customer_id = $1")
        .bind(customer)
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    found
}
