//! The host functions' tenant side: each call acts for the installing tenant through the same
//! domain functions the API uses, so validation, outbox events and audit apply to plugins too.

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use super::dispatch::FollowUp;
use super::kv_view::{self, KvView, Lookup};
use super::run_writes::{HeldConnection, RunTx, RunWrites, BROKEN};
use crate::domain::crm::customers::{self, CustomerInput as DomainInput, ListParams, Patch};
use crate::domain::crm::{events, tags};
use crate::domain::messages::{self, SendError};
use crate::domain::DomainError;
use crate::ids::{CustomerId, PrefixedId};
use crate::plugins::bindings::{Channel, Customer, CustomerInput, HostError, HttpResponse, Message, OutgoingRequest};
use crate::plugins::manifest::is_event_type;
use crate::plugins::{HostApi, HostResult};
use crate::providers::email::SendError as ProviderError;
use crate::state::AppState;
use crate::store::{self, now_ms, Backend, Conn, StoreError};
use crate::tenancy::TenantCtx;

/// Longest KV key, and most keys one list returns.
const MAX_KEY: usize = 512;
const MAX_LIST: u32 = 1000;
/// Longest a KV entry may be kept by `kv-put-expiring` (90 days).
const MAX_TTL_MS: u64 = 90 * 24 * 3600 * 1000;
/// Largest response body `http-fetch` hands back.
const MAX_FETCH_BYTES: usize = 1 << 20;

/// Longest a follow-up may be scheduled ahead (a year), most follow-ups one run may schedule,
/// and the largest follow-up payload.
const MAX_DELAY_MS: u64 = 366 * 24 * 3600 * 1000;
const MAX_FOLLOW_UPS: usize = 100;
const MAX_FOLLOW_UP_BYTES: usize = 64 * 1024;

/// The follow-ups a run scheduled, handed back to the caller once the run ended.
#[derive(Clone, Default)]
pub struct FollowUps(Arc<Mutex<Vec<FollowUp>>>);

impl FollowUps {
    pub fn take(&self) -> Vec<FollowUp> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn push(&self, f: FollowUp) -> HostResult<()> {
        let mut list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if list.len() >= MAX_FOLLOW_UPS {
            return Err(HostError::Quota(format!("at most {MAX_FOLLOW_UPS} follow-ups per run")));
        }
        list.push(f);
        Ok(())
    }
}

pub struct TenantHost {
    state: Arc<AppState>,
    ctx: TenantCtx,
    installation: String,
    /// The id of what started the run (event, follow-up, request): with a counter, the key of
    /// each message the run sends, the same when the run is retried.
    origin: String,
    sent: u32,
    follow_ups: FollowUps,
    writes: RunWrites,
    kv: KvView,
    held: HeldConnection,
    runtime: tokio::runtime::Handle,
}

impl From<DomainError> for HostError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound => HostError::NotFound,
            DomainError::Invalid(fields) => HostError::Invalid(
                fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            DomainError::Conflict { message, .. } => HostError::Invalid(message),
            other => {
                tracing::error!(error = %other, "plugin host call failed");
                HostError::Unavailable("internal error".into())
            }
        }
    }
}

impl From<StoreError> for HostError {
    fn from(e: StoreError) -> Self {
        DomainError::from(e).into()
    }
}

/// Runs `f` at the run's moving savepoint: when it fails, what it wrote is undone and the
/// transaction goes on (or, when even that fails, the run is broken).
async fn host_call<T>(run: &mut RunTx, f: impl AsyncFnOnce(&mut Conn) -> HostResult<T>) -> HostResult<T> {
    if let Err(e) = run.mark.set(&mut run.tx).await {
        run.broken = true;
        return Err(e.into());
    }
    let result = f(&mut run.tx).await;
    if result.is_err() && run.mark.undo(&mut run.tx).await.is_err() {
        run.broken = true;
    }
    result
}

fn to_wit(c: customers::Customer) -> Customer {
    Customer {
        id: c.id,
        email: c.email,
        phone: c.phone,
        first_name: c.first_name,
        last_name: c.last_name,
        external_id: c.external_id,
        tags: c.tags,
        custom_fields: Value::Object(c.custom_fields).to_string(),
    }
}

fn json_object(field: &str, text: &str) -> HostResult<Map<String, Value>> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(HostError::Invalid(format!("{field} must be a JSON object"))),
    }
}

/// When an entry put at `now` for `ttl_ms` expires.
fn expiry(now: i64, ttl_ms: u64) -> HostResult<i64> {
    if ttl_ms == 0 || ttl_ms > MAX_TTL_MS {
        return Err(HostError::Invalid(format!("ttl-ms is 1 to {MAX_TTL_MS}")));
    }
    Ok(now + ttl_ms as i64)
}

fn check_key(key: &str) -> HostResult<()> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(HostError::Invalid(format!("keys are 1 to {MAX_KEY} bytes")));
    }
    Ok(())
}

impl TenantHost {
    pub fn new(
        state: Arc<AppState>,
        ctx: TenantCtx,
        installation: String,
        origin: String,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        Self {
            state,
            ctx,
            installation,
            origin,
            sent: 0,
            follow_ups: FollowUps::default(),
            writes: RunWrites::default(),
            kv: KvView::default(),
            held: HeldConnection::default(),
            runtime,
        }
    }

    /// The follow-ups this host's run schedules, to read after the run.
    pub fn follow_ups(&self) -> FollowUps {
        self.follow_ups.clone()
    }

    /// The run's writes, to commit with its record after the run.
    pub fn writes(&self) -> RunWrites {
        self.writes.clone()
    }

    /// The connection the run holds when it has not written, for its record.
    pub fn held(&self) -> HeldConnection {
        self.held.clone()
    }

    /// Commits what the run wrote so far. Before a call that waits on the network, so no write
    /// lock is held meanwhile (nor wanted by that call's own transaction).
    pub fn commit_writes(&self) -> HostResult<()> {
        // That call takes a connection of its own.
        drop(self.held.take());
        if let Some(run) = self.open_writes()? {
            self.block(run.tx.commit()).map_err(StoreError::from)?;
        }
        Ok(())
    }

    /// The run's open transaction, if it wrote; an error when a fault broke it, which stays
    /// for the run's record to fail the run.
    fn open_writes(&self) -> HostResult<Option<RunTx>> {
        match self.writes.take() {
            Some(run) if run.broken => {
                self.writes.put(run);
                Err(HostError::Unavailable(BROKEN.into()))
            }
            open => Ok(open),
        }
    }

    /// Runs `f` on the run's transaction when the run wrote already, so it reads its own
    /// writes; else on a read-only unit of its own.
    fn reading<T>(&self, f: impl AsyncFnOnce(&mut Conn) -> HostResult<T>) -> HostResult<T> {
        self.read(Alone::Transaction, f)
    }

    /// [`Self::reading`] for one statement on the run's own KV namespace: alone, it runs in
    /// autocommit (as [`store::Store::autocommit_read`] does) on the run's held connection,
    /// one round trip where a read-only transaction takes three; the statement's tenant and
    /// installation are the wall.
    /// Measured over 10 KV gets answered by one snapshot read: 419–465 → 254–266 µs a call on
    /// PostgreSQL.
    fn reading_kv<T>(&self, f: impl AsyncFnOnce(&mut Conn) -> HostResult<T>) -> HostResult<T> {
        self.read(Alone::Autocommit, f)
    }

    fn read<T>(&self, alone: Alone, f: impl AsyncFnOnce(&mut Conn) -> HostResult<T>) -> HostResult<T> {
        if let Some(mut run) = self.open_writes()? {
            let result = self.block(f(&mut run.tx));
            self.writes.put(run);
            return result;
        }
        self.block(async {
            match alone {
                Alone::Transaction => {
                    // Never wait for a connection while holding one.
                    drop(self.held.take());
                    let mut read = self.state.store.tenant_read(&self.ctx).await?;
                    let value = f(&mut read).await?;
                    read.commit().await?;
                    Ok(value)
                }
                Alone::Autocommit => {
                    let mut conn = match self.held.take() {
                        Some(conn) => conn,
                        None => self.state.store.connection().await?,
                    };
                    let value = f(&mut conn).await;
                    // A connection that failed goes back to the pool, whose ping tells if it
                    // still works.
                    if value.is_ok() {
                        self.held.put(conn);
                    }
                    value
                }
            }
        })
    }

    /// Runs `f` as a host call of the run's transaction, which the first write opens.
    fn writing<T>(&self, writes: Writes, f: impl AsyncFnOnce(&mut Conn) -> HostResult<T>) -> HostResult<T> {
        let open = self.open_writes()?;
        self.block(async {
            let Some(mut run) = open else {
                // The run's first write needs no savepoint: when it fails, the transaction it
                // opened holds nothing else and is rolled back whole.
                let mut tx = self.state.store.tenant_tx_with(self.held.take(), &self.ctx).await?;
                return match f(&mut tx).await {
                    Ok(value) => {
                        self.writes.put(RunTx::new(tx));
                        Ok(value)
                    }
                    Err(e) => {
                        tx.rollback().await.map_err(StoreError::from)?;
                        Err(e)
                    }
                };
            };
            let backend = self.state.store.backend();
            let result = if writes.savepoint(backend) {
                host_call(&mut run, f).await
            } else {
                let result = f(&mut run.tx).await;
                if result.is_err() && backend == Backend::Postgres {
                    run.check().await;
                }
                result
            };
            self.writes.put(run);
            result
        })
    }

    /// On SQLite, before the run's first write: the customer an upsert of `input` would leave
    /// as it is, read outside the write transaction, so that its reads do not hold the one
    /// writer's turn (a shop's buyer comes again with every order). PostgreSQL's writers do not
    /// queue, and a read transaction of its own would cost it two more round trips.
    fn confirmed(&self, input: &DomainInput) -> HostResult<Option<customers::Customer>> {
        if self.state.store.backend() != Backend::Sqlite || self.writes.is_open() {
            return Ok(None);
        }
        self.reading(async |conn| Ok(customers::upsert_unchanged(conn, &self.ctx, input).await?))
    }

    /// Takes the run's KV snapshot on its first KV access, unless the namespace was too large
    /// for one lately.
    fn load_kv(&mut self) -> HostResult<()> {
        if self.kv.is_loaded() {
            return Ok(());
        }
        let large = &self.state.plugins.kv_large;
        if large.contains_key(&self.installation) {
            self.kv.skip_snapshot();
            return Ok(());
        }
        let rows = self.reading_kv(async |conn| {
            Ok(store::plugin_kv::snapshot(
                conn,
                &self.ctx,
                &self.installation,
                kv_view::SNAPSHOT_KEYS + 1,
                kv_view::INLINE_BYTES,
                now_ms(),
            )
            .await?)
        })?;
        self.kv.load(rows);
        if !self.kv.is_complete() {
            large.insert(self.installation.clone(), ());
        }
        Ok(())
    }

    fn block<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(f)
    }
}

/// What a host call writes, for whether it must start at a savepoint. A call of one statement
/// needs none: on SQLite a statement that fails leaves nothing and the rest of the transaction
/// stands; on PostgreSQL it aborts the transaction and so breaks the run ([`RunTx::broken`]),
/// which is why such a statement must fail only on the database's faults, not on the call's
/// input. Each savepoint saved is a round trip (on SQLite in the one writer's turn).
#[derive(Clone, Copy)]
enum Writes {
    /// Any number of statements: one failing must undo the others.
    Any,
    /// One statement, on both databases: what the call runs before it writes nothing.
    Last,
    /// One statement on PostgreSQL, which chains the call's writes; several on SQLite.
    LastOnPostgres,
}

impl Writes {
    fn savepoint(self, backend: Backend) -> bool {
        match self {
            Writes::Any => true,
            Writes::Last => false,
            Writes::LastOnPostgres => backend == Backend::Sqlite,
        }
    }
}

/// How a read runs when the run has not written yet.
enum Alone {
    /// A read-only transaction for the tenant (on PostgreSQL with row-level security).
    Transaction,
    /// One statement in autocommit.
    Autocommit,
}

impl HostApi for TenantHost {
    fn kv_get(&mut self, key: &str) -> HostResult<Option<Vec<u8>>> {
        check_key(key)?;
        self.load_kv()?;
        match self.kv.lookup(key) {
            Lookup::Found(value) => return Ok(Some(value.to_vec())),
            Lookup::Absent => return Ok(None),
            Lookup::Unknown => {}
        }
        let value = self.reading_kv(async |conn| {
            Ok(store::plugin_kv::get(conn, &self.ctx, &self.installation, key, now_ms()).await?)
        })?;
        self.kv.remember(key, value.as_deref());
        Ok(value)
    }

    fn kv_put(&mut self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> HostResult<()> {
        check_key(key)?;
        let now = now_ms();
        let expires_at = ttl_ms.map(|ttl| expiry(now, ttl)).transpose()?;
        let quota = self.state.plugins.kv_quota_bytes as i64;
        let bytes = (key.len() + value.len()) as i64;
        let usage = &self.state.plugins.kv_usage;
        self.writing(Writes::Last, async |tx| {
            let (ctx, installation) = (&self.ctx, self.installation.as_str());
            if !usage.has_room(installation, bytes, quota) {
                // The stored total counts expired entries until they are pruned: only when it
                // is over are the live ones summed, the entry the put replaces taken out.
                let stored = store::plugin_kv::stored_bytes(tx, ctx, installation).await?;
                usage.read(installation, stored);
                if stored + bytes > quota {
                    let live = store::plugin_kv::live_bytes(tx, ctx, installation, now).await?;
                    let replaced = store::plugin_kv::get(tx, ctx, installation, key, now)
                        .await?
                        .map_or(0, |old| key.len() + old.len());
                    if live - replaced as i64 + bytes > quota {
                        return Err(HostError::Quota(format!("the KV store is limited to {quota} bytes")));
                    }
                }
            }
            store::plugin_kv::put(tx, ctx, installation, (key, value), expires_at).await?;
            usage.put(installation, bytes);
            Ok(())
        })?;
        self.kv.remember(key, Some(value));
        Ok(())
    }

    fn kv_delete(&mut self, key: &str) -> HostResult<()> {
        check_key(key)?;
        self.writing(Writes::Last, async |tx| {
            Ok(store::plugin_kv::delete(tx, &self.ctx, &self.installation, key).await?)
        })?;
        self.kv.remember(key, None);
        Ok(())
    }

    fn kv_list(&mut self, prefix: &str, after: Option<&str>, limit: u32) -> HostResult<Vec<String>> {
        let limit = limit.clamp(1, MAX_LIST) as i64;
        self.load_kv()?;
        if let Some(keys) = self.kv.list(prefix, after.unwrap_or(""), limit as usize) {
            return Ok(keys);
        }
        self.reading_kv(async |conn| {
            let after = after.unwrap_or("");
            Ok(store::plugin_kv::list(conn, &self.ctx, &self.installation, prefix, after, limit, now_ms()).await?)
        })
    }

    fn customer_get(&mut self, id: &str) -> HostResult<Option<Customer>> {
        // An id of another tenant, or no id at all, is simply no customer.
        let Some(id) = CustomerId::parse(id) else {
            return Ok(None);
        };
        self.reading(async |conn| match customers::load(conn, &self.ctx, &id).await {
            Ok(c) => Ok(Some(to_wit(c))),
            Err(DomainError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        })
    }

    fn customer_search(&mut self, query: &str, limit: u32) -> HostResult<Vec<Customer>> {
        let params = ListParams {
            q: Some(query.to_owned()),
            limit: Some(limit.clamp(1, 100)),
            ..ListParams::default()
        };
        let backend = self.state.store.backend();
        let page = self.reading(async |conn| Ok(customers::list_on(conn, &self.ctx, backend, params).await?))?;
        Ok(page.customers.into_iter().map(to_wit).collect())
    }

    fn customer_upsert(&mut self, input: CustomerInput) -> HostResult<Customer> {
        let set = |v: Option<String>| v.map(Patch::Set).unwrap_or_default();
        let custom_fields = input
            .custom_fields
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| json_object("custom-fields", s))
            .transpose()?;
        let domain = DomainInput {
            email: set(input.email),
            phone: set(input.phone),
            first_name: set(input.first_name),
            last_name: set(input.last_name),
            external_id: set(input.external_id),
            custom_fields,
            ..DomainInput::default()
        };
        let customer = match self.confirmed(&domain)? {
            Some(customer) => customer,
            None => match self.writing(Writes::Any, async |tx| {
                Ok(customers::upsert_on(tx, &self.ctx, domain).await?)
            })? {
                customers::Upserted::Created(c) | customers::Upserted::Updated(c) => c,
            },
        };
        if !input.tags.is_empty() {
            self.tag(&customer.id.clone(), input.tags, Vec::new())?;
            return self.customer_get(&customer.id)?.ok_or(HostError::NotFound);
        }
        Ok(to_wit(customer))
    }

    fn tag(&mut self, customer_id: &str, add: Vec<String>, remove: Vec<String>) -> HostResult<()> {
        let id = CustomerId::parse(customer_id).ok_or(HostError::NotFound)?;
        self.writing(Writes::Any, async |tx| {
            Ok(tags::tag_customer(tx, &self.ctx, &id, &add, &remove).await?)
        })?;
        Ok(())
    }

    fn track_event(&mut self, customer_id: &str, event_type: &str, properties: &str) -> HostResult<()> {
        let id = CustomerId::parse(customer_id).ok_or(HostError::NotFound)?;
        let track = events::Track {
            event_type: event_type.to_owned(),
            properties: json_object("properties", properties)?,
            occurred_at: None,
        };
        self.writing(Writes::LastOnPostgres, async |tx| {
            Ok(events::track_in(tx, &self.ctx, &id, track).await?)
        })?;
        Ok(())
    }

    fn send_message(&mut self, message: Message) -> HostResult<String> {
        let customer = CustomerId::parse(&message.customer_id).ok_or(HostError::NotFound)?;
        self.commit_writes()?;
        self.sent += 1;
        let key = format!("plugin/{}/{}/{}", self.installation, self.origin, self.sent);
        let out = messages::Message {
            channel: match message.channel {
                Channel::Email => messages::Channel::Email,
                Channel::Sms => messages::Channel::Sms,
            },
            customer: &customer,
            subject: message.subject.as_deref(),
            body: &message.body,
            key: &key,
        };
        self.block(messages::send(&self.state, &self.ctx, out))
            .map_err(|e| match e {
                SendError::NoConsent(_) => HostError::Denied(e.to_string()),
                SendError::NoAddress(_) | SendError::NoSubject => HostError::Invalid(e.to_string()),
                SendError::Provider(ProviderError::Refused(_)) => HostError::Invalid(e.to_string()),
                SendError::Provider(ProviderError::Unavailable(_)) => HostError::Unavailable(e.to_string()),
                SendError::Domain(e) => e.into(),
            })
    }

    fn http_fetch(&mut self, request: OutgoingRequest) -> HostResult<HttpResponse> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| HostError::Invalid(format!("bad method {:?}", request.method)))?;
        self.commit_writes()?;
        let mut builder = self.state.plugins.http.request(method, &request.url).body(request.body);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        self.block(async {
            let mut response = builder
                .send()
                .await
                .map_err(|e| HostError::Unavailable(format!("request failed: {e}")))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect();
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| HostError::Unavailable(format!("reading the response failed: {e}")))?
            {
                if body.len() + chunk.len() > MAX_FETCH_BYTES {
                    return Err(HostError::Quota(format!(
                        "responses are limited to {MAX_FETCH_BYTES} bytes"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(HttpResponse { status, headers, body })
        })
    }

    fn schedule(&mut self, delay_ms: u64, event_type: &str, data: &str) -> HostResult<()> {
        if delay_ms > MAX_DELAY_MS {
            return Err(HostError::Invalid(format!("delay-ms must be at most {MAX_DELAY_MS}")));
        }
        if !is_event_type(event_type) {
            return Err(HostError::Invalid(
                "event-type must be 1 to 100 of a-z, A-Z, 0-9, '.', '_', '-' and ':'".into(),
            ));
        }
        if data.len() > MAX_FOLLOW_UP_BYTES || serde_json::from_str::<Value>(data).is_err() {
            return Err(HostError::Invalid(format!(
                "data must be JSON of at most {MAX_FOLLOW_UP_BYTES} bytes"
            )));
        }
        self.follow_ups.push(FollowUp {
            delay_ms,
            event_type: event_type.to_owned(),
            data: data.to_owned(),
        })
    }
}
