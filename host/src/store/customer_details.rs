//! What customers hold beyond their rows (custom field values, tags, consent). For one customer
//! (an upsert or a plugin's write returning it, a get) the three tables are read as one query:
//! the round trips dominate, and each is a hop to SQLite's worker thread inside the write turn
//! when an upsert returns the customer (Shopify webhooks: 905–914 → 955–991 req/s). For a page
//! the union cost more than the two round trips it saved, so pages keep three queries (SQLite,
//! the crm benchmark's filtered first page of 50 at 100,000 customers: p50 2.3 → 3.1 ms, 2.8
//! with the sorting left to Rust; SQLite's own time for the union 640 µs, 340 unsorted, against
//! 250 for the three queries, and each row carries eight columns through the `Any` driver).

use sqlx::FromRow;

use super::consents::{self, ConsentRow};
use super::customer_tags;
use super::customers::{self, FieldValueRow};
use super::sql::Sql;
use super::{Conn, Result};
use crate::tenancy::TenantCtx;

/// The three parts, each in `(customer_id, key)` order.
#[derive(Debug, Default)]
pub struct Details {
    pub values: Vec<FieldValueRow>,
    pub tags: Vec<(String, String)>,
    pub consents: Vec<ConsentRow>,
}

/// One row of the union: `part` says which table it came from and which columns it fills; no
/// part (and no key) when the row is a customer's without details, from an outer join.
/// The first part's NULLs are typed: PostgreSQL types a union's columns from its parts in order.
#[derive(FromRow)]
pub(super) struct Part {
    part: Option<String>,
    customer_id: String,
    key: Option<String>,
    text: Option<String>,
    num: Option<f64>,
    source: Option<String>,
    keyword: Option<String>,
    changed_at: Option<i64>,
}

impl Details {
    /// Files a row of [`union`] under its table.
    pub(super) fn add(&mut self, row: Part) {
        let Some(part) = row.part else {
            return;
        };
        let key = row.key.unwrap_or_default();
        match part.as_str() {
            "v" => self.values.push(FieldValueRow {
                customer_id: row.customer_id,
                field_key: key,
                value_text: row.text,
                value_num: row.num,
            }),
            "t" => self.tags.push((row.customer_id, key)),
            _ => self.consents.push(ConsentRow {
                customer_id: row.customer_id,
                channel: key,
                status: row.text.unwrap_or_default(),
                source: row.source,
                keyword: row.keyword,
                updated_at: row.changed_at.unwrap_or_default(),
            }),
        }
    }
}

/// Values, tags and consent of the given customers of the context's tenant.
pub async fn of_customers(tx: &mut Conn, ctx: &TenantCtx, ids: &[&str]) -> Result<Details> {
    match ids {
        [] => Ok(Details::default()),
        [_] => of_one(tx, ctx, ids).await,
        _ => Ok(Details {
            values: customers::field_values(tx, ctx, ids).await?,
            tags: customer_tags::of_customers(tx, ctx, ids).await?,
            consents: consents::of_customers(tx, ctx, ids).await?,
        }),
    }
}

/// [`of_customers`] for one customer, in one query.
async fn of_one(tx: &mut Conn, ctx: &TenantCtx, ids: &[&str]) -> Result<Details> {
    let mut sql = Sql::default();
    union(&mut sql, ctx, |sql| {
        sql.push(" IN ").bind_list(ids.iter().copied());
    });
    sql.push(" ORDER BY part, customer_id, key");
    let mut details = Details::default();
    for row in sql.fetch_all::<Part>(tx).await? {
        details.add(row);
    }
    Ok(details)
}

/// The three tables as one union of [`Part`] rows of the context's tenant, each table's
/// `customer_id` followed by what `which` pushes (` IN (…)`, ` = m.id`).
pub(super) fn union(sql: &mut Sql, ctx: &TenantCtx, which: impl Fn(&mut Sql)) {
    let parts = [
        "SELECT 'v' AS part, customer_id, field_key AS key, value_text AS text, value_num AS num, \
         CAST(NULL AS TEXT) AS source, CAST(NULL AS TEXT) AS keyword, CAST(NULL AS BIGINT) AS changed_at \
         FROM customer_field_values",
        " UNION ALL SELECT 't', customer_id, tag, NULL, NULL, NULL, NULL, NULL FROM customer_tags",
        " UNION ALL SELECT 'c', customer_id, channel, status, NULL, source, keyword, updated_at \
         FROM customer_consents",
    ];
    for part in parts {
        sql.push(part)
            .push(" WHERE tenant_id = ")
            .bind(ctx.tenant_id.as_str())
            .push(" AND customer_id");
        which(sql);
    }
}
