//! SQLite WAL checkpoints, off the write turn. By default the connection whose commit takes the
//! WAL past 1,000 pages copies them back into the database file (and syncs both) before its
//! COMMIT returns, so one writer in a few dozen paid for everyone's, while holding the one
//! write turn. Connections here do not checkpoint on commit; this task does, every
//! [`EVERY`], in `PASSIVE` mode: it waits for no reader or writer, and writers go on appending
//! meanwhile. The next writer after a complete checkpoint starts the WAL over.

use std::time::Duration;

use sqlx::AnyPool;

/// How often the WAL is copied back. Not tuned: often enough that the WAL grows little in
/// between, rarely enough that an idle server does next to nothing.
const EVERY: Duration = Duration::from_millis(100);

/// Checkpoints through `pool` until the pool is closed.
pub(super) async fn run(pool: AnyPool) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !pool.is_closed() {
        tick.tick().await;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use sqlx::Executor;

    use crate::store::Store;

    #[tokio::test]
    async fn commits_leave_the_wal_to_the_background_checkpoint() {
        let path = std::env::temp_dir().join(format!("sb_test_checkpoint_{}.db", uuid::Uuid::now_v7().simple()));
        let store = Store::connect(&format!("sqlite://{}", path.display()), 2)
            .await
            .unwrap();
        let mut tx = store.system_tx().await.unwrap();
        let threshold: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(threshold, 0, "the writer connection never checkpoints on commit");
        // 2,000 pages of 4 KB: twice SQLite's default checkpoint threshold.
        tx.execute(
            "CREATE TABLE filler (b BLOB); \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
             INSERT INTO filler SELECT randomblob(4000) FROM n",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();

        // The pages reach the database file once the background task has copied them back.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&path).unwrap().len() < 2000 * 4000 {
            assert!(Instant::now() < deadline, "no checkpoint within 10 s");
            tokio::time::sleep(super::EVERY).await;
        }
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
