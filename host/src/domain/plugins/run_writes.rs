//! The writes of one run, as one transaction: opened by the run's first write, committed with
//! the run's record when it ends `ok` (or before a host call that waits on the network), rolled
//! back when it fails. A webhook's effects, its replay-protection key and its run record land
//! together or not at all, in one commit instead of one per host call. A host call of several
//! writes starts at a moving savepoint, so a call that fails leaves nothing and the plugin may go
//! on. A call of one statement needs none: on SQLite a failed statement is undone alone; on
//! PostgreSQL it aborts the whole transaction, which then breaks the run (see [`RunTx::broken`]).

use std::sync::{Arc, Mutex};

use sqlx::pool::PoolConnection;
use sqlx::Any;

use crate::store::savepoint::Mark;
use crate::store::Tx;

/// Why a run whose transaction broke failed.
pub const BROKEN: &str = "a write of this run failed in the database; its writes are undone";

/// The run's open transaction and the savepoint its host calls start at.
pub struct RunTx {
    pub tx: Tx,
    pub mark: Mark,
    /// The transaction is aborted: a statement failed outside a savepoint on PostgreSQL (or a
    /// savepoint itself failed). What the run wrote is lost, so later calls fail and the run
    /// fails, whatever the plugin answers. Such statements fail only on the database's faults,
    /// never on a plugin's input, and a savepoint before each would cost a round trip per call.
    pub broken: bool,
}

impl RunTx {
    pub fn new(tx: Tx) -> Self {
        Self {
            tx,
            mark: Mark::new("host_call"),
            broken: false,
        }
    }

    /// After a call without a savepoint failed on PostgreSQL: whether the transaction survived.
    /// The call may have failed before any statement, or on what a statement returned; if a
    /// statement failed, placing the mark fails too (the transaction is aborted).
    pub async fn check(&mut self) {
        if self.mark.set(&mut self.tx).await.is_err() {
            self.broken = true;
        }
    }
}

/// Shared by the run's host and whoever records the run after it.
#[derive(Clone, Default)]
pub struct RunWrites(Arc<Mutex<Option<RunTx>>>);

impl RunWrites {
    /// The open transaction, if the run wrote; the caller puts it back with [`RunWrites::put`]
    /// or ends it.
    pub fn take(&self) -> Option<RunTx> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Whether the run has written (its transaction is open).
    pub fn is_open(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    pub fn put(&self, run: RunTx) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(run);
    }
}

/// The connection a run took for a read before it wrote, kept for its next reads, for its
/// transaction to begin on, or for its record: sqlx pings a connection each time it goes back
/// to the pool (a round trip `log_statement` does not show), so a run that took one per read
/// paid a ping each. Shared, like [`RunWrites`], with whoever records the run. Whoever waits
/// for another connection gives this one back first, so held connections never wait on each
/// other.
#[derive(Clone, Default)]
pub struct HeldConnection(Arc<Mutex<Option<PoolConnection<Any>>>>);

impl HeldConnection {
    pub fn take(&self) -> Option<PoolConnection<Any>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    pub fn put(&self, conn: PoolConnection<Any>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(conn);
    }
}
