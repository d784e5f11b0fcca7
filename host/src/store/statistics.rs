//! Planner statistics after bulk writes. PostgreSQL plans with row estimates from its last
//! ANALYZE; during a large import they go stale within seconds (measured: the identifier check
//! planned for 234 customers when there were 78,000, and took 1 s a batch instead of 1 ms).

use super::{Backend, Result, Store};

/// Tables a customer import grows.
const CRM_TABLES: &str = "customers, customer_field_values, customer_tags";

impl Store {
    /// Refreshes the statistics of the CRM tables. Runs on the owner connection: the tenant role
    /// may not ANALYZE.
    pub async fn refresh_crm_statistics(&self) -> Result<()> {
        let sql = match self.backend() {
            Backend::Postgres => format!("ANALYZE {CRM_TABLES}"),
            Backend::Sqlite => "PRAGMA optimize".to_owned(),
        };
        let mut conn = self.system_read().await?;
        sqlx::query(&sql).execute(&mut *conn).await?;
        Ok(())
    }
}
