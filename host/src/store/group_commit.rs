//! Group commit on SQLite. Every write transaction of this process runs on one connection, one
//! at a time in its writer's turn ([`super::write_turn`]). A transaction that commits while
//! other writers wait for the turn does not COMMIT: its savepoint stays to be released, the turn
//! passes on with the database transaction still open, and it waits for the COMMIT of the group
//! it joined, sent by the last writer in line (or by a flush queued behind the writers waiting
//! when it ended). Its commit returns once its writes are committed, as before. What a group
//! saves is a BEGIN and a COMMIT per transaction, and the pages several members dirty (the last
//! leaf of every append-only table and index) reach the WAL once per group instead of once per
//! transaction. A member that rolls back, fails or is dropped is undone to its savepoint and
//! the others' writes stay; when the COMMIT fails, every member of the group is told. Deferred
//! constraints are checked at that COMMIT, so one member breaking one would fail its whole
//! group: the SQLite schema has none (the tests use one to make a COMMIT fail).

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Executor};
use tokio::sync::oneshot;

/// The savepoint each member writes at. Members never overlap: each is released or undone
/// before the next one begins.
const MEMBER: &str = "group_member";

/// What the open transaction holds past the members that committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tail {
    /// No transaction is open.
    Closed,
    /// A member is writing at its savepoint.
    Writing,
    /// The last member committed; its savepoint is still to release.
    Committed,
    /// The last member rolled back or was dropped; its writes are still to undo.
    Abandoned,
}

/// How a group's COMMIT went, told to each member waiting for it.
type Outcome = Result<(), String>;

/// The writer connection and the group open on it.
pub(super) struct Writer {
    conn: PoolConnection<Any>,
    tail: Tail,
    /// Members whose writes wait in the open transaction for its COMMIT.
    waiting: Vec<oneshot::Sender<Outcome>>,
    /// Whether a flush is queued for the turn already.
    pub(super) flush_queued: bool,
}

impl Writer {
    pub(super) fn new(conn: PoolConnection<Any>) -> Self {
        Self {
            conn,
            tail: Tail::Closed,
            waiting: Vec::new(),
            flush_queued: false,
        }
    }

    pub(super) fn conn(&self) -> &AnyConnection {
        &self.conn
    }

    pub(super) fn conn_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }

    /// Starts a member: a savepoint in the open transaction (one round trip, which also ends the
    /// member before it), or a new transaction.
    pub(super) async fn begin(&mut self) -> Result<(), sqlx::Error> {
        let continued = match self.tail {
            Tail::Closed => None,
            Tail::Committed => Some(format!("RELEASE {MEMBER}; SAVEPOINT {MEMBER}")),
            Tail::Writing | Tail::Abandoned => {
                Some(format!("ROLLBACK TO {MEMBER}; RELEASE {MEMBER}; SAVEPOINT {MEMBER}"))
            }
        };
        // Set before the statement runs: a begin given up half-way leaves a state the next
        // holder recovers from (its undo applies, or fails and the transaction starts over).
        self.tail = Tail::Writing;
        if let Some(sql) = continued {
            match self.conn.execute(sql.as_str()).await {
                Ok(_) => return Ok(()),
                // The transaction is not what the group left (SQLite rolls a whole
                // transaction back on some errors): its members cannot commit. This one
                // starts afresh.
                Err(e) => self.fail(&e).await,
            }
        }
        self.tail = Tail::Writing;
        if let Err(e) = self
            .conn
            .execute(format!("BEGIN IMMEDIATE; SAVEPOINT {MEMBER}").as_str())
            .await
        {
            self.fail(&e).await;
            return Err(e);
        }
        Ok(())
    }

    /// The writing member keeps its writes: they commit with the group, which the receiver
    /// tells.
    pub(super) fn keep(&mut self) -> oneshot::Receiver<Outcome> {
        self.tail = Tail::Committed;
        let (tell, told) = oneshot::channel();
        self.waiting.push(tell);
        told
    }

    /// The writing member's writes are to be undone.
    pub(super) fn abandon(&mut self) {
        self.tail = Tail::Abandoned;
    }

    /// Commits the open group, if any, and tells its members how it went. The state changes
    /// only once the database answered, so a flush given up half-way is finished or undone by
    /// the next holder.
    pub(super) async fn flush(&mut self) {
        let sql = match self.tail {
            Tail::Closed => return,
            Tail::Committed => "COMMIT".to_owned(),
            Tail::Writing | Tail::Abandoned => format!("ROLLBACK TO {MEMBER}; COMMIT"),
        };
        match self.conn.execute(sql.as_str()).await {
            Ok(_) => {
                self.tail = Tail::Closed;
                for member in self.waiting.drain(..) {
                    let _ = member.send(Ok(()));
                }
            }
            Err(e) => self.fail(&e).await,
        }
    }

    /// Rolls the open transaction back and tells its waiting members their writes are lost.
    async fn fail(&mut self, e: &sqlx::Error) {
        if !self.waiting.is_empty() {
            tracing::error!(error = %e, members = self.waiting.len(), "group commit failed");
        }
        // Best effort: there may be no transaction left to roll back.
        let _ = self.conn.execute("ROLLBACK").await;
        self.tail = Tail::Closed;
        for member in self.waiting.drain(..) {
            let _ = member.send(Err(e.to_string()));
        }
    }
}
