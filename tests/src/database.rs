//! A fresh database per test server, so tests run in parallel without sharing state.

use sqlx::{Connection, Executor, PgConnection};

pub const POSTGRES_ENV: &str = "SWITCHBOARD_TEST_POSTGRES_URL";

/// The backend this run tests: PostgreSQL when the variable is set, else SQLite.
pub fn postgres_base_url() -> Option<String> {
    std::env::var(POSTGRES_ENV).ok().filter(|v| !v.is_empty())
}

/// Test databases are named with this prefix so CI can drop leftovers.
pub const PREFIX: &str = "sb_test_";

/// Creates a new database and returns its URL.
pub async fn fresh_url() -> anyhow::Result<String> {
    let name = format!("{PREFIX}{}", uuid::Uuid::now_v7().simple());
    match postgres_base_url() {
        Some(base) => {
            let mut conn = PgConnection::connect(&base).await?;
            conn.execute(format!("CREATE DATABASE {name}").as_str()).await?;
            conn.close().await?;
            // Only the database changes: the rest (`?sslmode=…`, a socket `host=`) stays.
            let mut url = reqwest::Url::parse(&base)?;
            url.set_path(&name);
            Ok(url.into())
        }
        None => {
            let path = std::env::temp_dir().join(format!("{name}.db"));
            Ok(format!("sqlite://{}", path.display()))
        }
    }
}
