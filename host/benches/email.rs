//! Campaign sending at scale, printed (not asserted): BENCH_RECIPIENTS customers (default
//! 100,000; 1,000,000 for the full figure) seeded through bulk inserts, one campaign to all of
//! them through the real Resend client against a loopback server that answers at once.
//! Prints emails/s from "send" to "all handed to the provider" and the process's peak RSS. The
//! server (with its outbox relay) runs meanwhile, as in use; the bench then prints how many of
//! the send's domain events the relay still had to hand on, and waits until it has.
//!
//! Then loads the tracking endpoints (open pixel, click redirect) of the sent messages through
//! the real HTTP server for BENCH_TRACKING_REQUESTS requests each (default 50,000) from
//! BENCH_TRACKING_CLIENTS concurrent clients (default 64) and prints requests/s; when `wrk` is
//! installed (`apt-get install wrk`), also what it drives for 5 s from a process of its own.
//!
//! Each backend runs in a process of its own, so each peak RSS is that backend's alone.
//!
//!     cargo bench -p switchboard-host --bench email
//!     BENCH_RECIPIENTS=1000000 BENCH_BACKENDS=sqlite cargo bench -p switchboard-host --bench email

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::{Data, Json};
use poem::{handler, post, EndpointExt, Route, Server};
use serde::de::IgnoredAny;
use serde_json::{json, Value};
use switchboard::config::Config;
use switchboard::domain::campaigns::{self, tracking, CampaignInput};
use switchboard::domain::tenants::{self, NewTenant};
use switchboard::ids::{EmailSenderId, PrefixedId, TenantId, UserId};
use switchboard::jobs::Workers;
use switchboard::state::AppState;
use switchboard::store::sql::Sql;
use switchboard::store::statistics::Grown;
use switchboard::store::{now_ms, outbox_cursor};
use switchboard::tenancy::{Actor, TenantCtx};

mod common;

/// Rows per seeding statement.
const SEED_CHUNK: usize = 500;

/// Answers Resend's batch endpoint at once, counting emails (keeping none of them), with a random
/// id per email as Resend gives (so the ids land where real ones would in their index).
#[handler]
fn batch(body: Json<Vec<IgnoredAny>>, count: Data<&Arc<AtomicUsize>>) -> Json<Value> {
    count.fetch_add(body.0.len(), Ordering::Relaxed);
    let ids: Vec<Value> = (0..body.0.len())
        .map(|_| json!({"id": uuid::Uuid::new_v4().to_string()}))
        .collect();
    Json(json!({ "data": ids }))
}

async fn fake_resend() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
    let addr = acceptor.local_addr()[0].as_socket_addr().copied().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let app = Route::new().at("/emails/batch", post(batch)).data(count.clone());
    tokio::spawn(async move { Server::new_with_acceptor(acceptor).run(app).await });
    (format!("http://{addr}"), count)
}

async fn seed(state: &AppState, ctx: &TenantCtx, n: usize) {
    let mut tx = state.store.tenant_tx(ctx).await.expect("tx");
    let now = now_ms();
    for start in (0..n).step_by(SEED_CHUNK) {
        let end = (start + SEED_CHUNK).min(n);
        let mut customers = Sql::new(
            "INSERT INTO customers (id, tenant_id, email, first_name, sort_name, search_text, created_at, updated_at) VALUES ",
        );
        let mut tags = Sql::new("INSERT INTO customer_tags (tenant_id, customer_id, tag) VALUES ");
        for i in start..end {
            let id = format!("cus_{i:032x}");
            let sep = if i == start { "(" } else { ", (" };
            customers
                .push(sep)
                .bind(id.as_str())
                .push(", ")
                .bind(ctx.tenant_id.as_str())
                .push(", ")
                .bind(format!("r{i}@bench.test"))
                .push(", ")
                .bind(format!("R{i}"))
                .push(", '', '', ")
                .bind(now)
                .push(", ")
                .bind(now)
                .push(")");
            tags.push(sep)
                .bind(ctx.tenant_id.as_str())
                .push(", ")
                .bind(id.as_str())
                .push(", 'all')");
        }
        customers.execute(&mut tx).await.expect("customers");
        tags.execute(&mut tx).await.expect("tags");
    }
    tx.commit().await.expect("commit");
    state.store.refresh_statistics(Grown::Crm).await.expect("statistics");
}

async fn run(backend: &str, n: usize) {
    let (base_url, delivered) = fake_resend().await;
    let config = Config {
        database_url: common::database_url(backend).await,
        resend_base_url: base_url,
        resend_api_key: Some("re_bench".to_owned().into()),
        job_workers: 0,
        ..Config::default()
    };
    let state: Arc<AppState> = AppState::start(config).await.expect("state");
    let created = tenants::create(
        &state,
        NewTenant {
            tenant_name: "Bench",
            email: &format!("email-bench-{backend}@example.com"),
            password: "bench password 1",
        },
        None,
    )
    .await
    .expect("tenant");
    let ctx = TenantCtx::new(
        TenantId::parse(&created.tenant.id).expect("tenant id"),
        Actor::User(UserId::parse(&created.owner.id).expect("user id")),
        None,
    );
    let started = Instant::now();
    seed(&state, &ctx, n).await;
    println!(
        "[{backend}] seeded {n} customers in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let input = CampaignInput {
        name: "Bench".into(),
        from_name: Some("Bench".into()),
        from_email: "news@bench.test".into(),
        subject: "Hello {{ first_name | default('there') }}".into(),
        html: "<p>Hello {{ first_name | default('there') }}, this is the news.</p>".into(),
        text: Some("Hello {{ first_name | default('there') }}, this is the news.".into()),
        audience: json!({"tags": ["all"]}),
        ..CampaignInput::default()
    };
    verified_sender(&state, &ctx, "news@bench.test").await;
    let campaign = campaigns::create(&state, &ctx, input).await.expect("campaign");
    let id = switchboard::ids::EmailCampaignId::parse(&campaign.id).expect("id");
    // The server runs through the send, as in use: its outbox relay hands on each message's
    // `message.sent` meanwhile.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(switchboard::app::serve(state.clone(), listener, async {
        let _ = stopped.await;
    }));
    let workers = Workers::start_with(state.clone(), 1);
    let started = Instant::now();
    let started_ms = now_ms();
    campaigns::send(&state, &ctx, &id).await.expect("send");
    let prepared_at = loop {
        let row = campaigns::get(&state, &ctx, &id).await.expect("campaign");
        if row.status == "sent" {
            break row.prepared_at.unwrap_or(started_ms);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let secs = started.elapsed().as_secs_f64();
    println!(
        "[{backend}] audience walked into message rows in {:.1} s",
        (prepared_at - started_ms) as f64 / 1000.0
    );
    workers.stop().await;
    let handed = delivered.load(Ordering::Relaxed);
    println!(
        "[{backend}] campaign to {n}: {handed} emails handed to the provider in {secs:.1} s = {:.0} emails/s; \
         peak RSS {:.0} MB",
        handed as f64 / secs,
        common::peak_rss_mb()
    );
    relay_caught_up(&state, backend).await;
    load_tracking(&state, &ctx, backend, &base).await;
    let _ = stop.send(());
    let _ = server.await;
}

/// Waits until the outbox relay has handed on every domain event of the send and prints how
/// long that took, so the tracking figures are not of a relay still catching up.
async fn relay_caught_up(state: &AppState, backend: &str) {
    let started = Instant::now();
    let waiting = unrelayed(state).await;
    while unrelayed(state).await > 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "[{backend}] the relay had {waiting} domain events to hand on when the send ended, done {:.1} s later",
        started.elapsed().as_secs_f64()
    );
}

/// The bench's sender, marked verified as following its link would.
async fn verified_sender(state: &AppState, ctx: &TenantCtx, email: &str) {
    let mut tx = state.store.tenant_tx(ctx).await.expect("tx");
    let mut sql =
        Sql::new("INSERT INTO email_senders (id, tenant_id, email, status, created_at, verified_at) VALUES (");
    sql.bind(EmailSenderId::generate().as_str())
        .push(", ")
        .bind(ctx.tenant_id.as_str())
        .push(", ")
        .bind(email)
        .push(", 'verified', ")
        .bind(now_ms())
        .push(", ")
        .bind(now_ms())
        .push(")");
    sql.execute(&mut tx).await.expect("sender");
    tx.commit().await.expect("commit");
}

/// Requests/s of the open pixel and the click redirect, over real HTTP, spread over the
/// campaign's messages.
async fn load_tracking(state: &Arc<AppState>, ctx: &TenantCtx, backend: &str, base: &str) {
    let requests = common::env_usize("BENCH_TRACKING_REQUESTS", 50_000);
    let clients = common::env_usize("BENCH_TRACKING_CLIENTS", 64);
    let mut sql = Sql::new("SELECT id FROM email_messages WHERE tenant_id = ");
    sql.bind(ctx.tenant_id.as_str()).push(" ORDER BY id LIMIT 10000");
    let mut read = state.store.tenant_tx(ctx).await.expect("tx");
    let ids: Vec<String> = sql.fetch_scalars(&mut read).await.expect("message ids");
    read.commit().await.expect("commit");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(clients)
        .build()
        .expect("client");
    for kind in ["open pixel", "click redirect"] {
        let urls: Arc<Vec<String>> = Arc::new(
            ids.iter()
                .map(|id| match kind {
                    "open pixel" => tracking::pixel_url(base, &state.link_key, id),
                    _ => tracking::click_url(base, &state.link_key, id, "https://example.com/landing"),
                })
                .collect(),
        );
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (http, urls, next) = (http.clone(), urls.clone(), next.clone());
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= requests {
                            return;
                        }
                        let r = http.get(&urls[i % urls.len()]).send().await.expect("request");
                        assert!(r.status().as_u16() < 400, "{}", r.status());
                        r.bytes().await.expect("body");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("client");
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "[{backend}] {kind}: {requests} requests from {clients} clients in {secs:.1} s = {:.0} req/s",
            requests as f64 / secs
        );
        let cpu = common::CpuSince::now(backend);
        let paths: Vec<&str> = urls.iter().map(|u| u.trim_start_matches(base)).collect();
        if let Some((rate, done)) = common::wrk(base, clients, &paths, r#"return wrk.format("GET", line)"#).await {
            // CPU per request: steadier than the rate on a shared machine.
            println!(
                "[{backend}] {kind}: {rate:.0} req/s from wrk in a process of its own, {clients} connections; {}",
                cpu.per(done, "request")
            );
        }
    }
}

/// The domain events the outbox relay has not handed on yet.
async fn unrelayed(state: &AppState) -> i64 {
    let mut conn = state.store.connection().await.expect("connection");
    outbox_cursor::backlog(&mut conn, state.store.backend())
        .await
        .expect("count")
}

fn main() {
    let Some(backend) = common::backend_in_own_process() else {
        return;
    };
    let n = common::env_usize("BENCH_RECIPIENTS", 100_000);
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(run(&backend, n));
}
