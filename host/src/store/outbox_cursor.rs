//! The relay's place in the domain-event outbox: one row (`outbox_relay`) that says which
//! events were handed on, so relaying an event writes nothing to the event itself.
//!
//! SQLite's writers take turns, so events are numbered in commit order and the place is the
//! last number handed on. PostgreSQL's transactions commit out of any order a column could
//! hold, so each event records its transaction (`tx`) and the place is a pair of snapshots, as
//! PgQ's: a window is the events whose transaction the later snapshot sees and the earlier one
//! does not. A window larger than a batch is handed on in `(tx, id)` order, the last event
//! handed on kept beside it.

use sqlx::FromRow;

use super::outbox::DomainEventRow;
use super::{Backend, Conn, Result};

/// Whether any event is waiting for the relay (a read, on any connection).
pub async fn waiting(conn: &mut Conn, backend: Backend) -> Result<bool> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT 1 FROM domain_events WHERE seq > (SELECT after_seq FROM outbox_relay WHERE id = 1) LIMIT 1"
        }
        // The bounds as scalar subqueries, so the planner ranges over the `tx` index (joined
        // to the place's row, it scanned every event).
        Backend::Postgres => {
            "WITH r AS MATERIALIZED (SELECT window_from AS f, pg_current_snapshot() AS s FROM outbox_relay WHERE id = 1) \
             SELECT 1 FROM domain_events WHERE tx >= (SELECT pg_snapshot_xmin(f) FROM r) \
             AND tx < (SELECT pg_snapshot_xmax(s) FROM r) AND NOT pg_visible_in_snapshot(tx, (SELECT f FROM r)) \
             AND pg_visible_in_snapshot(tx, (SELECT s FROM r)) LIMIT 1"
        }
    };
    let found: Option<(i64,)> = sqlx::query_as(sql).fetch_optional(&mut *conn).await?;
    Ok(found.is_some())
}

/// How many events the relay has not handed on yet (for benchmarks and operators).
pub async fn backlog(conn: &mut Conn, backend: Backend) -> Result<i64> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM domain_events WHERE seq > (SELECT after_seq FROM outbox_relay WHERE id = 1)"
        }
        Backend::Postgres => {
            "WITH r AS MATERIALIZED (SELECT * FROM outbox_relay WHERE id = 1) \
             SELECT COUNT(*) FROM domain_events WHERE tx >= (SELECT pg_snapshot_xmin(window_from) FROM r) \
             AND NOT pg_visible_in_snapshot(tx, (SELECT window_from FROM r)) \
             AND NOT COALESCE(pg_visible_in_snapshot(tx, (SELECT window_to FROM r)) \
                              AND (tx, id) <= (SELECT after_tx, after_id FROM r), false)"
        }
    };
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&mut *conn).await?;
    Ok(n)
}

/// Takes the next up to `limit` events after the relay's place, in commit order, and moves the
/// place past them: in `tx`, the transaction that hands them to every consumer, so a crash
/// before its commit relays them again and none is lost. On PostgreSQL the place's row is
/// locked; a host that finds it locked by another relay gets nothing and tries again later.
pub async fn claim(tx: &mut Conn, backend: Backend, limit: i64) -> Result<Vec<DomainEventRow>> {
    match backend {
        Backend::Sqlite => claim_numbered(tx, limit).await,
        Backend::Postgres => claim_window(tx, limit).await,
    }
}

#[derive(FromRow)]
struct Numbered {
    #[sqlx(flatten)]
    event: DomainEventRow,
    seq: i64,
}

async fn claim_numbered(tx: &mut Conn, limit: i64) -> Result<Vec<DomainEventRow>> {
    let rows: Vec<Numbered> = sqlx::query_as(
        "SELECT id, tenant_id, event_type, data, occurred_at, seq FROM domain_events \
         WHERE seq > (SELECT after_seq FROM outbox_relay WHERE id = 1) ORDER BY seq LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if let Some(last) = rows.last() {
        sqlx::query("UPDATE outbox_relay SET after_seq = $1 WHERE id = 1")
            .bind(last.seq)
            .execute(&mut *tx)
            .await?;
    }
    Ok(rows.into_iter().map(|r| r.event).collect())
}

/// The window being handed on, as text (the `Any` driver carries no snapshot type).
#[derive(FromRow)]
struct Window {
    from: String,
    to: String,
    after_tx: String,
    after_id: String,
}

#[derive(FromRow)]
struct InWindow {
    #[sqlx(flatten)]
    event: DomainEventRow,
    /// Its transaction, as text. (Named apart from `tx`, which `ORDER BY` would take for it.)
    position: String,
}

async fn claim_window(tx: &mut Conn, limit: i64) -> Result<Vec<DomainEventRow>> {
    // A new window ends at the current snapshot; one relayed in part goes on where it stopped.
    let window: Option<Window> = sqlx::query_as(
        "SELECT window_from::text AS \"from\", COALESCE(window_to, pg_current_snapshot())::text AS \"to\", \
         COALESCE(after_tx, pg_snapshot_xmin(window_from))::text AS after_tx, COALESCE(after_id, '') AS after_id \
         FROM outbox_relay WHERE id = 1 FOR UPDATE SKIP LOCKED",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(window) = window else {
        return Ok(Vec::new());
    };
    let rows: Vec<InWindow> = sqlx::query_as(
        "SELECT id, tenant_id, event_type, data, occurred_at, tx::text AS position FROM domain_events \
         WHERE (tx, id) > ($1::xid8, $2) AND tx < pg_snapshot_xmax($3::pg_snapshot) \
         AND pg_visible_in_snapshot(tx, $3::pg_snapshot) AND NOT pg_visible_in_snapshot(tx, $4::pg_snapshot) \
         ORDER BY tx, id LIMIT $5",
    )
    .bind(&window.after_tx)
    .bind(&window.after_id)
    .bind(&window.to)
    .bind(&window.from)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let place = match rows.last() {
        // A full batch: the window may hold more.
        Some(last) if rows.len() as i64 == limit => sqlx::query(
            "UPDATE outbox_relay SET window_to = $1::pg_snapshot, after_tx = $2::xid8, after_id = $3 WHERE id = 1",
        )
        .bind(&window.to)
        .bind(&last.position)
        .bind(&last.event.id),
        _ => sqlx::query(
            "UPDATE outbox_relay SET window_from = $1::pg_snapshot, window_to = NULL, after_tx = NULL, \
             after_id = NULL WHERE id = 1",
        )
        .bind(&window.to),
    };
    place.execute(&mut *tx).await?;
    Ok(rows.into_iter().map(|r| r.event).collect())
}
