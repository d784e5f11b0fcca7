//! Writes of several statements that must land together, sent to the database at once. On
//! PostgreSQL a round trip costs both sides more CPU than a small insert does (measured while
//! recording opens: a third of PostgreSQL's time was in `send`), and a transaction of two
//! inserts takes six (BEGIN, the tenant settings, the inserts, COMMIT).

use sqlx::any::AnyRow;
use sqlx::FromRow;

use super::sql::Sql;
use super::{Backend, Result, Store, TurnConn};

impl Store {
    /// Runs `statements` (each scoped to its tenant by the builder that made it, as
    /// [`super::bulk`]'s are) as one atomic write in one call, in the writer's turn `conn`
    /// holds, and returns the rows they return (on PostgreSQL, the last statement's). Each
    /// `(name, rows)` of `with` is a common table expression every statement may read:
    /// PostgreSQL computes it once for all of them, SQLite (where a read in process costs
    /// little) once per statement. PostgreSQL gets a single statement whose data-modifying
    /// `WITH` clauses all run, in autocommit, so on the owner role: row-level security is not
    /// the second wall here. SQLite gets one multi-statement call from `BEGIN IMMEDIATE` to
    /// `COMMIT`, rolled back if any part fails.
    pub async fn write_at_once<T>(
        &self,
        conn: &mut TurnConn,
        with: &[(&str, Sql)],
        statements: &[Sql],
    ) -> Result<Vec<T>>
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

/// `WITH r AS MATERIALIZED (rows), w0 AS (s0), w1 AS (s1) s2`: PostgreSQL runs every
/// data-modifying `WITH` clause once, whether or not the rest reads it, all in the statement's
/// snapshot, and a materialized one once however many read it.
fn chained(with: &[(&str, Sql)], statements: &[Sql]) -> Sql {
    let (last, rest) = statements.split_last().expect("at least one statement");
    let mut sql = Sql::default();
    push_with(
        &mut sql,
        with.iter()
            .map(|(name, rows)| (format!("{name} AS MATERIALIZED"), rows))
            .chain(rest.iter().enumerate().map(|(i, s)| (format!("w{i} AS"), s))),
    );
    sql.append(last);
    sql
}

fn in_transaction(with: &[(&str, Sql)], statements: &[Sql]) -> Sql {
    let mut sql = Sql::new("BEGIN IMMEDIATE");
    for s in statements {
        sql.push("; ");
        push_with(&mut sql, with.iter().map(|(name, rows)| (format!("{name} AS"), rows)));
        sql.append(s);
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
    use super::*;

    fn insert(table: &str, v: &str) -> Sql {
        let mut sql = Sql::new(&format!("INSERT INTO {table} (v) VALUES ("));
        sql.bind(v).push(")");
        sql
    }

    fn hits() -> (&'static str, Sql) {
        let mut rows = Sql::new("SELECT ");
        rows.bind("0").push(" AS v");
        ("h", rows)
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
            "WITH h AS MATERIALIZED (SELECT $1 AS v) , w0 AS (INSERT INTO a (v) VALUES ($2)) \
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
    fn sqlite_gives_each_statement_the_shared_rows() {
        let sql = in_transaction(&[hits()], &[insert("a", "1"), insert("b", "2")]);
        assert_eq!(
            sql.text(),
            "BEGIN IMMEDIATE; WITH h AS (SELECT $1 AS v) INSERT INTO a (v) VALUES ($2); \
             WITH h AS (SELECT $3 AS v) INSERT INTO b (v) VALUES ($4); COMMIT"
        );
    }
}
