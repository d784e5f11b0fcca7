//! Finished deliveries past the retention are deleted with their attempts; pending ones and
//! recent ones stay. No dispatcher runs here, so nothing changes the rows but the test.

use serde_json::json;
use switchboard::domain::webhooks::retention;
use switchboard::ids::{PrefixedId, WebhookDeliveryId};
use switchboard::store::now_ms;
use switchboard::store::webhook_attempts::{self, NewAttempt};
use switchboard::store::webhook_deliveries::{self, Ending, NewDelivery, FAILED, SUCCEEDED};
use switchboard_tests::TestServer;

const DAY_MS: i64 = 24 * 3600 * 1000;

#[tokio::test]
async fn finished_deliveries_past_the_retention_go_with_their_attempts() {
    let server = TestServer::start_with(|c| {
        c.webhooks_allow_nets = "127.0.0.1/32".parse().unwrap();
        c.webhooks_allow_http = true;
        c.webhooks_max_in_flight = 0;
        c.webhooks_retention_days = 30;
    })
    .await;
    let owner = server.signup("Retention").await;
    let reply = owner
        .post("/v1/webhook-endpoints", json!({"url": "http://127.0.0.1:9/in"}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let endpoint = reply.body["id"].as_str().unwrap().to_owned();
    let ctx = owner.ctx();

    let now = now_ms();
    let old = now - 31 * DAY_MS;
    let delivery = |n: usize| NewDelivery {
        id: WebhookDeliveryId::generate(),
        endpoint_id: endpoint.clone(),
        event_id: format!("evt_{n}"),
        event_type: "customer.created".into(),
        payload: "{}".into(),
        max_attempts: 3,
    };
    let (old_ok, old_failed, old_pending, recent_ok) = (delivery(1), delivery(2), delivery(3), delivery(4));
    let ended = |status| Ending {
        status,
        attempt: 0,
        code: Some(200),
        error: None,
    };
    let mut tx = server.state.store.tenant_tx(&ctx).await.unwrap();
    let olds = [old_ok, old_failed, old_pending];
    webhook_deliveries::insert_many(&mut tx, &ctx, &olds, old)
        .await
        .unwrap();
    webhook_deliveries::insert_many(&mut tx, &ctx, std::slice::from_ref(&recent_ok), now)
        .await
        .unwrap();
    for (status, d) in [(SUCCEEDED, &olds[0]), (FAILED, &olds[1]), (SUCCEEDED, &recent_ok)] {
        let settled = webhook_deliveries::settle_many(&mut tx, &ended(status), &[(d.id.as_str(), now)], now)
            .await
            .unwrap();
        assert_eq!(settled, 1);
    }
    let tenant = ctx.tenant_id.as_str();
    let attempts = [&olds[0], &recent_ok].map(|d| attempt(tenant, &endpoint, d.id.as_str(), old));
    webhook_attempts::insert_many(&mut tx, &attempts).await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!(
        retention::prune(&server.state).await.unwrap(),
        2,
        "the old finished two"
    );

    let log = owner.get(&format!("/v1/webhook-endpoints/{endpoint}/deliveries")).await;
    assert_eq!(log.status, 200, "{}", log.body);
    let mut kept: Vec<&str> = log.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    kept.sort_unstable();
    let mut expected = vec![olds[2].id.as_str(), recent_ok.id.as_str()];
    expected.sort_unstable();
    assert_eq!(kept, expected, "pending and recent deliveries stay");

    let attempts = owner.get(&format!("/v1/webhook-endpoints/{endpoint}/attempts")).await;
    assert_eq!(attempts.status, 200, "{}", attempts.body);
    let left: Vec<&str> = attempts.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["delivery_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        left,
        [recent_ok.id.as_str()],
        "the pruned delivery's attempt went with it"
    );

    assert_eq!(
        retention::prune(&server.state).await.unwrap(),
        0,
        "nothing more to prune"
    );
}

/// A succeeded first attempt of `delivery`.
fn attempt<'a>(tenant_id: &'a str, endpoint_id: &'a str, delivery_id: &'a str, at: i64) -> NewAttempt<'a> {
    NewAttempt {
        tenant_id,
        endpoint_id,
        delivery_id,
        attempt: 1,
        succeeded: true,
        response_code: Some(200),
        response_body: None,
        error: None,
        latency_ms: 1,
        created_at: at,
    }
}
