//! Write turns: SQLite has one writer at a time, and a writer that finds the lock taken sleeps
//! in SQLite's busy handler (1, 2, 5 … 100 ms) however soon the lock frees. Writers of this
//! process instead queue here, first come first served, and each starts the moment the one
//! before it ends. Other processes on the same file still meet the busy timeout.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Any, Transaction};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Conn;

/// As long as SQLite's busy timeout: a writer waits for its turn no longer than it would
/// wait for the lock.
const TURN_TIMEOUT: Duration = Duration::from_secs(10);

/// The queue of writers; empty (no queueing) on PostgreSQL, whose writers do not exclude
/// each other.
#[derive(Clone)]
pub(super) struct WriteTurns(Option<Arc<Semaphore>>);

impl WriteTurns {
    pub(super) fn new(single_writer: bool) -> Self {
        Self(single_writer.then(|| Arc::new(Semaphore::new(1))))
    }

    /// Waits for this writer's turn, which lasts until the returned permit drops.
    pub(super) async fn take(&self) -> Result<Option<OwnedSemaphorePermit>, sqlx::Error> {
        let Some(queue) = &self.0 else { return Ok(None) };
        match tokio::time::timeout(TURN_TIMEOUT, queue.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            // The semaphore is never closed; a timeout is a writer stuck for 10 s.
            _ => Err(sqlx::Error::PoolTimedOut),
        }
    }
}

/// A write transaction holding its writer's turn until it commits, rolls back or drops.
pub struct WriteTx<'c> {
    tx: Transaction<'c, Any>,
    _turn: Option<OwnedSemaphorePermit>,
}

impl<'c> WriteTx<'c> {
    pub(super) fn new(tx: Transaction<'c, Any>, turn: Option<OwnedSemaphorePermit>) -> Self {
        Self { tx, _turn: turn }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl Deref for WriteTx<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.tx
    }
}

impl DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.tx
    }
}

/// A connection held in its writer's turn until it drops (see [`super::Store::turn`]).
pub struct TurnConn {
    conn: PoolConnection<Any>,
    _turn: Option<OwnedSemaphorePermit>,
}

impl TurnConn {
    pub(super) fn new(conn: PoolConnection<Any>, turn: Option<OwnedSemaphorePermit>) -> Self {
        Self { conn, _turn: turn }
    }
}

impl Deref for TurnConn {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl DerefMut for TurnConn {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::WriteTurns;

    #[tokio::test]
    async fn one_writer_at_a_time_on_sqlite_and_the_next_goes_as_soon_as_it_ends() {
        let turns = WriteTurns::new(true);
        let first = turns.take().await.unwrap();
        assert!(first.is_some());
        let mut second = Box::pin(turns.take());
        assert!((&mut second).now_or_never().is_none(), "waits while the first writes");
        drop(first);
        assert!(second.now_or_never().expect("its turn").unwrap().is_some());
    }

    #[tokio::test]
    async fn postgresql_writers_do_not_queue() {
        let turns = WriteTurns::new(false);
        let held = turns.take().await.unwrap();
        assert!(held.is_none());
        assert!(turns.take().now_or_never().expect("no wait").unwrap().is_none());
    }
}
