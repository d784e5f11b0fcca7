//! Writes of several statements that must land together, sent to the database at once. On
//! PostgreSQL a round trip costs both sides more CPU than a small insert does (measured while
//! recording opens: a third of PostgreSQL's time was in `send`), and a transaction of two
//! inserts takes six (BEGIN, the tenant settings, the inserts, COMMIT).

use sqlx::any::AnyRow;
use sqlx::FromRow;

use super::sql::Sql;
use super::{Backend, Result, Store, TurnConn};

/// Rows that every statement of a [`Store::write_at_once`] reads by `name`, computed once.
pub struct Shared {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    /// A query whose columns are `columns`, in order.
    pub rows: Sql,
}

impl Store {
    /// Runs `statements` (each scoped to its tenant by the builder that made it, as
    /// [`super::bulk`]'s are) as one atomic write in one call, in the writer's turn `conn`
    /// holds, and returns the rows they return (on PostgreSQL, the last statement's). Every
    /// statement may read each of `with` by its name, computed once for all of them: on
    /// PostgreSQL a materialized common table expression of a single statement whose
    /// data-modifying `WITH` clauses all run, in autocommit, so on the owner role (row-level
    /// security is not the second wall here); on SQLite a temporary table, in one
    /// multi-statement call from `BEGIN IMMEDIATE` to `COMMIT`, rolled back if any part fails
    /// (as a common table expression SQLite computed it once per statement that read it).
    pub async fn write_at_once<T>(&self, conn: &mut TurnConn, with: &[Shared], statements: &[Sql]) -> Result<Vec<T>>
    where
        T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
    {
        if statements.is_empty() {
            return Ok(Vec::new());
        }
        Ok(match self.backend {
            Backend::Postgres => chained(with, statements).fetch_all(conn).await?,
            Backend::Sqlite => match in_transaction(with, statements).fetch_all(conn).await {
                Ok(rows) => rows,
                Err(e) => {
                    // The call stops at the failing statement, inside the transaction.
                    let _ = sqlx::query("ROLLBACK").execute(&mut **conn).await;
                    return Err(e.into());
                }
            },
        })
    }
}

/// `WITH r (c…) AS MATERIALIZED (rows), w0 AS (s0), w1 AS (s1) s2`: PostgreSQL runs every
/// data-modifying `WITH` clause once, whether or not the rest reads it, all in the statement's
/// snapshot, and a materialized one once however many read it.
fn chained(with: &[Shared], statements: &[Sql]) -> Sql {
    let (last, rest) = statements.split_last().expect("at least one statement");
    let mut sql = Sql::default();
    push_with(
        &mut sql,
        with.iter()
            .map(|w| {
                (
                    format!("{} ({}) AS MATERIALIZED", w.name, w.columns.join(", ")),
                    &w.rows,
                )
            })
            .chain(rest.iter().enumerate().map(|(i, s)| (format!("w{i} AS"), s))),
    );
    sql.append(last);
    sql
}

/// The shared rows go into temporary tables (created once per connection: a table made and
/// dropped per call would change the schema, and SQLite prepares again every statement that
/// read it), the statements read them, and they are emptied again inside the transaction, so a
/// call that fails leaves nothing behind either.
fn in_transaction(with: &[Shared], statements: &[Sql]) -> Sql {
    let mut sql = Sql::new("BEGIN IMMEDIATE");
    for w in with {
        let columns = w.columns.join(", ");
        let name = w.name;
        sql.push(&format!(
            "; CREATE TEMP TABLE IF NOT EXISTS {name} ({columns}); INSERT INTO temp.{name} ({columns}) "
        ))
        .append(&w.rows);
    }
    for s in statements {
        sql.push("; ").append(s);
    }
    for w in with {
        sql.push(&format!("; DELETE FROM temp.{}", w.name));
    }
    sql.push("; COMMIT");
    sql
}

/// `WITH head0 (body0) , head1 (body1) ` for the clauses given (each head ends in `AS` or
/// `AS MATERIALIZED`), nothing for none.
fn push_with<'a>(sql: &mut Sql, clauses: impl IntoIterator<Item = (String, &'a Sql)>) {
    for (i, (head, body)) in clauses.into_iter().enumerate() {
        sql.push(if i == 0 { "WITH " } else { ", " })
            .push(&head)
            .push(" (")
            .append(body)
            .push(") ");
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Executor;

    use super::*;
    use crate::store::temp_sqlite::TempSqlite;

    fn insert(table: &str, v: &str) -> Sql {
        let mut sql = Sql::new(&format!("INSERT INTO {table} (v) VALUES ("));
        sql.bind(v).push(")");
        sql
    }

    fn hits() -> Shared {
        let mut rows = Sql::new("SELECT ");
        rows.bind("0");
        Shared {
            name: "h",
            columns: &["v"],
            rows,
        }
    }

    #[test]
    fn postgres_chains_the_statements_into_one_renumbered() {
        let sql = chained(&[], &[insert("a", "1"), insert("b", "2"), insert("c", "3")]);
        assert_eq!(
            sql.text(),
            "WITH w0 AS (INSERT INTO a (v) VALUES ($1)) , w1 AS (INSERT INTO b (v) VALUES ($2)) \
             INSERT INTO c (v) VALUES ($3)"
        );
    }

    #[test]
    fn postgres_computes_shared_rows_once_for_every_statement() {
        let sql = chained(&[hits()], &[insert("a", "1"), insert("b", "2")]);
        assert_eq!(
            sql.text(),
            "WITH h (v) AS MATERIALIZED (SELECT $1) , w0 AS (INSERT INTO a (v) VALUES ($2)) \
             INSERT INTO b (v) VALUES ($3)"
        );
    }

    #[test]
    fn sqlite_wraps_the_statements_in_one_transaction() {
        let sql = in_transaction(&[], &[insert("a", "1"), insert("b", "2")]);
        assert_eq!(
            sql.text(),
            "BEGIN IMMEDIATE; INSERT INTO a (v) VALUES ($1); INSERT INTO b (v) VALUES ($2); COMMIT"
        );
    }

    #[test]
    fn sqlite_writes_the_shared_rows_once_for_every_statement_and_empties_them() {
        let sql = in_transaction(&[hits()], &[insert("a", "1"), insert("b", "2")]);
        assert_eq!(
            sql.text(),
            "BEGIN IMMEDIATE; CREATE TEMP TABLE IF NOT EXISTS h (v); INSERT INTO temp.h (v) SELECT $1; \
             INSERT INTO a (v) VALUES ($2); INSERT INTO b (v) VALUES ($3); DELETE FROM temp.h; COMMIT"
        );
    }

    /// Shared rows `h (v)` of the given values.
    fn values(vs: &[&str]) -> Shared {
        let mut rows = Sql::new("SELECT column1 FROM (VALUES ");
        rows.push_rows(vs.iter(), |sql, v| {
            sql.bind(*v);
        });
        rows.push(")");
        Shared {
            name: "h",
            columns: &["v"],
            rows,
        }
    }

    async fn write(store: &Store, vs: &[&str]) -> Result<Vec<String>> {
        let mut conn = store.turn().await?;
        let insert = Sql::new("INSERT INTO t (v) SELECT v FROM h RETURNING v");
        let rows: Vec<(String,)> = store.write_at_once(&mut conn, &[values(vs)], &[insert]).await?;
        Ok(rows.into_iter().map(|(v,)| v).collect())
    }

    #[tokio::test]
    async fn shared_rows_last_one_call_whether_it_commits_or_fails() {
        let db = TempSqlite::new().await;
        let store = &db.store;
        let mut tx = store.system_tx().await.unwrap();
        tx.execute("CREATE TABLE t (v TEXT PRIMARY KEY)").await.unwrap();
        tx.commit().await.unwrap();

        assert_eq!(write(store, &["a", "b"]).await.unwrap(), ["a", "b"]);
        assert!(write(store, &["c", "a"]).await.is_err(), "a is taken");
        assert_eq!(write(store, &["d"]).await.unwrap(), ["d"], "only this call's rows");

        let mut conn = store.turn().await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM temp.h")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(left, 0, "emptied before the commit");
        let kept: Vec<String> = sqlx::query_scalar("SELECT v FROM t ORDER BY v")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        assert_eq!(kept, ["a", "b", "d"], "the failed call wrote nothing");
    }
}
