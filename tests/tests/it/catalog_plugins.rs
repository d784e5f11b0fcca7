//! The first-party plugins, from the catalog, inside the real host. Shopify and WooCommerce:
//! signed webhooks become customers, order events and tags; bad signatures write nothing;
//! replayed deliveries are acknowledged once; checkouts without an order are followed up as
//! abandoned carts. webhook-transform: any JSON by a mapping.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::Executor;
use switchboard::domain::plugins::run_writes::BROKEN;
use switchboard::store::Backend;
use switchboard_tests::{Session, TestServer};

const SECRET: &str = "shop-secret";

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Installs catalog plugin `name` with the shop secret and returns its webhook URL.
async fn hook_url(owner: &Session, name: &str) -> String {
    install_shop(owner, name, json!({}), &["kv", "customers:write"]).await
}

/// Installs catalog plugin `name` with the shop secret, `config` besides, and `caps`; returns
/// its webhook URL.
async fn install_shop(owner: &Session, name: &str, mut config: Value, caps: &[&str]) -> String {
    config["webhook_secret"] = json!(SECRET);
    let ins = owner
        .post(
            "/v1/installations",
            json!({"plugin": name, "config": config, "capabilities": caps}),
        )
        .await;
    assert_eq!(ins.status, 201, "{}", ins.body);
    ins.body["webhook_urls"][0].as_str().unwrap().to_owned()
}

async fn deliver(server: &TestServer, url: &str, headers: &[(&str, &str)], body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let mut req = server.http.post(url).body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let reply = req.send().await.unwrap();
    (reply.status().as_u16(), reply.json().await.unwrap_or(Value::Null))
}

/// Delivers a signed `orders/create` of a 5.00 USD order by `email`, as webhook `id`.
async fn deliver_order(server: &TestServer, url: &str, email: &str, id: &str) -> (u16, Value) {
    let order = json!({"id": 1, "email": email, "total_price": "5.00", "currency": "USD"});
    let sig = sign(SECRET, order.to_string().as_bytes());
    let headers = [
        ("x-shopify-topic", "orders/create"),
        ("x-shopify-hmac-sha256", sig.as_str()),
        ("x-shopify-webhook-id", id),
    ];
    deliver(server, url, &headers, &order).await
}

/// The newest line of the installation behind a hook URL's log, for failure messages.
async fn last_log(owner: &Session, url: &str) -> Value {
    let ins = installation_of(url);
    owner.get(&format!("/v1/installations/{ins}/logs?limit=1")).await.body["data"][0].clone()
}

async fn only_customer(owner: &Session) -> Value {
    let list = owner.get("/v1/customers").await;
    let data = list.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{}", list.body);
    data[0].clone()
}

/// The tracked events on the customer's timeline, newest first.
async fn events_of(owner: &Session, customer: &Value) -> Vec<Value> {
    let reply = owner
        .get(&format!("/v1/customers/{}/timeline", customer["id"].as_str().unwrap()))
        .await;
    reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].clone())
        .collect()
}

#[tokio::test]
async fn shopify_orders_and_customers_become_crm_records() {
    let server = TestServer::start().await;
    let owner = server.signup("Shop").await;
    let url = hook_url(&owner, "shopify").await;
    let order = json!({
        "id": 820982911946154508u64, "email": "jon@example.com", "total_price": "199.65", "currency": "USD",
        "customer": {"id": 115310627314723954u64, "email": "jon@example.com", "first_name": "Jon", "last_name": "Snow"}
    });
    let sig = sign(SECRET, order.to_string().as_bytes());
    fn headers(sig: &str) -> [(&str, &str); 3] {
        [
            ("x-shopify-topic", "orders/create"),
            ("x-shopify-hmac-sha256", sig),
            ("x-shopify-webhook-id", "w-1"),
        ]
    }

    // A wrong signature is refused and writes nothing.
    let (status, _) = deliver(&server, &url, &headers("bm90IGl0"), &order).await;
    assert_eq!(status, 401);
    assert_eq!(owner.get("/v1/customers").await.body["data"], json!([]));

    let (status, body) = deliver(&server, &url, &headers(&sig), &order).await;
    assert_eq!(status, 200, "{body} {}", last_log(&owner, &url).await);
    let customer = only_customer(&owner).await;
    assert_eq!(customer["email"], "jon@example.com");
    assert_eq!(customer["first_name"], "Jon");
    assert_eq!(customer["external_id"], "shopify:115310627314723954");
    assert_eq!(customer["tags"], json!(["buyer"]));
    let events = events_of(&owner, &customer).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "order.created");
    assert_eq!(
        events[0]["properties"],
        json!({"order_id": "820982911946154508", "total_minor": 19965, "currency": "USD"})
    );

    // The same delivery again is acknowledged without effect.
    let (status, body) = deliver(&server, &url, &headers(&sig), &order).await;
    assert_eq!((status, body), (200, json!({"duplicate": true})));
    assert_eq!(events_of(&owner, &customer).await.len(), 1);

    // The buyer's next order records its event and nothing else: the buyer is as they were
    // and has the tag already (no customer.updated, no customer.tagged).
    let outbox = || async {
        owner.get("/v1/domain-events").await.body["data"]
            .as_array()
            .unwrap()
            .clone()
    };
    let before = outbox().await.len();
    let mut next = order.clone();
    next["id"] = json!(820982911946154509u64);
    let sig2 = sign(SECRET, next.to_string().as_bytes());
    let mut again = headers(&sig2);
    again[2].1 = "w-3";
    let (status, body) = deliver(&server, &url, &again, &next).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(events_of(&owner, &customer).await.len(), 2);
    let after = outbox().await;
    let new: Vec<&Value> = after[before..].iter().map(|e| &e["type"]).collect();
    assert_eq!(new, [&json!("event.tracked")]);
    assert_eq!(only_customer(&owner).await, customer);

    // customers/update merges into the same customer.
    let update = json!({"id": 115310627314723954u64, "email": "jon@example.com", "phone": "+14155550100", "first_name": "Jon", "last_name": "Stark"});
    let sig = sign(SECRET, update.to_string().as_bytes());
    let headers = [
        ("x-shopify-topic", "customers/update"),
        ("x-shopify-hmac-sha256", sig.as_str()),
        ("x-shopify-webhook-id", "w-2"),
    ];
    assert_eq!(deliver(&server, &url, &headers, &update).await.0, 200);
    let customer = only_customer(&owner).await;
    assert_eq!(
        (customer["last_name"].as_str(), customer["phone"].as_str()),
        (Some("Stark"), Some("+14155550100"))
    );
}

/// A delivery applied when the KV store is too full to remember its id still succeeds (an error
/// would make the shop send it again and apply it twice), and the log says so.
#[tokio::test]
async fn a_delivery_the_full_kv_store_cannot_remember_still_succeeds() {
    let server = TestServer::start_with(|c| c.plugin_kv_quota_bytes = 8).await;
    let owner = server.signup("Full").await;
    let url = hook_url(&owner, "shopify").await;
    let (status, body) = deliver_order(&server, &url, "full@example.com", "w-1").await;
    assert_eq!(status, 200, "{body} {}", last_log(&owner, &url).await);
    let customer = only_customer(&owner).await;
    assert_eq!(events_of(&owner, &customer).await.len(), 1);
    let log = last_log(&owner, &url).await;
    let message = log["message"].as_str().unwrap();
    assert!(
        message.starts_with("delivery:w-1 applied but not remembered: quota"),
        "{log}"
    );
}

/// A fault of the database in a write that starts at no savepoint (the delivery id's put, one
/// statement): on SQLite the statement is undone alone and the plugin goes on, as it does when
/// the quota refuses the put; on PostgreSQL it aborts the run's transaction, so the whole
/// delivery fails with nothing written, whatever the plugin answered, and the shop's retry
/// applies it once.
#[tokio::test]
async fn a_database_fault_outside_a_savepoint_fails_the_delivery_on_postgres() {
    let server = TestServer::start().await;
    let owner = server.signup("Faulty").await;
    let url = hook_url(&owner, "shopify").await;
    let postgres = server.state.store.backend() == Backend::Postgres;
    let fault = if postgres {
        [
            "CREATE FUNCTION refuse_delivery_ids() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.key LIKE 'delivery:%' THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER refuse_delivery_ids BEFORE INSERT ON plugin_kv FOR EACH ROW \
             EXECUTE FUNCTION refuse_delivery_ids()",
        ]
        .as_slice()
    } else {
        &[
            "CREATE TRIGGER refuse_delivery_ids BEFORE INSERT ON plugin_kv WHEN NEW.key LIKE 'delivery:%' \
           BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
        ]
    };
    let mut conn = server.state.store.connection().await.unwrap();
    for statement in fault {
        conn.execute(*statement).await.unwrap();
    }
    let (status, body) = deliver_order(&server, &url, "fault@example.com", "w-1").await;
    let runs = owner
        .get(&format!("/v1/installations/{}/runs", installation_of(&url)))
        .await;
    let run = &runs.body["data"][0];
    if postgres {
        assert_eq!(status, 502, "{body}");
        assert_eq!(
            (run["outcome"].as_str(), run["error"].as_str()),
            (Some("error"), Some(BROKEN)),
            "{run}"
        );
        assert_eq!(owner.get("/v1/customers").await.body["data"], json!([]));
    } else {
        assert_eq!(status, 200, "{body}");
        assert_eq!(run["outcome"], "ok", "{run}");
        let log = last_log(&owner, &url).await;
        let message = log["message"].as_str().unwrap();
        assert!(message.starts_with("delivery:w-1 applied but not remembered"), "{log}");
    }
    let drop = if postgres {
        "DROP TRIGGER refuse_delivery_ids ON plugin_kv"
    } else {
        "DROP TRIGGER refuse_delivery_ids"
    };
    conn.execute(drop).await.unwrap();
    let (status, body) = deliver_order(&server, &url, "fault@example.com", "w-1").await;
    assert_eq!(status, 200, "{body}");
    let customer = only_customer(&owner).await;
    // SQLite applied the first delivery and could not remember it, so the retry applied it too.
    let applied = if postgres { 1 } else { 2 };
    assert_eq!(events_of(&owner, &customer).await.len(), applied);
    let replay = deliver_order(&server, &url, "fault@example.com", "w-1").await;
    assert_eq!(replay.1, json!({"duplicate": true}));
}

#[tokio::test]
async fn woocommerce_orders_and_customers_become_crm_records() {
    let server = TestServer::start().await;
    let owner = server.signup("Woo").await;
    let url = hook_url(&owner, "woocommerce").await;
    let order = json!({
        "id": 727, "status": "processing", "currency": "EUR", "total": "29.35", "customer_id": 12,
        "billing": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": "+447700900123"}
    });
    let sig = sign(SECRET, order.to_string().as_bytes());
    let wrong = sign("another secret", order.to_string().as_bytes());
    let headers = |sig: &str, id: &str| {
        vec![
            ("x-wc-webhook-topic".to_owned(), "order.created".to_owned()),
            ("x-wc-webhook-signature".to_owned(), sig.to_owned()),
            ("x-wc-webhook-delivery-id".to_owned(), id.to_owned()),
        ]
    };
    let send = |h: Vec<(String, String)>| {
        let mut req = server.http.post(&url).body(order.to_string());
        for (k, v) in h {
            req = req.header(k, v);
        }
        req.send()
    };
    assert_eq!(send(headers(&wrong, "d-1")).await.unwrap().status(), 401);
    assert_eq!(owner.get("/v1/customers").await.body["data"], json!([]));
    let status = send(headers(&sig, "d-1")).await.unwrap().status();
    assert_eq!(status, 200, "{}", last_log(&owner, &url).await);
    let customer = only_customer(&owner).await;
    assert_eq!(customer["email"], "ada@example.com");
    assert_eq!(customer["external_id"], "woocommerce:12");
    assert_eq!(customer["tags"], json!(["buyer"]));
    let events = events_of(&owner, &customer).await;
    assert_eq!(
        events[0]["properties"],
        json!({"order_id": "727", "total_minor": 2935, "currency": "EUR"})
    );
    let replay: Value = send(headers(&sig, "d-1")).await.unwrap().json().await.unwrap();
    assert_eq!(replay, json!({"duplicate": true}));
    assert_eq!(events_of(&owner, &customer).await.len(), 1);
}

#[tokio::test]
async fn webhook_transform_maps_any_json_by_its_config() {
    let server = TestServer::start().await;
    let owner = server.signup("Mapper").await;
    let config = json!({
        "token": "tok",
        "customer": {"email": "/user/mail", "first_name": "/user/name", "external_id": "/user/id"},
        "tags": ["from-form", "/user/groups"],
        "event": {"type": "/kind", "properties": {"plan": "/plan"}}
    });
    let ins = owner
        .post(
            "/v1/installations",
            json!({"plugin": "webhook-transform", "config": config, "capabilities": ["customers:write"]}),
        )
        .await;
    assert_eq!(ins.status, 201, "{}", ins.body);
    // A mapping the schema refuses is refused at install time.
    let bad = owner
        .post(
            "/v1/installations",
            json!({"plugin": "webhook-transform", "config": {"customer": {"shoe_size": "/x"}}}),
        )
        .await;
    bad.assert_problem(422);
    let url = ins.body["webhook_urls"][0].as_str().unwrap().to_owned();
    let body = json!({"kind": "signed_up", "plan": "pro", "user": {"mail": "Grace@Example.com", "name": "Grace", "id": 77, "groups": ["beta", "vip"]}});
    let post = |token: &str| {
        server
            .http
            .post(&url)
            .header("x-webhook-token", token)
            .json(&body)
            .send()
    };
    assert_eq!(post("wrong").await.unwrap().status(), 401);
    assert_eq!(owner.get("/v1/customers").await.body["data"], json!([]));
    let reply = post("tok").await.unwrap();
    assert_eq!(reply.status(), 200, "{}", last_log(&owner, &url).await);
    let customer = only_customer(&owner).await;
    assert_eq!(customer["email"], "grace@example.com");
    assert_eq!(customer["external_id"], "77");
    let mut tags: Vec<String> = serde_json::from_value(customer["tags"].clone()).unwrap();
    tags.sort();
    assert_eq!(tags, ["beta", "from-form", "vip"]);
    let events = events_of(&owner, &customer).await;
    assert_eq!(
        (events[0]["type"].as_str(), &events[0]["properties"]),
        (Some("signed_up"), &json!({"plan": "pro"}))
    );
}

/// Config of the abandoned-cart follow-up, checking `after_secs` after the checkout.
fn abandoned_config(after_secs: f64) -> Value {
    json!({
        "abandoned_after_secs": after_secs,
        "abandoned_tag": "abandoned-cart",
        "abandoned_email_subject": "Your cart is waiting",
        "abandoned_email_body": "Still thinking it over?",
    })
}

const SHOP_CAPS: [&str; 3] = ["kv", "customers:write", "messages:send"];

/// Delivers a signed Shopify webhook of `topic`.
async fn shopify(server: &TestServer, url: &str, topic: &str, id: &str, body: &Value) {
    let sig = sign(SECRET, body.to_string().as_bytes());
    let headers = [
        ("x-shopify-topic", topic),
        ("x-shopify-hmac-sha256", sig.as_str()),
        ("x-shopify-webhook-id", id),
    ];
    let (status, reply) = deliver(server, url, &headers, body).await;
    assert_eq!(status, 200, "{topic}: {reply}");
}

fn checkout() -> Value {
    json!({
        "id": 981, "email": "cart@example.com", "total_price": "42.50", "currency": "EUR",
        "customer": {"id": 4242, "email": "cart@example.com", "first_name": "Cat"}
    })
}

/// The installation behind a hook URL.
fn installation_of(url: &str) -> &str {
    url.split('/').rev().nth(1).unwrap()
}

/// Waits for background jobs until the installation's follow-up has run; answers its output.
async fn follow_up_output(server: &TestServer, owner: &Session, url: &str) -> Value {
    let runs = format!("/v1/installations/{}/runs", installation_of(url));
    let run = server
        .until_jobs(|| async {
            let reply = owner.get(&runs).await;
            reply.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["trigger"] == "schedule")
                .cloned()
        })
        .await;
    assert_eq!(run["outcome"], "ok", "{run}");
    serde_json::from_str(run["output"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn shopify_checkouts_without_an_order_are_followed_up_as_abandoned() {
    let server = TestServer::start().await;
    let owner = server.signup("Carts").await;
    let url = install_shop(&owner, "shopify", abandoned_config(0.2), &SHOP_CAPS).await;
    shopify(&server, &url, "checkouts/create", "c-1", &checkout()).await;
    let customer = only_customer(&owner).await;
    assert_eq!(events_of(&owner, &customer).await[0]["type"], "checkout.created");

    let output = follow_up_output(&server, &owner, &url).await;
    assert_eq!(output["abandoned"], true, "{output}");
    let events = events_of(&owner, &customer).await;
    assert_eq!(events[0]["type"], "checkout.abandoned", "{events:?}");
    assert_eq!(
        events[0]["properties"],
        json!({"checkout_id": "981", "total_minor": 4250, "currency": "EUR"})
    );
    assert_eq!(only_customer(&owner).await["tags"], json!(["abandoned-cart"]));
    let outbox = owner.get("/v1/outbox").await;
    let sent = outbox.body["data"].as_array().unwrap();
    assert_eq!(sent.len(), 1, "{}", outbox.body);
    assert_eq!(
        (
            sent[0]["channel"].as_str(),
            sent[0]["to"].as_str(),
            sent[0]["subject"].as_str()
        ),
        (Some("email"), Some("cart@example.com"), Some("Your cart is waiting"))
    );
    assert_eq!(sent[0]["id"], output["email"]);
}

#[tokio::test]
async fn shopify_checkouts_followed_by_an_order_are_not_abandoned() {
    let server = TestServer::start().await;
    let owner = server.signup("Buyers").await;
    let url = install_shop(&owner, "shopify", abandoned_config(1.0), &SHOP_CAPS).await;
    shopify(&server, &url, "checkouts/create", "c-1", &checkout()).await;
    let mut order = checkout();
    order["id"] = json!(5001);
    shopify(&server, &url, "orders/create", "o-1", &order).await;

    let output = follow_up_output(&server, &owner, &url).await;
    assert_eq!(output, json!({"abandoned": false}));
    let customer = only_customer(&owner).await;
    let types: Vec<Value> = events_of(&owner, &customer)
        .await
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(types, [json!("order.created"), json!("checkout.created")]);
    assert_eq!(customer["tags"], json!(["buyer"]));
    assert_eq!(owner.get("/v1/outbox").await.body["data"], json!([]));
}
