//! Creating many customers at once (imports): every row is validated in memory, identifiers are
//! checked against the batch and the database with one query, and the valid rows are written
//! with multi-row statements. Each created customer still gets its `customer.created` event.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::json;

use super::custom_fields::Definition;
use super::customers::{check, merged, Customer, CustomerInput};
use crate::domain::{outbox, DomainError, Result};
use crate::ids::{CustomerId, DomainEventId, PrefixedId};
use crate::store::{self, bulk::FieldValue, customers::Fields, now_ms, Conn};
use crate::tenancy::TenantCtx;

/// The outcome of one row: the new customer's id, or why it was refused.
pub type RowResult = (usize, Result<String>);

fn conflict(field: &str) -> DomainError {
    DomainError::Conflict {
        field: Some(field.to_owned()),
        message: format!("{field} is already in use"),
    }
}

/// Creates every valid row of `rows` (`(row number, input)`) inside `tx`.
pub async fn create_many_in(
    tx: &mut Conn,
    ctx: &TenantCtx,
    defs: &HashMap<String, Definition>,
    rows: Vec<(usize, CustomerInput)>,
) -> Result<Vec<RowResult>> {
    let mut results: Vec<RowResult> = Vec::with_capacity(rows.len());
    let mut valid = Vec::new();
    let mut seen: [HashSet<String>; 3] = Default::default();
    for (n, input) in rows {
        let checked = match check(defs, input) {
            Ok(c) => c,
            Err(e) => {
                results.push((n, Err(e)));
                continue;
            }
        };
        let fields = merged(None, &checked.input);
        let ids = identifiers(&fields);
        if let Some(field) = clash(&ids, &seen) {
            results.push((n, Err(conflict(field))));
            continue;
        }
        for (set, v) in seen.iter_mut().zip(ids) {
            set.extend(v.map(str::to_owned));
        }
        valid.push((n, checked, fields));
    }

    let lists: Vec<Vec<&str>> = seen.iter().map(|s| s.iter().map(String::as_str).collect()).collect();
    let taken = store::bulk::existing_identifiers(tx, ctx, &lists[0], &lists[1], &lists[2]).await?;
    let mut taken_sets: [HashSet<String>; 3] = Default::default();
    for (email, phone, ext) in taken {
        for (set, v) in taken_sets.iter_mut().zip([email, phone, ext]) {
            set.extend(v);
        }
    }

    let now = now_ms();
    let mut customers = Vec::new();
    let mut values: Vec<FieldValue> = Vec::new();
    let mut tags = Vec::new();
    let mut events = Vec::new();
    for (n, checked, fields) in valid {
        if let Some(field) = clash(&identifiers(&fields), &taken_sets) {
            results.push((n, Err(conflict(field))));
            continue;
        }
        let id = CustomerId::generate().to_string();
        let mut custom = serde_json::Map::new();
        for (key, stored) in checked
            .fields_to_write
            .iter()
            .filter_map(|(k, s)| s.as_ref().map(|s| (k, s)))
        {
            values.push((id.clone(), key.clone(), stored.text.clone(), stored.num));
            if let Some(def) = defs.get(key) {
                custom.insert(key.clone(), def.decode(stored.text.as_deref(), stored.num));
            }
        }
        let customer_tags = checked.tags.unwrap_or_default();
        tags.extend(customer_tags.iter().map(|t| (id.clone(), t.clone())));
        let customer = Customer {
            id: id.clone(),
            email: fields.email.clone(),
            phone: fields.phone.clone(),
            first_name: fields.first_name.clone(),
            last_name: fields.last_name.clone(),
            locale: fields.locale.clone(),
            timezone: fields.timezone.clone(),
            external_id: fields.external_id.clone(),
            custom_fields: custom,
            tags: {
                let mut t = customer_tags;
                t.sort();
                t
            },
            consent: BTreeMap::new(),
            created_at: now,
            updated_at: now,
        };
        events.push((
            DomainEventId::generate().to_string(),
            outbox::CUSTOMER_CREATED,
            json!(customer).to_string(),
        ));
        customers.push((id.clone(), fields));
        results.push((n, Ok(id)));
    }
    store::bulk::insert_customers(tx, ctx, &customers).await?;
    store::bulk::insert_field_values(tx, ctx, &values).await?;
    store::bulk::insert_tags(tx, ctx, &tags).await?;
    store::bulk::insert_domain_events(tx, ctx, &events).await?;
    results.sort_by_key(|(n, _)| *n);
    Ok(results)
}

const NAMES: [&str; 3] = ["email", "phone", "external_id"];

/// The first identifier already in its set, by name.
fn clash(ids: &[Option<&str>; 3], sets: &[HashSet<String>; 3]) -> Option<&'static str> {
    (0..3)
        .find(|i| ids[*i].is_some_and(|v| sets[*i].contains(v)))
        .map(|i| NAMES[i])
}

fn identifiers(f: &Fields) -> [Option<&str>; 3] {
    [f.email.as_deref(), f.phone.as_deref(), f.external_id.as_deref()]
}
