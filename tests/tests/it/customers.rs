use serde_json::json;
use switchboard_tests::{Session, TestServer};

async fn define_fields(owner: &Session) {
    for (key, kind, options) in [
        ("plan", "enum", json!(["free", "pro"])),
        ("score", "number", json!([])),
        ("vip", "boolean", json!([])),
        ("birthday", "date", json!([])),
        ("nickname", "text", json!([])),
    ] {
        let r = owner
            .post(
                "/v1/custom-fields",
                json!({"key": key, "type": kind, "options": options}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
}

#[tokio::test]
async fn customers_are_normalised_validated_and_unique() {
    let server = TestServer::start().await;
    let owner = server.signup("CRM").await;
    define_fields(&owner).await;
    let created = owner
        .post(
            "/v1/customers",
            json!({"email": " Ann@Example.COM ", "phone": "+1 (415) 555-0100", "first_name": "Ann", "last_name": "Lee",
                   "locale": "en-US", "timezone": "America/New_York", "external_id": "crm-1",
                   "custom_fields": {"plan": "pro", "score": 9.5, "vip": true, "birthday": "1990-02-28"}, "tags": ["vip", "beta", "vip"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let c = &created.body;
    assert_eq!(
        (c["email"].as_str(), c["phone"].as_str()),
        (Some("ann@example.com"), Some("+14155550100"))
    );
    assert_eq!(
        c["custom_fields"],
        json!({"plan": "pro", "score": 9.5, "vip": true, "birthday": "1990-02-28"})
    );
    assert_eq!(c["tags"], json!(["beta", "vip"]));
    assert!(c["id"].as_str().unwrap().starts_with("cus_"));

    let bad = owner
        .post(
            "/v1/customers",
            json!({"email": "nope", "phone": "12", "timezone": "Mars/Base", "locale": "!!",
                   "custom_fields": {"plan": "gold", "score": "high", "unknown": 1}}),
        )
        .await;
    bad.assert_problem(422);
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "custom_fields.plan",
            "custom_fields.score",
            "custom_fields.unknown",
            "email",
            "locale",
            "phone",
            "timezone"
        ]
    );

    for dup in [
        json!({"email": "ANN@example.com"}),
        json!({"phone": "+14155550100"}),
        json!({"external_id": "crm-1"}),
    ] {
        let r = owner.post("/v1/customers", dup.clone()).await;
        r.assert_problem(409);
        assert_eq!(r.error_fields().len(), 1, "{dup}: {}", r.body);
    }
}

#[tokio::test]
async fn patch_merges_clears_and_replaces_tags() {
    let server = TestServer::start().await;
    let owner = server.signup("Patch").await;
    define_fields(&owner).await;
    let c = owner.post("/v1/customers", json!({"email": "p@example.com", "first_name": "Pat", "custom_fields": {"plan": "free", "score": 1}, "tags": ["a", "b"]})).await;
    assert_eq!(c.status, 201, "{}", c.body);
    let path = format!("/v1/customers/{}", c.body["id"].as_str().unwrap());
    let patched = owner
        .patch(&path, json!({"first_name": null, "last_name": "Kim", "custom_fields": {"plan": "pro", "score": null}, "tags": ["b", "c"]}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert!(patched.body["first_name"].is_null());
    assert_eq!(patched.body["last_name"], "Kim");
    assert_eq!(patched.body["email"], "p@example.com", "untouched fields stay");
    assert_eq!(patched.body["custom_fields"], json!({"plan": "pro"}));
    assert_eq!(patched.body["tags"], json!(["b", "c"]));
    assert_eq!(owner.get(&path).await.body, patched.body);

    let events = owner.get("/v1/domain-events").await;
    let types: Vec<&str> = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(types, ["customer.created", "customer.tagged", "customer.updated"]);
    let tagged = &events.body["data"][1];
    assert_eq!(tagged["data"]["added"], json!(["c"]));
    assert_eq!(tagged["data"]["removed"], json!(["a"]));
    assert_eq!(tagged["tenant_id"], owner.tenant_id.as_str());

    assert_eq!(owner.delete(&path).await.status, 204);
    owner.get(&path).await.assert_problem(404);
    let last = owner.get("/v1/domain-events?type=customer.deleted").await;
    assert_eq!(last.body["data"][0]["data"]["id"], c.body["id"]);
}

/// Writing what a customer already holds (a PATCH, an upsert, tags they have) changes
/// nothing: updated_at stays, no domain event, no audit entry.
#[tokio::test]
async fn writes_that_change_nothing_leave_no_trace() {
    let server = TestServer::start().await;
    let owner = server.signup("Same").await;
    define_fields(&owner).await;
    let body = json!({"email": "same@example.com", "first_name": "Sam", "custom_fields": {"plan": "pro", "score": 2}, "tags": ["a"]});
    let c = owner.post("/v1/customers", body.clone()).await;
    assert_eq!(c.status, 201, "{}", c.body);
    let id = c.body["id"].as_str().unwrap();
    let path = format!("/v1/customers/{id}");
    let trail = || async {
        let events = owner.get("/v1/domain-events").await.body["data"]
            .as_array()
            .unwrap()
            .len();
        let audit = owner.get("/v1/audit-logs").await.body["data"].as_array().unwrap().len();
        (events, audit)
    };
    let before = trail().await;

    let patched = owner.patch(&path, body.clone()).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body, c.body, "same customer, same updated_at");
    let upserted = owner.post("/v1/customers:upsert", body.clone()).await;
    assert_eq!(upserted.status, 200, "{}", upserted.body);
    assert_eq!(upserted.body["updated_at"], c.body["updated_at"]);
    let tagged = owner
        .post("/v1/customers/tags", json!({"customer_ids": [id], "add": ["a"]}))
        .await;
    assert_eq!(tagged.status, 200, "{}", tagged.body);
    assert_eq!(trail().await, before);

    // One changed custom field is a change.
    let changed = owner.patch(&path, json!({"custom_fields": {"score": 3}})).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["custom_fields"]["score"], 3.0);
    assert_eq!(trail().await, (before.0 + 1, before.1 + 1));
}

#[tokio::test]
async fn upsert_merges_by_any_identifier() {
    let server = TestServer::start().await;
    let owner = server.signup("Upsert").await;
    let first = owner
        .post(
            "/v1/customers:upsert",
            json!({"email": "u@example.com", "first_name": "U"}),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let by_email = owner
        .post(
            "/v1/customers:upsert",
            json!({"email": "U@EXAMPLE.com", "external_id": "ext-9"}),
        )
        .await;
    assert_eq!(by_email.status, 200);
    assert_eq!(by_email.body["id"], first.body["id"]);
    assert_eq!(
        (
            by_email.body["first_name"].as_str(),
            by_email.body["external_id"].as_str()
        ),
        (Some("U"), Some("ext-9"))
    );
    let by_ext = owner
        .post(
            "/v1/customers:upsert",
            json!({"external_id": "ext-9", "phone": "+442079460958"}),
        )
        .await;
    assert_eq!((by_ext.status, &by_ext.body["id"]), (200, &first.body["id"]));

    let other = owner.post("/v1/customers", json!({"email": "other@example.com"})).await;
    assert_eq!(other.status, 201);
    let ambiguous = owner
        .post(
            "/v1/customers:upsert",
            json!({"email": "other@example.com", "external_id": "ext-9"}),
        )
        .await;
    ambiguous.assert_problem(409);
    // The same when both customers hold tags (each match comes with its details).
    let tagged = owner
        .post(
            "/v1/customers/tags",
            json!({"customer_ids": [first.body["id"], other.body["id"]], "add": ["a", "b"]}),
        )
        .await;
    assert_eq!(tagged.status, 200, "{}", tagged.body);
    owner
        .post(
            "/v1/customers:upsert",
            json!({"email": "other@example.com", "external_id": "ext-9"}),
        )
        .await
        .assert_problem(409);
    owner
        .post("/v1/customers:upsert", json!({"first_name": "nobody"}))
        .await
        .assert_problem(422);
}

#[tokio::test]
async fn list_sorts_filters_searches_and_pages() {
    let server = TestServer::start().await;
    let owner = server.signup("List").await;
    define_fields(&owner).await;
    let people = [
        ("Zoe", "Adams", "zoe@alpha.io", "pro", vec!["vip"]),
        ("Yann", "Brown", "yann@beta.io", "free", vec![]),
        ("Xia", "Chen", "xia.chen@alpha.io", "pro", vec!["vip", "beta"]),
        ("Will", "Diaz", "will@gamma.io", "free", vec!["beta"]),
    ];
    for (first, last, email, plan, tags) in people {
        let r = owner
            .post("/v1/customers", json!({"first_name": first, "last_name": last, "email": email, "custom_fields": {"plan": plan}, "tags": tags}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let names = |r: &switchboard_tests::Reply| -> Vec<String> {
        r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["first_name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&owner.get("/v1/customers").await), ["Zoe", "Yann", "Xia", "Will"]);
    assert_eq!(
        names(&owner.get("/v1/customers?order=desc").await),
        ["Will", "Xia", "Yann", "Zoe"]
    );
    assert_eq!(
        names(&owner.get("/v1/customers?sort=name&order=desc").await),
        ["Will", "Xia", "Yann", "Zoe"]
    );
    assert_eq!(names(&owner.get("/v1/customers?tag=vip").await), ["Zoe", "Xia"]);
    assert_eq!(
        names(&owner.get("/v1/customers?field=plan:free").await),
        ["Yann", "Will"]
    );
    assert_eq!(names(&owner.get("/v1/customers?q=alpha").await), ["Zoe", "Xia"]);
    assert_eq!(names(&owner.get("/v1/customers?q=xia%20che").await), ["Xia"]);
    assert_eq!(
        names(&owner.get("/v1/customers?q=%22%20OR%20*%20--").await),
        Vec::<String>::new()
    );
    assert_eq!(names(&owner.get("/v1/customers?tag=beta&q=gamma").await), ["Will"]);

    let mut seen = Vec::new();
    let mut path = "/v1/customers?sort=name&limit=3".to_owned();
    loop {
        let page = owner.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(names(&page));
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/customers?sort=name&limit=3&after={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["Zoe", "Yann", "Xia", "Will"]);
    owner.get("/v1/customers?sort=shoe-size").await.assert_problem(422);
    owner
        .get("/v1/customers?sort=name&after=garbage")
        .await
        .assert_problem(422);
}

#[tokio::test]
async fn tags_in_bulk_with_counts() {
    let server = TestServer::start().await;
    let owner = server.signup("Tags").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            owner
                .post("/v1/customers", json!({"email": format!("t{i}@example.com")}))
                .await
                .body["id"]
                .clone(),
        );
    }
    let other = server.signup("Other").await;
    let foreign = other
        .post("/v1/customers", json!({"email": "f@example.com"}))
        .await
        .body["id"]
        .clone();

    let bulk = owner
        .post(
            "/v1/customers/tags",
            json!({"add": ["news", "vip"], "customer_ids": [ids[0], ids[1], foreign]}),
        )
        .await;
    assert_eq!(
        (bulk.status, bulk.body["changed"].as_u64()),
        (200, Some(2)),
        "{}",
        bulk.body
    );
    let counts = owner.get("/v1/tags").await;
    assert_eq!(
        counts.body["data"],
        json!([{"tag": "news", "customers": 2}, {"tag": "vip", "customers": 2}])
    );
    let removed = owner
        .post(
            "/v1/customers/tags",
            json!({"remove": ["vip"], "customer_ids": [ids[0]]}),
        )
        .await;
    assert_eq!(removed.body["changed"], 1);
    assert_eq!(
        owner.get("/v1/tags").await.body["data"][1],
        json!({"tag": "vip", "customers": 1})
    );
    assert_eq!(
        other
            .get(&format!("/v1/customers/{}", foreign.as_str().unwrap()))
            .await
            .body["tags"],
        json!([])
    );
    owner
        .post("/v1/customers/tags", json!({"customer_ids": [ids[0]]}))
        .await
        .assert_problem(422);
}

#[tokio::test]
async fn consent_suppression_and_events_build_the_timeline() {
    let server = TestServer::start().await;
    let owner = server.signup("Consent").await;
    let c = owner
        .post(
            "/v1/customers",
            json!({"email": "c@example.com", "phone": "+14155550100"}),
        )
        .await;
    let id = c.body["id"].as_str().unwrap().to_owned();
    let set = owner
        .call(
            reqwest::Method::PUT,
            &format!("/v1/customers/{id}/consent/sms"),
            Some(json!({"status": "unsubscribed", "source": "inbound sms", "keyword": "STOP"})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["consent"]["sms"]["status"], "unsubscribed");
    assert_eq!(set.body["consent"]["sms"]["keyword"], "STOP");
    let bad = owner
        .call(
            reqwest::Method::PUT,
            &format!("/v1/customers/{id}/consent/pigeon"),
            Some(json!({"status": "subscribed"})),
        )
        .await;
    bad.assert_problem(422);

    let s = owner
        .post(
            "/v1/suppressions",
            json!({"channel": "email", "address": "Bounced@Example.com", "reason": "hard bounce"}),
        )
        .await;
    assert_eq!(
        (s.status, s.body["address"].as_str()),
        (201, Some("bounced@example.com"))
    );
    assert_eq!(
        owner.get("/v1/suppressions").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        owner.delete("/v1/suppressions/email/bounced@example.com").await.status,
        204
    );
    owner
        .delete("/v1/suppressions/email/bounced@example.com")
        .await
        .assert_problem(404);

    let e1 = owner
        .post(
            &format!("/v1/customers/{id}/events"),
            json!({"type": "order.placed", "properties": {"total": 42}, "occurred_at": "2026-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(e1.status, 201, "{}", e1.body);
    let e2 = owner
        .post("/v1/events", json!({"type": "page.viewed", "email": "C@example.com"}))
        .await;
    assert_eq!((e2.status, &e2.body["customer_id"]), (201, &c.body["id"]));
    owner
        .post("/v1/events", json!({"type": "x", "email": "new@example.com"}))
        .await
        .assert_problem(404);
    let created = owner
        .post(
            "/v1/events",
            json!({"type": "signed.up", "email": "new@example.com", "create_customer": true}),
        )
        .await;
    assert_eq!(created.status, 201);
    owner
        .post(&format!("/v1/customers/{id}/events"), json!({"type": "bad type!"}))
        .await
        .assert_problem(422);

    let timeline = owner.get(&format!("/v1/customers/{id}/timeline?limit=1")).await;
    assert_eq!(timeline.body["data"][0]["event"]["type"], "page.viewed");
    let older = owner
        .get(&format!(
            "/v1/customers/{id}/timeline?limit=1&before={}",
            timeline.body["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(older.body["data"][0]["event"]["type"], "order.placed");
    assert_eq!(older.body["data"][0]["event"]["properties"]["total"], 42);

    let types = owner.get("/v1/domain-events?type=consent.changed").await;
    assert_eq!(types.body["data"][0]["data"]["channel"], "sms");
    assert_eq!(
        owner.get("/v1/domain-events?type=event.tracked").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn customers_never_cross_tenants() {
    let server = TestServer::start().await;
    let a = server.signup("A").await;
    let b = server.signup("B").await;
    let theirs = b
        .post("/v1/customers", json!({"email": "shared@example.com", "tags": ["b"]}))
        .await;
    let id = theirs.body["id"].as_str().unwrap();
    // The same email is free in another tenant.
    assert_eq!(
        a.post("/v1/customers", json!({"email": "shared@example.com"}))
            .await
            .status,
        201
    );
    let path = format!("/v1/customers/{id}");
    a.get(&path).await.assert_problem(404);
    a.patch(&path, json!({"first_name": "x"})).await.assert_problem(404);
    a.delete(&path).await.assert_problem(404);
    a.post(&format!("{path}/events"), json!({"type": "x"}))
        .await
        .assert_problem(404);
    a.get(&format!("{path}/timeline")).await.assert_problem(404);
    a.call(
        reqwest::Method::PUT,
        &format!("{path}/consent/email"),
        Some(json!({"status": "subscribed"})),
    )
    .await
    .assert_problem(404);
    for list in [
        "/v1/customers",
        "/v1/tags",
        "/v1/domain-events",
        "/v1/customers?q=shared",
    ] {
        let text = a.get(list).await.body.to_string();
        assert!(!text.contains(id) && !text.contains("\"b\""), "{list} leaks B");
    }
    assert_eq!(b.get(&path).await.body["tags"], json!(["b"]));
}

/// One customer is read with its values, tags and consent in one query, a page with three:
/// both give the same customer.
#[tokio::test]
async fn a_customer_read_alone_matches_the_same_customer_in_a_page() {
    let server = TestServer::start().await;
    let owner = server.signup("Alone").await;
    define_fields(&owner).await;
    let mut ids = Vec::new();
    for (email, tags) in [
        ("a@example.com", json!(["zeta", "alpha", "mid"])),
        ("b@example.com", json!(["b"])),
    ] {
        let c = owner
            .post(
                "/v1/customers",
                json!({"email": email, "tags": tags,
                       "custom_fields": {"plan": "pro", "score": 4.5, "vip": true, "nickname": "n"}}),
            )
            .await;
        assert_eq!(c.status, 201, "{}", c.body);
        ids.push(c.body["id"].as_str().unwrap().to_owned());
    }
    for channel in ["sms", "email"] {
        let set = owner
            .call(
                reqwest::Method::PUT,
                &format!("/v1/customers/{}/consent/{channel}", ids[0]),
                Some(json!({"status": "subscribed", "source": "form"})),
            )
            .await;
        assert_eq!(set.status, 200, "{}", set.body);
    }
    let alone = owner.get(&format!("/v1/customers/{}", ids[0])).await;
    assert_eq!(alone.body["tags"], json!(["alpha", "mid", "zeta"]));
    assert_eq!(alone.body["custom_fields"]["score"], json!(4.5));
    assert_eq!(alone.body["consent"]["email"]["source"], "form");
    let page = owner.get("/v1/customers").await;
    let in_page = page.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == ids[0].as_str())
        .expect("listed")
        .clone();
    assert_eq!(alone.body, in_page);
}

/// An upsert that would change nothing is answered by reads alone (plugins use it to keep a
/// shop's returning buyer out of the write transaction): the same customer the API shows, with
/// fields and tags. Anything the upsert would write or refuse is left to the upsert: a change,
/// a new customer, identifiers of two customers, bad input, another tenant's customer.
#[tokio::test]
async fn an_upsert_that_changes_nothing_is_answered_by_reads() {
    use switchboard::domain::crm::customers::{upsert_unchanged, CustomerInput, Patch};
    let server = TestServer::start().await;
    let owner = server.signup("Reads").await;
    let other = server.signup("Other").await;
    define_fields(&owner).await;
    let body = json!({"email": "buyer@example.com", "first_name": "Bo", "external_id": "shop:1",
                      "custom_fields": {"score": 2}, "tags": ["buyer", "repeat"]});
    let created = owner.post("/v1/customers", body.clone()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    // Several rows of each kind of detail: the upsert reads them with the customer.
    let consent = format!("/v1/customers/{}/consent/", created.body["id"].as_str().unwrap());
    let mut created = created;
    for (channel, consented) in [
        ("email", json!({"status": "subscribed", "source": "checkout"})),
        (
            "sms",
            json!({"status": "unsubscribed", "source": "sms", "keyword": "STOP"}),
        ),
    ] {
        let url = format!("{consent}{channel}");
        created = owner.call(reqwest::Method::PUT, &url, Some(consented)).await;
    }
    assert_eq!(
        (
            &created.body["consent"]["email"]["source"],
            &created.body["consent"]["sms"]["keyword"]
        ),
        (&json!("checkout"), &json!("STOP")),
        "{}",
        created.body
    );
    // The API's upsert that changes nothing answers with the customer as it is.
    let upserted = owner.post("/v1/customers:upsert", body).await;
    assert_eq!((upserted.status, &upserted.body), (200, &created.body));
    owner
        .post("/v1/customers", json!({"email": "second@example.com"}))
        .await;
    other
        .post("/v1/customers", json!({"email": "elsewhere@example.com"}))
        .await;

    let input = |email: &str, first_name: &str, external_id: Option<&str>| CustomerInput {
        email: Patch::Set(email.into()),
        first_name: Patch::Set(first_name.into()),
        external_id: external_id.map(|e| Patch::Set(e.into())).unwrap_or_default(),
        ..CustomerInput::default()
    };
    let ctx = owner.ctx();
    let mut read = server.state.store.tenant_read(&ctx).await.unwrap();
    let mut answer = async |i: CustomerInput| upsert_unchanged(&mut read, &ctx, &i).await.unwrap();

    let same = answer(input("BUYER@example.com", "Bo", Some("shop:1")))
        .await
        .expect("unchanged");
    assert_eq!(serde_json::to_value(&same).unwrap(), created.body);
    for changes in [
        input("buyer@example.com", "Bob", None),
        input("new@example.com", "Bo", None),
        input("second@example.com", "Bo", Some("shop:1")),
        input("not-an-email", "Bo", None),
        input("elsewhere@example.com", "Bo", None),
    ] {
        assert!(answer(changes.clone()).await.is_none(), "{changes:?}");
    }
    let mut custom = input("buyer@example.com", "Bo", None);
    custom.custom_fields = Some(json!({"score": 3}).as_object().unwrap().clone());
    assert!(answer(custom.clone()).await.is_none());
    custom.custom_fields = Some(json!({"score": 2}).as_object().unwrap().clone());
    assert!(answer(custom).await.is_some(), "the value it has already");

    // An upsert that does change tags and values writes exactly the change.
    let changed = owner
        .post(
            "/v1/customers:upsert",
            json!({"external_id": "shop:1", "custom_fields": {"score": 5}, "tags": ["vip"]}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        (
            &changed.body["custom_fields"],
            &changed.body["tags"],
            &changed.body["consent"]
        ),
        (&json!({"score": 5}), &json!(["vip"]), &created.body["consent"])
    );
    assert_ne!(changed.body["updated_at"], created.body["updated_at"]);
}

/// Two requests about one new customer at once (a shop sends `customers/create` and
/// `orders/create` together): the upsert that found nobody and then meets the other's row as it
/// inserts merges into it instead of failing. Many at once on both backends; on PostgreSQL also
/// caught exactly between its look and its insert, by a transaction the test holds open until
/// the upsert's insert waits for it.
#[tokio::test]
async fn upserts_racing_to_create_one_customer_all_land_on_it() {
    use switchboard::domain::crm::customers::{create_in, CustomerInput, Patch};
    use switchboard::store::Backend;
    let server = TestServer::start().await;
    let owner = server.signup("Race").await;

    let racers = (0..12).map(|i| {
        let owner = owner.clone();
        tokio::spawn(async move {
            let body =
                json!({"email": "racer@example.com", "external_id": "shop:7", "first_name": format!("Racer {i}")});
            owner.post("/v1/customers:upsert", body).await
        })
    });
    let mut statuses = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for racer in racers.collect::<Vec<_>>() {
        let reply = racer.await.unwrap();
        statuses.push(reply.status);
        ids.insert(reply.body["id"].as_str().map(str::to_owned));
    }
    statuses.sort();
    assert_eq!(
        (statuses[0], statuses[1], statuses[11]),
        (200, 200, 201),
        "{statuses:?}"
    );
    assert_eq!(ids.len(), 1, "{ids:?}");
    let listed = owner.get("/v1/customers").await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1, "{}", listed.body);

    if server.state.store.backend() != Backend::Postgres {
        return;
    }
    let ctx = owner.ctx();
    let mut held = server.state.store.tenant_tx(&ctx).await.unwrap();
    let input = CustomerInput {
        email: Patch::Set("held@example.com".into()),
        ..CustomerInput::default()
    };
    let winner = create_in(&mut held, &ctx, &Default::default(), input).await.unwrap();
    let upsert = tokio::spawn({
        let owner = owner.clone();
        async move {
            let body = json!({"email": "held@example.com", "first_name": "Late"});
            owner.post("/v1/customers:upsert", body).await
        }
    });
    // The upsert has looked (the held row is not committed, so it found nobody) and its insert
    // waits for the held transaction.
    let mut conn = server.state.store.connection().await.unwrap();
    let waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                   AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO customers%'";
    while sqlx::query_scalar::<_, i64>(waiting)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        == 0
    {
        assert!(!upsert.is_finished(), "the upsert did not wait for the held insert");
        tokio::task::yield_now().await;
    }
    held.commit().await.unwrap();
    let merged = upsert.await.unwrap();
    assert_eq!(merged.status, 200, "{}", merged.body);
    assert_eq!(
        (merged.body["id"].as_str(), merged.body["first_name"].as_str()),
        (Some(winner.id.as_str()), Some("Late"))
    );
}
