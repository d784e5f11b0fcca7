//! Campaign sending at scale, printed (not asserted): BENCH_RECIPIENTS customers (default
//! 100,000; 1,000,000 for the full figure) seeded through bulk inserts, one campaign to all of
//! them through the real Resend client against a loopback server that answers at once.
//! Prints emails/s from "send" to "all handed to the provider" and the process's peak RSS.
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
use switchboard::domain::campaigns::{self, CampaignInput};
use switchboard::domain::tenants::{self, NewTenant};
use switchboard::ids::{PrefixedId, TenantId, UserId};
use switchboard::jobs::Workers;
use switchboard::state::AppState;
use switchboard::store::now_ms;
use switchboard::store::sql::Sql;
use switchboard::tenancy::{Actor, TenantCtx};

mod common;

/// Rows per seeding statement.
const SEED_CHUNK: usize = 500;

/// Answers Resend's batch endpoint at once, counting emails (keeping none of them).
#[handler]
fn batch(body: Json<Vec<IgnoredAny>>, count: Data<&Arc<AtomicUsize>>) -> Json<Value> {
    count.fetch_add(body.0.len(), Ordering::Relaxed);
    Json(
        json!({ "data": (0..body.0.len()).map(|_| json!({"id": "00000000-0000-0000-0000-000000000000"})).collect::<Vec<_>>() }),
    )
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
    state.store.refresh_crm_statistics().await.expect("statistics");
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
    let campaign = campaigns::create(&state, &ctx, input).await.expect("campaign");
    let id = switchboard::ids::EmailCampaignId::parse(&campaign.id).expect("id");
    let workers = Workers::start_with(state.clone(), 1);
    let started = Instant::now();
    campaigns::send(&state, &ctx, &id).await.expect("send");
    loop {
        let row = campaigns::get(&state, &ctx, &id).await.expect("campaign");
        if row.status == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    workers.stop().await;
    let handed = delivered.load(Ordering::Relaxed);
    println!(
        "[{backend}] campaign to {n}: {handed} emails handed to the provider in {secs:.1} s = {:.0} emails/s; \
         peak RSS {:.0} MB",
        handed as f64 / secs,
        common::peak_rss_mb()
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_RECIPIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    for backend in common::backends() {
        run(&backend, n).await;
    }
}
