//! A savepoint that moves along a transaction: each unit of work in it (an imported row, a
//! plugin's host call) first moves the mark up, `RELEASE` and `SAVEPOINT` sent as one query, and
//! a unit that fails rolls back to it. That is one round trip per unit instead of two (a
//! savepoint before, a release after). The mark moves before every unit, after a failed one
//! too: what the caller writes between units (an import's error rows) must not be undone by the
//! next unit's failure. On SQLite every round trip is a hop to the connection's worker
//! thread and back, made while holding the one write lock (measured: 26 of them in one Shopify
//! webhook's transaction). A mark still set at `COMMIT` is released by it, on both databases.

use sqlx::Executor;

use super::{Conn, Result};

/// A moving savepoint named `name` (a fixed identifier, never user input).
#[derive(Debug)]
pub struct Mark {
    name: &'static str,
    /// Whether this transaction has the savepoint yet.
    placed: bool,
}

impl Mark {
    pub const fn new(name: &'static str) -> Self {
        Self { name, placed: false }
    }

    /// Moves the mark to the end of what `tx` wrote so far, before a unit of work.
    pub async fn set(&mut self, tx: &mut Conn) -> Result<()> {
        let name = self.name;
        let sql = if self.placed {
            format!("RELEASE SAVEPOINT {name}; SAVEPOINT {name}")
        } else {
            format!("SAVEPOINT {name}")
        };
        tx.execute(sql.as_str()).await?;
        self.placed = true;
        Ok(())
    }

    /// Undoes the unit since [`Mark::set`]; what it wrote before stays.
    pub async fn undo(&self, tx: &mut Conn) -> Result<()> {
        tx.execute(format!("ROLLBACK TO SAVEPOINT {}", self.name).as_str())
            .await?;
        Ok(())
    }
}
