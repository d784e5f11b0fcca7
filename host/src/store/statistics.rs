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
        let sql = match self.backend() {
            Backend::Postgres => format!("ANALYZE {}", grown.tables()),
            Backend::Sqlite => "PRAGMA optimize".to_owned(),
        };
        let mut conn = self.system_read().await?;
        sqlx::query(&sql).execute(&mut *conn).await?;
        Ok(())
    }
}
