//! The writes of one run, as one transaction: opened by the run's first write, committed with
//! the run's record when it ends `ok` (or before a host call that waits on the network), rolled
//! back when it fails. A webhook's effects, its replay-protection key and its run record land
//! together or not at all, in one commit instead of one per host call. Each host call within
//! it starts at a moving savepoint, so a call that fails leaves nothing and the plugin may go on.

use std::sync::{Arc, Mutex};

use crate::store::savepoint::Mark;
use crate::store::Tx;

/// The run's open transaction and the savepoint its host calls start at.
pub struct RunTx {
    pub tx: Tx,
    pub mark: Mark,
}

impl RunTx {
    pub fn new(tx: Tx) -> Self {
        Self {
            tx,
            mark: Mark::new("host_call"),
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
