//! Customers and their custom field values and tags.

use sqlx::any::AnyArguments;
use sqlx::query::QueryAs;
use sqlx::{Any, FromRow};

use super::scoped::{self, Table};
use super::sql::Sql;
use super::{now_ms, Backend, Conn, Result, StoreError};
use crate::ids::CustomerId;
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, FromRow)]
pub struct CustomerRow {
    pub id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub external_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub const COLUMNS: &str =
    "id, email, phone, first_name, last_name, locale, timezone, external_id, created_at, updated_at";
const TABLE: Table = Table {
    name: "customers",
    columns: COLUMNS,
};

/// The standard fields as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub external_id: Option<String>,
}

impl Fields {
    /// Lower-cased "last first" for sorting.
    pub fn sort_name(&self) -> String {
        let last = self.last_name.as_deref().unwrap_or("");
        let first = self.first_name.as_deref().unwrap_or("");
        format!("{last} {first}").trim().to_lowercase()
    }

    /// The words text search matches: name, email and phone split on anything not alphanumeric.
    pub fn search_text(&self) -> String {
        let parts = [&self.first_name, &self.last_name, &self.email, &self.phone];
        search_words(&parts.iter().filter_map(|p| p.as_deref()).collect::<Vec<_>>().join(" ")).join(" ")
    }
}

/// Lower-cased alphanumeric words: the one tokenisation for indexing and for queries.
pub fn search_words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Names the unique field a violation is about, from the index name in the message.
fn unique_field(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            let text = format!("{} {}", db.message(), db.constraint().unwrap_or(""));
            for field in ["external_id", "email", "phone"] {
                if text.contains(field) {
                    return StoreError::Conflict { field };
                }
            }
        }
    }
    StoreError::Db(e)
}

/// Binds `$1` tenant, `$2` id, `$3`..`$11` the written fields and the columns derived from them,
/// `$12` the time: the shared parameter list of the inserts and `update`, which return the row
/// as written.
fn bind_written<'q>(
    q: QueryAs<'q, Any, CustomerRow, AnyArguments<'q>>,
    ctx: &'q TenantCtx,
    id: &'q CustomerId,
    f: &'q Fields,
) -> QueryAs<'q, Any, CustomerRow, AnyArguments<'q>> {
    q.bind(ctx.tenant_id.as_str())
        .bind(id.as_str())
        .bind(f.email.as_deref())
        .bind(f.phone.as_deref())
        .bind(f.first_name.as_deref())
        .bind(f.last_name.as_deref())
        .bind(f.locale.as_deref())
        .bind(f.timezone.as_deref())
        .bind(f.external_id.as_deref())
        .bind(f.sort_name())
        .bind(f.search_text())
        .bind(now_ms())
}

pub async fn insert(tx: &mut Conn, ctx: &TenantCtx, id: &CustomerId, f: &Fields) -> Result<CustomerRow> {
    bind_written(sqlx::query_as(&insert_text("")), ctx, id, f)
        .fetch_one(&mut *tx)
        .await
        .map_err(unique_field)
}

/// [`insert`], except that a taken email, phone or external id writes nothing and returns
/// `None` instead of failing: on PostgreSQL a failed statement aborts the whole transaction,
/// and an upsert that another transaction beat to the same new customer (PostgreSQL's insert
/// waits for that one to commit) merges into it instead.
pub async fn insert_unless_taken(
    tx: &mut Conn,
    ctx: &TenantCtx,
    id: &CustomerId,
    f: &Fields,
) -> Result<Option<CustomerRow>> {
    bind_written(sqlx::query_as(&insert_text(" ON CONFLICT DO NOTHING")), ctx, id, f)
        .fetch_optional(&mut *tx)
        .await
        .map_err(unique_field)
}

/// The insert of [`bind_written`]'s parameters, returning the row.
fn insert_text(on_conflict: &str) -> String {
    format!(
        "INSERT INTO customers (tenant_id, id, email, phone, first_name, last_name, locale, timezone, external_id, \
         sort_name, search_text, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)\
         {on_conflict} RETURNING {COLUMNS}"
    )
}

pub async fn update(tx: &mut Conn, ctx: &TenantCtx, id: &CustomerId, f: &Fields) -> Result<CustomerRow> {
    let text = format!(
        "UPDATE customers SET email = $3, phone = $4, first_name = $5, last_name = $6, locale = $7, timezone = $8, \
         external_id = $9, sort_name = $10, search_text = $11, updated_at = $12 WHERE tenant_id = $1 AND id = $2 \
         RETURNING {COLUMNS}"
    );
    bind_written(sqlx::query_as(&text), ctx, id, f)
        .fetch_optional(&mut *tx)
        .await
        .map_err(unique_field)?
        .ok_or(StoreError::NotFound)
}

/// Marks the customer changed (tags or custom fields written separately).
pub async fn touch(tx: &mut Conn, ctx: &TenantCtx, id: &CustomerId) -> Result<()> {
    sqlx::query("UPDATE customers SET updated_at = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(ctx.tenant_id.as_str())
        .bind(id.as_str())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

pub async fn get(tx: &mut Conn, ctx: &TenantCtx, id: &CustomerId) -> Result<CustomerRow> {
    scoped::get(tx, ctx, &TABLE, id.as_str()).await
}

/// Customers matching any of the identifiers given (for upserts and event tracking): one
/// lookup per identifier given, each on its own unique index. Written as one `OR`, SQLite's
/// planner (until statistics say a tenant is large) walked all of the tenant's customers
/// instead: 40 µs a lookup at 1,000 customers, growing with the tenant.
pub async fn find_by_identifiers(
    tx: &mut Conn,
    ctx: &TenantCtx,
    email: Option<&str>,
    phone: Option<&str>,
    external_id: Option<&str>,
) -> Result<Vec<CustomerRow>> {
    let Some(mut sql) = by_identifiers(ctx, email, phone, external_id) else {
        return Ok(Vec::new());
    };
    sql.push(" ORDER BY id");
    Ok(sql.fetch_all(tx).await?)
}

/// The customers holding any of the identifiers given, as a union of one probe per identifier
/// (each by its unique index); `None` when none is given.
pub(super) fn by_identifiers(
    ctx: &TenantCtx,
    email: Option<&str>,
    phone: Option<&str>,
    external_id: Option<&str>,
) -> Option<Sql> {
    let given = [("email", email), ("phone", phone), ("external_id", external_id)];
    let mut sql = Sql::default();
    for (column, value) in given.into_iter().filter_map(|(c, v)| Some((c, v?))) {
        if !sql.text().is_empty() {
            sql.push(" UNION ");
        }
        sql.push(&format!("SELECT {COLUMNS} FROM customers WHERE tenant_id = "))
            .bind(ctx.tenant_id.as_str())
            .push(&format!(" AND {column} = "))
            .bind(value);
    }
    Some(sql).filter(|s| !s.text().is_empty())
}

pub async fn delete(tx: &mut Conn, ctx: &TenantCtx, id: &CustomerId) -> Result<()> {
    let done = sqlx::query("DELETE FROM customers WHERE tenant_id = $1 AND id = $2")
        .bind(ctx.tenant_id.as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Created,
    Updated,
    Name,
}

/// Where the previous page ended: the sort key and id of its last row.
#[derive(Debug, Clone, PartialEq)]
pub enum After {
    Created(String),
    Updated(i64, String),
    Name(String, String),
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub sort: Sort,
    pub descending: bool,
    pub after: Option<After>,
    /// Only ids up to this one, in the sort's direction (sort by created only): the end of an
    /// export page whose bounds were read first.
    pub until: Option<String>,
    pub limit: i64,
    pub tag: Option<String>,
    /// Words every match must contain a word starting with.
    pub search: Vec<String>,
    /// `(field key, exact text value)`.
    pub field: Option<(String, String)>,
    /// Restrict to a compiled segment condition on `c`.
    pub segment: Option<Sql>,
}

impl ListQuery {
    /// Whether a filter leaves out some of the tenant's customers.
    pub fn filtered(&self) -> bool {
        self.tag.is_some() || self.field.is_some() || !self.search.is_empty() || self.segment.is_some()
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct ListedRow {
    #[sqlx(flatten)]
    pub row: CustomerRow,
    pub sort_name: String,
}

/// A page of customers, keyset-paginated on the sort key then id.
pub async fn list(tx: &mut Conn, ctx: &TenantCtx, backend: Backend, q: &ListQuery) -> Result<Vec<ListedRow>> {
    let select = Sql::new(&format!("SELECT {}, c.sort_name", qualified_columns()));
    Ok(page_query(select, ctx, backend, q).fetch_all(tx).await?)
}

/// [`COLUMNS`] of alias `c`.
pub(super) fn qualified_columns() -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("c.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `select` (over alias `c`) with the filters, keyset and order of a list page.
pub(super) fn page_query(mut sql: Sql, ctx: &TenantCtx, backend: Backend, q: &ListQuery) -> Sql {
    sql.planned_per_call()
        .push(" FROM customers c WHERE c.tenant_id = ")
        .bind(ctx.tenant_id.as_str());
    filters(&mut sql, ctx, backend, q);
    let (gt, order) = if q.descending { ("<", "DESC") } else { (">", "ASC") };
    match &q.after {
        Some(After::Created(id)) => {
            sql.push(&format!(" AND c.id {gt} ")).bind(id.as_str());
        }
        Some(After::Updated(at, id)) => {
            sql.push(&format!(" AND (c.updated_at {gt} ")).bind(*at);
            sql.push(" OR (c.updated_at = ")
                .bind(*at)
                .push(&format!(" AND c.id {gt} "))
                .bind(id.as_str())
                .push("))");
        }
        Some(After::Name(name, id)) => {
            sql.push(&format!(" AND (c.sort_name {gt} ")).bind(name.as_str());
            sql.push(" OR (c.sort_name = ")
                .bind(name.as_str())
                .push(&format!(" AND c.id {gt} "))
                .bind(id.as_str())
                .push("))");
        }
        None => {}
    }
    if let Some(until) = &q.until {
        let le = if q.descending { ">=" } else { "<=" };
        sql.push(&format!(" AND c.id {le} ")).bind(until.as_str());
    }
    let key = match q.sort {
        Sort::Created => format!("c.id {order}"),
        Sort::Updated => format!("c.updated_at {order}, c.id {order}"),
        Sort::Name => format!("c.sort_name {order}, c.id {order}"),
    };
    sql.push(&format!(" ORDER BY {key} LIMIT ")).bind(q.limit);
    sql
}

fn filters(sql: &mut Sql, ctx: &TenantCtx, backend: Backend, q: &ListQuery) {
    // Correlated EXISTS probes the primary key per candidate row, so a page that stops after
    // `limit` rows never materialises every tagged customer.
    if let Some(tag) = &q.tag {
        sql.push(" AND EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tenant_id = ")
            .bind(ctx.tenant_id.as_str())
            .push(" AND t.tag = ")
            .bind(tag.as_str())
            .push(")");
    }
    if let Some((key, value)) = &q.field {
        sql.push(" AND EXISTS (SELECT 1 FROM customer_field_values v WHERE v.customer_id = c.id AND v.tenant_id = ")
            .bind(ctx.tenant_id.as_str())
            .push(" AND v.field_key = ")
            .bind(key.as_str())
            .push(" AND v.value_text = ")
            .bind(value.as_str())
            .push(")");
    }
    if !q.search.is_empty() {
        sql.push(" AND ");
        super::dialect::text_search(sql, backend, &q.search);
    }
    if let Some(segment) = &q.segment {
        sql.push(" AND (").append(segment).push(")");
    }
}

/// How many customers satisfy `predicate` (a compiled segment on `c`).
pub async fn count_matching(tx: &mut Conn, ctx: &TenantCtx, predicate: &Sql) -> Result<i64> {
    let mut sql = Sql::new("SELECT COUNT(*) FROM customers c WHERE c.tenant_id = ");
    sql.bind(ctx.tenant_id.as_str())
        .push(" AND (")
        .append(predicate)
        .push(")");
    Ok(sql.fetch_scalar(tx).await?)
}

/// Up to `limit` ids of customers satisfying `predicate`, after `after` in id order: a keyset
/// page, so callers walk a large segment without holding it in memory.
pub async fn ids_matching(
    tx: &mut Conn,
    ctx: &TenantCtx,
    predicate: &Sql,
    after: &str,
    limit: i64,
) -> Result<Vec<String>> {
    let mut sql = Sql::new("SELECT c.id FROM customers c WHERE c.tenant_id = ");
    sql.bind(ctx.tenant_id.as_str())
        .push(" AND c.id > ")
        .bind(after)
        .push(" AND (")
        .append(predicate)
        .push(") ORDER BY c.id LIMIT ")
        .bind(limit);
    Ok(sql.fetch_scalars(tx).await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct FieldValueRow {
    pub customer_id: String,
    pub field_key: String,
    pub value_text: Option<String>,
    pub value_num: Option<f64>,
}

/// Custom field values of the given customers.
pub async fn field_values(tx: &mut Conn, ctx: &TenantCtx, ids: &[&str]) -> Result<Vec<FieldValueRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql =
        Sql::new("SELECT customer_id, field_key, value_text, value_num FROM customer_field_values WHERE tenant_id = ");
    sql.bind(ctx.tenant_id.as_str())
        .push(" AND customer_id IN ")
        .bind_list(ids.iter().copied());
    sql.push(" ORDER BY customer_id, field_key");
    Ok(sql.fetch_all(tx).await?)
}

pub async fn set_field_value(
    tx: &mut Conn,
    ctx: &TenantCtx,
    id: &CustomerId,
    key: &str,
    text: Option<&str>,
    num: Option<f64>,
) -> Result<()> {
    let mut sql = Sql::new(
        "INSERT INTO customer_field_values (tenant_id, customer_id, field_key, value_text, value_num) VALUES (",
    );
    sql.bind_separated([ctx.tenant_id.as_str(), id.as_str(), key])
        .push(", ")
        .bind_opt(text)
        .push(", ")
        .bind_opt(num)
        .push(
            ") ON CONFLICT (customer_id, field_key) \
             DO UPDATE SET value_text = excluded.value_text, value_num = excluded.value_num",
        );
    sql.execute(tx).await?;
    Ok(())
}

pub async fn delete_field_value(tx: &mut Conn, ctx: &TenantCtx, id: &CustomerId, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM customer_field_values WHERE tenant_id = $1 AND customer_id = $2 AND field_key = $3")
        .bind(ctx.tenant_id.as_str())
        .bind(id.as_str())
        .bind(key)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
