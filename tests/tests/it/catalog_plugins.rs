//! The first-party plugins, from the catalog, inside the real host. Shopify and WooCommerce:
//! signed webhooks become customers, order events and tags; bad signatures write nothing;
//! replayed deliveries are acknowledged once. webhook-transform: any JSON by a mapping.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use switchboard_tests::{Session, TestServer};

const SECRET: &str = "shop-secret";

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Installs catalog plugin `name` and returns its webhook URL.
async fn hook_url(owner: &Session, name: &str) -> String {
    let ins = owner
        .post(
            "/v1/installations",
            json!({"plugin": name, "config": {"webhook_secret": SECRET}, "capabilities": ["kv", "customers:write"]}),
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

/// The newest line of the installation behind a hook URL's log, for failure messages.
async fn last_log(owner: &Session, url: &str) -> Value {
    let ins = url.split('/').rev().nth(1).unwrap();
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
