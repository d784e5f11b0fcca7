//! Custom field definitions and the typed codec for their values.

use std::collections::HashMap;

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::domain::{audit, DomainError, FieldError, Result};
use crate::ids::{CustomFieldId, PrefixedId};
use crate::state::AppState;
use crate::store::{self, custom_fields::CustomFieldRow, customers::FieldValueRow, Conn};
use crate::tenancy::TenantCtx;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Number,
    Boolean,
    Date,
    DateTime,
    Enum,
}

impl FieldType {
    pub const ALL: [(FieldType, &'static str); 6] = [
        (FieldType::Text, "text"),
        (FieldType::Number, "number"),
        (FieldType::Boolean, "boolean"),
        (FieldType::Date, "date"),
        (FieldType::DateTime, "datetime"),
        (FieldType::Enum, "enum"),
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(t, _)| *t)
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(t, _)| *t == self)
            .map(|(_, n)| *n)
            .unwrap_or("text")
    }
}

/// A definition as the rest of the domain uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub key: String,
    pub field_type: FieldType,
    pub options: Vec<String>,
}

impl From<&CustomFieldRow> for Definition {
    fn from(row: &CustomFieldRow) -> Self {
        Self {
            key: row.key.clone(),
            field_type: FieldType::parse(&row.field_type).unwrap_or(FieldType::Text),
            options: row
                .options
                .as_deref()
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or_default(),
        }
    }
}

/// A value as stored: text and/or a number (dates and datetimes keep both, so they sort and compare).
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub text: Option<String>,
    pub num: Option<f64>,
}

const MAX_TEXT: usize = 10_000;
const DATE: &[time::format_description::BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// Milliseconds since the epoch at midnight UTC of `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<f64> {
    let date = Date::parse(s, DATE).ok()?;
    Some((date.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000) as f64)
}

/// Milliseconds since the epoch of an RFC 3339 time, and its UTC rendering.
pub fn parse_datetime(s: &str) -> Option<(f64, String)> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?.to_offset(time::UtcOffset::UTC);
    Some(((t.unix_timestamp_nanos() / 1_000_000) as f64, t.format(&Rfc3339).ok()?))
}

impl Definition {
    /// Checks `value` against the definition; `field` names it in errors.
    pub fn encode(&self, field: &str, value: &Value) -> Result<Stored> {
        let bad = |msg: &str| DomainError::invalid(field, msg.to_owned());
        Ok(match (self.field_type, value) {
            (FieldType::Text, Value::String(s)) if s.chars().count() <= MAX_TEXT => Stored {
                text: Some(s.clone()),
                num: None,
            },
            (FieldType::Text, _) => return Err(bad("must be a string of at most 10000 characters")),
            (FieldType::Number, Value::Number(n)) => Stored {
                text: None,
                num: n.as_f64(),
            },
            (FieldType::Number, _) => return Err(bad("must be a number")),
            (FieldType::Boolean, Value::Bool(b)) => Stored {
                text: None,
                num: Some(if *b { 1.0 } else { 0.0 }),
            },
            (FieldType::Boolean, _) => return Err(bad("must be true or false")),
            (FieldType::Date, Value::String(s)) => match parse_date(s) {
                Some(ms) => Stored {
                    text: Some(s.clone()),
                    num: Some(ms),
                },
                None => return Err(bad("must be a date, YYYY-MM-DD")),
            },
            (FieldType::Date, _) => return Err(bad("must be a date, YYYY-MM-DD")),
            (FieldType::DateTime, Value::String(s)) => match parse_datetime(s) {
                Some((ms, utc)) => Stored {
                    text: Some(utc),
                    num: Some(ms),
                },
                None => return Err(bad("must be an RFC 3339 date-time")),
            },
            (FieldType::DateTime, _) => return Err(bad("must be an RFC 3339 date-time")),
            (FieldType::Enum, Value::String(s)) if self.options.contains(s) => Stored {
                text: Some(s.clone()),
                num: None,
            },
            (FieldType::Enum, _) => return Err(bad(&format!("must be one of {}", self.options.join(", ")))),
        })
    }

    pub fn decode(&self, text: Option<&str>, num: Option<f64>) -> Value {
        match self.field_type {
            FieldType::Number => num.map(number).unwrap_or(Value::Null),
            FieldType::Boolean => num.map(|n| Value::Bool(n != 0.0)).unwrap_or(Value::Null),
            _ => text.map(|t| Value::String(t.to_owned())).unwrap_or(Value::Null),
        }
    }

    /// Whether [`Definition::decode`] reads the stored number (else the stored text).
    pub fn decodes_number(&self) -> bool {
        matches!(self.field_type, FieldType::Number | FieldType::Boolean)
    }
}

/// Whole numbers come back as JSON integers (`1`, not `1.0`), as they were written.
fn number(n: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: every integer below is exact in an f64
    if n.fract() == 0.0 && n.abs() < EXACT {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// The tenant's definitions by key.
pub async fn definitions(tx: &mut Conn, ctx: &TenantCtx) -> Result<HashMap<String, Definition>> {
    Ok(store::custom_fields::list(tx, ctx)
        .await?
        .iter()
        .map(|r| (r.key.clone(), Definition::from(r)))
        .collect())
}

/// Validates a `custom_fields` object: every key defined, every value of its type (null removes).
pub fn encode_all(
    defs: &HashMap<String, Definition>,
    values: &Map<String, Value>,
) -> Result<Vec<(String, Option<Stored>)>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (key, value) in values {
        let field = format!("custom_fields.{key}");
        match (defs.get(key), value) {
            (None, _) => errors.push(FieldError::new(&field, "no custom field has this key")),
            (Some(_), Value::Null) => out.push((key.clone(), None)),
            (Some(def), v) => match def.encode(&field, v) {
                Ok(stored) => out.push((key.clone(), Some(stored))),
                Err(DomainError::Invalid(mut e)) => errors.append(&mut e),
                Err(other) => return Err(other),
            },
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(DomainError::Invalid(errors))
    }
}

/// Rebuilds `custom_fields` objects from stored rows.
pub fn decode_rows(defs: &HashMap<String, Definition>, rows: &[FieldValueRow]) -> HashMap<String, Map<String, Value>> {
    let mut out: HashMap<String, Map<String, Value>> = HashMap::new();
    for row in rows {
        if let Some(def) = defs.get(&row.field_key) {
            out.entry(row.customer_id.clone()).or_default().insert(
                row.field_key.clone(),
                def.decode(row.value_text.as_deref(), row.value_num),
            );
        }
    }
    out
}

fn validate_key(key: &str) -> Result<()> {
    let ok = (1..=64).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "key",
            "must be 1 to 64 of a-z, 0-9 and _, starting with a letter",
        ))
    }
}

fn validate_options(field_type: FieldType, options: &[String]) -> Result<Option<String>> {
    match field_type {
        FieldType::Enum if options.is_empty() => {
            Err(DomainError::invalid("options", "an enum needs at least one option"))
        }
        FieldType::Enum => Ok(Some(serde_json::to_string(options).unwrap_or_default())),
        _ if !options.is_empty() => Err(DomainError::invalid("options", "only enum fields have options")),
        _ => Ok(None),
    }
}

pub async fn create(
    state: &AppState,
    ctx: &TenantCtx,
    key: &str,
    label: Option<&str>,
    field_type: &str,
    options: &[String],
) -> Result<CustomFieldRow> {
    validate_key(key)?;
    let kind = FieldType::parse(field_type).ok_or_else(|| {
        let names: Vec<&str> = FieldType::ALL.iter().map(|(_, n)| *n).collect();
        DomainError::invalid("type", format!("must be one of {}", names.join(", ")))
    })?;
    let options = validate_options(kind, options)?;
    let label = crate::domain::validate::name("label", label.unwrap_or(key), 200)?;
    let mut tx = state.store.tenant_tx(ctx).await?;
    let row = store::custom_fields::insert(
        &mut tx,
        ctx,
        &CustomFieldId::generate(),
        key,
        &label,
        kind.name(),
        options.as_deref(),
    )
    .await?;
    audit::record(&mut tx, ctx, "custom_field.created", "custom_field", key).await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn update(
    state: &AppState,
    ctx: &TenantCtx,
    key: &str,
    label: Option<&str>,
    options: Option<&[String]>,
) -> Result<CustomFieldRow> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let current = store::custom_fields::get(&mut tx, ctx, key).await?;
    let def = Definition::from(&current);
    let label = match label {
        Some(l) => crate::domain::validate::name("label", l, 200)?,
        None => current.label.clone(),
    };
    let options = match options {
        Some(o) => validate_options(def.field_type, o)?,
        None => current.options.clone(),
    };
    let row = store::custom_fields::update(&mut tx, ctx, key, &label, options.as_deref()).await?;
    audit::record(&mut tx, ctx, "custom_field.updated", "custom_field", key).await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn list(state: &AppState, ctx: &TenantCtx) -> Result<Vec<CustomFieldRow>> {
    let mut read = state.store.tenant_read(ctx).await?;
    let rows = store::custom_fields::list(&mut read, ctx).await?;
    read.commit().await?;
    Ok(rows)
}

pub async fn delete(state: &AppState, ctx: &TenantCtx, key: &str) -> Result<()> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    store::custom_fields::delete(&mut tx, ctx, key).await?;
    audit::record(&mut tx, ctx, "custom_field.deleted", "custom_field", key).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(t: FieldType) -> Definition {
        Definition {
            key: "k".into(),
            field_type: t,
            options: vec!["gold".into(), "silver".into()],
        }
    }

    #[test]
    fn values_round_trip_by_type() {
        let cases = [
            (FieldType::Text, json!("hello")),
            (FieldType::Number, json!(42.5)),
            (FieldType::Number, json!(7)),
            (FieldType::Boolean, json!(true)),
            (FieldType::Date, json!("2024-02-29")),
            (FieldType::DateTime, json!("2024-02-29T10:00:00Z")),
            (FieldType::Enum, json!("gold")),
        ];
        for (t, v) in cases {
            let d = def(t);
            let stored = d.encode("k", &v).unwrap();
            assert_eq!(d.decode(stored.text.as_deref(), stored.num), v, "{t:?}");
        }
        let d = def(FieldType::DateTime);
        assert_eq!(
            d.encode("k", &json!("2024-02-29T12:00:00+02:00"))
                .unwrap()
                .text
                .as_deref(),
            Some("2024-02-29T10:00:00Z")
        );
    }

    #[test]
    fn wrong_types_name_the_field() {
        let wrong = [
            (FieldType::Text, json!(1)),
            (FieldType::Number, json!("1")),
            (FieldType::Boolean, json!("yes")),
            (FieldType::Date, json!("2024-02-30")),
            (FieldType::DateTime, json!("yesterday")),
            (FieldType::Enum, json!("bronze")),
        ];
        for (t, v) in wrong {
            match def(t).encode("custom_fields.k", &v) {
                Err(DomainError::Invalid(e)) => assert_eq!(e[0].field, "custom_fields.k"),
                other => panic!("{t:?} {v}: {other:?}"),
            }
        }
    }
}
