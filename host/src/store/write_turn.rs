//! Write turns: SQLite has one writer at a time, and a writer that finds the lock taken sleeps
//! in SQLite's busy handler (1, 2, 5 … 100 ms) however soon the lock frees. Writers of this
//! process instead queue here, first come first served, and each starts the moment the one
//! before it ends. Other processes on the same file still meet the busy timeout. Write
//! transactions run on the one writer connection, in groups ([`super::group_commit`]); work that
//! takes the turn without joining a group (a bulk transaction on a connection of its own, a
//! checkpoint, a one-trip write) commits the open group first.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Any, Transaction};
use tokio::runtime::Handle;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::group_commit::Writer;
use super::Conn;

/// As long as SQLite's busy timeout: a writer waits for its turn no longer than it would
/// wait for the lock.
const TURN_TIMEOUT: Duration = Duration::from_secs(10);

/// The writer connection and the writers queued for it.
struct Queue {
    writer: Arc<Mutex<Writer>>,
    /// Writers waiting for their turn (a queued flush not counted): a member that ends while
    /// there are some leaves the group open for them.
    waiting: AtomicUsize,
    runtime: Handle,
}

/// The queue of writers; empty (no queueing) on PostgreSQL, whose writers do not exclude
/// each other.
#[derive(Clone)]
pub(super) struct WriteTurns(Option<Arc<Queue>>);

/// Counts a writer as waiting until it has its turn or gives up.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl WriteTurns {
    /// SQLite: writers queue for `writer`, the connection they write on. PostgreSQL: `None`.
    pub(super) fn new(writer: Option<PoolConnection<Any>>) -> Self {
        Self(writer.map(|conn| {
            Arc::new(Queue {
                writer: Arc::new(Mutex::new(Writer::new(conn))),
                waiting: AtomicUsize::new(0),
                runtime: Handle::current(),
            })
        }))
    }

    async fn lock(queue: &Queue) -> Result<OwnedMutexGuard<Writer>, sqlx::Error> {
        let _waiting = Waiting::new(&queue.waiting);
        // The mutex is fair: turns go in the order they were asked for.
        tokio::time::timeout(TURN_TIMEOUT, queue.writer.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)
    }

    /// Waits for this writer's turn, which lasts until the returned turn drops, for work that
    /// does not join a group: the open one commits first.
    pub(super) async fn take(&self) -> Result<Option<Turn>, sqlx::Error> {
        let Some(queue) = &self.0 else { return Ok(None) };
        let mut writer = Self::lock(queue).await?;
        writer.flush().await;
        Ok(Some(Turn(writer)))
    }

    /// A write transaction on the writer connection, in the open group or a new one; `None` on
    /// PostgreSQL.
    pub(super) async fn member(&self) -> Result<Option<Member>, sqlx::Error> {
        let Some(queue) = &self.0 else { return Ok(None) };
        let mut writer = Self::lock(queue).await?;
        writer.begin().await?;
        Ok(Some(Member {
            writer: Some(writer),
            queue: queue.clone(),
        }))
    }
}

impl Queue {
    /// Queues a flush behind the writers waiting now, unless one is queued already, so the
    /// group commits once they have joined it (or with the last of them, if it sees no one
    /// waiting behind it).
    fn flush_later(self: &Arc<Self>, writer: &mut Writer) {
        if writer.flush_queued {
            return;
        }
        writer.flush_queued = true;
        let queue = self.clone();
        self.runtime.spawn(async move {
            let mut writer = queue.writer.clone().lock_owned().await;
            writer.flush_queued = false;
            writer.flush().await;
        });
    }
}

/// The writer's turn, held until it drops.
pub(super) struct Turn(OwnedMutexGuard<Writer>);

/// A write transaction in a group on the writer connection.
pub(super) struct Member {
    /// `None` once it ended.
    writer: Option<OwnedMutexGuard<Writer>>,
    queue: Arc<Queue>,
}

impl Member {
    fn writer(&self) -> &Writer {
        self.writer.as_ref().expect("a member is used only until it ends")
    }

    fn writer_mut(&mut self) -> &mut Writer {
        self.writer.as_mut().expect("a member is used only until it ends")
    }

    /// Returns once the group holding its writes committed: at once when no writer waits to
    /// join it, else when the last of them (or the queued flush) commits.
    async fn commit(mut self) -> Result<(), sqlx::Error> {
        let mut writer = self.writer.take().expect("a member ends once");
        let told = writer.keep();
        if self.queue.waiting.load(Ordering::Acquire) == 0 {
            // In a task of its own, so a caller that stops waiting (a client gone) does not
            // stop the group's COMMIT half-way.
            self.queue.runtime.spawn(async move { writer.flush().await });
        } else {
            self.queue.flush_later(&mut writer);
            drop(writer);
        }
        match told.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(std::io::Error::other(format!("group commit failed: {why}")).into()),
            Err(_) => Err(std::io::Error::other("the writer stopped before the group committed").into()),
        }
    }

    /// Undoes its writes (when the turn next passes); the group's other writes stay.
    fn abandon(&mut self) {
        if let Some(mut writer) = self.writer.take() {
            writer.abandon();
            self.queue.flush_later(&mut writer);
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.abandon();
    }
}

enum Inner<'c> {
    /// PostgreSQL, or SQLite on a connection of the caller's own, in the turn.
    Own {
        tx: Transaction<'c, Any>,
        _turn: Option<Turn>,
    },
    /// SQLite, on the writer connection.
    Member(Member),
}

/// A write transaction, holding its writer's turn until it commits, rolls back or drops.
pub struct WriteTx<'c>(Inner<'c>);

impl<'c> WriteTx<'c> {
    pub(super) fn own(tx: Transaction<'c, Any>, turn: Option<Turn>) -> Self {
        Self(Inner::Own { tx, _turn: turn })
    }

    pub(super) fn member(member: Member) -> Self {
        Self(Inner::Member(member))
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self.0 {
            Inner::Own { tx, .. } => tx.commit().await,
            Inner::Member(member) => member.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.0 {
            Inner::Own { tx, .. } => tx.rollback().await,
            Inner::Member(mut member) => {
                member.abandon();
                Ok(())
            }
        }
    }
}

impl Deref for WriteTx<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        match &self.0 {
            Inner::Own { tx, .. } => tx,
            Inner::Member(member) => member.writer().conn(),
        }
    }
}

impl DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        match &mut self.0 {
            Inner::Own { tx, .. } => tx,
            Inner::Member(member) => member.writer_mut().conn_mut(),
        }
    }
}

/// A connection held in its writer's turn until it drops (see [`super::Store::turn`]): the
/// writer connection on SQLite, a pooled one on PostgreSQL.
pub struct TurnConn(TurnHeld);

enum TurnHeld {
    Writer(Turn),
    Pooled(PoolConnection<Any>),
}

impl TurnConn {
    pub(super) fn writer(turn: Turn) -> Self {
        Self(TurnHeld::Writer(turn))
    }

    pub(super) fn pooled(conn: PoolConnection<Any>) -> Self {
        Self(TurnHeld::Pooled(conn))
    }
}

impl Deref for TurnConn {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        match &self.0 {
            TurnHeld::Writer(turn) => turn.0.conn(),
            TurnHeld::Pooled(conn) => conn,
        }
    }
}

impl DerefMut for TurnConn {
    fn deref_mut(&mut self) -> &mut Conn {
        match &mut self.0 {
            TurnHeld::Writer(turn) => turn.0.conn_mut(),
            TurnHeld::Pooled(conn) => conn,
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;
    use sqlx::Executor;

    use tokio::task::JoinHandle;

    use super::WriteTurns;
    use crate::store::temp_sqlite::TempSqlite;
    use crate::store::{Store, Tx};

    /// A store on a new SQLite file with tables `t (v)` and `child (p)`, whose foreign key is
    /// checked at COMMIT.
    async fn store() -> TempSqlite {
        let db = TempSqlite::new().await;
        let mut tx = db.store.system_tx().await.unwrap();
        tx.execute(
            "CREATE TABLE t (v INTEGER); CREATE TABLE parent (id INTEGER PRIMARY KEY); \
             CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        db
    }

    async fn committed(store: &Store) -> Vec<i64> {
        let mut read = store.system_read().await.unwrap();
        sqlx::query_scalar("SELECT v FROM t ORDER BY v")
            .fetch_all(&mut *read)
            .await
            .unwrap()
    }

    /// A transaction writing `v`, not ended yet.
    async fn writing(store: &Store, v: i64) -> Tx {
        let mut tx = store.system_tx().await.unwrap();
        sqlx::query("INSERT INTO t VALUES ($1)")
            .bind(v)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx
    }

    /// A first member that wrote 1 and committed while a second waited, and that second,
    /// now writing in the same group.
    async fn two_in_a_group(store: &Store) -> (JoinHandle<Result<(), sqlx::Error>>, Tx) {
        let first = writing(store, 1).await;
        let mut second = Box::pin(store.system_tx());
        assert!((&mut second).now_or_never().is_none(), "waits for its turn");
        let first_commit = tokio::spawn(first.commit());
        (first_commit, second.await.unwrap())
    }

    #[tokio::test]
    async fn a_member_that_commits_while_another_waits_returns_when_their_group_commits() {
        let db = store().await;
        let store = &db.store;
        let (first_commit, mut second) = two_in_a_group(store).await;
        assert!(!first_commit.is_finished(), "the first waits for its group's COMMIT");
        assert!(committed(store).await.is_empty(), "nothing is committed yet");
        second.execute("INSERT INTO t VALUES (2)").await.unwrap();
        second.commit().await.unwrap();
        first_commit.await.unwrap().unwrap();
        assert_eq!(committed(store).await, [1, 2]);
    }

    #[tokio::test]
    async fn a_commit_given_up_half_way_still_commits_its_group() {
        let db = store().await;
        let store = &db.store;
        let (first_commit, mut second) = two_in_a_group(store).await;
        second.execute("INSERT INTO t VALUES (2)").await.unwrap();
        // The caller stops waiting (its client went away) as the group's COMMIT begins.
        assert!(second.commit().now_or_never().is_none());
        writing(store, 3).await.commit().await.unwrap();
        first_commit
            .await
            .unwrap()
            .expect("the first is told its group committed");
        assert_eq!(committed(store).await, [1, 2, 3]);
    }

    #[tokio::test]
    async fn a_member_dropped_midway_is_undone_and_its_group_still_commits() {
        let db = store().await;
        let store = &db.store;
        let (first_commit, mut second) = two_in_a_group(store).await;
        second.execute("INSERT INTO t VALUES (2)").await.unwrap();
        drop(second);
        first_commit.await.unwrap().unwrap();
        assert_eq!(committed(store).await, [1]);
        // The next transaction starts clean, in a group of its own.
        writing(store, 3).await.rollback().await.unwrap();
        writing(store, 4).await.commit().await.unwrap();
        assert_eq!(committed(store).await, [1, 4]);
    }

    #[tokio::test]
    async fn when_the_group_commit_fails_every_member_is_told_and_nothing_lands() {
        let db = store().await;
        let store = &db.store;
        let (first_commit, mut second) = two_in_a_group(store).await;
        // A deferred foreign key fails at COMMIT, the group's.
        second.execute("INSERT INTO child VALUES (7)").await.unwrap();
        assert!(second.commit().await.is_err());
        assert!(first_commit.await.unwrap().is_err(), "the first is told too");
        assert!(committed(store).await.is_empty());
        writing(store, 3).await.commit().await.unwrap();
        assert_eq!(committed(store).await, [3]);
    }

    #[tokio::test]
    async fn work_outside_groups_takes_the_turn_after_the_open_group_commits() {
        let db = store().await;
        let store = &db.store;
        let first = writing(store, 1).await;
        let mut turn = Box::pin(store.turn());
        assert!((&mut turn).now_or_never().is_none());
        let first_commit = tokio::spawn(first.commit());
        let _turn = turn.await.unwrap();
        assert_eq!(committed(store).await, [1], "committed before the turn passed");
        first_commit.await.unwrap().unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_concurrent_writers_exactly_the_commits_that_returned_ok_land() {
        let db = store().await;
        let store = &db.store;
        let writers = (0..90i64).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let tx = writing(&store, i).await;
                match i % 3 {
                    0 => tx.commit().await.is_ok().then_some(i),
                    1 => {
                        tx.rollback().await.unwrap();
                        None
                    }
                    _ => None, // dropped
                }
            })
        });
        let mut kept = Vec::new();
        for writer in writers.collect::<Vec<_>>() {
            kept.extend(writer.await.unwrap());
        }
        assert_eq!(kept.len(), 30, "every commit returned ok");
        kept.sort_unstable();
        assert_eq!(committed(store).await, kept);
    }

    #[tokio::test]
    async fn postgresql_writers_do_not_queue() {
        let turns = WriteTurns::new(None);
        assert!(turns.take().now_or_never().expect("no wait").unwrap().is_none());
        assert!(turns.member().now_or_never().expect("no wait").unwrap().is_none());
    }
}
