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
    /// holds, and returns the rows they return (on PostgreSQL, the last statement's).
    /// PostgreSQL gets a single statement whose data-modifying `WITH` clauses all run, in
    /// autocommit, so on the owner role: row-level security is not the second wall here.
    /// SQLite gets one multi-statement call from `BEGIN IMMEDIATE` to `COMMIT`, rolled back if
    /// any part fails.
    pub async fn write_at_once<T>(&self, conn: &mut TurnConn, statements: &[Sql]) -> Result<Vec<T>>
    where
        T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
    {
        if statements.is_empty() {
            return Ok(Vec::new());
        }
        Ok(match self.backend {
            Backend::Postgres => chained(statements).fetch_all(conn).await?,
            Backend::Sqlite => match in_transaction(statements).fetch_all(conn).await {
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

/// `WITH w0 AS (s0), w1 AS (s1) s2`: PostgreSQL runs every data-modifying `WITH` clause once,
/// whether or not the rest reads it, all in the statement's snapshot.
fn chained(statements: &[Sql]) -> Sql {
    let (last, rest) = statements.split_last().expect("at least one statement");
    let mut sql = Sql::default();
    for (i, s) in rest.iter().enumerate() {
        sql.push(if i == 0 { "WITH " } else { ", " })
            .push(&format!("w{i} AS ("))
            .append(s)
            .push(") ");
    }
    sql.append(last);
    sql
}

fn in_transaction(statements: &[Sql]) -> Sql {
    let mut sql = Sql::new("BEGIN IMMEDIATE");
    for s in statements {
        sql.push("; ").append(s);
    }
    sql.push("; COMMIT");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(table: &str, v: &str) -> Sql {
        let mut sql = Sql::new(&format!("INSERT INTO {table} (v) VALUES ("));
        sql.bind(v).push(")");
        sql
    }

    #[test]
    fn postgres_chains_the_statements_into_one_renumbered() {
        let sql = chained(&[insert("a", "1"), insert("b", "2"), insert("c", "3")]);
        assert_eq!(
            sql.text(),
            "WITH w0 AS (INSERT INTO a (v) VALUES ($1)) , w1 AS (INSERT INTO b (v) VALUES ($2)) \
             INSERT INTO c (v) VALUES ($3)"
        );
    }

    #[test]
    fn sqlite_wraps_the_statements_in_one_transaction() {
        let sql = in_transaction(&[insert("a", "1"), insert("b", "2")]);
        assert_eq!(
            sql.text(),
            "BEGIN IMMEDIATE; INSERT INTO a (v) VALUES ($1); INSERT INTO b (v) VALUES ($2); COMMIT"
        );
    }
}
