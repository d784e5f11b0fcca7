//! Creating many customers at once (imports). [`Prepared`] validates every row in memory, with
//! no database at hand (so an import prepares its next batch while one is written); [`write`]
//! checks the identifiers against the database with one query and writes the valid rows with
//! multi-row statements. Each created customer still gets its `customer.created` event.

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

/// Rows validated and turned into the rows to insert, not written yet.
pub struct Prepared {
    /// When the customers were created.
    now: i64,
    /// Rows refused by validation or as a repeat of an earlier row's identifier.
    refused: Vec<RowResult>,
    /// The customers to create with their row numbers; `events[i]` is `customers[i]`'s.
    numbers: Vec<usize>,
    customers: Vec<(String, Fields)>,
    events: Vec<(String, &'static str, String)>,
    values: Vec<FieldValue>,
    tags: Vec<(String, String)>,
    /// Every email, phone and external id the customers carry.
    identifiers: [HashSet<String>; 3],
}

#[cfg(test)]
impl Prepared {
    pub fn to_create(&self) -> usize {
        self.customers.len()
    }

    pub fn refused(&self) -> usize {
        self.refused.len()
    }
}

impl Default for Prepared {
    /// None yet; the customers added are created now.
    fn default() -> Self {
        Self {
            now: now_ms(),
            refused: Vec::new(),
            numbers: Vec::new(),
            customers: Vec::new(),
            events: Vec::new(),
            values: Vec::new(),
            tags: Vec::new(),
            identifiers: Default::default(),
        }
    }
}

impl Prepared {
    /// Validates row `n` against `defs` and adds what [`write`] inserts for it.
    pub fn add(&mut self, defs: &HashMap<String, Definition>, n: usize, input: CustomerInput) {
        let checked = match check(defs, input) {
            Ok(c) => c,
            Err(e) => {
                self.refused.push((n, Err(e)));
                return;
            }
        };
        let fields = merged(None, &checked.input);
        let ids = identifiers(&fields);
        if let Some(field) = clash(&ids, &self.identifiers) {
            self.refused.push((n, Err(conflict(field))));
            return;
        }
        for (set, v) in self.identifiers.iter_mut().zip(ids) {
            set.extend(v.map(str::to_owned));
        }
        let id = CustomerId::generate().to_string();
        let mut custom = serde_json::Map::new();
        for (key, stored) in checked
            .fields_to_write
            .iter()
            .filter_map(|(k, s)| s.as_ref().map(|s| (k, s)))
        {
            self.values
                .push((id.clone(), key.clone(), stored.text.clone(), stored.num));
            if let Some(def) = defs.get(key) {
                custom.insert(key.clone(), def.decode(stored.text.as_deref(), stored.num));
            }
        }
        let customer_tags = checked.tags.unwrap_or_default();
        self.tags.extend(customer_tags.iter().map(|t| (id.clone(), t.clone())));
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
            created_at: self.now,
            updated_at: self.now,
        };
        self.events.push((
            DomainEventId::generate().to_string(),
            outbox::CUSTOMER_CREATED,
            json!(customer).to_string(),
        ));
        self.numbers.push(n);
        self.customers.push((id, fields));
    }

    /// Every email, phone and external id the customers to create carry.
    pub fn identifiers(&self) -> &[HashSet<String>; 3] {
        &self.identifiers
    }

    /// Moves the customers with an identifier in `others` out, with their values, tags and
    /// events, into a `Prepared` of their own (refused rows stay).
    pub fn split_off_sharing(&mut self, others: &[HashSet<String>; 3]) -> Prepared {
        let moving: Vec<bool> = self
            .customers
            .iter()
            .map(|(_, fields)| clash(&identifiers(fields), others).is_some())
            .collect();
        let mut moved = Prepared {
            now: self.now,
            ..Prepared::default()
        };
        if !moving.contains(&true) {
            return moved;
        }
        moved.customers = extract_flagged(&mut self.customers, &moving);
        moved.events = extract_flagged(&mut self.events, &moving);
        moved.numbers = extract_flagged(&mut self.numbers, &moving);
        let ids: HashSet<&str> = moved.customers.iter().map(|(id, _)| id.as_str()).collect();
        moved.values = self.values.extract_if(.., |(c, ..)| ids.contains(c.as_str())).collect();
        moved.tags = self.tags.extract_if(.., |(c, _)| ids.contains(c.as_str())).collect();
        // A batch's customers share no identifier, so each moves with its customer alone.
        for (_, fields) in &moved.customers {
            for ((mine, theirs), v) in self
                .identifiers
                .iter_mut()
                .zip(&mut moved.identifiers)
                .zip(identifiers(fields))
            {
                if let Some(v) = v {
                    mine.remove(v);
                    theirs.insert(v.to_owned());
                }
            }
        }
        moved
    }
}

/// Takes out the items whose flag in `flags` (one per item, in order) is set.
fn extract_flagged<T>(items: &mut Vec<T>, flags: &[bool]) -> Vec<T> {
    let mut flags = flags.iter();
    items
        .extract_if(.., |_| flags.next().copied().unwrap_or(false))
        .collect()
}

/// Creates every valid row of `rows` (`(row number, input)`) inside `tx`.
pub async fn create_many_in(
    tx: &mut Conn,
    ctx: &TenantCtx,
    defs: &HashMap<String, Definition>,
    rows: Vec<(usize, CustomerInput)>,
) -> Result<Vec<RowResult>> {
    let mut prepared = Prepared::default();
    for (n, input) in rows {
        prepared.add(defs, n, input);
    }
    write(tx, ctx, prepared).await
}

/// Writes `p` inside `tx`: every prepared row whose identifiers no customer holds yet. The
/// results come in row order.
pub async fn write(tx: &mut Conn, ctx: &TenantCtx, mut p: Prepared) -> Result<Vec<RowResult>> {
    let lists: Vec<Vec<&str>> = p
        .identifiers
        .iter()
        .map(|s| s.iter().map(String::as_str).collect())
        .collect();
    let taken = store::bulk::existing_identifiers(tx, ctx, &lists[0], &lists[1], &lists[2]).await?;
    let mut results = std::mem::take(&mut p.refused);
    if !taken.is_empty() {
        let mut taken_sets: [HashSet<String>; 3] = Default::default();
        for (email, phone, ext) in taken {
            for (set, v) in taken_sets.iter_mut().zip([email, phone, ext]) {
                set.extend(v);
            }
        }
        drop_taken(&mut p, &taken_sets, &mut results);
    }
    store::bulk::insert_customers(tx, ctx, &p.customers).await?;
    store::bulk::insert_field_values(tx, ctx, &p.values).await?;
    store::bulk::insert_tags(tx, ctx, &p.tags).await?;
    store::bulk::insert_domain_events(tx, ctx, &p.events).await?;
    results.extend(p.numbers.into_iter().zip(p.customers).map(|(n, (id, _))| (n, Ok(id))));
    results.sort_by_key(|(n, _)| *n);
    Ok(results)
}

/// Refuses the prepared customers with an identifier in `taken`, and drops their rows.
fn drop_taken(p: &mut Prepared, taken: &[HashSet<String>; 3], results: &mut Vec<RowResult>) {
    let gone = p.split_off_sharing(taken);
    for ((_, fields), n) in gone.customers.iter().zip(gone.numbers) {
        if let Some(field) = clash(&identifiers(fields), taken) {
            results.push((n, Err(conflict(field))));
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::crm::customers::Patch;

    fn row(email: &str, external_id: Option<&str>, tags: &[&str]) -> CustomerInput {
        CustomerInput {
            email: Patch::Set(email.to_owned()),
            external_id: external_id.map_or(Patch::Keep, |e| Patch::Set(e.to_owned())),
            tags: Some(tags.iter().map(|t| t.to_string()).collect()),
            ..CustomerInput::default()
        }
    }

    #[test]
    fn customers_sharing_an_identifier_move_out_with_their_rows() {
        let defs = HashMap::new();
        let mut p = Prepared::default();
        p.add(&defs, 1, row("a@x.io", None, &["t"]));
        p.add(&defs, 2, row("b@x.io", Some("ext-b"), &["t", "u"]));
        p.add(&defs, 3, row("not an email", None, &[]));
        p.add(&defs, 4, row("c@x.io", None, &[]));
        let others: [HashSet<String>; 3] = [HashSet::new(), HashSet::new(), ["ext-b".to_owned()].into()];

        let moved = p.split_off_sharing(&others);
        assert_eq!((moved.numbers.clone(), p.numbers.clone()), (vec![2], vec![1, 4]));
        assert_eq!((moved.tags.len(), moved.events.len(), moved.refused.len()), (2, 1, 0));
        assert!(moved.tags.iter().all(|(c, _)| *c == moved.customers[0].0));
        assert_eq!(
            (p.tags.len(), p.events.len(), p.refused.len()),
            (1, 2, 1),
            "the refused row stays"
        );
        assert!(moved.identifiers[0].contains("b@x.io") && moved.identifiers[2].contains("ext-b"));
        assert!(!p.identifiers[0].contains("b@x.io") && p.identifiers[2].is_empty());
        assert!(p.identifiers[0].contains("a@x.io") && p.identifiers[0].contains("c@x.io"));
    }
}
