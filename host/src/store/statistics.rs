//! Planner statistics after bulk writes. PostgreSQL plans with row estimates from its last
//! ANALYZE; during a large import they go stale within seconds (measured: the identifier check
//! planned for 234 customers when there were 78,000, and took 1 s a batch instead of 1 ms), and
//! autovacuum may be late or off.

use super::{Backend, Result, Store};

/// Tables that grow in bulk, each refreshed after its own kind of bulk write.
#[derive(Clone, Copy, Debug)]
pub enum Grown {
    /// A customer import's.
    Crm,
    /// A campaign's message rows, written before it sends.
    Messages,
}

impl Grown {
    fn tables(self) -> &'static str {
        match self {
            Grown::Crm => "customers, customer_field_values, customer_tags",
            Grown::Messages => "email_messages",
        }
    }
}

impl Store {
    /// Refreshes the statistics of the tables a bulk write grew. Runs on the owner connection:
    /// the tenant role may not ANALYZE.
    pub async fn refresh_statistics(&self, grown: Grown) -> Result<()> {
        self.maintain(grown, "ANALYZE").await
    }

    /// After a bulk write has finished: on PostgreSQL, `VACUUM (ANALYZE)` of the tables it grew.
    /// Besides fresh statistics, that records the new rows as visible to every transaction (the
    /// visibility map; without it an index-only scan visits the table for each entry it reads)
    /// and sets their hint bits once, instead of in the first reads. Autovacuum does it later,
    /// or never where it is off. `SKIP_LOCKED`: a table another vacuum holds is left to it.
    pub async fn settle(&self, grown: Grown) -> Result<()> {
        self.maintain(grown, "VACUUM (ANALYZE, SKIP_LOCKED)").await
    }

    /// `postgres_command` over `grown`'s tables; SQLite's `PRAGMA optimize` does what it needs.
    async fn maintain(&self, grown: Grown, postgres_command: &str) -> Result<()> {
        let sql = match self.backend() {
            Backend::Postgres => format!("{postgres_command} {}", grown.tables()),
            Backend::Sqlite => "PRAGMA optimize".to_owned(),
        };
        let mut conn = self.system_read().await?;
        sqlx::query(&sql).execute(&mut *conn).await?;
        Ok(())
    }
}
