//! Customers: create, read, patch, upsert by any identifier, delete, list and search.

use std::collections::{BTreeMap, HashMap};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::custom_fields::{self, Definition};
use super::{tags, validate as v};
use crate::domain::{audit, outbox, page_limit, validate, DomainError, FieldError, Result};
use crate::ids::{CustomerId, PrefixedId};
use crate::state::AppState;
use crate::store::customer_details::Details;
use crate::store::customer_matches::Matches;
use crate::store::customers::{After, CustomerRow, FieldValueRow, Fields, ListQuery, Sort};
use crate::store::{self, sql::Sql, Backend, Conn};
use crate::tenancy::TenantCtx;

/// A field in a write: left alone, cleared (JSON null) or set.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Keep => current,
            Patch::Clear => None,
            Patch::Set(v) => Some(v),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct CustomerInput {
    pub email: Patch<String>,
    pub phone: Patch<String>,
    pub first_name: Patch<String>,
    pub last_name: Patch<String>,
    pub locale: Patch<String>,
    pub timezone: Patch<String>,
    pub external_id: Patch<String>,
    /// Merged into the stored values; a null value removes that field.
    pub custom_fields: Option<Map<String, Value>>,
    /// Replaces the customer's tags.
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Consent {
    pub status: String,
    pub source: Option<String>,
    pub keyword: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Customer {
    pub id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub external_id: Option<String>,
    pub custom_fields: Map<String, Value>,
    pub tags: Vec<String>,
    pub consent: BTreeMap<String, Consent>,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: i64,
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: i64,
}

pub fn rfc3339<S: serde::Serializer>(ms: &i64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339_text(*ms))
}

/// Epoch milliseconds as RFC 3339 text.
pub fn rfc3339_text(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Normalises and validates identifiers and names, reporting every bad field at once.
fn normalise(input: CustomerInput) -> (CustomerInput, Vec<FieldError>) {
    let mut errors = Vec::new();
    let mut check = |p: Patch<String>, f: &dyn Fn(&str) -> Result<String>| match p {
        Patch::Set(raw) if raw.trim().is_empty() => Patch::Clear,
        Patch::Set(raw) => match f(&raw) {
            Ok(v) => Patch::Set(v),
            Err(e) => {
                errors.extend(validate::errors_of::<String>(&Err(e)));
                Patch::Keep
            }
        },
        other => other,
    };
    let out = CustomerInput {
        email: check(input.email, &|r| validate::email("email", r)),
        phone: check(input.phone, &|r| v::phone("phone", r)),
        first_name: check(input.first_name, &|r| v::text("first_name", r, 200)),
        last_name: check(input.last_name, &|r| v::text("last_name", r, 200)),
        locale: check(input.locale, &|r| v::locale("locale", r)),
        timezone: check(input.timezone, &|r| v::timezone("timezone", r)),
        external_id: check(input.external_id, &|r| v::text("external_id", r, 200)),
        custom_fields: input.custom_fields,
        tags: input.tags,
    };
    (out, errors)
}

pub(super) fn merged(current: Option<&CustomerRow>, input: &CustomerInput) -> Fields {
    let cur = |f: fn(&CustomerRow) -> &Option<String>| current.and_then(|c| f(c).clone());
    Fields {
        email: input.email.clone().apply(cur(|c| &c.email)),
        phone: input.phone.clone().apply(cur(|c| &c.phone)),
        first_name: input.first_name.clone().apply(cur(|c| &c.first_name)),
        last_name: input.last_name.clone().apply(cur(|c| &c.last_name)),
        locale: input.locale.clone().apply(cur(|c| &c.locale)),
        timezone: input.timezone.clone().apply(cur(|c| &c.timezone)),
        external_id: input.external_id.clone().apply(cur(|c| &c.external_id)),
    }
}

fn validate_tags(list: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let t = v::tag(&format!("tags[{i}]"), t)?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// Everything checked before touching the database: fields, custom fields and tags.
pub(super) struct Checked {
    pub(super) input: CustomerInput,
    pub(super) fields_to_write: Vec<(String, Option<custom_fields::Stored>)>,
    pub(super) tags: Option<Vec<String>>,
}

pub(super) fn check(defs: &HashMap<String, Definition>, input: CustomerInput) -> Result<Checked> {
    let (input, mut errors) = normalise(input);
    let fields_to_write = match input
        .custom_fields
        .as_ref()
        .map(|cf| custom_fields::encode_all(defs, cf))
    {
        Some(Err(DomainError::Invalid(mut e))) => {
            errors.append(&mut e);
            Vec::new()
        }
        Some(Err(other)) => return Err(other),
        Some(Ok(w)) => w,
        None => Vec::new(),
    };
    let tags = match input.tags.as_deref().map(validate_tags).transpose() {
        Ok(t) => t,
        Err(DomainError::Invalid(mut e)) => {
            errors.append(&mut e);
            None
        }
        Err(other) => return Err(other),
    };
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    Ok(Checked {
        input,
        fields_to_write,
        tags,
    })
}

async fn write_fields(
    tx: &mut Conn,
    ctx: &TenantCtx,
    id: &CustomerId,
    writes: &[(String, Option<custom_fields::Stored>)],
) -> Result<()> {
    for (key, stored) in writes {
        match stored {
            Some(s) => store::customers::set_field_value(tx, ctx, id, key, s.text.as_deref(), s.num).await?,
            None => store::customers::delete_field_value(tx, ctx, id, key).await?,
        }
    }
    Ok(())
}

/// The custom field writes that change what a customer holds.
fn changed_values(
    held: &[FieldValueRow],
    mut writes: Vec<(String, Option<custom_fields::Stored>)>,
) -> Vec<(String, Option<custom_fields::Stored>)> {
    writes.retain(|(key, stored)| {
        let now = held.iter().find(|row| &row.field_key == key);
        match (stored, now) {
            (None, None) => false,
            (Some(s), Some(row)) => s.text != row.value_text || s.num != row.value_num,
            _ => true,
        }
    });
    writes
}

/// The custom field definitions a write checks its values against and a read decodes values
/// with: at hand, or read only when there are values to decode (most customers have none, and
/// a write that sets no custom field checks none), one round trip less.
#[derive(Clone, Copy)]
enum Definitions<'a> {
    AtHand(&'a HashMap<String, Definition>),
    WhenNeeded,
}

impl<'a> Definitions<'a> {
    /// For a write of `input`: `read` holds the definitions when it sets custom fields.
    async fn for_write(
        tx: &mut Conn,
        ctx: &TenantCtx,
        input: &CustomerInput,
        read: &'a mut Option<HashMap<String, Definition>>,
    ) -> Result<Self> {
        if input.custom_fields.is_none() {
            return Ok(Definitions::WhenNeeded);
        }
        Ok(Definitions::AtHand(
            read.insert(custom_fields::definitions(tx, ctx).await?),
        ))
    }

    /// [`check`]: without definitions at hand the input sets no custom field, so none are needed
    /// (and any it did set would be refused as unknown, never taken unchecked).
    fn check(self, input: CustomerInput) -> Result<Checked> {
        match self {
            Definitions::AtHand(defs) => check(defs, input),
            Definitions::WhenNeeded => check(&HashMap::new(), input),
        }
    }
}

/// Loads custom fields, tags and consent for rows, keeping their order.
pub async fn hydrate(tx: &mut Conn, ctx: &TenantCtx, rows: Vec<CustomerRow>) -> Result<Vec<Customer>> {
    hydrate_from(tx, ctx, Definitions::WhenNeeded, rows).await
}

async fn hydrate_from(
    tx: &mut Conn,
    ctx: &TenantCtx,
    defs: Definitions<'_>,
    rows: Vec<CustomerRow>,
) -> Result<Vec<Customer>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let details = store::customer_details::of_customers(tx, ctx, &ids).await?;
    hydrate_with(tx, ctx, defs, rows, details).await
}

/// [`hydrate_from`] with the rows' details read already.
async fn hydrate_with(
    tx: &mut Conn,
    ctx: &TenantCtx,
    defs: Definitions<'_>,
    rows: Vec<CustomerRow>,
    details: Details,
) -> Result<Vec<Customer>> {
    let read;
    let defs = match defs {
        Definitions::AtHand(defs) => defs,
        Definitions::WhenNeeded if details.values.is_empty() => {
            read = HashMap::new();
            &read
        }
        Definitions::WhenNeeded => {
            read = custom_fields::definitions(tx, ctx).await?;
            &read
        }
    };
    let mut fields = custom_fields::decode_rows(defs, &details.values);
    let mut tags: HashMap<String, Vec<String>> = HashMap::new();
    for (customer, tag) in details.tags {
        tags.entry(customer).or_default().push(tag);
    }
    let mut consent: HashMap<String, BTreeMap<String, Consent>> = HashMap::new();
    for c in details.consents {
        consent.entry(c.customer_id).or_default().insert(
            c.channel,
            Consent {
                status: c.status,
                source: c.source,
                keyword: c.keyword,
                updated_at: c.updated_at,
            },
        );
    }
    Ok(rows
        .into_iter()
        .map(|r| Customer {
            custom_fields: fields.remove(&r.id).unwrap_or_default(),
            tags: tags.remove(&r.id).unwrap_or_default(),
            consent: consent.remove(&r.id).unwrap_or_default(),
            id: r.id,
            email: r.email,
            phone: r.phone,
            first_name: r.first_name,
            last_name: r.last_name,
            locale: r.locale,
            timezone: r.timezone,
            external_id: r.external_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}

pub async fn load(tx: &mut Conn, ctx: &TenantCtx, id: &CustomerId) -> Result<Customer> {
    let row = store::customers::get(tx, ctx, id).await?;
    Ok(hydrate(tx, ctx, vec![row]).await?.remove(0))
}

/// Creates a customer inside `tx` (shared by the API, upserts, imports and event tracking).
pub async fn create_in(
    tx: &mut Conn,
    ctx: &TenantCtx,
    defs: &HashMap<String, Definition>,
    input: CustomerInput,
) -> Result<Customer> {
    create_from(tx, ctx, Definitions::AtHand(defs), input).await
}

async fn create_from(tx: &mut Conn, ctx: &TenantCtx, defs: Definitions<'_>, input: CustomerInput) -> Result<Customer> {
    let checked = defs.check(input)?;
    let row = store::customers::insert(tx, ctx, &CustomerId::generate(), &merged(None, &checked.input)).await?;
    created(tx, ctx, defs, row, checked).await
}

/// Writes what a new customer's row does not hold, and announces it: `row` is as inserted, and
/// nothing written after it changes the row, so it is not read again.
async fn created(
    tx: &mut Conn,
    ctx: &TenantCtx,
    defs: Definitions<'_>,
    row: CustomerRow,
    checked: Checked,
) -> Result<Customer> {
    let id = CustomerId::from_raw(row.id.clone());
    write_fields(tx, ctx, &id, &checked.fields_to_write).await?;
    if let Some(t) = &checked.tags {
        store::customer_tags::add(tx, ctx, id.as_str(), t).await?;
    }
    let customer = hydrate_from(tx, ctx, defs, vec![row]).await?.remove(0);
    outbox::emit(tx, ctx, outbox::CUSTOMER_CREATED, &json!(customer)).await?;
    audit::record(tx, ctx, "customer.created", "customer", id.as_str()).await?;
    Ok(customer)
}

/// Applies a patch inside `tx`.
async fn update_in(
    tx: &mut Conn,
    ctx: &TenantCtx,
    defs: Definitions<'_>,
    id: &CustomerId,
    input: CustomerInput,
) -> Result<Customer> {
    let checked = defs.check(input)?;
    let current = store::customers::get(tx, ctx, id).await?;
    update_row(tx, ctx, defs, current, None, checked).await
}

/// What applying a checked input to a customer read in `tx` would write.
struct UpdatePlan {
    current: CustomerRow,
    fields: Fields,
    field_writes: Vec<(String, Option<custom_fields::Stored>)>,
    /// Tags added and removed.
    tag_change: Option<(Vec<String>, Vec<String>)>,
    /// The customer's details, when read with it or for the change.
    held: Option<Details>,
}

impl UpdatePlan {
    /// Reads what the change is measured against (the customer's details: the custom field
    /// values and tags it holds) unless `held` has them, read with the customer, or the input
    /// sets neither.
    async fn read(
        tx: &mut Conn,
        ctx: &TenantCtx,
        current: CustomerRow,
        held: Option<Details>,
        checked: Checked,
    ) -> Result<Self> {
        let fields = merged(Some(&current), &checked.input);
        let held = match held {
            None if !checked.fields_to_write.is_empty() || checked.tags.is_some() => {
                Some(store::customer_details::of_customers(tx, ctx, &[current.id.as_str()]).await?)
            }
            held => held,
        };
        let (values, tags) = held
            .as_ref()
            .map_or((&[][..], &[][..]), |d| (&d.values[..], &d.tags[..]));
        let field_writes = changed_values(values, checked.fields_to_write);
        let mut tag_change = None;
        if let Some(wanted) = &checked.tags {
            let before: Vec<&String> = tags.iter().map(|(_, t)| t).collect();
            let added: Vec<String> = wanted.iter().filter(|t| !before.contains(t)).cloned().collect();
            let removed: Vec<String> = before.into_iter().filter(|t| !wanted.contains(t)).cloned().collect();
            tag_change = Some((added, removed)).filter(|(a, r)| !a.is_empty() || !r.is_empty());
        }
        Ok(Self {
            current,
            fields,
            field_writes,
            tag_change,
            held,
        })
    }

    /// The customer as it is, for a plan that changes nothing.
    async fn unchanged(self, tx: &mut Conn, ctx: &TenantCtx, defs: Definitions<'_>) -> Result<Customer> {
        let rows = vec![self.current];
        let mut customers = match self.held {
            Some(details) => hydrate_with(tx, ctx, defs, rows, details).await?,
            None => hydrate_from(tx, ctx, defs, rows).await?,
        };
        Ok(customers.remove(0))
    }

    /// A patch that changes nothing writes nothing: no new updated_at, no customer.updated for
    /// subscribers (shops resend the same buyer with every order).
    fn changes_nothing(&self) -> bool {
        self.fields == merged(Some(&self.current), &CustomerInput::default())
            && self.field_writes.is_empty()
            && self.tag_change.is_none()
    }
}

/// [`update_in`] of a customer already read in `tx` (with its details, when `held`), with its
/// input checked.
async fn update_row(
    tx: &mut Conn,
    ctx: &TenantCtx,
    defs: Definitions<'_>,
    current: CustomerRow,
    held: Option<Details>,
    checked: Checked,
) -> Result<Customer> {
    let plan = UpdatePlan::read(tx, ctx, current, held, checked).await?;
    if plan.changes_nothing() {
        return plan.unchanged(tx, ctx, defs).await;
    }
    let id = &CustomerId::from_raw(plan.current.id.clone());
    // As updated: the field values and tags written next do not change the row.
    let row = store::customers::update(tx, ctx, id, &plan.fields).await?;
    write_fields(tx, ctx, id, &plan.field_writes).await?;
    if let Some((added, removed)) = &plan.tag_change {
        tags::apply(tx, ctx, id.as_str(), added, removed).await?;
    }
    let customer = hydrate_from(tx, ctx, defs, vec![row]).await?.remove(0);
    outbox::emit(tx, ctx, outbox::CUSTOMER_UPDATED, &json!(customer)).await?;
    audit::record(tx, ctx, "customer.updated", "customer", id.as_str()).await?;
    Ok(customer)
}

pub async fn create(state: &AppState, ctx: &TenantCtx, input: CustomerInput) -> Result<Customer> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let mut read = None;
    let defs = Definitions::for_write(&mut tx, ctx, &input, &mut read).await?;
    let customer = create_from(&mut tx, ctx, defs, input).await?;
    tx.commit().await?;
    Ok(customer)
}

pub async fn get(state: &AppState, ctx: &TenantCtx, id: &CustomerId) -> Result<Customer> {
    let mut read = state.store.tenant_read(ctx).await?;
    let customer = load(&mut read, ctx, id).await?;
    read.commit().await?;
    Ok(customer)
}

pub async fn update(state: &AppState, ctx: &TenantCtx, id: &CustomerId, input: CustomerInput) -> Result<Customer> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let mut read = None;
    let defs = Definitions::for_write(&mut tx, ctx, &input, &mut read).await?;
    let customer = update_in(&mut tx, ctx, defs, id, input).await?;
    tx.commit().await?;
    Ok(customer)
}

/// Whether an upsert created or updated.
pub enum Upserted {
    Created(Customer),
    Updated(Customer),
}

/// The email, phone and external id an upsert matches by (normalised); at least one.
fn identifiers(input: &CustomerInput) -> Result<[Option<String>; 3]> {
    let (normal, errors) = normalise(input.clone());
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    let set = |p: Patch<String>| match p {
        Patch::Set(v) => Some(v),
        _ => None,
    };
    let ids = [set(normal.email), set(normal.phone), set(normal.external_id)];
    if ids.iter().all(Option::is_none) {
        return Err(DomainError::invalid(
            "email",
            "an upsert needs email, phone or external_id",
        ));
    }
    Ok(ids)
}

async fn find_matches(tx: &mut Conn, ctx: &TenantCtx, input: &CustomerInput) -> Result<Matches> {
    let [email, phone, external_id] = identifiers(input)?;
    Ok(store::customer_matches::find(tx, ctx, email.as_deref(), phone.as_deref(), external_id.as_deref()).await?)
}

/// Finds the customer by any identifier given and merges into it, or creates one.
pub async fn upsert_in(
    tx: &mut Conn,
    ctx: &TenantCtx,
    defs: &HashMap<String, Definition>,
    input: CustomerInput,
) -> Result<Upserted> {
    upsert_from(tx, ctx, Definitions::AtHand(defs), input).await
}

async fn upsert_from(tx: &mut Conn, ctx: &TenantCtx, defs: Definitions<'_>, input: CustomerInput) -> Result<Upserted> {
    let mut matches = find_matches(tx, ctx, &input).await?;
    if matches.rows.is_empty() {
        let checked = defs.check(input.clone())?;
        let fields = merged(None, &checked.input);
        match store::customers::insert_unless_taken(tx, ctx, &CustomerId::generate(), &fields).await? {
            Some(row) => return Ok(Upserted::Created(created(tx, ctx, defs, row, checked).await?)),
            // Another transaction created a customer with one of these identifiers since the
            // look above (two webhooks about one new buyer): merge into it as if it had been
            // there. In PostgreSQL's READ COMMITTED each statement sees what committed before it.
            None => matches = find_matches(tx, ctx, &input).await?,
        }
    }
    match matches.rows.len() {
        1 => {
            let checked = defs.check(input)?;
            let current = matches.rows.remove(0);
            Ok(Upserted::Updated(
                update_row(tx, ctx, defs, current, Some(matches.details), checked).await?,
            ))
        }
        // The customer that took an identifier was deleted as soon as it was made.
        0 => Err(DomainError::Conflict {
            field: None,
            message: "another request changed the customer with these identifiers meanwhile; try again".into(),
        }),
        _ => Err(DomainError::Conflict {
            field: None,
            message: "the identifiers given belong to different customers".into(),
        }),
    }
}

/// The customer an upsert of `input` matches, when applying it would change nothing, read
/// without writing; `None` when the upsert has something to write or to refuse (it says what
/// when run). Lets a caller keep an upsert that only confirms a customer (a shop's buyer sent
/// again with every order) out of a write transaction.
pub async fn upsert_unchanged(conn: &mut Conn, ctx: &TenantCtx, input: &CustomerInput) -> Result<Option<Customer>> {
    let Ok(mut matches) = find_matches(conn, ctx, input).await else {
        return Ok(None);
    };
    if matches.rows.len() != 1 {
        return Ok(None);
    }
    let mut read = None;
    let defs = Definitions::for_write(conn, ctx, input, &mut read).await?;
    let Ok(checked) = defs.check(input.clone()) else {
        return Ok(None);
    };
    let current = matches.rows.remove(0);
    let plan = UpdatePlan::read(conn, ctx, current, Some(matches.details), checked).await?;
    if !plan.changes_nothing() {
        return Ok(None);
    }
    Ok(Some(plan.unchanged(conn, ctx, defs).await?))
}

pub async fn upsert(state: &AppState, ctx: &TenantCtx, input: CustomerInput) -> Result<Upserted> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    let result = upsert_on(&mut tx, ctx, input).await?;
    tx.commit().await?;
    Ok(result)
}

/// [`upsert_in`], reading the custom field definitions when it needs them.
pub async fn upsert_on(tx: &mut Conn, ctx: &TenantCtx, input: CustomerInput) -> Result<Upserted> {
    let mut read = None;
    let defs = Definitions::for_write(tx, ctx, &input, &mut read).await?;
    upsert_from(tx, ctx, defs, input).await
}

pub async fn delete(state: &AppState, ctx: &TenantCtx, id: &CustomerId) -> Result<()> {
    let mut tx = state.store.tenant_tx(ctx).await?;
    store::customers::delete(&mut tx, ctx, id).await?;
    outbox::emit(&mut tx, ctx, outbox::CUSTOMER_DELETED, &json!({"id": id})).await?;
    audit::record(&mut tx, ctx, "customer.deleted", "customer", id.as_str()).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub after: Option<String>,
    pub limit: Option<u32>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub tag: Option<String>,
    pub q: Option<String>,
    /// `key:value`, an exact match on a custom field's text value.
    pub field: Option<String>,
    pub segment: Option<Sql>,
}

pub struct Page {
    pub customers: Vec<Customer>,
    pub next_cursor: Option<String>,
}

fn encode_cursor(after: &After) -> String {
    let v = match after {
        After::Created(id) => json!(["c", id]),
        After::Updated(at, id) => json!(["u", at, id]),
        After::Name(name, id) => json!(["n", name, id]),
    };
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn decode_cursor(sort: Sort, raw: &str) -> Result<After> {
    let bad = || DomainError::invalid("after", "is not a cursor from this list");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let s = |i: usize| v[i].as_str().map(str::to_owned).ok_or_else(bad);
    match (sort, v[0].as_str()) {
        (Sort::Created, Some("c")) => Ok(After::Created(s(1)?)),
        (Sort::Updated, Some("u")) => Ok(After::Updated(v[1].as_i64().ok_or_else(bad)?, s(2)?)),
        (Sort::Name, Some("n")) => Ok(After::Name(s(1)?, s(2)?)),
        _ => Err(bad()),
    }
}

pub fn parse_list(params: ListParams) -> Result<ListQuery> {
    let sort = match params.sort.as_deref() {
        None | Some("created") => Sort::Created,
        Some("updated") => Sort::Updated,
        Some("name") => Sort::Name,
        Some(_) => return Err(DomainError::invalid("sort", "must be created, updated or name")),
    };
    let descending = match params.order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(DomainError::invalid("order", "must be asc or desc")),
    };
    let field = match params.field.as_deref() {
        None => None,
        Some(f) => match f.split_once(':') {
            Some((k, v)) if !k.is_empty() => Some((k.to_owned(), v.to_owned())),
            _ => return Err(DomainError::invalid("field", "must be key:value")),
        },
    };
    Ok(ListQuery {
        sort,
        descending,
        after: params.after.as_deref().map(|a| decode_cursor(sort, a)).transpose()?,
        until: None,
        limit: page_limit(params.limit),
        tag: params.tag,
        search: params
            .q
            .as_deref()
            .map(store::customers::search_words)
            .unwrap_or_default(),
        field,
        segment: params.segment,
    })
}

pub async fn list(state: &AppState, ctx: &TenantCtx, params: ListParams) -> Result<Page> {
    let mut read = state.store.tenant_read(ctx).await?;
    let page = list_on(&mut read, ctx, state.store.backend(), params).await?;
    read.commit().await?;
    Ok(page)
}

/// [`list`] on a connection the caller holds.
pub async fn list_on(conn: &mut Conn, ctx: &TenantCtx, backend: Backend, params: ListParams) -> Result<Page> {
    let query = parse_list(params)?;
    let rows = store::customers::list(conn, ctx, backend, &query).await?;
    let next_cursor = (rows.len() as i64 == query.limit)
        .then(|| rows.last())
        .flatten()
        .map(|last| {
            encode_cursor(&match query.sort {
                Sort::Created => After::Created(last.row.id.clone()),
                Sort::Updated => After::Updated(last.row.updated_at, last.row.id.clone()),
                Sort::Name => After::Name(last.sort_name.clone(), last.row.id.clone()),
            })
        });
    let customers = hydrate(conn, ctx, rows.into_iter().map(|r| r.row).collect()).await?;
    Ok(Page { customers, next_cursor })
}
