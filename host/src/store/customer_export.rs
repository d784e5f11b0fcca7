//! Export pages: one row per customer with its tags and custom field values already joined in,
//! so a page is one query and one result row per customer (fetching values and tags as rows of
//! their own made the export move nine rows per customer through the driver).

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::customers::{self, CustomerRow, ListQuery};
use super::sql::Sql;
use super::{dialect, Backend, Conn, Result};
use crate::tenancy::TenantCtx;

/// A custom field column of the export: its key and whether its value is stored as a number.
pub struct FieldColumn<'a> {
    pub key: &'a str,
    pub numeric: bool,
}

pub struct ExportRow {
    pub row: CustomerRow,
    /// The customer's tags in order, joined with `,`.
    pub tags: Option<String>,
    /// Per requested field: the stored text, or the stored number for numeric fields.
    pub values: Vec<(Option<String>, Option<f64>)>,
}

/// A page of `q` (its filters, keyset and limit) with each customer's tags and `fields`.
pub async fn page(
    tx: &mut Conn,
    ctx: &TenantCtx,
    backend: Backend,
    q: &ListQuery,
    fields: &[FieldColumn<'_>],
) -> Result<Vec<ExportRow>> {
    let tenant = ctx.tenant_id.as_str();
    let mut select = Sql::new(&format!(
        "SELECT {}, (SELECT {} FROM customer_tags t WHERE t.customer_id = c.id AND t.tenant_id = ",
        customers::qualified_columns(),
        dialect::ordered_concat(backend, "t.tag", ","),
    ));
    select.bind(tenant).push(")");
    for field in fields {
        let column = if field.numeric { "value_num" } else { "value_text" };
        select
            .push(&format!(
                ", (SELECT v.{column} FROM customer_field_values v WHERE v.customer_id = c.id AND v.tenant_id = "
            ))
            .bind(tenant)
            .push(" AND v.field_key = ")
            .bind(field.key)
            .push(")");
    }
    let rows = customers::page_query(select, ctx, backend, q).fetch_rows(tx).await?;
    rows.iter().map(|r| decode(r, fields)).collect()
}

fn decode(r: &AnyRow, fields: &[FieldColumn<'_>]) -> Result<ExportRow> {
    let tags_at = customers::COLUMNS.split(", ").count();
    let mut values = Vec::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate() {
        let at = tags_at + 1 + i;
        values.push(if field.numeric {
            (None, r.try_get(at)?)
        } else {
            (r.try_get(at)?, None)
        });
    }
    Ok(ExportRow {
        row: CustomerRow::from_row(r)?,
        tags: r.try_get(tags_at)?,
        values,
    })
}
