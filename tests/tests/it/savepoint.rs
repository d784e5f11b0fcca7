use switchboard::ids::{DomainEventId, PrefixedId};
use switchboard::store::savepoint::Mark;
use switchboard::store::sql::Sql;
use switchboard::store::{bulk, now_ms};
use switchboard_tests::TestServer;

use crate::one_trip::event_ids;

#[tokio::test]
async fn a_moving_savepoint_undoes_only_the_failed_unit_and_the_transaction_goes_on() {
    let server = TestServer::start().await;
    let owner = server.signup("Marks").await;
    let ctx = owner.ctx();
    let ids: Vec<String> = (0..3).map(|_| DomainEventId::generate().to_string()).collect();
    let insert = |id: &str| -> Vec<Sql> {
        bulk::domain_events(&ctx, &[(id.to_owned(), "webhook.test", "{}".to_owned())], now_ms())
    };
    let mut tx = server.state.store.tenant_tx(&ctx).await.unwrap();
    let mut mark = Mark::new("test_unit");

    // A unit that succeeds stays.
    mark.set(&mut tx).await.unwrap();
    insert(&ids[0])[0].execute(&mut tx).await.unwrap();

    // A unit that wrote and then failed (a repeated id) is undone, its first write too, and
    // nothing before it.
    mark.set(&mut tx).await.unwrap();
    insert(&ids[1])[0].execute(&mut tx).await.unwrap();
    assert!(insert(&ids[0])[0].execute(&mut tx).await.is_err());
    mark.undo(&mut tx).await.unwrap();

    // The transaction goes on (on PostgreSQL too, where the error had aborted it) and commits.
    mark.set(&mut tx).await.unwrap();
    insert(&ids[2])[0].execute(&mut tx).await.unwrap();
    tx.commit().await.unwrap();

    let mut written = event_ids(&owner, "webhook.test").await;
    written.sort();
    let mut kept = vec![ids[0].clone(), ids[2].clone()];
    kept.sort();
    assert_eq!(written, kept);
}
