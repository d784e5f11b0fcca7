//! Export pages: a page of customers, each with its tags and custom field values joined in, comes
//! back from the database as one JSON text. Rows of their own cost more in the driver than the
//! database takes to read them: every value was copied on SQLite's thread and freed on ours, and
//! every row was a wake-up (a page as 5,000 rows of 16 values took two thirds of the export's CPU).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, Visitor};
use serde::Deserialize;

use super::customers::{self, ListQuery};
use super::sql::Sql;
use super::{dialect, Backend, Conn, Result};
use crate::tenancy::TenantCtx;

/// One page: its rows as the JSON array [`rows`] reads.
pub struct Page {
    pub json: String,
}

/// Where a page ends, read before the page itself (see [`end`]).
pub struct End {
    /// Customers in the page.
    pub len: i64,
    /// The first one's id: where the page's [`Children::Ranges`] start.
    pub first: Option<String>,
    /// The last one's id: the page's `until`, and the next page's `after`.
    pub last: Option<String>,
}

/// Where the page of `q` (its filters, keyset and limit) ends. It reads only ids, a fraction of
/// the page's own read, so the pages after it can be read while this one is.
pub async fn end(tx: &mut Conn, ctx: &TenantCtx, backend: Backend, q: &ListQuery) -> Result<End> {
    let ids = customers::page_query(Sql::new("SELECT c.id"), ctx, backend, q);
    let mut sql = Sql::new("SELECT count(*), min(p.id), max(p.id) FROM (");
    sql.append(&ids).push(") p");
    let rows: Vec<(i64, Option<String>, Option<String>)> = sql.fetch_all(tx).await?;
    let (len, first, last) = rows.into_iter().next().unwrap_or((0, None, None));
    Ok(End { len, first, last })
}

/// How a page reads its customers' tags and custom field values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Children {
    /// Looked up by each customer's id: an index descent per customer and table.
    PerCustomer,
    /// Read as the range of customer ids from the page's first to its last, grouped by
    /// customer: one pass along each primary key (on PostgreSQL a 5,000-customer page 51–54 →
    /// 42–45 ms in psql). The range holds every tenant's rows whose ids fall in it, which the
    /// tenant filter then drops, so it pays only where the tenant's customers are most of them.
    Ranges,
}

/// [`Children::Ranges`] on PostgreSQL for an export of all the tenant's customers (`q` with no
/// filter: a filtered page's range would hold every customer the filter leaves out) when the
/// tenant owns at least half of all customers (by the table's row count in PostgreSQL's
/// statistics, or the tenant's own count where that is larger, as before the first `ANALYZE`):
/// over the whole export the ranges then read at most as many of other tenants' rows as of the
/// tenant's own. SQLite looks them up per customer: its descents are in-process B-tree seeks,
/// and its export meets its figure so.
pub async fn children(tx: &mut Conn, ctx: &TenantCtx, backend: Backend, q: &ListQuery) -> Result<Children> {
    if backend == Backend::Sqlite || q.filtered() {
        return Ok(Children::PerCustomer);
    }
    let (own, all): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM customers WHERE tenant_id = $1), \
         (SELECT CAST(reltuples AS BIGINT) FROM pg_class WHERE oid = CAST('customers' AS regclass))",
    )
    .bind(ctx.tenant_id.as_str())
    .fetch_one(&mut *tx)
    .await?;
    Ok(if own > 0 && 2 * own >= all {
        Children::Ranges
    } else {
        Children::PerCustomer
    })
}

/// A customer of a page, borrowing its text from the page.
#[derive(Deserialize)]
pub struct ExportRow<'a> {
    #[serde(borrow)]
    pub id: Text<'a>,
    /// email, phone, first_name, last_name, locale, timezone, external_id.
    #[serde(borrow)]
    pub standard: [Option<Text<'a>>; 7],
    pub created_at: i64,
    pub updated_at: i64,
    /// The customer's tags in order, joined with `,`.
    #[serde(borrow)]
    pub tags: Option<Text<'a>>,
    /// The stored value of each of the page's [`Slot`]s, in their order (none when the
    /// customer has no values).
    #[serde(borrow)]
    pub values: Option<Vec<Option<Text<'a>>>>,
}

/// A custom field as a page carries it: its key, and whether its stored number is what is
/// read (as text, so no digit is lost on the way) rather than its stored text.
pub struct Slot<'a> {
    pub key: &'a str,
    pub number: bool,
}

/// A JSON string, borrowed from the page unless it had escapes to undo.
pub struct Text<'a>(Cow<'a, str>);

impl Text<'_> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Borrowing;
        impl<'de> Visitor<'de> for Borrowing {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(Borrowing)
    }
}

/// The rows of a page.
pub fn rows(page: &Page) -> Result<Vec<ExportRow<'_>>> {
    serde_json::from_str(&page.json).map_err(|e| sqlx::Error::Decode(Box::new(e)).into())
}

/// A page of `q` (its filters, keyset and limit), in the order of customer ids, with the
/// values of `slots`, its customers' tags and values read as `children` says (the ranges from
/// the page's [`End::first`]).
pub async fn page(
    tx: &mut Conn,
    ctx: &TenantCtx,
    backend: Backend,
    q: &ListQuery,
    slots: &[Slot<'_>],
    children: Children,
    first: &str,
) -> Result<Page> {
    let dialect::JsonFunctions {
        array, group, embed, ..
    } = dialect::json_functions(backend);
    let tags = Sql::new(&dialect::ordered_concat(backend, "t.tag", ","));
    let values = (!slots.is_empty()).then(|| values(backend, slots));
    let inner = match children {
        Children::PerCustomer => per_customer(ctx, backend, q, &tags, values.as_ref()),
        Children::Ranges => ranges(ctx, backend, q, first, &tags, values.as_ref()),
    };
    let row = format!(
        "{array}(p.id, {array}(p.email, p.phone, p.first_name, p.last_name, p.locale, p.timezone, \
         p.external_id), p.created_at, p.updated_at, p.tags, {embed}(p.field_values))"
    );
    let mut sql = Sql::new(&format!("SELECT CAST({group}({row} ORDER BY p.id) AS TEXT) FROM ("));
    sql.append(&inner).push(") p");
    let rows: Vec<(Option<String>,)> = sql.fetch_all(tx).await?;
    let json = rows.into_iter().next().and_then(|(json,)| json);
    Ok(Page {
        json: json.unwrap_or_else(|| "[]".to_owned()),
    })
}

/// An aggregate over a customer's rows `v` of `customer_field_values`: the array of each
/// slot's stored value. One array per customer, not one per value: building JSON is most of
/// what PostgreSQL spends on a page's values (in psql 41–42 → 35–36 ms a page).
fn values(backend: Backend, slots: &[Slot<'_>]) -> Sql {
    let dialect::JsonFunctions { array, number_text, .. } = dialect::json_functions(backend);
    let number = format!(" AND v.value_num IS NOT NULL THEN {} END)", number_text("v.value_num"));
    let mut sql = Sql::new(&format!("{array}("));
    for (i, slot) in slots.iter().enumerate() {
        sql.push(if i == 0 { "" } else { ", " })
            .push("max(CASE WHEN v.field_key = ")
            .bind(slot.key)
            .push(if slot.number {
                &number
            } else {
                " THEN v.value_text END)"
            });
    }
    sql.push(")");
    sql
}

/// Per table of a customer's children: its alias, name, aggregate (none when there is nothing
/// to read: no custom fields) and the name of the aggregate's column.
fn children_of<'a>(
    tags: &'a Sql,
    values: Option<&'a Sql>,
) -> [(&'static str, &'static str, Option<&'a Sql>, &'static str); 2] {
    [
        ("t", "customer_tags", Some(tags), "tags"),
        ("v", "customer_field_values", values, "field_values"),
    ]
}

/// The page's customers with `tags` and `values` (aggregates over `t` and `v`) as correlated
/// subqueries, one lookup per customer.
fn per_customer(ctx: &TenantCtx, backend: Backend, q: &ListQuery, tags: &Sql, values: Option<&Sql>) -> Sql {
    let tenant = ctx.tenant_id.as_str();
    let mut inner = Sql::new(&format!("SELECT {}", customers::qualified_columns()));
    for (alias, table, aggregate, name) in children_of(tags, values) {
        let Some(aggregate) = aggregate else {
            inner.push(&format!(", NULL AS {name}"));
            continue;
        };
        inner.push(", (SELECT ").append(aggregate).push(&format!(
            " FROM {table} {alias} WHERE {alias}.customer_id = c.id AND {alias}.tenant_id = "
        ));
        inner.bind(tenant).push(&format!(") AS {name}"));
    }
    customers::page_query(inner, ctx, backend, q)
}

/// The page's customers joined to their `tags` and `values` grouped over the ids from `first`
/// (the page's first customer, in ascending order of ids) to its `until`.
fn ranges(ctx: &TenantCtx, backend: Backend, q: &ListQuery, first: &str, tags: &Sql, values: Option<&Sql>) -> Sql {
    let columns = customers::qualified_columns();
    let page = customers::page_query(Sql::new(&format!("SELECT {columns}")), ctx, backend, q);
    let field_values = if values.is_some() {
        "v.field_values"
    } else {
        "NULL AS field_values"
    };
    let mut sql = Sql::new(&format!("SELECT {columns}, t.tags, {field_values} FROM ("));
    sql.append(&page).push(") c");
    for (alias, table, aggregate, name) in children_of(tags, values) {
        let Some(aggregate) = aggregate else { continue };
        sql.push(&format!(" LEFT JOIN (SELECT {alias}.customer_id, "))
            .append(aggregate)
            .push(&format!(" AS {name} FROM {table} {alias} WHERE {alias}.tenant_id = "))
            .bind(ctx.tenant_id.as_str())
            .push(&format!(" AND {alias}.customer_id >= "))
            .bind(first);
        if let Some(until) = &q.until {
            sql.push(&format!(" AND {alias}.customer_id <= ")).bind(until.as_str());
        }
        sql.push(&format!(
            " GROUP BY {alias}.customer_id) {alias} ON {alias}.customer_id = c.id"
        ));
    }
    sql
}
