//! SQLite WAL checkpoints, off the write turn. By default the connection whose commit takes the
//! WAL past 1,000 pages copies them back into the database file (and syncs both) before its
//! COMMIT returns, so one writer in a few dozen paid for everyone's, while holding the one
//! write turn. Connections here do not checkpoint on commit; this task does, every
//! [`EVERY`], in `PASSIVE` mode: it waits for no reader or writer, and writers go on appending
//! meanwhile.
//!
//! The WAL starts over only when a writer begins after the whole of it was copied back. Under
//! steady writes a pass never catches up with the frames appended while it copied, so the WAL
//! grew without end (measured: 730 MB after 8 s of the tracking benchmark, and every new frame
//! cost the file system a block allocation). A pass that fell behind is followed by a second
//! one in the write turn: it copies only what came in during the first, and the next writer
//! starts the WAL over.

use std::time::Duration;

use sqlx::{AnyConnection, AnyPool};

use super::write_turn::WriteTurns;

/// How often the WAL is copied back. Not tuned: often enough that the WAL grows little in
/// between, rarely enough that an idle server does next to nothing.
const EVERY: Duration = Duration::from_millis(100);

/// Checkpoints through `pool` until the pool is closed.
pub(super) async fn run(pool: AnyPool, turns: WriteTurns) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut copied_whole = 0;
    while !pool.is_closed() {
        tick.tick().await;
        if let Err(e) = once(&pool, &turns, &mut copied_whole).await {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

/// One checkpoint: a pass alongside the writers, then one with them held off, which copies
/// what they appended meanwhile and leaves the whole WAL copied for the next writer to start
/// over. `copied_whole` is the WAL's length when it was last copied whole; while it stays
/// that long nothing was written since, and the second pass is skipped. (The first pass's own
/// counts cannot tell: they are of the WAL as the pass began, so "all copied" says nothing of
/// frames appended while it copied; dropping this state fails the test below.) The connection is
/// taken before the turn, so the turn is never held waiting for one (the pool's connections
/// could all be held by writers waiting for the turn).
async fn once(pool: &AnyPool, turns: &WriteTurns, copied_whole: &mut i64) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let (_busy, frames, _copied) = passive(&mut conn).await?;
    if frames > 0 && frames != *copied_whole {
        let _turn = turns.take().await?;
        let (_busy, frames, copied) = passive(&mut conn).await?;
        if copied == frames {
            *copied_whole = frames;
        }
    }
    Ok(())
}

/// `(busy, frames in the WAL, frames copied back)`.
async fn passive(conn: &mut AnyConnection) -> Result<(i64, i64, i64), sqlx::Error> {
    sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(conn).await
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use sqlx::Executor;

    use crate::store::temp_sqlite::TempSqlite;

    /// The WAL header's checkpoint sequence number, which grows by one each time the WAL starts
    /// over.
    fn wal_restarts(db: &Path) -> u32 {
        let wal = std::fs::read(format!("{}-wal", db.display())).unwrap();
        u32::from_be_bytes(wal[12..16].try_into().unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_steady_writes_the_wal_is_copied_back_and_starts_over() {
        let db = TempSqlite::new().await;
        let (store, path) = (&db.store, &db.path);
        let mut tx = store.system_tx().await.unwrap();
        let threshold: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(threshold, 0, "the writer connection never checkpoints on commit");
        tx.execute("CREATE TABLE filler (b BLOB)").await.unwrap();
        tx.commit().await.unwrap();

        // A writer that never pauses, as under load: each transaction adds a few pages.
        let stop = Arc::new(AtomicBool::new(false));
        let writer = tokio::spawn({
            let (store, stop) = (store.clone(), stop.clone());
            async move {
                let mut commits = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let mut tx = store.system_tx().await.unwrap();
                    tx.execute("INSERT INTO filler SELECT randomblob(3000) FROM (SELECT 1 UNION ALL SELECT 2)")
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                    commits += 1;
                }
                commits
            }
        });
        let before = wal_restarts(path);
        super::once(&store.pool, &store.turns, &mut 0).await.unwrap();
        // The next commit after it (the writer's, or this one) starts the WAL over.
        let mut tx = store.system_tx().await.unwrap();
        tx.execute("INSERT INTO filler VALUES (x'00')").await.unwrap();
        tx.commit().await.unwrap();
        stop.store(true, Ordering::Relaxed);
        let commits = writer.await.unwrap();
        assert!(commits > 0, "the writer wrote while the checkpoint ran");
        let after = wal_restarts(path);
        assert!(after > before, "the WAL started over ({before} before, {after} after)");
    }
}
