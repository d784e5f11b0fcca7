//! Replay protection for inbound webhooks, on the real database of each backend.

use switchboard::signatures::{first_delivery, receipts};
use switchboard::store::{now_ms, webhook_receipts};
use switchboard::tenancy::TenantCtx;
use switchboard_tests::server::TestServer;

#[tokio::test]
async fn a_delivery_id_is_first_once_per_source_and_commits_with_its_effects() {
    let server = TestServer::start().await;
    let ctx = tenant(&server).await;
    let store = &server.state.store;

    // Recorded inside a tenant transaction (PostgreSQL: the restricted role) that rolls back:
    // the receipt goes with the effects it guards.
    let mut tx = store.tenant_tx(&ctx).await.unwrap();
    assert!(first_delivery(&mut tx, "shopify:ins_1", "d1").await.unwrap());
    assert!(!first_delivery(&mut tx, "shopify:ins_1", "d1").await.unwrap());
    tx.rollback().await.unwrap();

    let mut tx = store.tenant_tx(&ctx).await.unwrap();
    assert!(
        first_delivery(&mut tx, "shopify:ins_1", "d1").await.unwrap(),
        "rolled back"
    );
    tx.commit().await.unwrap();

    let mut tx = store.tenant_tx(&ctx).await.unwrap();
    assert!(
        !first_delivery(&mut tx, "shopify:ins_1", "d1").await.unwrap(),
        "a replay"
    );
    assert!(
        first_delivery(&mut tx, "shopify:ins_2", "d1").await.unwrap(),
        "another source"
    );
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn receipts_past_their_retention_are_pruned_and_recent_ones_kept() {
    let server = TestServer::start().await;
    let ctx = tenant(&server).await;
    let store = &server.state.store;
    let old = now_ms() - receipts::RETENTION.as_millis() as i64 - 1_000;
    let mut tx = store.tenant_tx(&ctx).await.unwrap();
    assert!(webhook_receipts::insert_if_new(&mut tx, "resend", "old", old)
        .await
        .unwrap());
    assert!(first_delivery(&mut tx, "resend", "new").await.unwrap());
    tx.commit().await.unwrap();

    assert_eq!(receipts::prune(store).await.unwrap(), 1);

    let mut tx = store.tenant_tx(&ctx).await.unwrap();
    assert!(first_delivery(&mut tx, "resend", "old").await.unwrap(), "forgotten");
    assert!(!first_delivery(&mut tx, "resend", "new").await.unwrap(), "kept");
    tx.commit().await.unwrap();
}

async fn tenant(server: &TestServer) -> TenantCtx {
    let owner = server.signup("Receipts").await;
    owner.ctx()
}
