//! The customers an upsert's identifiers match, with what they hold beyond their rows: an
//! upsert that finds its customer (a shop's buyer, sent again with every order) compares its
//! input with both and answers with both. On PostgreSQL that is one statement, each detail
//! table probed by `customer_id = m.id` through a `LATERAL` join; a join to the matches as a set
//! (`customer_id IN (SELECT id FROM m)`) had PostgreSQL's generic plan read the tenant's tags
//! whole. SQLite, whose statements are calls into this process, reads a lone match's details
//! after it.

use sqlx::FromRow;

use super::customer_details::{self, Details, Part};
use super::customers::{self, CustomerRow};
use super::sql::{is_sqlite, Sql};
use super::{Conn, Result};
use crate::tenancy::TenantCtx;

/// The matching customers in id order; `details` holds theirs when there is one (on
/// PostgreSQL always).
#[derive(Debug, Default)]
pub struct Matches {
    pub rows: Vec<CustomerRow>,
    pub details: Details,
}

/// A match with one of its detail rows, or with none (`part` NULL) when it has none.
#[derive(FromRow)]
struct Matched {
    #[sqlx(flatten)]
    customer: CustomerRow,
    #[sqlx(flatten)]
    detail: Part,
}

/// The customers of the context's tenant holding any of the identifiers given.
pub async fn find(
    tx: &mut Conn,
    ctx: &TenantCtx,
    email: Option<&str>,
    phone: Option<&str>,
    external_id: Option<&str>,
) -> Result<Matches> {
    if is_sqlite(tx) {
        let rows = customers::find_by_identifiers(tx, ctx, email, phone, external_id).await?;
        let details = match rows.as_slice() {
            [one] => customer_details::of_customers(tx, ctx, &[one.id.as_str()]).await?,
            _ => Details::default(),
        };
        return Ok(Matches { rows, details });
    }
    let Some(found) = customers::by_identifiers(ctx, email, phone, external_id) else {
        return Ok(Matches::default());
    };
    let mut sql = Sql::new("WITH m AS (");
    sql.append(&found).push(
        ") SELECT m.*, d.part, m.id AS customer_id, d.key, d.text, d.num, d.source, d.keyword, d.changed_at \
         FROM m LEFT JOIN LATERAL (",
    );
    customer_details::union(&mut sql, ctx, |sql| {
        sql.push(" = m.id");
    });
    sql.push(") d ON TRUE ORDER BY m.id, d.part, d.key");
    let mut matches = Matches::default();
    for row in sql.fetch_all::<Matched>(tx).await? {
        if matches.rows.last().map(|c| &c.id) != Some(&row.customer.id) {
            matches.rows.push(row.customer);
        }
        matches.details.add(row.detail);
    }
    Ok(matches)
}
