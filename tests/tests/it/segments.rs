//! Segments: every operator family against a known set of customers, exact id sets, on
//! whichever backend this run uses.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use switchboard_tests::{Session, TestServer};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

fn days_ago(days: i64) -> String {
    (OffsetDateTime::now_utc() - Duration::days(days))
        .format(&Rfc3339)
        .unwrap()
}

async fn customer(s: &Session, body: Value) -> String {
    let reply = s.post("/v1/customers", body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn consent(s: &Session, id: &str, channel: &str, status: &str) {
    let reply = s
        .call(
            reqwest::Method::PUT,
            &format!("/v1/customers/{id}/consent/{channel}"),
            Some(json!({"status": status})),
        )
        .await;
    assert!(reply.status < 300, "{}", reply.body);
}

async fn event(s: &Session, id: &str, event_type: &str, days: i64) {
    let body = json!({"type": event_type, "occurred_at": days_ago(days)});
    let reply = s.post(&format!("/v1/customers/{id}/events"), body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

async fn save(s: &Session, rules: Value) -> String {
    let reply = s.post("/v1/segments", json!({"name": "test", "rules": rules})).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

fn ids(reply: &Value) -> Vec<String> {
    reply["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The customers `rules` match, through a saved segment's preview; its saved count and the
/// unsaved count must agree with it.
async fn matching(s: &Session, rules: Value) -> BTreeSet<String> {
    let id = save(s, rules.clone()).await;
    let preview = s.get(&format!("/v1/segments/{id}/preview?limit=500")).await;
    assert_eq!(preview.status, 200, "{rules}: {}", preview.body);
    let found: BTreeSet<String> = ids(&preview.body).into_iter().collect();
    let saved = s.get(&format!("/v1/segments/{id}/count")).await;
    let unsaved = s.post("/v1/segments/count", json!({"rules": rules})).await;
    assert_eq!(saved.body["count"], found.len(), "{rules}");
    assert_eq!(unsaved.body["count"], found.len(), "{rules}");
    found
}

struct Fixture {
    owner: Session,
    ann: String,
    bob: String,
    cat: String,
    dan: String,
}

impl Fixture {
    async fn new(server: &TestServer) -> Self {
        let owner = server.signup("Segments").await;
        for (key, kind) in [
            ("plan", "enum"),
            ("spend", "number"),
            ("vip", "boolean"),
            ("birthday", "date"),
            ("last_seen", "datetime"),
            ("nickname", "text"),
        ] {
            let mut body = json!({"key": key, "type": kind});
            if kind == "enum" {
                body["options"] = json!(["gold", "silver"]);
            }
            let reply = owner.post("/v1/custom-fields", body).await;
            assert_eq!(reply.status, 201, "{}", reply.body);
        }
        let ann = customer(
            &owner,
            json!({"email": "ann@example.com", "first_name": "Ann", "last_name": "Lee",
                "tags": ["vip", "50%_off"],
                "custom_fields": {"plan": "gold", "spend": 120.5, "vip": true, "birthday": "1990-05-01",
                    "last_seen": days_ago(2), "nickname": "A'nn"}}),
        )
        .await;
        let bob = customer(
            &owner,
            json!({"email": "bob@example.org", "first_name": "Bob", "tags": ["new"],
                "custom_fields": {"plan": "silver", "spend": 20, "vip": false, "birthday": "1985-12-24",
                    "last_seen": days_ago(30), "nickname": "100% bob"}}),
        )
        .await;
        let cat = customer(&owner, json!({"email": "cat_x@example.com", "first_name": "Catherine"})).await;
        let dan = customer(
            &owner,
            json!({"first_name": "dan", "last_name": "LEE", "custom_fields": {"nickname": "bob"}}),
        )
        .await;
        consent(&owner, &ann, "email", "subscribed").await;
        consent(&owner, &bob, "email", "unsubscribed").await;
        consent(&owner, &bob, "sms", "subscribed").await;
        consent(&owner, &dan, "email", "never").await;
        event(&owner, &ann, "order.placed", 1).await;
        event(&owner, &ann, "order.placed", 40).await;
        event(&owner, &bob, "order.placed", 40).await;
        event(&owner, &dan, "signup", 0).await;
        Self {
            owner,
            ann,
            bob,
            cat,
            dan,
        }
    }

    /// Checks each `(field, op, value, expected customers)` as a one-condition segment.
    async fn expect(&self, cases: Vec<(&str, &str, Value, Vec<&String>)>) {
        for (field, op, value, expected) in cases {
            let rule = if value.is_null() {
                json!({"field": field, "op": op})
            } else {
                json!({"field": field, "op": op, "value": value})
            };
            let expected: BTreeSet<String> = expected.into_iter().cloned().collect();
            assert_eq!(matching(&self.owner, rule.clone()).await, expected, "{rule}");
        }
    }
}

#[tokio::test]
async fn standard_fields_tags_and_consent() {
    let server = TestServer::start().await;
    let f = Fixture::new(&server).await;
    let (ann, bob, cat, dan) = (&f.ann, &f.bob, &f.cat, &f.dan);
    f.expect(vec![
        ("first_name", "eq", json!("Ann"), vec![ann]),
        // `neq` matches customers without the value too.
        ("email", "neq", json!("ann@example.com"), vec![bob, cat, dan]),
        ("email", "contains", json!("EXAMPLE.COM"), vec![ann, cat]),
        ("email", "starts_with", json!("B"), vec![bob]),
        ("last_name", "in", json!(["Lee", "Nobody"]), vec![ann]),
        ("first_name", "starts_with", json!("d"), vec![dan]),
        ("email", "is_set", json!(false), vec![dan]),
        ("email", "is_set", Value::Null, vec![ann, bob, cat]),
        (
            "created_at",
            "after",
            json!("2000-01-01T00:00:00Z"),
            vec![ann, bob, cat, dan],
        ),
        ("created_at", "before", json!("2000-01-01T00:00:00Z"), vec![]),
        ("updated_at", "within_days", json!(1), vec![ann, bob, cat, dan]),
        ("tags", "contains", json!("vip"), vec![ann]),
        ("tags", "in", json!(["new", "vip"]), vec![ann, bob]),
        ("tags", "is_set", json!(false), vec![cat, dan]),
        ("consent.email", "eq", json!("subscribed"), vec![ann]),
        // No consent row counts as `never`, like an explicit `never`.
        ("consent.email", "eq", json!("never"), vec![cat, dan]),
        ("consent.email", "neq", json!("unsubscribed"), vec![ann, cat, dan]),
        (
            "consent.sms",
            "in",
            json!(["subscribed", "never"]),
            vec![ann, bob, cat, dan],
        ),
        ("consent.sms", "eq", json!("unsubscribed"), vec![]),
    ])
    .await;
}

#[tokio::test]
async fn custom_fields_by_type_and_activity() {
    let server = TestServer::start().await;
    let f = Fixture::new(&server).await;
    let (ann, bob, cat, dan) = (&f.ann, &f.bob, &f.cat, &f.dan);
    f.expect(vec![
        ("custom_fields.nickname", "eq", json!("bob"), vec![dan]),
        ("custom_fields.nickname", "neq", json!("bob"), vec![ann, bob, cat]),
        ("custom_fields.nickname", "contains", json!("B"), vec![bob, dan]),
        ("custom_fields.plan", "in", json!(["gold", "bronze"]), vec![ann]),
        ("custom_fields.spend", "gt", json!(100), vec![ann]),
        ("custom_fields.spend", "lte", json!(20), vec![bob]),
        ("custom_fields.spend", "between", json!([20, 120.5]), vec![ann, bob]),
        ("custom_fields.spend", "in", json!([20, 7]), vec![bob]),
        ("custom_fields.spend", "neq", json!(20), vec![ann, cat, dan]),
        ("custom_fields.spend", "is_set", json!(false), vec![cat, dan]),
        ("custom_fields.vip", "eq", json!(true), vec![ann]),
        ("custom_fields.vip", "eq", json!(false), vec![bob]),
        ("custom_fields.vip", "is_set", Value::Null, vec![ann, bob]),
        ("custom_fields.birthday", "before", json!("1990-01-01"), vec![bob]),
        ("custom_fields.birthday", "eq", json!("1990-05-01"), vec![ann]),
        (
            "custom_fields.birthday",
            "between",
            json!(["1980-01-01", "1989-12-31"]),
            vec![bob],
        ),
        ("custom_fields.last_seen", "within_days", json!(7), vec![ann]),
        ("custom_fields.last_seen", "after", json!(days_ago(10)), vec![ann]),
        ("custom_fields.last_seen", "lt", json!(days_ago(10)), vec![bob]),
        ("activity.order.placed", "is_set", Value::Null, vec![ann, bob]),
        ("activity.order.placed", "is_set", json!(false), vec![cat, dan]),
        ("activity.order.placed", "within_days", json!(7), vec![ann]),
        ("activity.order.placed", "count_gte", json!(2), vec![ann]),
        ("activity.signup", "is_set", Value::Null, vec![dan]),
    ])
    .await;
}

#[tokio::test]
async fn nested_trees_and_literal_metacharacters() {
    let server = TestServer::start().await;
    let f = Fixture::new(&server).await;
    let s = &f.owner;
    let set = |ids: &[&String]| ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();

    let vip_spenders = json!({"and": [
        {"or": [
            {"field": "tags", "op": "contains", "value": "vip"},
            {"field": "consent.sms", "op": "eq", "value": "subscribed"}
        ]},
        {"not": {"field": "custom_fields.spend", "op": "lt", "value": 50}}
    ]});
    assert_eq!(matching(s, vip_spenders).await, set(&[&f.ann]));
    let neither = json!({"not": {"or": [
        {"field": "email", "op": "contains", "value": ".com"},
        {"field": "first_name", "op": "starts_with", "value": "D"}
    ]}});
    assert_eq!(matching(s, neither).await, set(&[&f.bob]));

    // LIKE wildcards and quotes are matched literally, never interpreted.
    for (field, op, value, expected) in [
        ("email", "contains", "_", set(&[&f.cat])),
        ("custom_fields.nickname", "contains", "%", set(&[&f.bob])),
        ("custom_fields.nickname", "starts_with", "%", set(&[])),
        ("custom_fields.nickname", "contains", "'", set(&[&f.ann])),
        ("tags", "contains", "50%_off", set(&[&f.ann])),
        ("tags", "contains", "50%", set(&[])),
        ("first_name", "eq", "x'; DROP TABLE customers; --", set(&[])),
    ] {
        let rule = json!({"field": field, "op": op, "value": value});
        assert_eq!(matching(s, rule.clone()).await, expected, "{rule}");
    }
    assert_eq!(s.get("/v1/customers").await.body["data"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn crud_preview_pages_and_bulk_tagging() {
    let server = TestServer::start().await;
    let f = Fixture::new(&server).await;
    let s = &f.owner;
    let created = s
        .post(
            "/v1/segments",
            json!({"name": " Everyone ", "description": "all of them",
                "rules": {"field": "created_at", "op": "after", "value": "2000-01-01T00:00:00Z"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["name"], "Everyone");
    assert_eq!(created.body["rules"]["op"], "after");
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("seg_"));
    assert_eq!(
        s.get(&format!("/v1/segments/{id}")).await.body["description"],
        "all of them"
    );

    let first = s.get(&format!("/v1/segments/{id}/preview?limit=3")).await;
    let cursor = first.body["next_cursor"].as_str().expect("a next page").to_owned();
    let second = s
        .get(&format!("/v1/segments/{id}/preview?limit=3&after={cursor}"))
        .await;
    assert!(second.body["next_cursor"].is_null(), "{}", second.body);
    let paged: Vec<String> = ids(&first.body).into_iter().chain(ids(&second.body)).collect();
    assert_eq!(paged, [&f.ann, &f.bob, &f.cat, &f.dan].map(String::as_str));

    let patched = s
        .patch(
            &format!("/v1/segments/{id}"),
            json!({"name": "Lees", "description": null,
                "rules": {"field": "last_name", "op": "contains", "value": "lee"}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert!(patched.body["description"].is_null());
    assert_eq!(s.get(&format!("/v1/segments/{id}/count")).await.body["count"], 2);

    let tagged = s
        .post("/v1/customers/tags", json!({"add": ["lee"], "segment_id": id}))
        .await;
    assert_eq!(tagged.body["changed"], 2, "{}", tagged.body);
    let lees = matching(s, json!({"field": "tags", "op": "contains", "value": "lee"})).await;
    assert_eq!(lees, [f.ann.clone(), f.dan.clone()].into_iter().collect());
    s.post(
        "/v1/customers/tags",
        json!({"add": ["x"], "segment_id": id, "customer_ids": [f.bob]}),
    )
    .await
    .assert_problem(422);

    let listed = s.get("/v1/segments").await;
    assert!(ids(&listed.body).contains(&id));
    let audit = s.get("/v1/audit-logs?action=segment.updated").await;
    assert_eq!(audit.body["data"][0]["target_id"], id.as_str());
    assert_eq!(s.delete(&format!("/v1/segments/{id}")).await.status, 204);
    s.get(&format!("/v1/segments/{id}")).await.assert_problem(404);
    s.delete(&format!("/v1/segments/{id}")).await.assert_problem(404);
}

#[tokio::test]
async fn invalid_rules_name_the_node() {
    let server = TestServer::start().await;
    let owner = server.signup("Invalid").await;
    let nest = |levels: usize| {
        (1..levels).fold(
            json!({"field": "email", "op": "is_set"}),
            |inner, _| json!({"not": inner}),
        )
    };
    let cases = [
        (
            json!({"and": [{"field": "email", "op": "is_set"}, {"field": "email", "op": "gt", "value": "a"}]}),
            "rules.and[1].op".to_owned(),
        ),
        (
            json!({"or": [{"not": {"field": "created_at", "op": "after", "value": "yesterday"}}]}),
            "rules.or[0].not.value".to_owned(),
        ),
        (
            json!({"field": "email", "op": "like", "value": "%"}),
            "rules.op".to_owned(),
        ),
        (
            json!({"field": "custom_fields.nope", "op": "is_set"}),
            "rules.field".to_owned(),
        ),
        (json!({"or": []}), "rules.or".to_owned()),
        (nest(11), format!("rules{}", ".not".repeat(10))),
    ];
    for (rules, field) in cases {
        let saved = owner.post("/v1/segments", json!({"name": "bad", "rules": rules})).await;
        saved.assert_problem(422);
        assert_eq!(saved.body["errors"][0]["field"], field.as_str(), "{rules}");
        let counted = owner.post("/v1/segments/count", json!({"rules": rules})).await;
        counted.assert_problem(422);
        assert_eq!(counted.error_fields(), [field.as_str()]);
    }
    assert_eq!(
        owner.post("/v1/segments/count", json!({"rules": nest(10)})).await.body["count"],
        0
    );
    let too_many = json!({"or": vec![json!({"field": "tags", "op": "contains", "value": "x"}); 201]});
    let reply = owner.post("/v1/segments/count", json!({"rules": too_many})).await;
    reply.assert_problem(422);
    assert_eq!(reply.error_fields(), ["rules"]);
}

#[tokio::test]
async fn segments_stay_in_their_tenant() {
    let server = TestServer::start().await;
    let a = server.signup("Seg A").await;
    let b = server.signup("Seg B").await;
    customer(&a, json!({"email": "a-only@example.com"})).await;
    let everyone = json!({"field": "created_at", "op": "after", "value": "2000-01-01T00:00:00Z"});
    let b_segment = save(&b, everyone.clone()).await;
    assert_eq!(b.get(&format!("/v1/segments/{b_segment}/count")).await.body["count"], 0);
    assert_eq!(
        a.post("/v1/segments/count", json!({"rules": everyone})).await.body["count"],
        1
    );

    let path = format!("/v1/segments/{b_segment}");
    a.get(&path).await.assert_problem(404);
    a.get(&format!("{path}/count")).await.assert_problem(404);
    a.get(&format!("{path}/preview")).await.assert_problem(404);
    a.patch(&path, json!({"name": "mine"})).await.assert_problem(404);
    a.delete(&path).await.assert_problem(404);
    a.post("/v1/customers/tags", json!({"add": ["x"], "segment_id": b_segment}))
        .await
        .assert_problem(404);
    a.get("/v1/segments/not-an-id").await.assert_problem(404);
    assert!(!a.get("/v1/segments").await.body.to_string().contains(&b_segment));
    assert_eq!(b.get(&path).await.body["name"], "test");
}

#[tokio::test]
async fn bulk_tagging_walks_a_segment_past_one_page() {
    use switchboard::domain::crm::customers::{create_in, CustomerInput, Patch};

    let server = TestServer::start().await;
    let owner = server.signup("Bulk").await;
    // More customers than one page of the walk (500), written directly for speed.
    let ctx = owner.ctx();
    let mut tx = server.state.store.tenant_tx(&ctx).await.unwrap();
    for i in 0..501 {
        let input = CustomerInput {
            external_id: Patch::Set(format!("bulk-{i}")),
            ..CustomerInput::default()
        };
        create_in(&mut tx, &ctx, &Default::default(), input).await.unwrap();
    }
    tx.commit().await.unwrap();
    customer(&owner, json!({"external_id": "other"})).await;

    let segment = save(
        &owner,
        json!({"field": "external_id", "op": "starts_with", "value": "bulk-"}),
    )
    .await;
    let tagged = owner
        .post("/v1/customers/tags", json!({"add": ["bulk"], "segment_id": segment}))
        .await;
    assert_eq!(tagged.body["changed"], 501, "{}", tagged.body);
    let tags = owner.get("/v1/tags").await;
    assert_eq!(tags.body["data"], json!([{"tag": "bulk", "customers": 501}]));
}
