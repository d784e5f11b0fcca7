//! A savepoint that moves along a transaction: each unit of work in it (an imported row, a
//! plugin's host call) starts at the mark, a unit that fails rolls back to it, and only after a
//! unit succeeded is the mark moved up, `RELEASE` and `SAVEPOINT` sent as one query. That is one
//! round trip per unit instead of two (a savepoint before, a release after), and none after a
//! failure. On SQLite every round trip is a hop to the connection's worker thread and back, made
//! while holding the one write lock (measured: 26 of them in one Shopify webhook's transaction).
//! A mark still set at `COMMIT` is released by it, on both databases.

use sqlx::Executor;

use super::{Conn, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Not set in this transaction yet.
    Unset,
    /// At the end of what the transaction wrote.
    Current,
    /// Before the last unit's writes.
    Behind,
}

/// A moving savepoint named `name` (a fixed identifier, never user input).
#[derive(Debug)]
pub struct Mark {
    name: &'static str,
    place: Place,
}

impl Mark {
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            place: Place::Unset,
        }
    }

    /// Sets the mark at the end of what `tx` wrote so far, before a unit of work.
    pub async fn set(&mut self, tx: &mut Conn) -> Result<()> {
        let name = self.name;
        let sql = match self.place {
            Place::Current => return Ok(()),
            Place::Unset => format!("SAVEPOINT {name}"),
            Place::Behind => format!("RELEASE SAVEPOINT {name}; SAVEPOINT {name}"),
        };
        tx.execute(sql.as_str()).await?;
        self.place = Place::Current;
        Ok(())
    }

    /// The unit since [`Mark::set`] succeeded: its writes stay, and the next unit moves the mark.
    pub fn keep(&mut self) {
        if self.place == Place::Current {
            self.place = Place::Behind;
        }
    }

    /// Undoes the unit since [`Mark::set`]; the mark stays where it is, ready for the next one.
    pub async fn undo(&mut self, tx: &mut Conn) -> Result<()> {
        tx.execute(format!("ROLLBACK TO SAVEPOINT {}", self.name).as_str())
            .await?;
        Ok(())
    }
}
