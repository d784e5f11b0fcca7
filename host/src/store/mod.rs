//! Data access: the only module that speaks SQL.
//!
//! One store runs on SQLite and PostgreSQL through sqlx's `Any` driver with runtime-built,
//! parameterised queries (`$1` placeholders work on both). Tenant scoping lives here:
//! every tenant-owned table is read and written only through functions that take a
//! [`TenantCtx`] and bind its tenant id themselves, inside a transaction opened by
//! [`Store::tenant_tx`]. On PostgreSQL that transaction also drops to the `switchboard_tenant`
//! role and sets `switchboard.tenant_id`, so row-level security is a second wall.

pub mod api_keys;
pub mod audit;
pub mod bulk;
mod checkpoint;
pub mod consents;
pub mod custom_fields;
pub mod customer_details;
pub mod customer_events;
pub mod customer_export;
pub mod customer_matches;
pub mod customer_tags;
pub mod customers;
pub mod dialect;
pub mod email_campaigns;
pub mod email_events;
pub mod email_messages;
pub mod email_outbox;
pub mod email_senders;
pub mod email_settings;
pub mod engagements;
mod group_commit;
pub mod idempotency;
pub mod imports;
pub mod invitations;
pub mod jobs;
pub mod one_trip;
pub mod outbox;
pub mod outbox_cursor;
pub mod plugin_installations;
pub mod plugin_kv;
pub mod plugin_runs;
pub mod plugins;
pub mod refresh_tokens;
pub mod roles;
pub mod savepoint;
pub mod scoped;
pub mod segment_sql;
pub mod segments;
pub mod sql;
pub mod statistics;
#[cfg(test)]
mod temp_sqlite;
pub mod tenants;
pub mod tracking_domains;
pub mod users;
pub mod webhook_attempts;
pub mod webhook_deliveries;
pub mod webhook_endpoints;
pub mod webhook_receipts;
mod write_turn;

use std::borrow::Cow;
use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, ConnectOptions, Connection, Executor, Transaction};

use crate::tenancy::TenantCtx;
use write_turn::{Turn, WriteTurns};
pub use write_turn::{TurnConn, WriteTx};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

pub type Tx = WriteTx<'static>;
/// A transaction on a connection held by the caller ([`Store::bulk_connection`]).
pub type BulkTx<'c> = WriteTx<'c>;
/// What store functions run on: a transaction or a plain pooled connection both deref to it.
pub type Conn = sqlx::AnyConnection;

/// A read-only unit of work. On SQLite it is a plain connection (a reader needs no lock and no
/// BEGIN/COMMIT round trips); on PostgreSQL it is a transaction so row-level security applies.
pub enum Read {
    Conn(PoolConnection<Any>),
    Tx(Tx),
}

impl Read {
    /// Ends the unit of work.
    pub async fn commit(self) -> Result<()> {
        if let Read::Tx(tx) = self {
            tx.commit().await?;
        }
        Ok(())
    }
}

impl Deref for Read {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        match self {
            Read::Conn(c) => c,
            Read::Tx(t) => t,
        }
    }
}

impl DerefMut for Read {
    fn deref_mut(&mut self) -> &mut Conn {
        match self {
            Read::Conn(c) => c,
            Read::Tx(t) => t,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What a [`Store::bulk_connection`] is for: its settings differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkWork {
    Import,
    Export,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("{field} already exists")]
    Conflict { field: &'static str },
    #[error("unsupported database url {0:?}: use sqlite:// or postgres://")]
    UnsupportedUrl(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The plugin runtime could not start (at start-up only).
    #[error("plugins: {0}")]
    Plugins(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Maps a unique violation to a conflict on `field`; leaves other errors as they are.
pub(crate) fn conflict_on(field: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict { field },
        _ => StoreError::Db(e),
    }
}

/// Milliseconds since the Unix epoch: the one time representation in the database.
pub fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

/// How the pools connect: SQLite connections in WAL mode, checkpointed by [`checkpoint`] rather
/// than on commit; no ping per checkout.
fn pool_options(backend: Backend, max_connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        // A ping per checkout doubles the round trips of a one-query request; broken
        // connections surface as errors on use and are replaced then.
        .test_before_acquire(false)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                         PRAGMA wal_autocheckpoint = 0;",
                    )
                    .await?;
                }
                Ok(())
            })
        })
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite: the queue for the one connection write transactions run on, in groups. A
    /// commit by another connection empties a connection's page cache, so writers on pooled
    /// connections each started cold, inside the one write turn (measured: reading pages back
    /// was a sixth of the SQLite threads' time in a Shopify webhook); this one's stays warm.
    turns: WriteTurns,
}

impl Store {
    /// Connects, creating the SQLite file when missing. Does not migrate.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        Self::open(url, max_connections, true).await
    }

    /// A store without the background WAL checkpoints, for unit tests whose writers must not
    /// be interleaved with the checkpointer's turns (it takes one whenever the WAL grew).
    #[cfg(test)]
    pub(crate) async fn connect_without_checkpoints(url: &str, max_connections: u32) -> Result<Self> {
        Self::open(url, max_connections, false).await
    }

    async fn open(url: &str, max_connections: u32, checkpoints: bool) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        let pool = pool_options(backend, max_connections)
            .connect_with(options.clone())
            .await?;
        let turns = match backend {
            Backend::Sqlite => {
                let writer = pool_options(backend, 1).connect_with(options).await?;
                let turns = WriteTurns::new(Some(writer.acquire().await?));
                if checkpoints {
                    tokio::spawn(checkpoint::run(pool.clone(), turns.clone()));
                }
                turns
            }
            Backend::Postgres => WriteTurns::new(None),
        };
        Ok(Self { pool, backend, turns })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    pub async fn migrate(&self) -> Result<()> {
        self.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// True when the database answers and every migration this binary knows is applied.
    pub async fn ready(&self) -> Result<bool> {
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(&self.pool)
            .await?;
        Ok(applied as usize >= self.migrator().iter().count())
    }

    /// What begins a transaction. SQLite: a writer takes the write lock up front so a
    /// read-then-write transaction never fails with SQLITE_BUSY on lock upgrade (the busy
    /// timeout only covers the first lock); a reader defers. PostgreSQL: for a tenant, the same
    /// simple query also enters the tenant for the RLS policies and the role they apply to
    /// (`set_config('role', …)` is `SET LOCAL ROLE`), so the transaction starts in one round
    /// trip. The tenant id is one this server made, quoted as a literal all the same.
    fn begin_statement(&self, tenant: Option<&TenantCtx>, write: bool) -> Cow<'static, str> {
        match (self.backend, tenant) {
            (Backend::Sqlite, _) if write => "BEGIN IMMEDIATE".into(),
            (Backend::Sqlite, _) | (Backend::Postgres, None) => "BEGIN".into(),
            (Backend::Postgres, Some(ctx)) => format!(
                "BEGIN; SELECT set_config('switchboard.tenant_id', '{}', true), \
                 set_config('role', 'switchboard_tenant', true)",
                ctx.tenant_id.as_str().replace('\'', "''")
            )
            .into(),
        }
    }

    /// A write transaction: on SQLite in a group on the writer connection, on PostgreSQL
    /// (whose writers do not queue) on a pooled connection.
    async fn begin(&self, tenant: Option<&TenantCtx>) -> Result<Tx> {
        self.begin_with(None, tenant).await
    }

    /// [`Store::begin`] on `conn` when given, on PostgreSQL; SQLite's writes take their turn.
    async fn begin_with(&self, conn: Option<PoolConnection<Any>>, tenant: Option<&TenantCtx>) -> Result<Tx> {
        let conn = match conn {
            Some(conn) if self.backend == Backend::Postgres => conn,
            held => {
                // Back to the pool before the wait for the writer's turn, whose holder may
                // want a connection.
                drop(held);
                if let Some(member) = self.turns.member().await? {
                    return Ok(WriteTx::member(member));
                }
                self.pool.acquire().await?
            }
        };
        // `Transaction::begin` is how `Pool::begin_with` moves a pooled connection into a
        // `'static` transaction, with the statement given.
        let tx = Transaction::begin(conn, Some(self.begin_statement(tenant, true))).await?;
        Ok(WriteTx::own(tx, None))
    }

    /// A connection in this writer's turn, for [`Store::write_at_once`] (the tracking
    /// recorder's batches). On SQLite it is the connection every write transaction runs on, so
    /// the recorder and the other writers do not empty each other's page cache by committing.
    pub async fn turn(&self) -> Result<TurnConn> {
        Ok(match self.turns.take().await? {
            Some(turn) => TurnConn::writer(turn),
            None => TurnConn::pooled(self.pool.acquire().await?),
        })
    }

    /// A transaction for one tenant. On PostgreSQL, row-level security applies to it.
    pub async fn tenant_tx(&self, ctx: &TenantCtx) -> Result<Tx> {
        self.begin(Some(ctx)).await
    }

    /// [`Store::tenant_tx`] on the connection the caller held for reads before, if any (from
    /// [`Store::connection`]); on SQLite writes take their turn on the writer instead.
    pub async fn tenant_tx_with(&self, conn: Option<PoolConnection<Any>>, ctx: &TenantCtx) -> Result<Tx> {
        self.begin_with(conn, Some(ctx)).await
    }

    /// A connection for one writer's run of transactions (a campaign send), taken with
    /// [`Store::tenant_tx_on`] and [`Store::tenant_read_on`]. On SQLite a commit by any other
    /// connection empties a connection's page cache, so transactions on pooled connections
    /// taken in turn each start cold (measured: a third of a campaign send's CPU went to reading
    /// the same pages again); one connection's cache stays warm. Also for a plugin run's
    /// reads, kept for its writes ([`Store::tenant_tx_with`]).
    pub async fn connection(&self) -> Result<PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// A connection of its own for a long run of transactions (an import, an export), so its page
    /// cache stays warm from one transaction to the next; on SQLite the cache is also larger
    /// (measured: a sixth less CPU per imported row). It is closed when dropped, so its
    /// settings do not go back to the pool.
    pub async fn bulk_connection(&self, work: BulkWork) -> Result<PoolConnection<Any>> {
        let mut conn = self.connection().await?;
        conn.close_on_drop();
        match self.backend {
            Backend::Sqlite => {
                conn.execute("PRAGMA cache_size = -32768").await?; // KiB: 32 MiB
                if work == BulkWork::Import {
                    // A multi-row insert that may fail part-way keeps a statement journal: the
                    // pages it changes, as they were, for undoing just that statement. SQLite
                    // keeps it in memory up to 64 KiB and in a temporary file beyond; an import's
                    // 500-row inserts land on thousands of index pages each, so the file took a
                    // fifth of the bytes an import wrote (measured at 200,000 rows:
                    // 10,060–11,013 → 12,053–12,756 rows/s, 97–108 → 85–90 µs of CPU a row, peak
                    // RSS unchanged). In memory it lasts one statement. Exports keep the default:
                    // a segment's `IN` sets are temporary tables too, and in memory they would
                    // grow with the segment.
                    conn.execute("PRAGMA temp_store = MEMORY").await?;
                }
            }
            // An export page is costly enough on paper for PostgreSQL to JIT-compile it, every
            // page, which takes longer than it saves (a 5,000-customer page: 53–56 ms without
            // the JIT, 62–80 ms with it).
            Backend::Postgres => {
                conn.execute("SET jit = off").await?;
            }
        }
        Ok(conn)
    }

    /// [`Store::tenant_tx`] on a connection from [`Store::bulk_connection`].
    pub async fn tenant_tx_on<'c>(&self, conn: &'c mut PoolConnection<Any>, ctx: &TenantCtx) -> Result<BulkTx<'c>> {
        let turn = self.turns.take().await?;
        self.begin_on(conn, self.begin_statement(Some(ctx), true), turn).await
    }

    /// Tenant-scoped reads on a connection from [`Store::bulk_connection`]: one snapshot, and on
    /// SQLite a deferred transaction, so readers never take the write lock.
    pub async fn tenant_read_on<'c>(&self, conn: &'c mut PoolConnection<Any>, ctx: &TenantCtx) -> Result<BulkTx<'c>> {
        self.begin_on(conn, self.begin_statement(Some(ctx), false), None).await
    }

    async fn begin_on<'c>(
        &self,
        conn: &'c mut PoolConnection<Any>,
        statement: Cow<'static, str>,
        turn: Option<Turn>,
    ) -> Result<BulkTx<'c>> {
        Ok(WriteTx::own(
            Connection::begin_with(&mut **conn, statement).await?,
            turn,
        ))
    }

    /// Tenant-scoped reads.
    pub async fn tenant_read(&self, ctx: &TenantCtx) -> Result<Read> {
        match self.backend {
            Backend::Sqlite => Ok(Read::Conn(self.pool.acquire().await?)),
            Backend::Postgres => Ok(Read::Tx(self.tenant_tx(ctx).await?)),
        }
    }

    /// Tenant-scoped reads of one statement each, with no need of one snapshot: on PostgreSQL
    /// in autocommit, a round trip each instead of a transaction's three (BEGIN with the tenant
    /// settings, the read, COMMIT), on the owner role as [`Store::write_at_once`] runs, so each
    /// statement's own tenant filter is the wall; on SQLite what [`Store::tenant_read`] is.
    /// For what every plugin run reads first (its installation, its event, its KV entries).
    pub async fn autocommit_read(&self) -> Result<Read> {
        Ok(Read::Conn(self.pool.acquire().await?))
    }

    /// Reads that precede knowing the tenant (a credential looked up by its hash).
    pub(crate) async fn system_read(&self) -> Result<Read> {
        Ok(Read::Conn(self.pool.acquire().await?))
    }

    /// A transaction for the few lookups that precede knowing the tenant (login by email,
    /// credential by hash) and for creating tenants. Callers are in `domain::identity` only.
    pub(crate) async fn system_tx(&self) -> Result<Tx> {
        self.begin(None).await
    }

    /// Deletes in system transactions of at most `limit` rows each, so housekeeping never holds
    /// the write lock for long: `delete` deletes up to `limit` rows and says how many went.
    /// Returns the total.
    pub(crate) async fn delete_in_batches<F>(&self, limit: i64, mut delete: F) -> Result<u64>
    where
        F: for<'a> FnMut(&'a mut Conn, i64) -> BoxFuture<'a, Result<u64>>,
    {
        let mut total = 0;
        loop {
            let mut tx = self.system_tx().await?;
            let deleted = delete(&mut tx, limit).await?;
            tx.commit().await?;
            total += deleted;
            if deleted < limit as u64 {
                return Ok(total);
            }
        }
    }
}
