use switchboard::ids::{DomainEventId, PrefixedId};
use switchboard::store::bulk;
use switchboard::store::now_ms;
use switchboard_tests::TestServer;

/// The ids of the tenant's outbox events of type `kind`.
pub(crate) async fn event_ids(owner: &switchboard_tests::Session, kind: &str) -> Vec<String> {
    let listed = owner.get(&format!("/v1/domain-events?type={kind}")).await;
    listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_write_at_once_lands_whole_or_not_at_all_returns_its_rows_and_leaves_its_connection_usable() {
    let server = TestServer::start().await;
    let owner = server.signup("Atomic").await;
    let ctx = owner.ctx();
    let store = &server.state.store;
    let (first, second) = (
        DomainEventId::generate().to_string(),
        DomainEventId::generate().to_string(),
    );
    let row = |id: &str| vec![(id.to_owned(), "webhook.test", "{}".to_owned())];
    let mut conn = store.turn().await.unwrap();

    // The last statement repeats the first one's id: the whole write fails.
    let failing = [
        bulk::domain_events(&ctx, &row(&first), now_ms()),
        bulk::domain_events(&ctx, &row(&second), now_ms()),
        bulk::domain_events(&ctx, &row(&first), now_ms()),
    ]
    .concat();
    assert!(store
        .write_at_once::<(String,)>(&mut conn, &[], &failing)
        .await
        .is_err());
    // The turn ends before the API is asked (on SQLite it is the one writer's).
    drop(conn);
    assert_eq!(event_ids(&owner, "webhook.test").await, Vec::<String>::new());

    // The connection goes on, and what the last statement returns comes back.
    let mut conn = store.turn().await.unwrap();
    let mut passing = [
        bulk::domain_events(&ctx, &row(&first), now_ms()),
        bulk::domain_events(&ctx, &row(&second), now_ms()),
    ]
    .concat();
    passing.last_mut().unwrap().push(" RETURNING id");
    let returned = store
        .write_at_once::<(String,)>(&mut conn, &[], &passing)
        .await
        .unwrap();
    assert_eq!(returned, [(second.clone(),)]);
    drop(conn);
    let mut written = event_ids(&owner, "webhook.test").await;
    written.sort();
    assert_eq!(written, [first, second]);
}
